/**
 * The messages between the query pool (main thread) and its workers. Everything here is plain,
 * structured-cloneable data; errors cross as {@linkcode WireError} because cloning drops their
 * classes.
 *
 * @module
 */
import { QueryError, type QueryErrorKind } from "../../engine/errors.ts";
import type { QueryResult } from "../../engine/value.ts";
import type { LogFields, LogLevel } from "../../internal/log.ts";
import type { BucketConfig } from "../../storage/objstore/config.ts";
import type { DayFiles } from "../db/open_day.ts";
import type { ChunkPartitionOptions } from "../db/chunk_reader.ts";
import type { QueryLimits } from "../db/limits.ts";
import type { DayRange } from "../db/syncer.ts";
import type { UnavailableDay } from "../db/unavailable.ts";
import type { QuerySpec } from "./runner.ts";

/** What a worker needs to open days and evaluate queries. */
export interface WorkerConfig {
  /** The worker's number, for logs. */
  readonly id: number;
  /** The Parquet bucket. */
  readonly bucket: BucketConfig;
  /** `--block.labelfilepath`: where the syncer keeps the labels files. */
  readonly labelFileDir: string;
  /** Days opened in parallel. */
  readonly openConcurrency: number;
  /** This worker's share of the page cache, bytes. */
  readonly pageCacheBytes: number;
  /** This worker's share of the label dictionary cache, values. */
  readonly dictionaryCacheEntries: number;
  /**
   * Heap and array buffer bytes a query may add to the worker, past which it is stopped; a worker
   * holding more after a query is replaced (0: no limit).
   */
  readonly memoryLimitBytes: number;
  /** Engine settings. */
  readonly engine: {
    readonly lookbackDelta: number;
    readonly timeout: number;
    readonly maxSamples: number;
    readonly features: readonly string[];
  };
  /** The database's query options. */
  readonly db: {
    readonly externalLabels?: Readonly<Record<string, string>>;
    readonly limits?: QueryLimits;
    readonly chunkPartition?: ChunkPartitionOptions;
  };
  /** Cell 0 is set to 1 to cancel the query the worker is running; the pool resets it. */
  readonly cancel: SharedArrayBuffer;
}

/** The pool's messages to a worker. */
export type ToWorker =
  | { readonly type: "init"; readonly config: WorkerConfig }
  | {
    readonly type: "days";
    readonly files: readonly DayFiles[];
    readonly unavailable: readonly UnavailableDay[];
  }
  | {
    readonly type: "query";
    readonly id: number;
    readonly spec: QuerySpec;
    readonly deadline: number;
    /** Loaded days the block filter hides right now. */
    readonly hidden: readonly DayRange[];
  }
  | { readonly type: "cancel"; readonly id: number };

/** An error as it crosses threads. */
export interface WireError {
  /** The error's class name. */
  readonly name: string;
  /** Its message. */
  readonly message: string;
  /** A `QueryError`'s kind. */
  readonly kind?: QueryErrorKind;
}

/** A metric as `Registry.getMetricsAsJSON()` returns it. */
export type MetricJson = Record<string, unknown>;

/** A worker's messages to the pool. */
export type FromWorker =
  | { readonly type: "ready" }
  | {
    readonly type: "days";
    readonly loaded: number;
    readonly failed: readonly UnavailableDay[];
  }
  | {
    readonly type: "done";
    readonly id: number;
    readonly result: QueryResult;
    /** The worker holds more than its memory limit: it must be replaced. */
    readonly retire: boolean;
  }
  | {
    readonly type: "failed";
    readonly id: number;
    readonly error: WireError;
    /** The worker holds more than its memory limit: it must be replaced. */
    readonly retire: boolean;
  }
  | { readonly type: "metrics"; readonly metrics: readonly MetricJson[] }
  | {
    readonly type: "log";
    readonly level: LogLevel;
    readonly msg: string;
    readonly fields?: LogFields;
  };

/** Flattens an error for posting. */
export function toWire(err: unknown): WireError {
  if (err instanceof QueryError) return { name: err.name, message: err.message, kind: err.kind };
  if (err instanceof Error) return { name: err.name, message: err.message };
  return { name: "Error", message: String(err) };
}

/** Rebuilds a posted error: a `QueryError` (its subclass is not kept) or an `Error`. */
export function fromWire(wire: WireError): Error {
  if (wire.kind !== undefined) return new QueryError(wire.kind, wire.message);
  const err = new Error(wire.message);
  err.name = wire.name;
  return err;
}
