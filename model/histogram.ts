/**
 * Native histogram values (Prometheus' `model/histogram`), in the float form the engine
 * computes with. Integer histograms from chunks are converted to this form on read.
 *
 * @module
 */

/** A run of consecutive buckets: `offset` buckets are skipped, then `length` buckets follow. */
export interface BucketSpan {
  /** Gap to the previous span (or start index for the first span). */
  offset: number;
  /** Number of consecutive buckets in this span. */
  length: number;
}

/** Counter reset hints stored with each histogram sample. */
export const CounterResetHint = {
  /** No information. */
  Unknown: 0,
  /** A counter reset happened before this sample. */
  CounterReset: 1,
  /** No counter reset happened before this sample. */
  NotCounterReset: 2,
  /** This histogram is a gauge. */
  Gauge: 3,
} as const;

/** One of {@linkcode CounterResetHint}'s values. */
export type CounterResetHint = typeof CounterResetHint[keyof typeof CounterResetHint];

/** The schema number of native histograms with custom bucket boundaries (NHCB). */
export const CUSTOM_BUCKETS_SCHEMA: number = -53;

/**
 * A native histogram with float counts. Bucket counts are absolute (not delta encoded).
 * `customValues` holds the upper bounds for the custom-buckets schema, else is empty.
 */
export interface FloatHistogram {
  /** What the sample says about a counter reset before it. */
  counterResetHint: CounterResetHint;
  /** Bucket resolution: -4..8 exponential, or {@linkcode CUSTOM_BUCKETS_SCHEMA}. */
  schema: number;
  /** Width of the zero bucket (observations with |v| <= it). */
  zeroThreshold: number;
  /** Observations in the zero bucket. */
  zeroCount: number;
  /** All observations. */
  count: number;
  /** Sum of all observations. */
  sum: number;
  /** Runs of positive buckets (offset, length). */
  positiveSpans: BucketSpan[];
  /** Runs of negative buckets (offset, length). */
  negativeSpans: BucketSpan[];
  /** Counts of the positive buckets, in span order. */
  positiveBuckets: Float64Array;
  /** Counts of the negative buckets, in span order. */
  negativeBuckets: Float64Array;
  /** Upper bounds of the custom buckets (custom-buckets schema only, else empty). */
  customValues: Float64Array;
}

/**
 * A native histogram with integer counts as stored in histogram chunks: bucket counts are
 * deltas to the previous bucket, as on disk. Counts stay below 2^53 in practice; values beyond
 * that are outside what a float histogram can represent exactly anyway.
 */
export interface IntHistogram {
  /** What the sample says about a counter reset before it. */
  counterResetHint: CounterResetHint;
  /** Bucket resolution: -4..8 exponential, or {@linkcode CUSTOM_BUCKETS_SCHEMA}. */
  schema: number;
  /** Width of the zero bucket (observations with |v| <= it). */
  zeroThreshold: number;
  /** Observations in the zero bucket. */
  zeroCount: number;
  /** All observations. */
  count: number;
  /** Sum of all observations. */
  sum: number;
  /** Runs of positive buckets (offset, length). */
  positiveSpans: BucketSpan[];
  /** Runs of negative buckets (offset, length). */
  negativeSpans: BucketSpan[];
  /** Delta-encoded bucket counts. */
  positiveBuckets: Float64Array;
  /** Delta-encoded bucket counts. */
  negativeBuckets: Float64Array;
  /** Upper bounds of the custom buckets (custom-buckets schema only, else empty). */
  customValues: Float64Array;
}

/** Converts an integer histogram (delta-encoded buckets) to a float histogram. */
export function toFloatHistogram(h: IntHistogram): FloatHistogram {
  return {
    counterResetHint: h.counterResetHint,
    schema: h.schema,
    zeroThreshold: h.zeroThreshold,
    zeroCount: h.zeroCount,
    count: h.count,
    sum: h.sum,
    positiveSpans: h.positiveSpans.map((s) => ({ ...s })),
    negativeSpans: h.negativeSpans.map((s) => ({ ...s })),
    positiveBuckets: undelta(h.positiveBuckets),
    negativeBuckets: undelta(h.negativeBuckets),
    customValues: h.customValues.slice(),
  };
}

function undelta(deltas: Float64Array): Float64Array {
  const out = new Float64Array(deltas.length);
  let acc = 0;
  for (let i = 0; i < deltas.length; i++) out[i] = acc += deltas[i];
  return out;
}
