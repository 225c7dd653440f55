/**
 * Parser of Prometheus' PromQL test language (the `.test` scripts of `promql/promqltest`):
 * `load`/`load_with_nhcb` blocks, `clear`, `eval instant at` / `eval range from .. to .. step`
 * blocks with `expect` lines and expected results, and the deprecated `eval_fail`,
 * `eval_warn`, `eval_info`, `eval_ordered` forms with `expected_fail_message|regexp`.
 *
 * Parsing is tolerant where the upstream interpreter aborts the whole file: a malformed block
 * becomes a command carrying an `error`, so one bad line costs one eval, not the file.
 * Times are milliseconds since the Unix epoch, where every script starts.
 *
 * @module
 */
import { RE2JS } from "re2js";
import { parseDuration } from "../durations.ts";
import type { FloatHistogram } from "../../model/histogram.ts";
import type { Labels } from "../../model/labels.ts";
import { labelsKey } from "../../model/labels.ts";
import { unquoteString } from "../lexer.ts";
import { parseGoNumber } from "../parser.ts";
import { parseSeriesDescription } from "../series_desc.ts";

/** One series of a `load` block: value `i` belongs at `i × interval` ms; `null` is no sample. */
export interface LoadSeries {
  /** The series' labels. */
  labels: Labels;
  /** Values per step. */
  values: (number | FloatHistogram | null)[];
  /**
   * Start-timestamp offsets per step from a preceding `@st` line, ms relative to the sample's
   * timestamp (`null`: no start timestamp). Absent when the series has no `@st` line.
   */
  stOffsets?: (number | null)[];
}

/** A `load <interval>` or `load_with_nhcb <interval>` block. */
export interface LoadCommand {
  /** Discriminates the {@linkcode Command} union. */
  kind: "load";
  /** 1-based line of the `load` line. */
  line: number;
  /** Sample interval, ms. */
  interval: number;
  /** Whether classic histograms are also stored as native histograms with custom buckets. */
  withNHCB: boolean;
  /** The series, later lines for the same labels replacing earlier ones (as upstream). */
  series: LoadSeries[];
  /** Why the block is malformed, when it is. */
  error?: string;
}

/** A `clear` command. */
export interface ClearCommand {
  /** Discriminates the {@linkcode Command} union. */
  kind: "clear";
  /** 1-based line. */
  line: number;
}

/**
 * An `expect <type> [msg|regex: <text>]` line. `msg` is exact equality with the trimmed text,
 * `regex` an unanchored Go RE2 match; without either it matches anything.
 */
export interface ExpectLine {
  /** The exact message, for `msg:`. */
  message?: string;
  /** The pattern source, for `regex:` (unset with `message` means "anything"). */
  regex?: string;
  /** Tests a message or annotation against the line. */
  test(s: string): boolean;
}

/** The kinds of `expect` lines. */
export type ExpectKind = "ordered" | "fail" | "warn" | "no_warn" | "info" | "no_info";

/** An expected series of an eval block. */
export interface ExpectedSeries {
  /** 1-based position among the block's result lines (for ordered results). */
  pos: number;
  /** Expected labels (exact, `__name__` included). */
  labels: Labels;
  /** Expected values per step; `null` means no point. */
  values: (number | FloatHistogram | null)[];
  /** Per value, whether its histogram literal stated `counter_reset_hint`. */
  hintSet: boolean[];
}

/** An `eval` block. */
export interface EvalCommand {
  /** Discriminates the {@linkcode Command} union. */
  kind: "eval";
  /** 1-based line of the `eval` line. */
  line: number;
  /** The PromQL expression. */
  expr: string;
  /** Whether it is a range query (`eval range`). */
  isRange: boolean;
  /** Query start (instant: evaluation time; with `expect range vector`: the range start), ms. */
  start: number;
  /** Query end (range queries and `expect range vector`), ms. */
  end: number;
  /** Step (range queries and `expect range vector`), ms. */
  step: number;
  /** Evaluation time of an instant query, ms. */
  evalTime: number;
  /** Deprecated `eval_fail`. */
  fail: boolean;
  /** Deprecated `eval_warn`: at least one warning. */
  warn: boolean;
  /** Deprecated `eval_info`: at least one info annotation. */
  info: boolean;
  /** Deprecated `eval_ordered`. */
  ordered: boolean;
  /** Deprecated `expected_fail_message` (exact `err.message`). */
  expectedFailMessage?: string;
  /** Deprecated `expected_fail_regexp` (unanchored). */
  expectedFailRegexp?: ExpectLine;
  /** `expect` lines by kind. */
  expects: Record<ExpectKind, ExpectLine[]>;
  /** Set when the block expects a scalar. */
  expectScalar?: number;
  /** Set by `expect string "..."`. */
  expectedString?: string;
  /** Expected series by `labelsKey`; empty means an empty vector or matrix. */
  expected: Map<string, ExpectedSeries>;
  /** Instant evals with `expect range vector` or `expect string` skip the range-mode check. */
  excludeFromRangeQuery: boolean;
  /** Why the block is malformed, when it is: the eval then fails with this message. */
  error?: string;
}

/** A script-level problem (an unknown command): reported, then skipped to the next block. */
export interface ScriptProblem {
  /** Discriminates the {@linkcode Command} union. */
  kind: "problem";
  /** 1-based line. */
  line: number;
  /** What is wrong. */
  error: string;
}

/** Any command of a script. */
export type Command = LoadCommand | ClearCommand | EvalCommand | ScriptProblem;

const PAT_SPACE = /[\t ]+/;
const PAT_LOAD = /^load(?:_(with_nhcb))?\s+(.+?)$/;
const PAT_EVAL_INSTANT = /^eval(?:_(fail|warn|ordered|info))?\s+instant\s+(?:at\s+(.+?))?\s+(.+)$/;
const PAT_EVAL_RANGE =
  /^eval(?:_(fail|warn|info))?\s+range\s+from\s+(.+)\s+to\s+(.+)\s+step\s+(.+?)\s+(.+)$/;
const PAT_EXPECT = /^expect\s+(ordered|fail|warn|no_warn|info|no_info)(?:\s+(regex|msg):(.+))?$/;
const RANGE_VECTOR_PREFIX = "expect range vector";
const PAT_EXPECT_RANGE = /^expect range vector\s+from\s+(.+)\s+to\s+(.+)\s+step\s+(.+)$/;
const EXPECT_STRING_PREFIX = "expect string";

/** Thrown for a malformed line; the message names the line. */
export class ScriptError extends Error {
  /** Creates the error for 1-based `line`. */
  constructor(readonly line: number, message: string) {
    super(`line ${line}: ${message}`);
    this.name = "ScriptError";
  }
}

/**
 * Splits a script into trimmed lines, blanking whole-line comments (a `#` later in a line is
 * not a comment).
 */
export function scriptLines(input: string): string[] {
  return input.split("\n").map((l) => {
    const t = l.trim();
    return t.startsWith("#") ? "" : t;
  });
}

/**
 * Parses a script into commands.
 *
 * @example
 * ```ts
 * const cmds = parseScript("load 1m\n  up 1 2 3\n\neval instant at 2m up\n  up 3\n");
 * cmds.map((c) => c.kind); // ["load", "eval"]
 * ```
 */
export function parseScript(input: string): Command[] {
  const lines = scriptLines(input);
  const cmds: Command[] = [];
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i];
    if (l === "") continue;
    const c = l.split(PAT_SPACE, 1)[0].toLowerCase();
    let end: number;
    if (c === "clear") {
      cmds.push({ kind: "clear", line: i + 1 });
      continue;
    } else if (c.startsWith("load")) {
      const [cmd, last] = parseLoad(lines, i);
      cmds.push(cmd);
      end = last;
    } else if (c.startsWith("eval")) {
      const [cmd, last] = parseEval(lines, i);
      cmds.push(cmd);
      end = last;
    } else {
      cmds.push({ kind: "problem", line: i + 1, error: `invalid command ${JSON.stringify(l)}` });
      end = blockEnd(lines, i);
    }
    i = end;
  }
  return cmds;
}

// The index of the last line of the block starting at `i` (before the next blank line).
function blockEnd(lines: string[], i: number): number {
  while (i + 1 < lines.length && lines[i + 1] !== "") i++;
  return i;
}

function parseLoad(lines: string[], i: number): [LoadCommand, number] {
  const m = PAT_LOAD.exec(lines[i]);
  const cmd: LoadCommand = {
    kind: "load",
    line: i + 1,
    interval: 0,
    withNHCB: m?.[1] === "with_nhcb",
    series: [],
  };
  const end = blockEnd(lines, i);
  try {
    if (!m) {
      throw new ScriptError(i + 1, "invalid load command. (load[_with_nhcb] <step:duration>)");
    }
    cmd.interval = duration(m[2], i, "step");
    const byKey = new Map<string, LoadSeries>();
    // A start-timestamp line (`metric@st ...`, 3.12+) waiting for its sample line.
    let pending: { line: number; key: string; offsets: (number | null)[] } | undefined;
    for (let j = i + 1; j <= end; j++) {
      if (isStartTimestampLine(lines[j])) {
        if (pending) throw new ScriptError(pending.line, "@st line has no following sample line");
        const st = startTimestampLine(lines[j], j);
        pending = { line: j + 1, key: labelsKey(st.labels), offsets: st.offsets };
        continue;
      }
      const s = seriesLine(lines[j], j);
      const key = labelsKey(s.labels);
      const series: LoadSeries = { labels: s.labels, values: s.values };
      if (pending) {
        if (pending.key !== key) {
          throw new ScriptError(
            pending.line,
            "@st metric does not match the following sample line metric",
          );
        }
        if (pending.offsets.length !== s.values.length) {
          throw new ScriptError(
            pending.line,
            `@st line has ${pending.offsets.length} values but sample line has ${s.values.length}`,
          );
        }
        series.stOffsets = pending.offsets;
        pending = undefined;
      }
      byKey.set(key, series);
    }
    if (pending) throw new ScriptError(pending.line, "@st line has no following sample line");
    cmd.series = [...byKey.values()];
  } catch (e) {
    cmd.error = errorMessage(e);
  }
  return [cmd, end];
}

// Whether the first whitespace-separated token ends in `@st` (a start-timestamp line).
function isStartTimestampLine(line: string): boolean {
  const space = line.search(/[ \t]/);
  return space >= 0 && line.slice(0, space).endsWith("@st");
}

// Parses `metric{labels}@st <items>`: the labels and one offset (ms) or null per sample.
function startTimestampLine(
  line: string,
  i: number,
): { labels: Labels; offsets: (number | null)[] } {
  const t = line.trim();
  const space = t.search(/[ \t]/);
  const metric = t.slice(0, space - "@st".length);
  const { labels } = seriesLine(`${metric} _`, i);
  const offsets: (number | null)[] = [];
  for (const item of t.slice(space + 1).trim().split(PAT_SPACE)) {
    try {
      offsets.push(...startTimestampItem(item));
    } catch (e) {
      throw new ScriptError(
        i + 1,
        `invalid @st sequence: invalid ST item ${JSON.stringify(item)}: ${errorMessage(e)}`,
      );
    }
  }
  return { labels, offsets };
}

// One `@st` item: `_`, `_xN` (N omitted), `<dur>`, `<dur>xN` (N+1 copies) or
// `<dur>(+|-)<dur>xN` (N+1 offsets stepping by the second duration).
function startTimestampItem(item: string): (number | null)[] {
  if (item === "_") return [null];
  if (item.startsWith("_x")) return new Array(repeatCount(item.slice(2), 1)).fill(null);
  const [base, rest] = signedDurationPrefix(item);
  if (rest === "") return [base];
  if (rest[0] === "x") return new Array(repeatCount(rest.slice(1), 0) + 1).fill(base);
  if (rest[0] !== "+" && rest[0] !== "-") {
    throw new Error(`unexpected character ${JSON.stringify(rest[0])} after duration`);
  }
  const [step, tail] = signedDurationPrefix(rest.slice(1));
  const delta = rest[0] === "-" ? 0 - step : step;
  if (tail[0] !== "x") throw new Error("expected 'x<count>' after step duration");
  const n = repeatCount(tail.slice(1), 0);
  const out: number[] = [];
  for (let k = 0; k <= n; k++) out.push(base + k * delta);
  return out;
}

function repeatCount(text: string, min: number): number {
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n < min) throw new Error("invalid repeat count");
  return n;
}

// A duration with an optional sign at the start of `s` (digits, then letters other than `x`),
// in ms, and the rest of `s`.
function signedDurationPrefix(s: string): [number, string] {
  const m = /^([+-]?)(\d+)([a-wyzA-Z]*)/.exec(s);
  if (!m) throw new Error(`expected digits in duration ${JSON.stringify(s)}`);
  const ms = parseDuration(m[2] + m[3]);
  // `0 - ms`, not `-ms`: `-0ms` is a plain zero offset.
  return [m[1] === "-" ? 0 - ms : ms, s.slice(m[0].length)];
}

function seriesLine(line: string, i: number): ReturnType<typeof parseSeriesDescription> {
  try {
    return parseSeriesDescription(line);
  } catch (e) {
    throw new ScriptError(i + 1, errorMessage(e));
  }
}

function duration(text: string, i: number, what: string): number {
  try {
    return parseDuration(text);
  } catch (e) {
    throw new ScriptError(
      i + 1,
      `invalid ${what} definition ${JSON.stringify(text)}: ${errorMessage(e)}`,
    );
  }
}

function emptyExpects(): Record<ExpectKind, ExpectLine[]> {
  return { ordered: [], fail: [], warn: [], no_warn: [], info: [], no_info: [] };
}

function parseEval(lines: string[], i: number): [EvalCommand, number] {
  const head = lines[i];
  const inst = PAT_EVAL_INSTANT.exec(head);
  const rng = inst ? null : PAT_EVAL_RANGE.exec(head);
  const cmd: EvalCommand = {
    kind: "eval",
    line: i + 1,
    expr: inst?.[3] ?? rng?.[5] ?? head,
    isRange: rng !== null,
    start: 0,
    end: 0,
    step: 0,
    evalTime: 0,
    fail: false,
    warn: false,
    info: false,
    ordered: false,
    expects: emptyExpects(),
    expected: new Map(),
    excludeFromRangeQuery: false,
  };
  let last = i;
  try {
    if (!inst && !rng) {
      throw new ScriptError(
        i + 1,
        "invalid evaluation command. Must be either 'eval[_fail|_warn|_ordered] instant [at <offset:duration>] <query>' or 'eval[_fail|_warn] range from <from> to <to> step <step> <query>'",
      );
    }
    const mod = inst ? inst[1] : rng![1];
    if (inst) {
      cmd.start = cmd.evalTime = duration(inst[2] ?? "", i, "timestamp");
    } else {
      [cmd.start, cmd.end, cmd.step] = rangeTimes(rng![2], rng![3], rng![4], i);
    }
    cmd.fail = mod === "fail";
    cmd.warn = mod === "warn";
    cmd.info = mod === "info";
    cmd.ordered = mod === "ordered";
    last = parseEvalBody(lines, i, cmd, inst !== null);
  } catch (e) {
    cmd.error = errorMessage(e);
    last = blockEnd(lines, i);
  }
  return [cmd, last];
}

function rangeTimes(from: string, to: string, step: string, i: number): [number, number, number] {
  const start = duration(from, i, "start timestamp");
  const end = duration(to, i, "end timestamp");
  if (end < start) {
    throw new ScriptError(
      i + 1,
      `invalid test definition, end timestamp (${to}) is before start timestamp (${from})`,
    );
  }
  return [start, end, duration(step, i, "step")];
}

// Parses the lines after an eval head; returns the index of the block's last line.
function parseEvalBody(lines: string[], i: number, cmd: EvalCommand, isInstant: boolean): number {
  let expectRangeVector = false;
  let pos = 1;
  for (; i + 1 < lines.length; pos++) {
    i++;
    const line = lines[i];
    if (line === "") return i - 1;
    if (cmd.fail && line.startsWith("expected_fail_message")) {
      cmd.expectedFailMessage = line.slice("expected_fail_message".length).trim();
      return i;
    }
    if (cmd.fail && line.startsWith("expected_fail_regexp")) {
      cmd.expectedFailRegexp = regexLine(line.slice("expected_fail_regexp".length).trim(), i);
      return i;
    }
    if (line.startsWith(RANGE_VECTOR_PREFIX)) {
      const m = PAT_EXPECT_RANGE.exec(line);
      if (!m) {
        throw new ScriptError(i + 1, `invalid range vector definition ${JSON.stringify(line)}`);
      }
      [cmd.start, cmd.end, cmd.step] = rangeTimes(m[1], m[2], m[3], i);
      cmd.evalTime = cmd.end;
      cmd.excludeFromRangeQuery = true;
      expectRangeVector = true;
      continue;
    }
    if (line.startsWith(EXPECT_STRING_PREFIX)) {
      cmd.expectedString = stringLiteral(line, i);
      cmd.excludeFromRangeQuery = true;
      continue;
    }
    // A metric named `expect` can still be written as `expect{}`.
    if (line.split(" ", 1)[0] === "expect") {
      const [kind, exp] = expectLine(line, i);
      cmd.expects[kind].push(exp);
      validateExpects(cmd, i);
      pos--;
      continue;
    }
    const scalar = parseGoScalar(line);
    if (scalar !== undefined) {
      cmd.expectScalar = scalar;
      cmd.expected.clear();
      return i;
    }
    const s = seriesLine(line, i);
    if (s.values.length > 1 && isInstant && !expectRangeVector) {
      throw new ScriptError(
        i + 1,
        "expecting multiple values in instant evaluation not allowed. consider using 'expect range vector' directive to enable a range vector result for an instant query",
      );
    }
    cmd.expectScalar = undefined;
    cmd.expected.set(labelsKey(s.labels), {
      pos,
      labels: s.labels,
      values: s.values,
      hintSet: s.counterResetHintSet,
    });
  }
  return i;
}

function validateExpects(cmd: EvalCommand, i: number): void {
  const e = cmd.expects;
  if (e.info.length > 0 && e.no_info.length > 0) {
    throw new ScriptError(i + 1, "invalid expect lines, info and no_info cannot be used together");
  }
  if (e.warn.length > 0 && e.no_warn.length > 0) {
    throw new ScriptError(i + 1, "invalid expect lines, warn and no_warn cannot be used together");
  }
  if (e.fail.length > 1) {
    throw new ScriptError(
      i + 1,
      "invalid expect lines, multiple expect fail lines are not allowed",
    );
  }
}

function expectLine(line: string, i: number): [ExpectKind, ExpectLine] {
  const m = PAT_EXPECT.exec(line.trim());
  if (!m) {
    throw new ScriptError(
      i + 1,
      "invalid expect statement, must match `expect <type> <match_type>: <string>` format",
    );
  }
  const kind = m[1] as ExpectKind;
  if (m[2] === "msg") {
    const message = m[3].trim();
    return [kind, { message, test: (s) => s === message }];
  }
  if (m[2] === "regex") return [kind, regexLine(m[3].trim(), i, kind)];
  return [kind, { test: () => true }];
}

function regexLine(pattern: string, i: number, kind = "expected_fail_regexp"): ExpectLine {
  let re: RE2JS;
  try {
    re = RE2JS.compile(pattern);
  } catch {
    throw new ScriptError(i + 1, `invalid regex ${pattern} for ${kind}`);
  }
  return { regex: pattern, test: (s) => re.test(s) };
}

function stringLiteral(line: string, i: number): string {
  const bad = "expected string literal not valid - a quoted string literal is required";
  if (line === EXPECT_STRING_PREFIX) throw new ScriptError(i + 1, bad);
  const quoted = line.startsWith(EXPECT_STRING_PREFIX + " ")
    ? line.slice(EXPECT_STRING_PREFIX.length + 1)
    : line.slice(EXPECT_STRING_PREFIX.length);
  if (quoted === "") throw new ScriptError(i + 1, bad);
  const badQuote = "expected string literal not valid - check that the string is correctly quoted";
  // Go's strconv.Unquote: '…' is a single character literal, "…" and `…` are strings.
  let s: string;
  try {
    s = unquoteString(quoted);
  } catch {
    throw new ScriptError(i + 1, badQuote);
  }
  if (quoted[0] === "'" && [...s].length !== 1) throw new ScriptError(i + 1, badQuote);
  return s;
}

/**
 * Parses a scalar expectation line like Go's `strconv.ParseInt(s, 0, 64)` falling back to
 * `strconv.ParseFloat`: signs, `0x`/`0o`/`0b` integers, decimal floats, and `Inf`, `Infinity`,
 * `NaN` in any case. Returns `undefined` when the line is not a number.
 */
export function parseGoScalar(line: string): number | undefined {
  let sign = 1;
  let body = line;
  if (body[0] === "+" || body[0] === "-") {
    if (body[0] === "-") sign = -1;
    body = body.slice(1);
  }
  const lower = body.toLowerCase();
  if (lower === "inf" || lower === "infinity") return sign * Infinity;
  if (lower === "nan") return NaN;
  if (body === "" || body[0] === "+" || body[0] === "-") return undefined;
  const v = parseGoNumber(body);
  return typeof v === "number" ? sign * v : undefined;
}

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
