/**
 * The entry of a query worker (a Deno module worker started by `pool.ts`). It opens the days the
 * main thread's syncer loaded, from their {@linkcode DayFiles}, with its own bucket client and
 * its share of the caches, and evaluates one query at a time with its own engine, so that a
 * CPU-bound evaluation never holds up the main thread's HTTP, gRPC and health endpoints.
 *
 * A query stops at its deadline or when the pool sets the shared cancel cell, both noticed while
 * the evaluation runs (see `abort.ts`), or on a `cancel` message while it awaits I/O. It also
 * stops when it has added more than its limit to the worker's memory (V8 heap and array
 * buffers). A worker that holds more than that limit (besides its page cache) after a query asks
 * to be replaced, since V8 may keep the garbage for a while: each query starts within the limit
 * and adds at most the limit.
 *
 * Metrics go to a registry of its own, which the pool adds to the main thread's: an idle worker
 * posts them when the pool asks (on a scrape), a busy one after a query at most every second,
 * and every worker after each update of the days.
 *
 * @module
 */
import v8 from "node:v8";
import { Registry } from "prom-client";
import { Engine } from "../../engine/engine.ts";
import type { LogFields, Logger, LogLevel } from "../../internal/log.ts";
import { createBucket, instrumentBucket } from "../../storage/objstore/mod.ts";
import { ParquetDB } from "../db/db.ts";
import { DaySet } from "../db/day_set.ts";
import { LocalLabelFileStore } from "../db/label_files.ts";
import type { DayRange } from "../db/syncer.ts";
import { QueryError } from "../../engine/errors.ts";
import { queryAbort } from "./abort.ts";
import { type FromWorker, toWire, type ToWorker, type WorkerConfig } from "./_protocol.ts";
import { evaluate } from "./runner.ts";

interface WorkerScope {
  postMessage(message: FromWorker): void;
  onmessage: ((e: MessageEvent<ToWorker>) => void) | null;
}

const scope = globalThis as unknown as WorkerScope;

interface State {
  readonly config: WorkerConfig;
  readonly engine: Engine;
  readonly db: ParquetDB;
  readonly days: DaySet;
  readonly registry: Registry;
  readonly cancelCells: Int32Array;
}

function post(message: FromWorker): void {
  scope.postMessage(message);
}

/** Fields as they can be posted: errors become their message, as the main logger prints them. */
function cloneable(fields: LogFields): LogFields {
  const out: LogFields = {};
  for (const [k, v] of Object.entries(fields)) out[k] = v instanceof Error ? v.message : v;
  return out;
}

/** A logger whose lines the pool writes with the main thread's logger. */
function workerLogger(bound: LogFields): Logger {
  const log = (level: LogLevel) => (msg: string, fields?: LogFields) =>
    post({ type: "log", level, msg, fields: cloneable({ ...bound, ...fields }) });
  return {
    debug: log("debug"),
    info: log("info"),
    warn: log("warn"),
    error: log("error"),
    with: (fields) => workerLogger({ ...bound, ...fields }),
  };
}

let state: Promise<State> | undefined;
let daysLoaded: Promise<unknown> = Promise.resolve();
/** Loaded days the block filter hides, as of the running query. */
let hidden: readonly DayRange[] = [];
/** All time: the range served when the pool sets none. */
const ALL_TIME: DayRange = { minT: -Infinity, maxT: Infinity };
/** The time range served (the slice's `--min-time`, `--max-time`), as of the running query. */
let timeLimit = ALL_TIME;
/** How often a busy worker posts its metrics, at most, ms. */
const METRICS_INTERVAL_MS = 1000;
let metricsPostedAt = 0;

/** The running query: its id and what cancels it. */
let running: { id: number; cancel: AbortController } | undefined;

async function init(config: WorkerConfig): Promise<State> {
  const logger = workerLogger({ worker: config.id });
  const registry = new Registry();
  const bucket = instrumentBucket(
    await createBucket(config.bucket, { logger }),
    registry,
    "parquet",
  );
  const store = new LocalLabelFileStore(bucket, config.labelFileDir);
  const days = new DaySet({
    bucket,
    openLabels: (ref) => store.openCopy(ref.key, ref.size),
    concurrency: config.openConcurrency,
    pageCacheBytes: config.pageCacheBytes,
    locationCacheBytes: config.locationCacheBytes,
    dictionaryCacheEntries: config.dictionaryCacheEntries,
    registry,
    logger,
  });
  const db = new ParquetDB({
    ...config.db,
    days: () => days.days,
    unavailable: () => days.unavailable,
    keep: (d) => !hidden.some((h) => h.minT === d.minT && h.maxT === d.maxT),
    timeLimit: () => timeLimit,
    registry,
  });
  const engine = new Engine({ ...config.engine, features: config.engine.features });
  return { config, engine, db, days, registry, cancelCells: new Int32Array(config.cancel) };
}

/**
 * This worker's heap and array buffer bytes (the samples of a query live in the latter), from V8
 * alone: `Deno.memoryUsage()` also reads the process' RSS, 7 us against 0.2 us a call, and a query
 * checks this several times.
 */
function memoryInUse(): number {
  const h = v8.getHeapStatistics();
  return h.used_heap_size + h.external_memory;
}

async function postMetrics(registry: Registry): Promise<void> {
  metricsPostedAt = performance.now();
  post({ type: "metrics", metrics: await registry.getMetricsAsJSON() as never });
}

async function runQuery(msg: Extract<ToWorker, { type: "query" }>): Promise<void> {
  const s = await state!;
  await daysLoaded;
  hidden = msg.hidden;
  timeLimit = msg.timeLimit ?? ALL_TIME;
  const cancel = new AbortController();
  running = { id: msg.id, cancel };
  // What the query adds: the heap may still hold garbage of earlier queries, which V8 collects
  // as this one allocates.
  const limit = s.config.memoryLimitBytes;
  const before = memoryInUse();
  let overLimit: QueryError | undefined;
  const guard = limit > 0
    ? () =>
      memoryInUse() - before <= limit ? undefined : overLimit ??= new QueryError(
        "too_many_samples",
        `query processing would use more memory than --query.workers.max-memory allows ` +
          `(${limit} bytes); narrow the query or raise the limit`,
      )
    : undefined;
  const abort = queryAbort(msg.deadline, cancel.signal, { cells: s.cancelCells, index: 0 }, guard);
  // A worker left holding more than the limit (besides its caches, which it keeps on purpose)
  // is replaced rather than collected some time: the next query then starts within it.
  const retire = () =>
    limit > 0 &&
    memoryInUse() > limit + s.config.pageCacheBytes + s.config.locationCacheBytes;
  try {
    const result = await evaluate(s.engine, s.db.queryable(), msg.spec, abort.signal);
    // The result is built after the evaluation's last check: check once more before posting.
    const over = guard?.();
    if (over) throw over;
    post({ type: "done", id: msg.id, result, retire: retire() });
  } catch (err) {
    // The evaluator reports any abort that is not a timeout as a cancel: say why.
    const over = overLimit !== undefined &&
      (err === overLimit || abort.signal.reason === overLimit);
    const error = toWire(over ? overLimit : err);
    post({ type: "failed", id: msg.id, error, retire: retire() });
  } finally {
    abort.dispose();
    running = undefined;
  }
  // For scrapes while the next query runs; idle, the worker answers the pool's asks instead.
  if (performance.now() - metricsPostedAt > METRICS_INTERVAL_MS) await postMetrics(s.registry);
}

async function handle(msg: ToWorker): Promise<void> {
  switch (msg.type) {
    case "init": {
      state = init(msg.config);
      await state;
      post({ type: "ready" });
      return;
    }
    case "days": {
      const update = state!.then((s) => s.days.update(msg.files, msg.unavailable));
      daysLoaded = update.catch(() => {});
      const { loaded, failed } = await update;
      post({ type: "days", loaded, failed });
      await postMetrics((await state!).registry);
      return;
    }
    case "query":
      return await runQuery(msg);
    case "metrics":
      return await postMetrics((await state!).registry);
    case "cancel":
      if (running?.id === msg.id) running.cancel.abort();
      return;
  }
}

scope.onmessage = (e) => {
  handle(e.data).catch((err) => {
    // Only a failed start or day update gets here (queries answer their errors): without its
    // days the worker is of no use, so it fails, and the pool replaces it.
    queueMicrotask(() => {
      throw err;
    });
  });
};
