/**
 * PromQL conformance: runs Prometheus' PromQL test scripts with our engine and reports, per
 * file, how many evals pass.
 *
 * Usage: `deno task conformance [--no-at-variants] [--no-range-check] [--all-failures]
 * [files...]`. Without files it runs `../shared/promqltest/*.test` relative to the project
 * root. Prints `FILE: PASSED/TOTAL` per file with its first failure indented below, then
 * `total: PASSED/TOTAL`. Exits 0 whatever the pass rate (thresholds belong to the caller).
 *
 * The engine runs as Prometheus' own test suite configures it: lookback delta 5m, at most 10000
 * samples per query, every feature flag on (experimental functions, extended range selectors,
 * fill modifiers, duration expressions, delayed name removal, start timestamps).
 *
 * @module
 */
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { QueryEngine } from "../engine/engine.ts";
import { Features } from "../engine/parser.ts";
import { type EvalResult, runScript, type ScriptResult } from "../engine/promqltest/mod.ts";

/** The root of the project (this file's parent directory's parent). */
export const PROJECT_ROOT: string = fileURLToPath(new URL("..", import.meta.url));

/** Where the Prometheus test scripts live, relative to the project root. */
export const DEFAULT_TEST_DIR: string = join(PROJECT_ROOT, "..", "shared", "promqltest");

/** Every feature flag Prometheus' built-in PromQL tests run with. */
export const ALL_FEATURES: ReadonlySet<string> = new Set([
  ...Object.values(Features),
  "promql-delayed-name-removal",
  "use-start-timestamps",
]);

/** Engine options as Prometheus' test engine sets them. */
export const ENGINE_OPTIONS = {
  lookbackDelta: 5 * 60_000,
  maxSamples: 10_000,
  features: ALL_FEATURES,
};

/** The evaluator's constructor, as `engine/engine.ts` exports it. */
export type EngineConstructor = new (options: typeof ENGINE_OPTIONS) => QueryEngine;

/**
 * Loads the evaluator from `engine/engine.ts`. The specifier is computed so this file
 * type-checks whether or not the evaluator is present; returns `undefined` when it is absent.
 */
export async function loadEngine(): Promise<EngineConstructor | undefined> {
  const url = new URL("../engine/engine.ts", import.meta.url);
  try {
    await Deno.stat(url);
  } catch {
    return undefined;
  }
  const mod = await import(url.href);
  if (typeof mod.Engine !== "function") {
    throw new TypeError(`${url.pathname} does not export a class Engine`);
  }
  return mod.Engine as EngineConstructor;
}

/** Lists the `.test` files of a directory, sorted; `undefined` when it does not exist. */
export async function listTestFiles(dir: string): Promise<string[] | undefined> {
  const files: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      if (e.isFile && e.name.endsWith(".test")) files.push(join(dir, e.name));
    }
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
  return files.sort();
}

/** Options of {@linkcode runConformance}. */
export interface ConformanceOptions {
  /** Run the `@`-modifier variants of instant evals (default true). */
  atModifierVariants?: boolean;
  /** Re-check instant evals as range queries (default true). */
  rangeModeCheck?: boolean;
  /** Print every failure, not only the first of each file. */
  allFailures?: boolean;
  /** Where report lines go (default `console.log`). */
  write?: (line: string) => void;
}

/** Per-file and total pass counts. */
export interface ConformanceReport {
  /** Per file: its name and script result. */
  files: { file: string; result: ScriptResult }[];
  /** Evals that passed, over all files. */
  passed: number;
  /** Evals, over all files. */
  total: number;
}

// A file's failures in line order: evals that failed and problems outside evals.
function failures(r: ScriptResult): { line: number; text: string }[] {
  const out = [
    ...r.problems.map((p) => ({ line: p.line, text: `line ${p.line}: ${p.error}` })),
    ...r.evals.filter((e) => !e.ok).map((e: EvalResult) => ({
      line: e.line,
      text: `line ${e.line}: ${e.expr}: ${e.error}`,
    })),
  ];
  return out.sort((a, b) => a.line - b.line);
}

/** Runs the given script files with engines from `makeEngine` (one per file) and reports. */
export async function runConformance(
  files: readonly string[],
  makeEngine: () => QueryEngine,
  options: ConformanceOptions = {},
): Promise<ConformanceReport> {
  const write = options.write ?? ((l: string) => console.log(l));
  const report: ConformanceReport = { files: [], passed: 0, total: 0 };
  for (const file of files) {
    const text = await Deno.readTextFile(file);
    const result = await runScript(text, makeEngine(), {
      atModifierVariants: options.atModifierVariants,
      rangeModeCheck: options.rangeModeCheck,
      parseOptions: { features: ALL_FEATURES },
    });
    const passed = result.evals.filter((e) => e.ok).length;
    report.files.push({ file, result });
    report.passed += passed;
    report.total += result.evals.length;
    write(`${basename(file)}: ${passed}/${result.evals.length}`);
    const failed = failures(result);
    for (const f of options.allFailures ? failed : failed.slice(0, 1)) {
      write(`    ${f.text.replaceAll("\n", "\n    ")}`);
    }
  }
  write(`total: ${report.passed}/${report.total}`);
  return report;
}

async function main(args: string[]): Promise<number> {
  const flags = new Set(args.filter((a) => a.startsWith("--")));
  const known = new Set(["--no-at-variants", "--no-range-check", "--all-failures"]);
  for (const f of flags) {
    if (!known.has(f)) {
      console.error(`unknown flag ${f}; known: ${[...known].join(", ")}`);
      return 2;
    }
  }
  let files = args.filter((a) => !a.startsWith("--"));
  if (files.length === 0) {
    const found = await listTestFiles(DEFAULT_TEST_DIR);
    if (found === undefined) {
      console.log(`no PromQL test scripts: ${DEFAULT_TEST_DIR} does not exist; nothing to run`);
      return 0;
    }
    files = found;
  }
  const Engine = await loadEngine();
  if (!Engine) {
    console.log("engine/engine.ts (the evaluator) is not present yet; nothing to run");
    return 0;
  }
  await runConformance(files, () => new Engine(ENGINE_OPTIONS), {
    atModifierVariants: !flags.has("--no-at-variants"),
    rangeModeCheck: !flags.has("--no-range-check"),
    allFailures: flags.has("--all-failures"),
  });
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
