/**
 * Runs PromQL test scripts against any {@linkcode QueryEngine}, over an
 * in-memory store. Unlike Prometheus' interpreter, which stops a file at its first failure,
 * every eval runs and is reported, so a script yields a pass count.
 *
 * Per instant eval, as upstream: the query at its time; then (option `atModifierVariants`) the
 * `@`-pinned variants; then (option `rangeModeCheck`) each as a range query from T-1m to T+1m
 * whose point at T must equal the same expectation.
 *
 * @module
 */
import type { FloatHistogram } from "../../model/histogram.ts";
import type { ParseOptions } from "../parser.ts";
import { MemoryQueryable } from "../memory_queryable.ts";
import type { QueryResult, Sample, Value } from "../value.ts";
import type { QueryEngine } from "../engine.ts";
import { atModifierCases } from "./at_modifier.ts";
import { checkMatrixSorted, compareResult } from "./compare.ts";
import { convertClassicHistograms } from "./nhcb.ts";
import type { Command, EvalCommand, ExpectLine, LoadCommand } from "./script.ts";
import { parseScript } from "./script.ts";

/** Options of {@linkcode runScript}. */
export interface RunOptions {
  /** Run the `@`-modifier variants of instant evals (default true, as upstream). */
  atModifierVariants?: boolean;
  /** Re-check instant evals as range queries (default true, as upstream). */
  rangeModeCheck?: boolean;
  /** Parser options used to build the `@` variants (the engine's feature flags). */
  parseOptions?: ParseOptions;
  /** Aborts a single query after this many ms, through the engine's signal (default 60 s). */
  queryTimeout?: number;
  /** Called after each eval (progress reporting). */
  onEval?: (result: EvalResult) => void;
}

/** The outcome of one eval block. */
export interface EvalResult {
  /** 1-based line of the eval. */
  line: number;
  /** The expression. */
  expr: string;
  /** Whether every check of the eval passed. */
  ok: boolean;
  /** The first failed check, when not ok. */
  error?: string;
}

/** The outcome of one script. */
export interface ScriptResult {
  /** One entry per eval block, in script order. */
  evals: EvalResult[];
  /** Problems outside evals: malformed loads, unknown commands. */
  problems: { line: number; error: string }[];
}

const MINUTE = 60_000;

/**
 * Parses and runs a script.
 *
 * @example
 * ```ts
 * const r = await runScript("load 1m\n  up 1 2\n\neval instant at 1m up\n  up 2\n", engine);
 * r.evals[0].ok;
 * ```
 */
export async function runScript(
  script: string,
  engine: QueryEngine,
  options: RunOptions = {},
): Promise<ScriptResult> {
  return await runCommands(parseScript(script), engine, options);
}

/** Runs already parsed commands. */
export async function runCommands(
  cmds: readonly Command[],
  engine: QueryEngine,
  options: RunOptions = {},
): Promise<ScriptResult> {
  const result: ScriptResult = { evals: [], problems: [] };
  // Upstream's expectations assume the counter reset hints a real TSDB reports on read.
  const newStorage = () => new MemoryQueryable({ tsdbCounterResetHints: true });
  let storage = newStorage();
  for (const cmd of cmds) {
    switch (cmd.kind) {
      case "clear":
        storage = newStorage();
        break;
      case "problem":
        result.problems.push({ line: cmd.line, error: cmd.error });
        break;
      case "load": {
        const error = cmd.error ?? applyLoad(cmd, storage);
        if (error) result.problems.push({ line: cmd.line, error });
        break;
      }
      case "eval": {
        const error = cmd.error ?? await runEval(cmd, engine, storage, options);
        const r: EvalResult = { line: cmd.line, expr: cmd.expr, ok: error === undefined };
        if (error !== undefined) r.error = error;
        result.evals.push(r);
        options.onEval?.(r);
        break;
      }
    }
  }
  return result;
}

/** Stores a load block's samples (and, for `load_with_nhcb`, the converted histograms). */
export function applyLoad(cmd: LoadCommand, storage: MemoryQueryable): string | undefined {
  try {
    for (const s of cmd.series) {
      for (let i = 0; i < s.values.length; i++) {
        const v = s.values[i];
        if (v === null) continue;
        const t = i * cmd.interval;
        const off = s.stOffsets?.[i];
        storage.append(s.labels, t, v, off === null || off === undefined ? 0 : t + off);
      }
    }
    if (cmd.withNHCB) {
      const classic = cmd.series.map((s) => ({
        labels: s.labels,
        samples: s.values.flatMap((v, i) =>
          typeof v === "number" ? [{ t: i * cmd.interval, v }] : []
        ),
      }));
      for (const h of convertClassicHistograms(classic)) {
        for (const p of h.samples) storage.append(h.labels, p.t, p.h);
      }
    }
    return undefined;
  } catch (e) {
    return `load failed: ${message(e)}`;
  }
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function isFail(ev: EvalCommand): boolean {
  return ev.fail || ev.expects.fail.length > 0;
}

function isOrdered(ev: EvalCommand): boolean {
  return ev.ordered || ev.expects.ordered.length > 0;
}

// The outcome of one engine call: a result, or the error it threw.
type Outcome = { result: QueryResult } | { error: unknown };

async function query(
  run: (signal: AbortSignal) => Promise<QueryResult>,
  timeout: number,
): Promise<Outcome> {
  try {
    return { result: await run(AbortSignal.timeout(timeout)) };
  } catch (error) {
    return { error };
  }
}

// Checks an error against the expected failure; undefined when it is the expected one.
function checkExpectedFailure(ev: EvalCommand, error: unknown): string | undefined {
  const msg = message(error);
  if (ev.expectedFailMessage !== undefined && ev.expectedFailMessage !== "") {
    if (ev.expectedFailMessage !== msg) {
      return `expected error ${JSON.stringify(ev.expectedFailMessage)}, but got: ${msg}`;
    }
  }
  if (ev.expectedFailRegexp && !ev.expectedFailRegexp.test(msg)) {
    return `expected error matching pattern ${
      JSON.stringify(ev.expectedFailRegexp.regex)
    }, but got: ${msg}`;
  }
  const exp = ev.expects.fail[0];
  if (exp && !exp.test(msg)) {
    return `expected error matching ${JSON.stringify(exp.message ?? exp.regex)}, but got: ${msg}`;
  }
  return undefined;
}

function checkAnnotationsOfType(
  expected: readonly ExpectLine[],
  actual: readonly string[],
  type: string,
): string | undefined {
  if (expected.length === 0) return undefined;
  if (actual.length === 0) return `expected ${type} annotations but none were found`;
  for (const e of expected) {
    if (!actual.some((a) => e.test(a))) {
      return `expected ${type} annotation matching ${
        e.message !== undefined ? "message" : "pattern"
      } ${
        JSON.stringify(e.message ?? e.regex ?? ".*")
      } but no matching annotation was found, found: ${JSON.stringify(actual)}`;
    }
  }
  for (const a of actual) {
    if (!expected.some((e) => e.test(a))) {
      return `unexpected ${type} annotation ${JSON.stringify(a)}`;
    }
  }
  return undefined;
}

/** Checks a result's annotations against the eval's `expect warn|info|no_warn|no_info` lines. */
export function checkAnnotations(ev: EvalCommand, r: QueryResult): string | undefined {
  if (ev.warn && r.warnings.length === 0) return "expected warnings but got none";
  if (ev.info && r.infos.length === 0) return "expected info annotations but got none";
  return checkAnnotationsOfType(ev.expects.warn, r.warnings, "warn") ??
    checkAnnotationsOfType(ev.expects.info, r.infos, "info") ??
    (ev.expects.no_warn.length > 0 && r.warnings.length > 0
      ? `unexpected warning annotations: ${JSON.stringify(r.warnings)}`
      : undefined) ??
    (ev.expects.no_info.length > 0 && r.infos.length > 0
      ? `unexpected info annotations: ${JSON.stringify(r.infos)}`
      : undefined);
}

/** Runs one eval with all its checks; returns the first failure, or undefined. */
export async function runEval(
  ev: EvalCommand,
  engine: QueryEngine,
  storage: MemoryQueryable,
  options: RunOptions = {},
): Promise<string | undefined> {
  const timeout = options.queryTimeout ?? 60_000;
  if (ev.isRange) {
    const out = await query(
      (signal) => engine.rangeQuery(storage, ev.expr, ev.start, ev.end, ev.step, { signal }),
      timeout,
    );
    return judge(ev, ev.expr, out, "range query");
  }
  const cases = [{ expr: ev.expr, evalTime: ev.evalTime }];
  if (options.atModifierVariants ?? true) {
    cases.push(...atModifierCases(ev.expr, ev.evalTime, options.parseOptions));
  }
  for (const c of cases) {
    const out = await query(
      (signal) => engine.instantQuery(storage, c.expr, c.evalTime, { signal }),
      timeout,
    );
    const where = c.expr === ev.expr && c.evalTime === ev.evalTime
      ? "instant query"
      : `instant query ${c.expr} at ${c.evalTime}ms`;
    const failure = judge(ev, c.expr, out, where);
    if (failure !== undefined) return failure;
    if ("error" in out || isFail(ev)) continue;
    if (!(options.rangeModeCheck ?? true) || ev.excludeFromRangeQuery) continue;
    // start(), end(), range() and step() resolve differently in a range query.
    if (/(start|end|range|step)\(\)/.test(c.expr)) continue;
    const rangeFailure = await rangeModeCheck(
      ev,
      engine,
      storage,
      c.expr,
      c.evalTime,
      out.result,
      timeout,
    );
    if (rangeFailure !== undefined) return `${where} in range mode: ${rangeFailure}`;
  }
  return undefined;
}

// Judges one query outcome against the eval's failure, annotation and result expectations.
function judge(ev: EvalCommand, expr: string, out: Outcome, where: string): string | undefined {
  if ("error" in out) {
    if (isFail(ev)) {
      const f = checkExpectedFailure(ev, out.error);
      return f === undefined ? undefined : `${where}: ${f}`;
    }
    return `${where}: error evaluating ${JSON.stringify(expr)}: ${message(out.error)}`;
  }
  if (isFail(ev)) return `${where}: expected error evaluating ${JSON.stringify(expr)} but got none`;
  const anno = checkAnnotations(ev, out.result);
  if (anno !== undefined) return `${where}: ${anno}`;
  const cmp = compareResult(ev, out.result.value);
  return cmp === undefined ? undefined : `${where}: ${cmp}`;
}

async function rangeModeCheck(
  ev: EvalCommand,
  engine: QueryEngine,
  storage: MemoryQueryable,
  expr: string,
  t: number,
  instant: QueryResult,
  timeout: number,
): Promise<string | undefined> {
  const out = await query(
    (signal) => engine.rangeQuery(storage, expr, t - MINUTE, t + MINUTE, MINUTE, { signal }),
    timeout,
  );
  if ("error" in out) return `error evaluating ${JSON.stringify(expr)}: ${message(out.error)}`;
  // Range results are ordered by labels, so an ordered expectation cannot be checked.
  if (isOrdered(ev)) return undefined;
  const v = out.result.value;
  if (v.type !== "matrix") return `range query returned a ${v.type}, not a matrix`;
  const unsorted = checkMatrixSorted(v.series);
  if (unsorted) return unsorted;
  const samples: Sample[] = [];
  for (const s of v.series) {
    const fi = s.floatTimes.indexOf(t);
    if (fi >= 0) samples.push({ labels: s.labels, t, f: s.floatValues[fi] });
    const hp = s.histograms.find((p) => p.t === t);
    if (hp) samples.push({ labels: s.labels, t, f: 0, h: hp.h as FloatHistogram });
  }
  let value: Value;
  if (instant.value.type === "scalar") {
    if (samples.length === 0) return "scalar query returned no point at the evaluation time";
    value = { type: "scalar", t, v: samples[0].f };
  } else {
    value = { type: "vector", samples };
  }
  return compareResult(ev, value);
}
