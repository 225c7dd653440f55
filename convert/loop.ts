/**
 * The long-running side of `convert` (gateway.md 3.1): a conversion pass every run interval,
 * each bounded by the run timeout and retried every retry interval until it succeeds or times
 * out, a progress loop publishing how many days are still to convert, and a retention loop
 * marking and deleting expired days.
 *
 * @module
 */
import { Gauge, type Registry } from "prom-client";
import type { Logger } from "../internal/log.ts";
import { deleteMarkedDays, markExpiredDays } from "./retention.ts";
import type { Converter } from "./runner.ts";

/** Timing of the loops, ms. */
export interface LoopOptions {
  /** Time between the starts of two passes (`--convert.run-interval`). */
  readonly runInterval: number;
  /** Time a pass, retries included, may take (`--convert.run-timeout`). */
  readonly runTimeout: number;
  /** Wait before retrying a failed pass (`--convert.retry-interval`). */
  readonly retryInterval: number;
  /** Time between two progress reports (`--convert.progress-interval`). */
  readonly progressInterval: number;
  /** Retention in days (`--convert.retention-days`); 0 disables marking and deleting. */
  readonly retentionDays: number;
  /** Time between two retention passes (the Parquet discovery interval). */
  readonly retentionInterval: number;
}

/** Resolves after `ms`, or when `signal` aborts (without rejecting). */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done);
  });
}

/**
 * One pass with retries: runs `conv.runOnce` until it succeeds, `runTimeout` elapses or `signal`
 * aborts. Resolves to whether a pass succeeded.
 */
export async function convertWithRetries(
  conv: Converter,
  options: Pick<LoopOptions, "runTimeout" | "retryInterval">,
  logger: Logger,
  signal: AbortSignal,
): Promise<boolean> {
  const deadline = AbortSignal.any([signal, AbortSignal.timeout(options.runTimeout)]);
  while (!deadline.aborted) {
    try {
      const days = await conv.runOnce(Date.now(), deadline);
      logger.info("conversion pass done", { days: days.length });
      return true;
    } catch (err) {
      if (deadline.aborted) break;
      logger.error("conversion pass failed", { err: String(err) });
      await sleep(options.retryInterval, deadline);
    }
  }
  if (!signal.aborted) logger.error("conversion pass timed out", { timeout: options.runTimeout });
  return false;
}

/** Runs passes and progress reports until `signal` aborts. */
export async function runConversionLoop(
  conv: Converter,
  options: LoopOptions,
  registry: Registry,
  logger: Logger,
  signal: AbortSignal,
): Promise<void> {
  const lastSuccess = new Gauge({
    name: "convert_last_successful_convert_time_unix_seconds",
    help: "Time of the last successful conversion pass, unix seconds.",
    registers: [registry],
  });
  const todo = new Gauge({
    name: "todo_convert_steps",
    help: "Days the current plan still has to convert.",
    registers: [registry],
  });
  const progress = async () => {
    while (!signal.aborted) {
      try {
        todo.set((await conv.plan(Date.now(), signal)).length);
      } catch (err) {
        if (!signal.aborted) logger.warn("planning for progress failed", { err: String(err) });
      }
      await sleep(options.progressInterval, signal);
    }
  };
  const passes = async () => {
    while (!signal.aborted) {
      const started = Date.now();
      if (await convertWithRetries(conv, options, logger, signal)) {
        lastSuccess.set(Date.now() / 1000);
      }
      await sleep(Math.max(0, options.runInterval - (Date.now() - started)), signal);
    }
  };
  const retention = async () => {
    while (!signal.aborted && options.retentionDays > 0) {
      try {
        const now = Date.now();
        const marked = await markExpiredDays(conv.parquet, now, options.retentionDays, signal);
        const deleted = await deleteMarkedDays(conv.parquet, now, undefined, signal);
        if (marked.length + deleted.length > 0) {
          logger.info("retention pass done", { marked: marked.length, deleted: deleted.length });
        }
      } catch (err) {
        if (!signal.aborted) logger.warn("retention pass failed", { err: String(err) });
      }
      await sleep(options.retentionInterval, signal);
    }
  };
  await Promise.all([progress(), passes(), retention()]);
}
