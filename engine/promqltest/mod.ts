/**
 * A runner of Prometheus' PromQL test language (`promql/promqltest`): parse scripts, load their
 * series into an in-memory store, evaluate their queries with an engine, compare results.
 *
 * @example
 * ```ts
 * import { runScript } from "./mod.ts";
 * const result = await runScript(await Deno.readTextFile("x.test"), engine);
 * console.log(result.evals.filter((e) => e.ok).length, "/", result.evals.length);
 * ```
 *
 * @module
 */
export * from "./script.ts";
export * from "./compare.ts";
export * from "./nhcb.ts";
export * from "./at_modifier.ts";
export * from "./runner.ts";
