/**
 * The messages between the query pool (main thread) and its workers. Everything here is plain,
 * structured-cloneable data; errors cross as {@linkcode WireError} because cloning drops their
 * classes.
 *
 * @module
 */
import {
  ParseError,
  type ParseErrorDetail,
  QueryError,
  type QueryErrorKind,
} from "../../engine/errors.ts";
import type { QueryResult } from "../../engine/value.ts";
import type { LogFields, LogLevel } from "../../internal/log.ts";
import type { BucketConfig } from "../../storage/objstore/config.ts";
import type { DayFiles } from "../db/open_day.ts";
import type { ChunkPartitionOptions } from "../db/chunk_reader.ts";
import { type QueryLimits, QuotaExceededError, type QuotaResource } from "../db/limits.ts";
import { RegexpError } from "../../model/matchers.ts";
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
  /** This worker's share of the offset-index cache, bytes. */
  readonly locationCacheBytes: number;
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
    /**
     * The time range served as of the dispatch (the slice's `--min-time`, `--max-time`, whose
     * relative times move with the clock); default: all time.
     */
    readonly timeLimit?: DayRange;
  }
  | { readonly type: "cancel"; readonly id: number }
  /** Asks for the worker's metrics now (answered with a `metrics` message). */
  | { readonly type: "metrics" };

/**
 * An error as it crosses threads: its class (one of those the HTTP and gRPC layers map to a
 * status, or a plain `Error`) with the fields that class is built from.
 */
export type WireError =
  | { readonly type: "parse"; readonly details: readonly ParseErrorDetail[] }
  | { readonly type: "regexp"; readonly pattern: string; readonly message: string }
  | {
    readonly type: "quota";
    readonly resource: QuotaResource;
    readonly limit: number;
    readonly requested: number;
  }
  | { readonly type: "query"; readonly kind: QueryErrorKind; readonly message: string }
  | { readonly type: "dom"; readonly name: string; readonly message: string }
  | { readonly type: "error"; readonly name: string; readonly message: string };

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
  if (err instanceof ParseError) return { type: "parse", details: err.details };
  if (err instanceof RegexpError) {
    return { type: "regexp", pattern: err.pattern, message: err.message };
  }
  if (err instanceof QuotaExceededError) {
    return { type: "quota", resource: err.resource, limit: err.limit, requested: err.requested };
  }
  if (err instanceof QueryError) return { type: "query", kind: err.kind, message: err.message };
  if (err instanceof DOMException) return { type: "dom", name: err.name, message: err.message };
  if (err instanceof Error) return { type: "error", name: err.name, message: err.message };
  return { type: "error", name: "Error", message: String(err) };
}

/** Rebuilds a posted error as the class it was thrown as. */
export function fromWire(wire: WireError): Error {
  switch (wire.type) {
    case "parse":
      return new ParseError([...wire.details]);
    case "regexp":
      return new RegexpError(wire.pattern, wire.message);
    case "quota":
      return new QuotaExceededError(wire.resource, wire.limit, wire.requested);
    case "query":
      return new QueryError(wire.kind, wire.message);
    case "dom":
      return new DOMException(wire.message, wire.name);
    case "error": {
      const err = new Error(wire.message);
      err.name = wire.name;
      return err;
    }
  }
}
