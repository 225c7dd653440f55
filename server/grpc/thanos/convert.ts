/**
 * Conversions between Thanos protobuf messages and the engine's types: int64 milliseconds,
 * label matchers, label sets, external-label matching, and errors to gRPC status codes.
 *
 * @module
 */
import { create } from "@bufbuild/protobuf";
import { ParseError, QueryError } from "../../../engine/errors.ts";
import { compareStrings, type Label, type Labels } from "../../../model/labels.ts";
import { Matcher, MatchType, RegexpError } from "../../../model/matchers.ts";
import { type Label as PbLabel, LabelSchema } from "../../../proto/gen/store/labelpb/types_pb.ts";
import { type LabelMatcher, LabelMatcher_Type } from "../../../proto/gen/store/storepb/types_pb.ts";
import { Code, GrpcError } from "../status.ts";

const INT64_MAX = (1n << 63n) - 1n;
const INT64_MIN = -(1n << 63n);

/** An int64 millisecond timestamp as a JS number (|t| above 2^53 loses only sub-ms digits). */
export function toMs(t: bigint): number {
  return Number(t);
}

/** A millisecond timestamp as int64, clamped to the int64 range (±Infinity included). */
export function fromMs(t: number): bigint {
  if (Number.isNaN(t)) throw new RangeError("timestamp is NaN");
  if (t >= 2 ** 63) return INT64_MAX;
  if (t <= -(2 ** 63)) return INT64_MIN;
  return BigInt(Math.trunc(t));
}

const MATCH_TYPES: Record<number, MatchType> = {
  [LabelMatcher_Type.EQ]: MatchType.Equal,
  [LabelMatcher_Type.NEQ]: MatchType.NotEqual,
  [LabelMatcher_Type.RE]: MatchType.Regexp,
  [LabelMatcher_Type.NRE]: MatchType.NotRegexp,
};

/** Converts request matchers; a bad type or regular expression is InvalidArgument. */
export function toMatchers(pb: readonly LabelMatcher[]): Matcher[] {
  return pb.map((m) => {
    const type = MATCH_TYPES[m.type];
    if (type === undefined) {
      throw new GrpcError(Code.InvalidArgument, `unknown matcher type ${m.type} for ${m.name}`);
    }
    try {
      return new Matcher(type, m.name, m.value);
    } catch (e) {
      if (e instanceof RegexpError) {
        throw new GrpcError(Code.InvalidArgument, `matcher ${m.name}: ${e.message}`);
      }
      throw e;
    }
  });
}

/** Converts a label set to protobuf labels (already sorted). */
export function toPbLabels(labels: Labels): PbLabel[] {
  return labels.map((l) => create(LabelSchema, { name: l.name, value: l.value }));
}

/**
 * Splits matchers by external labels (Thanos' `MatchesExternalLabels`): matchers on external
 * label names are evaluated against the external labels here; the others go to storage.
 * Returns `null` when an external-label matcher rejects this store's labels.
 */
export function matchExternalLabels(
  matchers: readonly Matcher[],
  external: Labels,
): Matcher[] | null {
  if (external.length === 0) return [...matchers];
  const names = new Map(external.map((l) => [l.name, l.value]));
  const rest: Matcher[] = [];
  for (const m of matchers) {
    const v = names.get(m.name);
    if (v === undefined) rest.push(m);
    else if (!m.matches(v)) return null;
  }
  return rest;
}

/**
 * Adds external labels to a series' labels (external labels win over same-named series
 * labels) and drops the labels named in `drop`. The result is sorted.
 */
export function withExternalLabels(
  labels: Labels,
  external: Labels,
  drop: ReadonlySet<string>,
): Labels {
  const ext = new Set(external.map((l) => l.name));
  const out: Label[] = [];
  for (const l of labels) if (!ext.has(l.name) && !drop.has(l.name)) out.push(l);
  for (const l of external) if (!drop.has(l.name)) out.push(l);
  out.sort((a, b) => compareStrings(a.name, b.name));
  return out;
}

/** Maps an error from storage or the engine to a gRPC status error. */
export function toGrpcError(e: unknown, signal?: AbortSignal): GrpcError {
  if (e instanceof GrpcError) return e;
  if (signal?.aborted && signal.reason instanceof GrpcError) return signal.reason;
  if (e instanceof ParseError || e instanceof RegexpError) {
    return new GrpcError(Code.InvalidArgument, e.message);
  }
  // AbortSignal.timeout() and abort() reasons, when storage or the engine rethrow them.
  if (e instanceof DOMException && e.name === "TimeoutError") {
    return new GrpcError(Code.DeadlineExceeded, e.message);
  }
  if (e instanceof DOMException && e.name === "AbortError") {
    return new GrpcError(Code.Canceled, e.message);
  }
  if (e instanceof QueryError) {
    switch (e.kind) {
      case "too_many_samples":
        return new GrpcError(Code.ResourceExhausted, e.message);
      case "timeout":
        return new GrpcError(Code.DeadlineExceeded, e.message);
      case "canceled":
        return new GrpcError(Code.Canceled, e.message);
      default:
        return new GrpcError(Code.Internal, e.message);
    }
  }
  return new GrpcError(Code.Internal, e instanceof Error ? e.message : String(e));
}
