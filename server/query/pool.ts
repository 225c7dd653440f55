/**
 * The query worker pool: PromQL evaluation off the main thread, whose event loop then only
 * serves HTTP, gRPC, health and metrics (and syncs days), whatever the queries cost; the workers
 * also let one process use every core.
 *
 * Each worker (`worker.ts`) runs one query at a time, so that a query that holds its thread for
 * seconds never holds up another query: queries wait in one queue, in arrival order, for a free
 * worker. Storage is per worker: each opens the days the syncer loaded (from their
 * {@linkcode DayFiles}, never listing or downloading) with its own bucket client and its share of
 * the page and dictionary caches, so the total stays within `--query.storage.page-cache-size`.
 * Reading Parquet, decoding pages and chunks then all happen in the worker, with no copying of
 * series between threads; only results cross.
 *
 * A query stops at its deadline and when its caller cancels: the pool answers at once, sets the
 * worker's shared cancel cell, which the running evaluation polls (see `abort.ts`), and posts a
 * `cancel` that aborts its storage reads. A worker still busy `killAfterMs` later is terminated
 * and replaced (`query_pool_worker_restarts_total{reason="unresponsive"}`), as is one that
 * crashes and one left above its memory limit by a query (`reason="memory"`).
 * `query_pool_abort_seconds` is how long stopped queries took to stop.
 *
 * @module
 */
import { AggregatorRegistry, Counter, Gauge, Histogram, type Registry } from "prom-client";
import { QueryError } from "../../engine/errors.ts";
import type { QueryResult } from "../../engine/value.ts";
import type { Logger } from "../../internal/log.ts";
import type { DayFiles } from "../db/open_day.ts";
import type { DayRange } from "../db/syncer.ts";
import type { UnavailableDay } from "../db/unavailable.ts";
import {
  fromWire,
  type FromWorker,
  type MetricJson,
  type ToWorker,
  type WorkerConfig,
} from "./_protocol.ts";
import { atDeadline } from "./abort.ts";
import type { QueryRunner, QuerySpec, RunOptions } from "./runner.ts";

/** Options of {@linkcode QueryPool}. */
export interface QueryPoolOptions {
  /** Worker threads (at least 1). */
  workers: number;
  /** The workers' configuration; `pageCacheBytes` and `dictionaryCacheEntries` are per worker. */
  config: Omit<WorkerConfig, "id" | "cancel">;
  /** Loaded days the block filter hides right now (default: none). */
  hidden?: () => readonly DayRange[];
  /**
   * The time range served right now (the slice's `--min-time`, `--max-time`), read at each
   * dispatch: queries are clamped to it as on the main thread (default: unlimited).
   */
  timeLimit?: () => DayRange;
  /** How long a stopped query may keep its worker busy before it is replaced, ms (default 100). */
  killAfterMs?: number;
  /** Logs worker events and the workers' own lines. */
  logger: Logger;
  /** Registry for the pool's metrics. */
  registry?: Registry;
}

/** A query waiting for, or running on, a worker. */
interface Job {
  readonly id: number;
  readonly spec: QuerySpec;
  readonly deadline: number;
  readonly resolve: (r: QueryResult) => void;
  readonly reject: (e: unknown) => void;
  /** Whether the caller has its answer. */
  settled: boolean;
  /** When the pool told the worker to stop, ms (performance clock). */
  stoppedAt?: number;
  /** Ends the deadline timer and the signal listener. */
  cleanup: () => void;
}

interface Slot {
  readonly id: number;
  worker: Worker;
  cancel: Int32Array;
  /** Whether the worker has opened a day set. */
  ready: boolean;
  job?: Job;
  killTimer?: ReturnType<typeof setTimeout>;
  restartTimer?: ReturnType<typeof setTimeout>;
  metrics: readonly MetricJson[];
  /** Waiting for the worker's next metrics. */
  metricsWaiters: (() => void)[];
}

/** Why a query was stopped, for the metrics. */
type StopReason = "timeout" | "canceled";

/** Why a worker was replaced, for the metrics. */
type RestartReason = "unresponsive" | "crashed" | "memory";

/** How long a scrape waits for an idle worker's metrics, ms. */
const METRICS_ASK_MS = 200;

/** Delay before a worker that failed to start is started again, ms. */
const RESTART_DELAY_MS = 1000;

/** The module a worker runs. */
const WORKER_URL = new URL("./worker.ts", import.meta.url);
/** Evaluates queries on a pool of Deno workers; see the module documentation. */
export class QueryPool implements QueryRunner {
  readonly #opts: QueryPoolOptions;
  readonly #slots: Slot[] = [];
  readonly #queue: Job[] = [];
  #nextJob = 1;
  #days: { files: readonly DayFiles[]; unavailable: readonly UnavailableDay[] } | undefined;
  #closed = false;
  #ready = Promise.withResolvers<void>();
  /** Counter and histogram values of replaced workers, so that totals do not drop. */
  #retired: readonly MetricJson[] = [];
  readonly #restarts: Counter<"reason">;
  readonly #stops: Counter<"reason">;
  readonly #stopSeconds: Histogram;

  /** Creates the pool; {@linkcode start} starts its workers. */
  constructor(opts: QueryPoolOptions) {
    if (!(opts.workers >= 1)) {
      throw new RangeError(`workers must be at least 1, got ${opts.workers}`);
    }
    this.#opts = opts;
    const registers = opts.registry ? [opts.registry] : [];
    const slots = this.#slots;
    const queue = this.#queue;
    new Gauge({
      name: "query_pool_workers",
      help: "Query worker threads.",
      registers,
      collect() {
        this.set(slots.length);
      },
    });
    new Gauge({
      name: "query_pool_busy_workers",
      help: "Query workers running a query (a stopped one until it has stopped).",
      registers,
      collect() {
        this.set(slots.filter((s) => s.job).length);
      },
    });
    new Gauge({
      name: "query_pool_queued_queries",
      help: "Queries waiting for a free query worker.",
      registers,
      collect() {
        this.set(queue.length);
      },
    });
    this.#restarts = new Counter({
      name: "query_pool_worker_restarts_total",
      help: "Query workers replaced: unresponsive (still busy after a stop), crashed, or left " +
        "over their memory limit by a query.",
      labelNames: ["reason"],
      registers,
    });
    this.#stops = new Counter({
      name: "query_pool_stopped_queries_total",
      help: "Running queries stopped before their end, by reason (timeout or canceled).",
      labelNames: ["reason"],
      registers,
    });
    this.#stopSeconds = new Histogram({
      name: "query_pool_abort_seconds",
      help: "Time from stopping a running query to its worker being free again.",
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers,
    });
    for (const r of ["unresponsive", "crashed", "memory"]) this.#restarts.inc({ reason: r }, 0);
    for (const r of ["timeout", "canceled"]) this.#stops.inc({ reason: r }, 0);
  }

  /** Starts the workers; they serve once they have opened the days of {@linkcode update}. */
  start(): void {
    for (let i = this.#slots.length; i < this.#opts.workers; i++) {
      // The worker fields are set by #spawn.
      const slot = { id: i } as Slot;
      this.#spawn(slot);
      this.#slots.push(slot);
    }
  }

  /** Resolves once every worker has opened a day set. */
  whenReady(): Promise<void> {
    return this.#ready.promise;
  }

  /** Sends the syncer's current days to every worker. */
  update(files: readonly DayFiles[], unavailable: readonly UnavailableDay[]): void {
    this.#days = { files, unavailable };
    for (const slot of this.#slots) this.#post(slot, { type: "days", files, unavailable });
  }

  /** Evaluates `spec` on a free worker; see {@linkcode QueryRunner.run}. */
  run(spec: QuerySpec, opts: RunOptions): Promise<QueryResult> {
    if (this.#closed) return Promise.reject(new Error("the query pool is closed"));
    const { promise, resolve, reject } = Promise.withResolvers<QueryResult>();
    const signal = opts.signal;
    const onAbort = () =>
      this.#stop(job, "canceled", new QueryError("canceled", "query was canceled"));
    const clearTimer = atDeadline(opts.deadline, () => {
      const where = this.#queue.includes(job) ? "query queue" : "expression evaluation";
      this.#stop(job, "timeout", new QueryError("timeout", `query timed out in ${where}`));
    });
    const job: Job = {
      id: this.#nextJob++,
      spec,
      deadline: opts.deadline,
      resolve,
      reject,
      settled: false,
      cleanup: () => {
        clearTimer();
        signal?.removeEventListener("abort", onAbort);
      },
    };
    if (signal?.aborted) onAbort();
    else {
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#queue.push(job);
      this.#dispatch();
    }
    return promise;
  }

  /**
   * The main thread's metrics in `registry` with the workers' added (counters and histograms
   * summed, gauges too: e.g. the page cache bytes of all workers), in the text format.
   */
  async metrics(registry: Registry): Promise<string> {
    // Idle workers are asked for theirs now; a busy one's are as of its last post.
    await Promise.all(this.#slots.filter((s) => s.ready && !s.job).map((s) => this.#askMetrics(s)));
    const all = [await registry.getMetricsAsJSON(), this.#retired];
    for (const s of this.#slots) all.push(s.metrics);
    return await AggregatorRegistry.aggregate(all).metrics();
  }

  /** Fails queued queries, stops running ones and terminates the workers. */
  close(): void {
    this.#closed = true;
    for (const job of this.#queue.splice(0)) {
      this.#settle(job, undefined, new QueryError("canceled", "the server is shutting down"));
    }
    for (const slot of this.#slots) {
      clearTimeout(slot.killTimer);
      clearTimeout(slot.restartTimer);
      if (slot.job) this.#settle(slot.job, undefined, new Error("the server is shutting down"));
      slot.worker.terminate();
    }
  }

  #spawn(slot: Slot): void {
    const worker = new Worker(WORKER_URL, { type: "module" });
    const cancel = new SharedArrayBuffer(4);
    slot.worker = worker;
    slot.cancel = new Int32Array(cancel);
    slot.ready = false;
    slot.job = undefined;
    slot.metrics = [];
    for (const wake of slot.metricsWaiters?.splice(0) ?? []) wake();
    slot.metricsWaiters = [];
    worker.onmessage = (e: MessageEvent<FromWorker>) => {
      if (slot.worker === worker) this.#onMessage(slot, e.data);
    };
    worker.onerror = (e) => {
      e.preventDefault();
      if (slot.worker === worker) this.#onCrash(slot, e.message);
    };
    worker.onmessageerror = () => {
      if (slot.worker === worker) this.#onCrash(slot, "a message from the worker did not arrive");
    };
    this.#post(slot, { type: "init", config: { ...this.#opts.config, id: slot.id, cancel } });
    if (this.#days) this.#post(slot, { type: "days", ...this.#days });
  }

  /** Asks `slot` for its metrics; resolves when they arrive or after a short wait. */
  #askMetrics(slot: Slot): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, METRICS_ASK_MS);
      slot.metricsWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
      this.#post(slot, { type: "metrics" });
    });
  }

  #post(slot: Slot, message: ToWorker): void {
    slot.worker.postMessage(message);
  }

  #onMessage(slot: Slot, msg: FromWorker): void {
    switch (msg.type) {
      case "ready":
        return;
      case "days":
        if (msg.failed.length > 0) {
          this.#opts.logger.warn("a query worker could not open some days", {
            worker: slot.id,
            days: msg.failed.map((d) => d.key).join(","),
          });
        }
        if (!slot.ready) {
          slot.ready = true;
          if (this.#slots.length === this.#opts.workers && this.#slots.every((s) => s.ready)) {
            this.#ready.resolve();
          }
          this.#dispatch();
        }
        return;
      case "done":
      case "failed": {
        const job = slot.job;
        if (!job || job.id !== msg.id) return;
        clearTimeout(slot.killTimer);
        slot.killTimer = undefined;
        slot.job = undefined;
        if (job.stoppedAt !== undefined) {
          this.#stopSeconds.observe((performance.now() - job.stoppedAt) / 1000);
        }
        if (msg.type === "done") this.#settle(job, msg.result);
        else this.#settle(job, undefined, fromWire(msg.error));
        if (msg.retire) this.#replace(slot, "memory");
        this.#dispatch();
        return;
      }
      case "metrics":
        slot.metrics = msg.metrics;
        for (const wake of slot.metricsWaiters.splice(0)) wake();
        return;
      case "log":
        this.#opts.logger[msg.level](msg.msg, msg.fields);
        return;
    }
  }

  #onCrash(slot: Slot, message: string): void {
    if (this.#closed) return;
    this.#opts.logger.error("query worker crashed; starting another", {
      worker: slot.id,
      err: message,
    });
    if (slot.job) this.#settle(slot.job, undefined, new Error(`query worker crashed: ${message}`));
    this.#replace(slot, "crashed", slot.ready ? 0 : RESTART_DELAY_MS);
  }

  #replace(slot: Slot, reason: RestartReason, delayMs = 0): void {
    clearTimeout(slot.killTimer);
    slot.killTimer = undefined;
    slot.worker.terminate();
    this.#restarts.inc({ reason });
    // Counters and histograms of the old worker stay counted; its gauges go with it.
    const kept = slot.metrics.filter((m) => m.type !== "gauge");
    if (kept.length > 0) {
      const merged = AggregatorRegistry.aggregate([this.#retired, kept]);
      merged.getMetricsAsJSON().then((json) => this.#retired = json as never);
    }
    slot.job = undefined;
    slot.ready = false;
    slot.metrics = [];
    if (delayMs > 0) slot.restartTimer = setTimeout(() => this.#spawn(slot), delayMs);
    else this.#spawn(slot);
  }

  #dispatch(): void {
    while (this.#queue.length > 0) {
      const slot = this.#slots.find((s) => s.ready && !s.job);
      if (!slot) return;
      const job = this.#queue.shift()!;
      slot.job = job;
      Atomics.store(slot.cancel, 0, 0);
      this.#post(slot, {
        type: "query",
        id: job.id,
        spec: job.spec,
        deadline: job.deadline,
        hidden: this.#opts.hidden?.() ?? [],
        timeLimit: this.#opts.timeLimit?.(),
      });
    }
  }

  /** Answers `job` with `err` and, if it runs, tells its worker to stop. */
  #stop(job: Job, reason: StopReason, err: QueryError): void {
    if (job.settled) return;
    const queued = this.#queue.indexOf(job);
    if (queued >= 0) this.#queue.splice(queued, 1);
    this.#settle(job, undefined, err);
    const slot = this.#slots.find((s) => s.job === job);
    if (!slot) return;
    this.#stops.inc({ reason });
    job.stoppedAt = performance.now();
    Atomics.store(slot.cancel, 0, 1);
    this.#post(slot, { type: "cancel", id: job.id });
    slot.killTimer = setTimeout(() => {
      if (slot.job !== job) return;
      this.#opts.logger.warn("query worker still busy after stopping a query; replacing it", {
        worker: slot.id,
        query: job.spec.query,
      });
      this.#replace(slot, "unresponsive");
    }, this.#opts.killAfterMs ?? 100);
  }

  #settle(job: Job, result?: QueryResult, err?: unknown): void {
    if (job.settled) return;
    job.settled = true;
    job.cleanup();
    if (err !== undefined) job.reject(err);
    else job.resolve(result!);
  }
}
