/**
 * Query results: the four PromQL value types as the engine returns them and the HTTP/gRPC APIs
 * encode them. Times are milliseconds.
 *
 * @module
 */
import type { FloatHistogram } from "../model/histogram.ts";
import type { Labels } from "../model/labels.ts";

/** One element of an instant vector: a float (`h` undefined) or a histogram sample. */
export interface Sample {
  /** The series' labels. */
  labels: Labels;
  /** Timestamp in ms. */
  t: number;
  /** Float value (ignored when `h` is set). */
  f: number;
  /** Histogram value, when the sample is a native histogram. */
  h?: FloatHistogram;
}

/** A histogram point of a range-vector series. */
export interface HistogramPoint {
  /** Timestamp in ms. */
  t: number;
  /** The histogram. */
  h: FloatHistogram;
}

/** One series of a range vector (matrix): float points and histogram points, each by time. */
export interface MatrixSeries {
  /** The series' labels. */
  labels: Labels;
  /** Timestamps of the float points, ms, ascending. */
  floatTimes: number[];
  /** Float values aligned with `floatTimes`. */
  floatValues: number[];
  /** Histogram points, ascending. */
  histograms: HistogramPoint[];
}

/** A scalar result. */
export interface ScalarValue {
  /** Discriminates the {@linkcode Value} union; Prometheus' `resultType`. */
  type: "scalar";
  /** Timestamp in ms. */
  t: number;
  /** The value. */
  v: number;
}

/** A string result. */
export interface StringValue {
  /** Discriminates the {@linkcode Value} union; Prometheus' `resultType`. */
  type: "string";
  /** Timestamp in ms. */
  t: number;
  /** The value. */
  v: string;
}

/** An instant vector result. */
export interface VectorValue {
  /** Discriminates the {@linkcode Value} union; Prometheus' `resultType`. */
  type: "vector";
  /** The samples, in the engine's output order (sorted by labels unless the query orders). */
  samples: Sample[];
}

/** A range vector (matrix) result. */
export interface MatrixValue {
  /** Discriminates the {@linkcode Value} union; Prometheus' `resultType`. */
  type: "matrix";
  /** The series, sorted by labels. */
  series: MatrixSeries[];
}

/** Any query result value. */
export type Value = ScalarValue | StringValue | VectorValue | MatrixValue;

/** The outcome of a query: its value plus Prometheus' annotations. */
export interface QueryResult {
  /** The result. */
  value: Value;
  /** Warnings (Prometheus `warnings`), deduplicated, in first-seen order. */
  warnings: string[];
  /** Informational annotations (Prometheus `infos`). */
  infos: string[];
  /** Sample statistics, for `stats=all`. */
  stats: QueryStats;
}

/** Sample counts of one query, as Prometheus reports them. */
export interface QueryStats {
  /** Total samples loaded from storage while evaluating. */
  totalQueryableSamples: number;
  /** Peak number of samples held in memory at once. */
  peakSamples: number;
}
