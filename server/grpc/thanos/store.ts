/**
 * The Thanos StoreAPI (`thanos.Store`): Series, LabelNames and LabelValues over a
 * {@linkcode StoreSource}, with the semantics a Thanos querier relies on
 * (pkg/store/proxy.go): series sorted by labels including external labels, replica labels
 * removed on request, `shard_info` honoured (query-frontend vertical sharding), storepb chunk
 * types XOR=0/HISTOGRAM=1/FLOAT_HISTOGRAM=2, batches only when `response_batch_size > 1`.
 *
 * @module
 */
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { compareLabels, type Labels, labelsKey, sortStrings } from "../../../model/labels.ts";
import type { SelectHints } from "../../../model/queryable.ts";
import {
  type LabelNamesRequest,
  type LabelValuesRequest,
  type SeriesRequest,
  type SeriesResponseSchema,
  Store,
} from "../../../proto/gen/store/storepb/rpc_pb.ts";
import {
  type AggrChunk,
  AggrChunkSchema,
  Chunk_Encoding,
  type Series as PbSeries,
  SeriesSchema,
} from "../../../proto/gen/store/storepb/types_pb.ts";
import type { CallContext, GrpcServer } from "../server.ts";
import { type Admission, admit, UNLIMITED_ADMISSION } from "./admission.ts";
import { Code, GrpcError } from "../status.ts";
import {
  fromMs,
  matchExternalLabels,
  toGrpcError,
  toMatchers,
  toMs,
  toPbLabels,
  withExternalLabels,
} from "./convert.ts";
import { shardFilter } from "./shard.ts";
import type { ChunkSeries, RawChunk, StoreSource } from "./source.ts";

/** Options of {@linkcode registerStoreService}. */
export interface StoreServiceOptions {
  /** Returns the storage for one request. */
  source: () => StoreSource;
  /** Labels added to every series (sorted); announced by Info. */
  externalLabels: Labels;
  /**
   * The source's series already carry the external labels, sorted with them. Series then
   * stream straight through unless replica labels must be dropped; otherwise the whole result
   * is collected and re-sorted after the labels are added, since adding a label to every
   * series can change their order.
   */
  externalLabelsInSource?: boolean;
  /**
   * Names of the external labels of all streams the source serves, which are the labels
   * `without_replica_labels` may remove. Needed when the source adds per-stream external
   * labels itself (then `externalLabels` is empty); default: the names of `externalLabels`.
   */
  externalLabelNames?: () => ReadonlySet<string>;
  /** Admission of Series, LabelNames and LabelValues calls (default: all at once). */
  admission?: Admission;
}

type SeriesResponseInit = MessageInitShape<typeof SeriesResponseSchema>;

/** The message sent when `limit` cut the result short. */
export const TRUNCATED_WARNING = "results truncated due to limit";

const STORE_CHUNK_TYPES: Record<number, Chunk_Encoding> = {
  1: Chunk_Encoding.XOR,
  2: Chunk_Encoding.HISTOGRAM,
  3: Chunk_Encoding.FLOAT_HISTOGRAM,
};

function toAggrChunk(c: RawChunk): AggrChunk {
  const type = STORE_CHUNK_TYPES[c.encoding];
  if (type === undefined) {
    // XOR2 and the start-timestamp histogram encodings have no storepb value.
    throw new GrpcError(Code.Internal, `chunk encoding ${c.encoding} cannot be served`);
  }
  return create(AggrChunkSchema, {
    minTime: fromMs(c.minTime),
    maxTime: fromMs(c.maxTime),
    raw: { type, data: c.data },
  });
}

/**
 * Rewrites labels (external labels in, replica labels out), re-sorts, and merges series that
 * became identical. Needed only when labels change: sources yield series sorted by their own
 * labels, and adding even the same label to every series can reorder them.
 */
async function relabelSorted(
  series: AsyncIterable<ChunkSeries> | Iterable<ChunkSeries>,
  external: Labels,
  drop: ReadonlySet<string>,
  signal: AbortSignal,
): Promise<ChunkSeries[]> {
  const byKey = new Map<string, { labels: Labels; chunks: RawChunk[] }>();
  for await (const s of series) {
    signal.throwIfAborted();
    const labels = withExternalLabels(s.labels, external, drop);
    const key = labelsKey(labels);
    const prev = byKey.get(key);
    if (prev) prev.chunks.push(...s.chunks);
    else byKey.set(key, { labels, chunks: [...s.chunks] });
  }
  const out = [...byKey.values()];
  for (const s of out) s.chunks.sort((a, b) => a.minTime - b.minTime);
  out.sort((a, b) => compareLabels(a.labels, b.labels));
  return out;
}

/** Registers `thanos.Store` on `server`. */
export function registerStoreService(server: GrpcServer, opts: StoreServiceOptions): void {
  const external = opts.externalLabels;
  const externalNames = new Set(external.map((l) => l.name));
  /** Replica labels are dropped only when they are external labels (proxy.go semantics). */
  const replicaDrop = (names: readonly string[]) => {
    const droppable = opts.externalLabelNames?.() ?? externalNames;
    return new Set(names.filter((n) => droppable.has(n)));
  };

  const admission = opts.admission ?? UNLIMITED_ADMISSION;

  async function* series(req: SeriesRequest, ctx: CallContext) {
    const release = await admit(admission, ctx);
    try {
      yield* admittedSeries(req, ctx);
    } finally {
      release();
    }
  }

  async function* admittedSeries(req: SeriesRequest, ctx: CallContext) {
    const matchers = toMatchers(req.matchers);
    const rest = matchExternalLabels(matchers, external);
    if (rest === null) return;
    if (rest.length === 0) {
      // As Thanos' stores: selecting everything is never what a querier means.
      throw new GrpcError(
        Code.InvalidArgument,
        "no matchers specified (excluding external labels)",
      );
    }
    const limit = Number(req.limit);
    const inShard = shardFilter(req.shardInfo);
    const hints: SelectHints = {
      start: toMs(req.minTime),
      end: toMs(req.maxTime),
      // The limit counts the shard's series, so storage cannot apply it when sharded.
      limit: limit > 0 && !inShard ? limit + 1 : 0,
    };
    if (req.skipChunks) hints.func = "series";
    const batchSize = Number(req.responseBatchSize);
    const drop = replicaDrop(req.withoutReplicaLabels);

    let set;
    try {
      set = await opts.source().selectChunks(rest, hints, ctx.signal);
    } catch (e) {
      throw toGrpcError(e, ctx.signal);
    }
    let seriesIter: AsyncIterable<ChunkSeries> | Iterable<ChunkSeries> = set.series;
    let batch: PbSeries[] = [];
    let sent = 0;
    let truncated = false;
    try {
      const add = opts.externalLabelsInSource ? [] : external;
      if (add.length > 0 || drop.size > 0) {
        seriesIter = await relabelSorted(set.series, add, drop, ctx.signal);
      }
      for await (const s of seriesIter) {
        // Sharding looks at the labels as sent, and comes before the limit, as in Thanos.
        if (inShard && !inShard(s.labels)) continue;
        if (limit > 0 && sent >= limit) {
          truncated = true;
          break;
        }
        sent++;
        const pb = create(SeriesSchema, {
          labels: toPbLabels(s.labels),
          chunks: req.skipChunks ? [] : s.chunks.map(toAggrChunk),
        });
        if (batchSize > 1) {
          batch.push(pb);
          if (batch.length >= batchSize) {
            yield { result: { case: "batch", value: { series: batch } } } as SeriesResponseInit;
            batch = [];
          }
        } else yield { result: { case: "series", value: pb } } as SeriesResponseInit;
      }
    } catch (e) {
      throw toGrpcError(e, ctx.signal);
    }
    if (batch.length > 0) {
      yield { result: { case: "batch", value: { series: batch } } } as SeriesResponseInit;
    }
    const warnings = [...set.warnings];
    if (truncated) warnings.push(TRUNCATED_WARNING);
    for (const w of warnings) yield { result: { case: "warning", value: w } } as SeriesResponseInit;
  }

  async function labelNames(req: LabelNamesRequest, ctx: CallContext) {
    const release = await admit(admission, ctx);
    try {
      return await admittedLabelNames(req, ctx);
    } finally {
      release();
    }
  }

  async function admittedLabelNames(req: LabelNamesRequest, ctx: CallContext) {
    const matchers = toMatchers(req.matchers);
    const rest = matchExternalLabels(matchers, external);
    if (rest === null) return { names: [] };
    const limit = Number(req.limit);
    const drop = replicaDrop(req.withoutReplicaLabels);
    let res;
    try {
      res = await opts.source().labelNames(
        rest,
        { start: toMs(req.start), end: toMs(req.end), limit: limit > 0 ? limit : 0 },
        ctx.signal,
      );
    } catch (e) {
      throw toGrpcError(e, ctx.signal);
    }
    const names = new Set(res.values);
    // External labels exist on every series, so they belong to any non-empty answer.
    if (names.size > 0) { for (const n of externalNames) names.add(n); }
    for (const n of drop) names.delete(n);
    let out = sortStrings([...names]);
    if (limit > 0) out = out.slice(0, limit);
    return { names: out, warnings: res.warnings };
  }

  async function labelValues(req: LabelValuesRequest, ctx: CallContext) {
    const release = await admit(admission, ctx);
    try {
      return await admittedLabelValues(req, ctx);
    } finally {
      release();
    }
  }

  async function admittedLabelValues(req: LabelValuesRequest, ctx: CallContext) {
    if (req.label === "") {
      throw new GrpcError(Code.InvalidArgument, "label name parameter cannot be empty");
    }
    const matchers = toMatchers(req.matchers);
    const rest = matchExternalLabels(matchers, external);
    if (rest === null) return { values: [] };
    if (replicaDrop(req.withoutReplicaLabels).has(req.label)) return { values: [] };
    const limit = Number(req.limit);
    const hints = { start: toMs(req.start), end: toMs(req.end), limit: limit > 0 ? limit : 0 };
    const extValue = external.find((l) => l.name === req.label)?.value;
    try {
      if (extValue !== undefined) {
        // Every series carries the external value; it is an answer if any series matches.
        const names = await opts.source().labelNames(rest, { ...hints, limit: 1 }, ctx.signal);
        return { values: names.values.length > 0 ? [extValue] : [], warnings: names.warnings };
      }
      const res = await opts.source().labelValues(req.label, rest, hints, ctx.signal);
      let values = sortStrings([...res.values]);
      if (limit > 0) values = values.slice(0, limit);
      return { values, warnings: res.warnings };
    } catch (e) {
      throw toGrpcError(e, ctx.signal);
    }
  }

  server.addService(Store, { series, labelNames, labelValues });
}
