/**
 * The `convert` process (gateway.md 3.1): discovery of both buckets, planning, converting what is
 * due, the backlog gauge and retention, either as a loop every `--convert.run-interval` (with
 * retries every `--convert.retry-interval` inside a run of at most `--convert.run-timeout`) or
 * once for scripts (`--convert.once`), or as a plan print-out (`--convert.dry-run`). A converter
 * given a part of the plan (`--convert.shard`) plans, converts and applies retention to the days
 * of that part only.
 *
 * The conversion of one day is a parameter ({@linkcode ConvertStep}), so this file knows nothing
 * of TSDB or Parquet encoding.
 *
 * @module
 */
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import type { Logger } from "../internal/log.ts";
import { permissionDenial } from "../internal/permission.ts";
import type { Bucket } from "../storage/objstore/bucket.ts";
import type { ParquetDiscoverer } from "../storage/parquet/discovery.ts";
import { planConversion, type PlanStep } from "./plan.ts";
import type { RunPosition } from "./progress.ts";
import { NoSeriesError } from "./convert.ts";
import { DAY_MS } from "../storage/parquet/days.ts";
import { deleteMarkedDays, markExpiredDays } from "./retention.ts";
import { ownsDay, type PlanShard } from "./shard.ts";
import type { DiscoveredBlock, TsdbDiscoverer } from "./tsdb_discovery.ts";

/** What converting one day reports. */
export interface StepResult {
  /** Series written. */
  series: number;
  /** Shards written (bytes written are counted by the bucket's `objstore_bucket_*` metrics). */
  shards: number;
}

/** Converts one planned day, the `position`-th of its run; must leave no `meta.pb` on failure. */
export type ConvertStep = (
  step: PlanStep<DiscoveredBlock>,
  signal: AbortSignal,
  position: RunPosition,
) => Promise<StepResult>;

/** Options of {@linkcode ConvertRunner}. */
export interface ConvertRunnerOptions {
  /** The destination bucket (retention writes and deletes here). */
  parquet: Bucket;
  /** TSDB discovery over the source bucket. */
  tsdbDiscoverer: TsdbDiscoverer;
  /** Parquet discovery over the destination bucket. */
  parquetDiscoverer: ParquetDiscoverer;
  /** Converts one day. */
  convertStep: ConvertStep;
  /** Planning limits. */
  gracePeriodMs: number;
  /** Soft limit of days per stream and plan. */
  maxPlanDays: number;
  /** Retention in days (0 disables). */
  retentionDays: number;
  /**
   * The part of the plan this converter takes (`--convert.shard`), default all. Stream keys must
   * be the decimal external-labels hashes, as retention knows days by hash.
   */
  shard?: PlanShard;
  /** Where metrics go. */
  registry: Registry;
  /** Logger. */
  logger: Logger;
  /** Clock, ms. */
  now?: () => number;
}

/** The outcome of one pass over a plan. */
export interface RunSummary {
  /** Steps planned. */
  planned: number;
  /** Days converted. */
  converted: string[];
  /** Days that failed, with their errors. */
  failed: { day: string; error: string }[];
  /** Days whose blocks hold no sample of them: nothing written, not a failure. */
  skipped: string[];
}

function stepName(step: PlanStep): string {
  return `${step.streamKey}/${step.day.date}`;
}

/** Runs conversions; see the module documentation. */
export class ConvertRunner {
  readonly #o: ConvertRunnerOptions;
  readonly #now: () => number;
  readonly #daysConverted: Counter;
  readonly #failures: Counter;
  readonly #duration: Histogram;
  readonly #series: Counter;
  readonly #lastSuccess: Gauge;
  readonly #todo: Gauge;
  #lastRetentionSync = 0;

  /** Creates a runner and registers its metrics. */
  constructor(opts: ConvertRunnerOptions) {
    this.#o = opts;
    this.#now = opts.now ?? Date.now;
    const registers = [opts.registry];
    this.#daysConverted = new Counter({
      name: "convert_days_converted_total",
      help: "Days converted successfully.",
      registers,
    });
    this.#failures = new Counter({
      name: "convert_failures_total",
      help: "Day conversions that failed.",
      registers,
    });
    this.#duration = new Histogram({
      name: "convert_day_duration_seconds",
      help: "Time to convert one day.",
      buckets: [1, 5, 15, 60, 300, 900, 1800, 3600, 7200, 14400],
      registers,
    });
    this.#series = new Counter({
      name: "convert_written_series_total",
      help: "Series written into Parquet days.",
      registers,
    });
    this.#lastSuccess = new Gauge({
      name: "convert_last_successful_convert_time_unix_seconds",
      help: "When the last day conversion succeeded.",
      registers,
    });
    this.#todo = new Gauge({
      name: "todo_convert_steps",
      help: "Days planned for conversion and not yet converted.",
      registers,
    });
  }

  /** Discovers both buckets and returns the current plan. */
  async plan(signal?: AbortSignal): Promise<PlanStep<DiscoveredBlock>[]> {
    await Promise.all([
      this.#o.tsdbDiscoverer.discover(signal),
      this.#o.parquetDiscoverer.discover(signal),
    ]);
    const now = this.#now();
    let steps = planConversion(
      this.#o.tsdbDiscoverer.streams(),
      this.#o.parquetDiscoverer.convertedDays(),
      {
        now,
        gracePeriod: this.#o.gracePeriodMs,
        maxDays: this.#o.maxPlanDays,
        shard: this.#o.shard,
      },
    );
    // Days past retention would only be marked and deleted again (the Go converter redoes them).
    if (this.#o.retentionDays > 0) {
      const cutoff = now - this.#o.retentionDays * DAY_MS;
      steps = steps.filter((s) => s.day.start >= cutoff);
    }
    this.#todo.set(steps.length);
    return steps;
  }

  /** Describes a plan for `--convert.dry-run`: one line per day. */
  static describePlan(steps: readonly PlanStep<DiscoveredBlock>[]): string {
    if (steps.length === 0) return "nothing to convert\n";
    const lines = steps.map((s) => {
      const series = s.sources.reduce((n, b) => n + (b.meta.stats.numSeries ?? 0), 0);
      const labels = Object.entries(s.externalLabels).map(([k, v]) => `${k}=${JSON.stringify(v)}`)
        .join(",");
      return `${s.day.date} stream=${s.streamKey} {${labels}} blocks=${
        s.sources.map((b) => b.ulid).join(",")
      } estimated_series<=${series}`;
    });
    return lines.join("\n") + "\n";
  }

  /**
   * Plans and converts every planned day once; failures are collected, not thrown, except a
   * refused Deno permission, which ends the pass.
   */
  async runOnce(signal: AbortSignal): Promise<RunSummary> {
    const steps = await this.plan(signal);
    const summary: RunSummary = { planned: steps.length, converted: [], failed: [], skipped: [] };
    for (const [index, step] of steps.entries()) {
      signal.throwIfAborted();
      const name = stepName(step);
      const started = this.#now();
      try {
        const result = await this.#o.convertStep(step, signal, { index, count: steps.length });
        this.#daysConverted.inc();
        this.#series.inc(result.series);
        this.#duration.observe((this.#now() - started) / 1000);
        this.#lastSuccess.set(this.#now() / 1000);
        this.#todo.dec();
        summary.converted.push(name);
      } catch (err) {
        // A refused permission would fail every other day the same way.
        if (signal.aborted || permissionDenial(err)) throw err;
        if (err instanceof NoSeriesError) {
          this.#o.logger.warn("no samples in day, nothing written", { day: name });
          summary.skipped.push(name);
          continue;
        }
        this.#failures.inc();
        const error = err instanceof Error ? err.message : String(err);
        summary.failed.push({ day: name, error });
        this.#o.logger.error("day conversion failed", { day: name, err });
      }
    }
    return summary;
  }

  /**
   * One iteration of the loop: retries the run every `retryIntervalMs` until it converts all it
   * planned, or `runTimeoutMs` passes, or `signal` aborts. A refused Deno permission is thrown:
   * no retry can succeed.
   */
  async runWithRetries(
    signal: AbortSignal,
    runTimeoutMs: number,
    retryIntervalMs: number,
  ): Promise<void> {
    const run = AbortSignal.any([signal, AbortSignal.timeout(runTimeoutMs)]);
    while (!run.aborted) {
      try {
        const summary = await this.runOnce(run);
        if (summary.failed.length === 0) return;
      } catch (err) {
        if (run.aborted) break;
        if (permissionDenial(err)) throw err;
        this.#o.logger.error("conversion run failed", { err });
      }
      await sleep(retryIntervalMs, run);
    }
    if (!signal.aborted) this.#o.logger.warn("conversion run timed out; next run will continue");
  }

  /** Recomputes the backlog gauge. */
  async updateBacklog(signal?: AbortSignal): Promise<void> {
    await this.plan(signal);
  }

  /**
   * Applies retention: marks expired days (only after a new Parquet discovery pass, so a day is
   * never marked twice from stale state) and deletes days whose markers are old enough.
   */
  async applyRetention(signal?: AbortSignal): Promise<void> {
    if (this.#o.retentionDays <= 0) return;
    const shard = this.#o.shard;
    const owns = (hash: bigint, date: string) => !shard || ownsDay(shard, hash.toString(), date);
    await this.#o.parquetDiscoverer.discover(signal);
    const sync = this.#o.parquetDiscoverer.lastSync;
    if (sync > this.#lastRetentionSync) {
      this.#lastRetentionSync = sync;
      await markExpiredDays(
        this.#o.parquet,
        this.#o.parquetDiscoverer.streams.values(),
        this.#o.retentionDays,
        this.#now(),
        this.#o.logger,
        signal,
        owns,
      );
    }
    await deleteMarkedDays(this.#o.parquet, this.#now(), this.#o.logger, undefined, signal, owns);
  }
}

/** Resolves after `ms`, or early when `signal` aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}

/**
 * Runs `fn` now (or first after one interval when `immediate` is false) and then every
 * `intervalMs` until `signal` aborts (Thanos' `runutil.Repeat`); errors are logged and do not
 * stop the loop, except a refused Deno permission: it would recur on every pass, so the loop
 * rejects with it and the process reports it.
 */
export async function repeat(
  intervalMs: number,
  signal: AbortSignal,
  logger: Logger,
  what: string,
  fn: () => Promise<void>,
  immediate = true,
): Promise<void> {
  if (!immediate) await sleep(intervalMs, signal);
  while (!signal.aborted) {
    try {
      await fn();
    } catch (err) {
      if (permissionDenial(err)) throw err;
      if (!signal.aborted) logger.error(`${what} failed`, { err });
    }
    await sleep(intervalMs, signal);
  }
}
