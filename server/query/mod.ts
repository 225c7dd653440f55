/**
 * PromQL evaluation for the query APIs, bounded in time: a {@linkcode QueryRunner} evaluates a
 * query until its deadline or its caller's cancel, also while the evaluation is CPU-bound. The
 * {@linkcode QueryPool} does it on worker threads, off the thread that serves HTTP, gRPC and
 * health; {@linkcode engineRunner} on the calling thread.
 *
 * @example Serving with a pool
 * ```ts ignore
 * const pool = new QueryPool({ workers: 4, config, logger, registry });
 * pool.start();
 * await syncer.sync();
 * pool.update(syncer.days.map(dayFiles), syncer.unavailable); // after every sync pass
 * await pool.whenReady();
 * const result = await pool.run(
 *   { query: "sum(up)", start: t, end: t, step: 0, lookbackDelta: 0 },
 *   { deadline: queryDeadline(Date.now(), requestTimeout, queryTimeout, engineTimeout) },
 * );
 * pool.close();
 * ```
 *
 * @module
 */
export { type CancelFlag, type QueryAbort, queryAbort } from "./abort.ts";
export { QueryPool, type QueryPoolOptions } from "./pool.ts";
export type { WorkerConfig } from "./_protocol.ts";
export { unreadableWorkerCode, WORKER_CODE_DIRS, workerCodePaths } from "./worker_code.ts";
export {
  engineRunner,
  evaluate,
  queryDeadline,
  type QueryRunner,
  type QuerySpec,
  type RunOptions,
} from "./runner.ts";
