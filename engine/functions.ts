/**
 * PromQL functions over instant vectors and scalars (Prometheus' `promql/functions.go`):
 * element-wise math, clamping and rounding, date functions, label manipulation, sorting,
 * `absent`, `scalar`/`vector`, `timestamp` and classic-histogram quantiles. Functions taking
 * a range vector are in `range_functions.ts`.
 *
 * @module
 */
import { RE2JS } from "re2js";
import type { Call, Expr } from "./ast.ts";
import { QueryError } from "./errors.ts";
import { compareLabels, compareStrings, getLabel, METRIC_NAME, setLabel } from "../model/labels.ts";
import { expandTemplate } from "../model/regexp_template.ts";
import type { StepEvaluator } from "./step_evaluator.ts";
import { absentLabels } from "./absent_labels.ts";
import {
  ABSENT,
  FLOAT,
  mergeSameLabels,
  newStepSeries,
  SeriesBuilder,
  type StepSeries,
  type StepValue,
} from "./step_vector.ts";
import { streamRangeCall } from "./range_functions.ts";
import { collectStream, type SeriesStream } from "./series_stream.ts";
import { evalInfo } from "./info.ts";
import { evalHistogramFunction, HISTOGRAM_FUNCTIONS } from "./histogram_functions.ts";

/** Element-wise float functions: output = f(input), name dropped, histograms skipped. */
const SIMPLE: Record<string, (v: number) => number> = {
  abs: Math.abs,
  ceil: Math.ceil,
  floor: Math.floor,
  exp: Math.exp,
  sqrt: Math.sqrt,
  ln: Math.log,
  log2: Math.log2,
  log10: Math.log10,
  sin: Math.sin,
  cos: Math.cos,
  tan: Math.tan,
  asin: Math.asin,
  acos: Math.acos,
  atan: Math.atan,
  sinh: Math.sinh,
  cosh: Math.cosh,
  tanh: Math.tanh,
  asinh: Math.asinh,
  acosh: Math.acosh,
  atanh: Math.atanh,
  deg: (v) => v * 180 / Math.PI,
  rad: (v) => v * Math.PI / 180,
  sgn: (v) => v < 0 ? -1 : v > 0 ? 1 : v,
};

const DATE_FUNCTIONS: Record<string, (d: Date) => number> = {
  year: (d) => d.getUTCFullYear(),
  month: (d) => d.getUTCMonth() + 1,
  day_of_month: (d) => d.getUTCDate(),
  day_of_week: (d) => d.getUTCDay(),
  day_of_year: (d) => {
    const startOfYear = Date.UTC(d.getUTCFullYear(), 0, 1);
    return Math.floor((d.getTime() - startOfYear) / 86_400_000) + 1;
  },
  days_in_month: (d) => new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate(),
  hour: (d) => d.getUTCHours(),
  minute: (d) => d.getUTCMinutes(),
};

/** Functions whose only argument is a range vector (or that take one among scalars). */
function matrixArgIndex(call: Call): number {
  for (let i = 0; i < call.args.length; i++) {
    const k = unwrap(call.args[i]).kind;
    if (k === "MatrixSelector" || k === "SubqueryExpr") return i;
  }
  return -1;
}

function unwrap(e: Expr): Expr {
  while (e.kind === "ParenExpr") e = e.expr;
  return e;
}

/**
 * A call's output a batch of series at a time when it takes a range vector (range functions
 * read their input one series at a time), else `undefined`.
 */
export async function streamCall(
  ev: StepEvaluator,
  call: Call,
): Promise<SeriesStream | undefined> {
  const idx = matrixArgIndex(call);
  return idx >= 0 ? await streamRangeCall(ev, call, idx) : undefined;
}

/** Evaluates a function call over all steps. */
export async function evalCall(ev: StepEvaluator, call: Call): Promise<StepValue> {
  const name = call.func.name;
  const idx = matrixArgIndex(call);
  if (idx >= 0) {
    return { type: "vector", series: await collectStream(await streamRangeCall(ev, call, idx)) };
  }
  const n = ev.n;
  const args = call.args;
  const simple = SIMPLE[name];
  if (simple) return mapFloats(ev, await ev.evalVector(args[0]), simple);
  const date = DATE_FUNCTIONS[name];
  if (date) return await evalDate(ev, call, date);
  if (HISTOGRAM_FUNCTIONS.has(name)) return await evalHistogramFunction(ev, call);
  switch (name) {
    case "time": {
      const v = new Float64Array(n);
      for (let i = 0; i < n; i++) v[i] = ev.time(i) / 1000;
      return { type: "scalar", v };
    }
    case "pi":
      return { type: "scalar", v: new Float64Array(n).fill(Math.PI) };
    case "min_of":
    case "max_of": {
      const a = await ev.evalScalar(args[0]);
      const b = await ev.evalScalar(args[1]);
      const f = name === "min_of" ? Math.min : Math.max;
      return { type: "scalar", v: a.map((x, i) => f(x, b[i])) };
    }
    case "vector": {
      const v = await ev.evalScalar(args[0]);
      const s = newStepSeries([], false, n);
      s.f.set(v);
      s.k.fill(FLOAT);
      return { type: "vector", series: n > 0 ? [s] : [] };
    }
    case "scalar":
      return { type: "scalar", v: toScalar(await ev.evalVector(args[0]), n) };
    case "round": {
      const input = await ev.evalVector(args[0]);
      const to = args.length > 1 ? await ev.evalScalar(args[1]) : new Float64Array(n).fill(1);
      return mapFloatsStep(ev, input, (v, i) => {
        const inv = 1 / to[i];
        return Math.floor(v * inv + 0.5) / inv;
      });
    }
    case "clamp":
    case "clamp_min":
    case "clamp_max": {
      const input = await ev.evalVector(args[0]);
      const lo = name === "clamp_max"
        ? new Float64Array(n).fill(-Infinity)
        : await ev.evalScalar(args[1]);
      const hi = name === "clamp"
        ? await ev.evalScalar(args[2])
        : name === "clamp_max"
        ? await ev.evalScalar(args[1])
        : new Float64Array(n).fill(Infinity);
      return mapFloatsStep(
        ev,
        input,
        (v, i) => Math.max(lo[i], Math.min(hi[i], v)),
        (i) => hi[i] < lo[i],
      );
    }
    case "timestamp":
      return await evalTimestamp(ev, call);
    case "absent":
      return evalAbsent(ev, await ev.evalVector(args[0]), args[0]);
    case "sort":
    case "sort_desc":
    case "sort_by_label":
    case "sort_by_label_desc":
      return await evalSort(ev, call);
    case "label_replace":
      return await evalLabelReplace(ev, call);
    case "label_join":
      return await evalLabelJoin(ev, call);
    case "info":
      return await evalInfo(ev, call);
    case "start_timestamp":
      return await evalStartTimestamp(ev, call);
  }
  throw new QueryError("execution", `function ${name}() is not supported by this engine`);
}

/** Applies `fn` to every float sample; the result drops the metric name. */
export function mapFloats(
  ev: StepEvaluator,
  input: StepSeries[],
  fn: (v: number) => number,
): StepValue {
  return mapFloatsStep(ev, input, (v) => fn(v));
}

function mapFloatsStep(
  ev: StepEvaluator,
  input: StepSeries[],
  fn: (v: number, step: number) => number,
  skipStep?: (step: number) => boolean,
): StepValue {
  const n = ev.n;
  const out = new SeriesBuilder(n);
  for (const s of input) {
    let j = -1;
    for (let i = 0; i < n; i++) {
      if (s.k[i] !== FLOAT || skipStep?.(i)) continue;
      if (j < 0) j = out.index(ev.nameDropped(s.labels), true);
      out.putFloat(j, i, fn(s.f[i], i));
    }
  }
  return { type: "vector", series: out.result() };
}

/** `scalar(v)`: the single float of each step, else NaN. */
function toScalar(input: StepSeries[], n: number): Float64Array {
  const v = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let found = 0;
    let val = NaN;
    for (const s of input) {
      if (s.k[i] !== FLOAT) continue;
      found++;
      val = s.f[i];
      if (found > 1) break;
    }
    v[i] = found === 1 ? val : NaN;
  }
  return v;
}

async function evalDate(
  ev: StepEvaluator,
  call: Call,
  fn: (d: Date) => number,
): Promise<StepValue> {
  const n = ev.n;
  if (call.args.length === 0) {
    const s = newStepSeries([], false, n);
    for (let i = 0; i < n; i++) {
      s.f[i] = fn(new Date(Math.trunc(ev.time(i) / 1000) * 1000));
      s.k[i] = FLOAT;
    }
    return { type: "vector", series: n > 0 ? [s] : [] };
  }
  const input = await ev.evalVector(call.args[0]);
  return mapFloats(ev, input, (v) => {
    if (!Number.isFinite(v)) return NaN;
    return fn(new Date(Math.trunc(v) * 1000));
  });
}

/**
 * `start_timestamp(v)`: the start timestamp (seconds) of each selected sample, 0 where storage
 * has none. As in Prometheus, start timestamps only reach the function from a vector selector
 * passed directly and with `use-start-timestamps` on; otherwise the result is empty.
 */
async function evalStartTimestamp(ev: StepEvaluator, call: Call): Promise<StepValue> {
  // Not unwrapped: in Prometheus even a parenthesized selector is an expression here.
  const arg = call.args[0];
  if (arg.kind !== "VectorSelector" || !ev.ctx.useStartTimestamps) {
    await ev.evalVector(call.args[0]);
    return { type: "vector", series: [] };
  }
  const n = ev.n;
  const out = new SeriesBuilder(n);
  const { series, st } = await ev.selectVector(arg, false, true);
  for (let j = 0; j < series.length; j++) {
    const s = series[j];
    const o = out.index(ev.nameDropped(s.labels), true);
    for (let i = 0; i < n; i++) if (s.k[i] !== ABSENT) out.putFloat(o, i, st[j][i] / 1000);
  }
  return { type: "vector", series: out.result() };
}

async function evalTimestamp(ev: StepEvaluator, call: Call): Promise<StepValue> {
  const arg = unwrap(call.args[0]);
  const n = ev.n;
  const out = new SeriesBuilder(n);
  if (arg.kind === "VectorSelector") {
    const { series, ts } = await ev.selectVector(arg, true);
    for (let j = 0; j < series.length; j++) {
      const s = series[j];
      const o = out.index(ev.nameDropped(s.labels), true);
      for (let i = 0; i < n; i++) if (s.k[i] !== ABSENT) out.putFloat(o, i, ts[j][i] / 1000);
    }
    return { type: "vector", series: out.result() };
  }
  const input = await ev.evalVector(call.args[0]);
  for (const s of input) {
    const o = out.index(ev.nameDropped(s.labels), true);
    for (let i = 0; i < n; i++) if (s.k[i] !== ABSENT) out.putFloat(o, i, ev.time(i) / 1000);
  }
  return { type: "vector", series: out.result() };
}

function evalAbsent(ev: StepEvaluator, input: StepSeries[], arg: Expr): StepValue {
  const n = ev.n;
  const s = newStepSeries(absentLabels(arg), false, n);
  let any = false;
  for (let i = 0; i < n; i++) {
    let present = false;
    for (const x of input) {
      if (x.k[i] !== ABSENT) {
        present = true;
        break;
      }
    }
    if (!present) {
      s.f[i] = 1;
      s.k[i] = FLOAT;
      any = true;
    }
  }
  return { type: "vector", series: any ? [s] : [] };
}

async function evalSort(ev: StepEvaluator, call: Call): Promise<StepValue> {
  const name = call.func.name;
  if (ev.start !== ev.end) {
    ev.warn(
      "sort is ineffective for range queries since results are always ordered by labels",
      call.pos,
    );
  }
  let input = await ev.evalVector(call.args[0]);
  if (ev.n !== 1) return { type: "vector", series: input };
  if (name === "sort" || name === "sort_desc") {
    input = input.filter((s) => s.k[0] === FLOAT);
    const desc = name === "sort_desc";
    // NaNs go last either way; ties keep their input order (Go's sort is not stable, but the
    // inputs are label-sorted, which is what the scripts expect).
    input.sort((a, b) => {
      const x = a.f[0];
      const y = b.f[0];
      const xn = x !== x;
      const yn = y !== y;
      if (xn || yn) return xn === yn ? 0 : xn ? 1 : -1;
      return desc ? y - x : x - y;
    });
    return { type: "vector", series: input };
  }
  const labelNames: string[] = [];
  for (const a of call.args.slice(1)) labelNames.push((unwrap(a) as { value: string }).value);
  const desc = name === "sort_by_label_desc";
  input.sort((a, b) => {
    for (const l of labelNames) {
      const x = getLabel(a.labels, l);
      const y = getLabel(b.labels, l);
      if (x === y) continue;
      const c = naturalCompare(x, y);
      return desc ? -c : c;
    }
    const c = compareLabels(a.labels, b.labels);
    return desc ? -c : c;
  });
  return { type: "vector", series: input };
}

/** Natural ordering: digit runs compare by numeric value, other text byte-wise. */
export function naturalCompare(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const ca = a[i];
    const cb = b[j];
    const da = ca >= "0" && ca <= "9";
    const db = cb >= "0" && cb <= "9";
    if (da && db) {
      let ei = i;
      while (ei < a.length && a[ei] >= "0" && a[ei] <= "9") ei++;
      let ej = j;
      while (ej < b.length && b[ej] >= "0" && b[ej] <= "9") ej++;
      const na = a.slice(i, ei).replace(/^0+/, "");
      const nb = b.slice(j, ej).replace(/^0+/, "");
      if (na.length !== nb.length) return na.length < nb.length ? -1 : 1;
      if (na !== nb) return na < nb ? -1 : 1;
      i = ei;
      j = ej;
      continue;
    }
    if (ca !== cb) return compareStrings(ca, cb);
    i++;
    j++;
  }
  return (a.length - i) - (b.length - j) < 0 ? -1 : (a.length - i) === (b.length - j) ? 0 : 1;
}

function stringArg(e: Expr): string {
  const u = unwrap(e);
  if (u.kind !== "StringLiteral") throw new QueryError("execution", "expected a string literal");
  return u.value;
}

function isValidLabelNameUtf8(name: string): boolean {
  return name.length > 0 && name.isWellFormed();
}

async function evalLabelReplace(ev: StepEvaluator, call: Call): Promise<StepValue> {
  const dst = stringArg(call.args[1]);
  const repl = stringArg(call.args[2]);
  const src = stringArg(call.args[3]);
  const regexStr = stringArg(call.args[4]);
  let re: RE2JS;
  try {
    re = RE2JS.compile(`^(?s:${regexStr})$`);
  } catch {
    throw new QueryError("execution", `invalid regular expression in label_replace(): ${regexStr}`);
  }
  if (!isValidLabelNameUtf8(dst)) {
    throw new QueryError("execution", `invalid destination label name in label_replace(): ${dst}`);
  }
  const input = await ev.evalVector(call.args[0]);
  const groups = re.namedGroups();
  const out = input.map((s) => {
    const m = re.matcher(getLabel(s.labels, src));
    if (!m.matches()) return s;
    const value = expandTemplate(repl, (g) => {
      const idx = typeof g === "number" ? g : Object.hasOwn(groups, g) ? groups[g] : undefined;
      if (idx === undefined || idx > m.groupCount()) return "";
      return m.group(idx) ?? "";
    });
    return {
      ...s,
      labels: setLabel(s.labels, dst, value),
      dropName: dst === METRIC_NAME ? false : s.dropName,
    };
  });
  return { type: "vector", series: mergeSameLabels(out) };
}

async function evalLabelJoin(ev: StepEvaluator, call: Call): Promise<StepValue> {
  const dst = stringArg(call.args[1]);
  const sep = stringArg(call.args[2]);
  const srcs = call.args.slice(3).map(stringArg);
  for (const s of srcs) {
    if (!isValidLabelNameUtf8(s)) {
      throw new QueryError("execution", `invalid source label name in label_join(): ${s}`);
    }
  }
  if (!isValidLabelNameUtf8(dst)) {
    throw new QueryError("execution", `invalid destination label name in label_join(): ${dst}`);
  }
  const input = await ev.evalVector(call.args[0]);
  const out = input.map((s) => ({
    ...s,
    labels: setLabel(s.labels, dst, srcs.map((l) => getLabel(s.labels, l)).join(sep)),
    dropName: dst === METRIC_NAME ? false : s.dropName,
  }));
  return { type: "vector", series: mergeSameLabels(out) };
}
