/**
 * Prometheus' JSON encodings of query results (`web/api/v1/json_codec.go`,
 * `util/jsonutil/marshal.go`): floats as strings in Go's formatting, sample timestamps as seconds
 * with exactly three millisecond digits, native histograms as bucket lists.
 *
 * @module
 */
import { formatGoFloat } from "../../engine/format.ts";
import type { FloatHistogram } from "../../model/histogram.ts";
import { CUSTOM_BUCKETS_SCHEMA } from "../../model/histogram.ts";
import type { Labels } from "../../model/labels.ts";
import type { MatrixSeries, Sample, Value } from "../../engine/value.ts";

/**
 * Formats a float as Go's `strconv.FormatFloat(f, 'f' or 'e', -1, 64)` with Prometheus' choice:
 * fixed notation for 0 and 1e-6 <= |f| < 1e21, exponent notation (two-digit exponent) otherwise;
 * `+Inf`, `-Inf`, `NaN`; `-0` keeps its sign.
 */
export function formatFloat(f: number): string {
  if (Number.isNaN(f)) return "NaN";
  if (f === Infinity) return "+Inf";
  if (f === -Infinity) return "-Inf";
  if (f === 0) return Object.is(f, -0) ? "-0" : "0";
  const abs = Math.abs(f);
  if (abs >= 1e-6 && abs < 1e21) return formatGoFloat(f);
  // JS exponent form is the shortest round-trip digits too; Go pads the exponent to 2 digits.
  return f.toExponential().replace(/e([+-])(\d)$/, "e$10$2");
}

/**
 * Encodes a millisecond timestamp as Prometheus' sample timestamp: seconds, then `.` and exactly
 * three digits when the millisecond part is not zero. Returned as raw JSON number text.
 */
export function formatTimestamp(ms: number): string {
  const negative = ms < 0;
  const abs = Math.abs(ms);
  const seconds = Math.floor(abs / 1000);
  const millis = abs - seconds * 1000;
  const text = millis === 0 ? `${seconds}` : `${seconds}.${String(millis).padStart(3, "0")}`;
  return negative ? `-${text}` : text;
}

/** Go's encoding/json float64 form (shortest; exponent for very large/small), for scalar times. */
function goJsonNumber(f: number): string {
  const abs = Math.abs(f);
  if (abs !== 0 && (abs < 1e-6 || abs >= 1e21)) {
    return f.toExponential().replace(/e([+-])(\d)$/, "e$10$2");
  }
  return formatGoFloat(f);
}

function labelsJson(labels: Labels): string {
  let out = "{";
  for (let i = 0; i < labels.length; i++) {
    if (i > 0) out += ",";
    out += JSON.stringify(labels[i].name) + ":" + JSON.stringify(labels[i].value);
  }
  return out + "}";
}

/** Encodes a native histogram as Prometheus' `{count, sum, buckets}` object (raw JSON). */
export function histogramJson(h: FloatHistogram): string {
  const buckets: string[] = [];
  const push = (rule: number, lower: number, upper: number, count: number) => {
    if (count === 0) return;
    buckets.push(
      `[${rule},${JSON.stringify(formatFloat(lower))},${JSON.stringify(formatFloat(upper))},${
        JSON.stringify(formatFloat(count))
      }]`,
    );
  };
  if (h.schema === CUSTOM_BUCKETS_SCHEMA) {
    forEachBucket(h.positiveSpans, h.positiveBuckets, (index, count) => {
      const lower = index === 0 ? -Infinity : h.customValues[index - 1];
      const upper = index < h.customValues.length ? h.customValues[index] : Infinity;
      push(index === 0 ? 3 : 0, lower, upper, count);
    });
  } else {
    const zt = h.zeroThreshold;
    const negative: string[] = [];
    forEachBucket(h.negativeSpans, h.negativeBuckets, (index, count) => {
      // Negative bucket i covers [-upper(i), -lower(i)).
      let lower = -exponentialUpper(index, h.schema);
      let upper = -exponentialLower(index, h.schema);
      if (upper > -zt) upper = -zt;
      if (lower > -zt) lower = -zt;
      const before = buckets.length;
      push(1, lower, upper, count);
      if (buckets.length > before) negative.push(buckets.pop()!);
    });
    buckets.push(...negative.reverse());
    if (h.zeroCount > 0) push(3, -zt, zt, h.zeroCount);
    forEachBucket(h.positiveSpans, h.positiveBuckets, (index, count) => {
      let lower = exponentialLower(index, h.schema);
      const upper = exponentialUpper(index, h.schema);
      if (lower < zt) lower = zt;
      push(0, lower, upper, count);
    });
  }
  const bucketsPart = buckets.length > 0 ? `,"buckets":[${buckets.join(",")}]` : "";
  return `{"count":${JSON.stringify(formatFloat(h.count))},"sum":${
    JSON.stringify(formatFloat(h.sum))
  }${bucketsPart}}`;
}

function forEachBucket(
  spans: readonly { offset: number; length: number }[],
  counts: Float64Array,
  fn: (index: number, count: number) => void,
) {
  let index = 0;
  let k = 0;
  for (let s = 0; s < spans.length; s++) {
    index += spans[s].offset;
    for (let j = 0; j < spans[s].length; j++, index++, k++) fn(index, counts[k]);
  }
}

/** Upper bound of exponential bucket `index` for `schema` (Prometheus `getBound`). */
export function exponentialUpper(index: number, schema: number): number {
  if (schema < 0) {
    const exp = index << -schema;
    if (exp === 1024) return Number.MAX_VALUE;
    return 2 ** exp;
  }
  const fracIdx = index & ((1 << schema) - 1);
  const frac = EXPONENTIAL_BOUNDS[schema][fracIdx];
  const exp = (index >> schema) + 1;
  if (frac === 0.5 && exp === 1025) return Number.MAX_VALUE;
  return frac * 2 ** exp;
}

function exponentialLower(index: number, schema: number): number {
  return exponentialUpper(index - 1, schema);
}

// Per schema 0..8: 2^(i/2^schema - 1) for i in 0..2^schema-1, i.e. fractions in [0.5, 1).
const EXPONENTIAL_BOUNDS: number[][] = Array.from(
  { length: 9 },
  (_, schema) => Array.from({ length: 1 << schema }, (_, i) => 2 ** (i / (1 << schema) - 1)),
);

function vectorSampleJson(s: Sample): string {
  const ts = formatTimestamp(s.t);
  return s.h
    ? `{"metric":${labelsJson(s.labels)},"histogram":[${ts},${histogramJson(s.h)}]}`
    : `{"metric":${labelsJson(s.labels)},"value":[${ts},${JSON.stringify(formatFloat(s.f))}]}`;
}

function matrixSeriesJson(s: MatrixSeries): string {
  let out = `{"metric":${labelsJson(s.labels)}`;
  if (s.floatTimes.length > 0) {
    const points: string[] = new Array(s.floatTimes.length);
    for (let i = 0; i < points.length; i++) {
      points[i] = `[${formatTimestamp(s.floatTimes[i])},${
        JSON.stringify(formatFloat(s.floatValues[i]))
      }]`;
    }
    out += `,"values":[${points.join(",")}]`;
  }
  if (s.histograms.length > 0) {
    out += `,"histograms":[${
      s.histograms.map((p) => `[${formatTimestamp(p.t)},${histogramJson(p.h)}]`).join(",")
    }]`;
  }
  return out + "}";
}

/** Encodes a query result as `{"resultType":...,"result":...}` (raw JSON, without stats). */
export function resultJson(value: Value): string {
  let out = "";
  for (const piece of resultJsonChunks(value)) out += piece;
  return out;
}

/** Options of {@linkcode resultJsonChunks}. */
export interface ResultJsonOptions {
  /** Raw JSON members added to the object after `result`, e.g. `,"stats":{...}`. */
  tail?: string;
  /** The size pieces are cut at, in characters. */
  chunkChars?: number;
}

/**
 * Encodes a query result as {@linkcode resultJson} does, in pieces of about `chunkChars`
 * characters (a piece holds whole series or samples, so one long series can exceed it): a large
 * answer goes out while it is encoded instead of as one string, which V8 caps at 2^29 characters.
 */
export function* resultJsonChunks(
  value: Value,
  { tail = "", chunkChars = 1 << 16 }: ResultJsonOptions = {},
): Generator<string> {
  switch (value.type) {
    case "scalar":
      yield `{"resultType":"scalar","result":[${goJsonNumber(value.t / 1000)},${
        JSON.stringify(formatGoFloat(value.v))
      }]${tail}}`;
      return;
    case "string":
      yield `{"resultType":"string","result":[${goJsonNumber(value.t / 1000)},${
        JSON.stringify(value.v)
      }]${tail}}`;
      return;
    case "vector":
      yield* joinedChunks(
        '{"resultType":"vector","result":[',
        value.samples,
        vectorSampleJson,
        `]${tail}}`,
        chunkChars,
      );
      return;
    case "matrix":
      yield* joinedChunks(
        '{"resultType":"matrix","result":[',
        value.series,
        matrixSeriesJson,
        `]${tail}}`,
        chunkChars,
      );
      return;
  }
}

/** `head`, the encoded items separated by commas, then `end`, batched into pieces. */
function* joinedChunks<T>(
  head: string,
  items: readonly T[],
  encode: (item: T) => string,
  end: string,
  chunkChars: number,
): Generator<string> {
  let piece = head;
  for (let i = 0; i < items.length; i++) {
    if (i > 0) piece += ",";
    piece += encode(items[i]);
    if (piece.length >= chunkChars) {
      yield piece;
      piece = "";
    }
  }
  yield piece + end;
}

/** Encodes a label set as a JSON object in label order. */
export function labelSetJson(labels: Labels): string {
  return labelsJson(labels);
}

// What Go's encoding/json escapes beyond JSON.stringify (HTML-safe output), and escape sequences
// as a whole, so that the `b` of an escaped backslash followed by `b` is not taken for `\b`.
const GO_ESCAPES = /[<>&\u2028\u2029]|\\./g;
const GO_ESCAPED: Readonly<Record<string, string>> = {
  "<": "\\u003c",
  ">": "\\u003e",
  "&": "\\u0026",
  "\u2028": "\\u2028",
  "\u2029": "\\u2029",
  "\\b": "\\u0008",
  "\\f": "\\u000c",
};

/**
 * Rewrites JSON text from `JSON.stringify` as Go's encoding/json (and Prometheus' jsoniter,
 * configured compatible with it) writes strings: `<`, `>` and `&` as `\u003c`, `\u003e` and
 * `\u0026` (HTML-safe), U+2028 and U+2029 escaped, backspace and form feed as `\u0008` and
 * `\u000c`. These characters only occur inside strings, so the rewrite never touches structure.
 */
export function goJsonEscape(json: string): string {
  return json.replace(GO_ESCAPES, (m) => GO_ESCAPED[m] ?? m);
}
