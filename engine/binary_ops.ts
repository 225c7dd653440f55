/**
 * Binary operators: arithmetic, comparisons (filtering or `bool`), `atan2` and the set
 * operators `and`/`or`/`unless`, between scalars and instant vectors, with `on`/`ignoring`
 * vector matching and `group_left`/`group_right`. Join signatures are computed once per
 * series; each step then matches through ordinal-indexed typed arrays.
 *
 * @module
 */
import type { BinaryExpr, BinaryOp, VectorMatching } from "./ast.ts";
import { QueryError } from "./errors.ts";
import type { FloatHistogram } from "../model/histogram.ts";
import { getLabel, type Labels, METRIC_NAME, setLabel } from "../model/labels.ts";
import { exprType } from "./parser.ts";
import type { StepEvaluator } from "./step_evaluator.ts";
import { dropMetricName } from "./metric_name.ts";
import { CounterResetHint } from "../model/histogram.ts";
import {
  addHistograms,
  compactHistogram,
  divHistogram,
  HistogramError,
  histogramsEqual,
  mulHistogram,
  subHistograms,
  trimHistogram,
} from "./histogram_ops.ts";
import {
  ABSENT,
  FLOAT,
  HIST,
  SeriesBuilder,
  type StepSeries,
  type StepValue,
} from "./step_vector.ts";

const COMPARISONS: ReadonlySet<BinaryOp> = new Set(["==", "!=", ">", "<", ">=", "<="]);

/** Whether the operator changes what the metric means, so its name must go. */
function changesMetricSchema(op: BinaryOp): boolean {
  return op === "+" || op === "-" || op === "*" || op === "/" || op === "^" || op === "%" ||
    op === "atan2";
}

/** `x ^ y` with Go's special cases (`1 ^ NaN = 1`, `x ^ 0 = 1`, `-1 ^ ±Inf = 1`). */
function pow(x: number, y: number): number {
  if (y === 0 || x === 1) return 1;
  if (x === -1 && (y === Infinity || y === -Infinity)) return 1;
  return x ** y;
}

/** Applies an arithmetic or comparison operator to two floats (comparisons give 0/1). */
export function scalarBinop(op: BinaryOp, a: number, b: number): number {
  switch (op) {
    case "+":
      return a + b;
    case "-":
      return a - b;
    case "*":
      return a * b;
    case "/":
      return a / b;
    case "%":
      return a % b;
    case "^":
      return pow(a, b);
    case "atan2":
      return Math.atan2(a, b);
    case "==":
      return a === b ? 1 : 0;
    case "!=":
      return a !== b ? 1 : 0;
    case ">":
      return a > b ? 1 : 0;
    case "<":
      return a < b ? 1 : 0;
    case ">=":
      return a >= b ? 1 : 0;
    case "<=":
      return a <= b ? 1 : 0;
  }
  throw new QueryError("execution", `operator "${op}" not allowed for scalar operations`);
}

/** Result of one element operation, reused between calls. */
interface ElemResult {
  f: number;
  h: FloatHistogram | undefined;
  keep: boolean;
  /** Set when the operand types are incompatible (the sample is dropped with an info). */
  incompatible: string | undefined;
  /** A warning about the operation (the sample is kept unless `keep` is false). */
  warning: string | undefined;
  /** An info about the operation. */
  info: string | undefined;
}

const elem: ElemResult = {
  f: 0,
  h: undefined,
  keep: false,
  incompatible: undefined,
  warning: undefined,
  info: undefined,
};

/** `a + b` or `a - b` of two histograms, with Prometheus' annotations. */
function addOrSub(op: "+" | "-", a: FloatHistogram, b: FloatHistogram): void {
  let r;
  try {
    r = op === "+" ? addHistograms(a, b) : subHistograms(a, b);
  } catch (e) {
    if (!(e instanceof HistogramError)) throw e;
    elem.warning = `incompatible bucket layout encountered for binary operator ${op}`;
    return;
  }
  const what = op === "+" ? "addition" : "subtraction";
  let h = r.histogram;
  if (op === "-") h = { ...h, counterResetHint: CounterResetHint.Gauge };
  elem.h = compactHistogram(h);
  elem.keep = true;
  if (r.counterResetCollision) elem.warning = `conflicting counter resets during histogram ${what}`;
  if (r.nhcbBoundsReconciled) {
    elem.info = `mismatched custom buckets were reconciled during ${what}`;
  }
}

/** Reports the warning and info of an element operation. */
function annotate(ev: StepEvaluator, r: ElemResult, e: BinaryExpr): void {
  if (r.warning !== undefined) ev.warn(r.warning, e.pos);
  if (r.info !== undefined) ev.info(r.info, e.pos);
}

/** Applies `op` to one pair of samples (`lh`/`rh` set for histogram samples). */
function elemBinop(
  op: BinaryOp,
  lf: number,
  rf: number,
  lh: FloatHistogram | undefined,
  rh: FloatHistogram | undefined,
): ElemResult {
  elem.h = undefined;
  elem.incompatible = undefined;
  elem.warning = undefined;
  elem.info = undefined;
  elem.keep = false;
  if (lh === undefined && rh === undefined) {
    if (op === "</" || op === ">/") {
      elem.incompatible = `float ${op} float`;
      return elem;
    }
    if (COMPARISONS.has(op)) {
      elem.f = lf;
      elem.keep = scalarBinop(op, lf, rf) === 1;
    } else {
      elem.f = scalarBinop(op, lf, rf);
      elem.keep = true;
    }
    return elem;
  }
  if (lh === undefined && rh !== undefined) {
    if (op === "*") {
      elem.h = compactHistogram(mulHistogram(rh, lf));
      elem.keep = true;
    } else elem.incompatible = `float ${op} histogram`;
    return elem;
  }
  if (lh !== undefined && rh === undefined) {
    if (op === "*" || op === "/") {
      elem.h = compactHistogram(op === "*" ? mulHistogram(lh, rf) : divHistogram(lh, rf));
      elem.keep = true;
    } else if (op === "</" || op === ">/") {
      elem.h = trimHistogram(lh, rf, op === "</");
      elem.keep = true;
    } else elem.incompatible = `histogram ${op} float`;
    return elem;
  }
  if (op === "+" || op === "-") addOrSub(op, lh!, rh!);
  else if (op === "==" || op === "!=") {
    elem.h = lh;
    elem.keep = histogramsEqual(lh!, rh!) === (op === "==");
  } else elem.incompatible = `histogram ${op} histogram`;
  return elem;
}

/** Evaluates a binary expression over all steps. */
export async function evalBinary(ev: StepEvaluator, e: BinaryExpr): Promise<StepValue> {
  const lt = exprType(e.lhs);
  const rt = exprType(e.rhs);
  if (lt === "scalar" && rt === "scalar") {
    const a = await ev.evalScalar(e.lhs);
    const b = await ev.evalScalar(e.rhs);
    const v = new Float64Array(ev.n);
    for (let i = 0; i < v.length; i++) v[i] = scalarBinop(e.op, a[i], b[i]);
    return { type: "scalar", v };
  }
  if (lt === "vector" && rt === "vector") {
    const lhs = await ev.evalVector(e.lhs);
    const rhs = await ev.evalVector(e.rhs);
    const matching = e.matching ??
      { card: "one-to-one", matchingLabels: [], on: false, include: [] };
    if (e.op === "and" || e.op === "or" || e.op === "unless") {
      return setOperation(ev, e.op, lhs, rhs, matching);
    }
    return vectorBinop(ev, e, lhs, rhs, matching);
  }
  if (lt === "vector") {
    const lhs = await ev.evalVector(e.lhs);
    const rhs = await ev.evalScalar(e.rhs);
    return vectorScalarBinop(ev, e, lhs, rhs, false);
  }
  const lhs = await ev.evalScalar(e.lhs);
  const rhs = await ev.evalVector(e.rhs);
  return vectorScalarBinop(ev, e, rhs, lhs, true);
}

function vectorScalarBinop(
  ev: StepEvaluator,
  e: BinaryExpr,
  vec: StepSeries[],
  scalar: Float64Array,
  swap: boolean,
): StepValue {
  const n = ev.n;
  const op = e.op;
  const out = new SeriesBuilder(n);
  const drop = changesMetricSchema(op) || e.returnBool;
  const isCmp = COMPARISONS.has(op);
  for (const s of vec) {
    let o = -1;
    for (let i = 0; i < n; i++) {
      const kind = s.k[i];
      if (kind === ABSENT) continue;
      const vf = s.f[i];
      const vh = kind === HIST ? s.h![i] : undefined;
      const r = swap
        ? elemBinop(op, scalar[i], vf, undefined, vh)
        : elemBinop(op, vf, scalar[i], vh, undefined);
      if (r.incompatible !== undefined) {
        ev.info(
          `incompatible sample types encountered for binary operator "${op}": ${r.incompatible}`,
          e.pos,
        );
        continue;
      }
      annotate(ev, r, e);
      let f = r.f;
      let h = r.h;
      if (isCmp && swap) {
        f = vf;
        h = vh;
      }
      let keep = r.keep;
      if (e.returnBool) {
        f = keep ? 1 : 0;
        h = undefined;
        keep = true;
      }
      if (!keep) continue;
      if (o < 0) o = out.index(drop ? ev.nameDropped(s.labels) : s.labels, drop || s.dropName);
      if (h !== undefined) out.putHist(o, i, h);
      else out.putFloat(o, i, f);
    }
  }
  return { type: "vector", series: out.result() };
}

/** Join signatures: series with the same ordinal match. */
function signatures(
  lhs: StepSeries[],
  rhs: StepSeries[],
  m: VectorMatching,
): { l: Int32Array; r: Int32Array; count: number } {
  const names = new Set(m.matchingLabels);
  const ords = new Map<string, number>();
  const sig = (labels: Labels): number => {
    let key = "";
    for (const l of labels) {
      const inSet = names.has(l.name);
      if (m.on ? inSet : !inSet && l.name !== METRIC_NAME) {
        key += l.name + "\xff" + l.value + "\xfe";
      }
    }
    let o = ords.get(key);
    if (o === undefined) {
      o = ords.size;
      ords.set(key, o);
    }
    return o;
  };
  const l = Int32Array.from(lhs, (s) => sig(s.labels));
  const r = Int32Array.from(rhs, (s) => sig(s.labels));
  return { l, r, count: ords.size };
}

function setOperation(
  ev: StepEvaluator,
  op: "and" | "or" | "unless",
  lhs: StepSeries[],
  rhs: StepSeries[],
  m: VectorMatching,
): StepValue {
  const n = ev.n;
  const sig = signatures(lhs, rhs, m);
  const stamp = new Int32Array(sig.count).fill(-1);
  const out = new SeriesBuilder(n);
  const lIdx = new Int32Array(lhs.length).fill(-1);
  const rIdx = new Int32Array(rhs.length).fill(-1);
  const copy = (s: StepSeries, idx: Int32Array, j: number, i: number) => {
    if (idx[j] < 0) idx[j] = out.index(s.labels, s.dropName);
    if (s.k[i] === FLOAT) out.putFloat(idx[j], i, s.f[i]);
    else out.putHist(idx[j], i, s.h![i]!);
  };
  for (let i = 0; i < n; i++) {
    if ((i & 63) === 0) ev.checkAbort();
    if (op === "or") {
      for (let j = 0; j < lhs.length; j++) {
        if (lhs[j].k[i] === ABSENT) continue;
        stamp[sig.l[j]] = i;
        copy(lhs[j], lIdx, j, i);
      }
      for (let j = 0; j < rhs.length; j++) {
        if (rhs[j].k[i] === ABSENT || stamp[sig.r[j]] === i) continue;
        copy(rhs[j], rIdx, j, i);
      }
      continue;
    }
    for (let j = 0; j < rhs.length; j++) if (rhs[j].k[i] !== ABSENT) stamp[sig.r[j]] = i;
    for (let j = 0; j < lhs.length; j++) {
      if (lhs[j].k[i] === ABSENT) continue;
      const matched = stamp[sig.l[j]] === i;
      if (matched === (op === "and")) copy(lhs[j], lIdx, j, i);
    }
  }
  return { type: "vector", series: out.result() };
}

/** The labels `on`/`ignoring` match on, for error messages and fill values. */
function matchLabels(labels: Labels, m: VectorMatching): Labels {
  const names = new Set(m.matchingLabels);
  return labels.filter((l) =>
    m.on ? names.has(l.name) : !names.has(l.name) && l.name !== METRIC_NAME
  );
}

function vectorBinop(
  ev: StepEvaluator,
  e: BinaryExpr,
  lhsIn: StepSeries[],
  rhsIn: StepSeries[],
  m: VectorMatching,
): StepValue {
  const n = ev.n;
  const op = e.op;
  const oneToMany = m.card === "one-to-many";
  // The "one" side is always the right side below; one-to-many swaps the operands.
  const lhs = oneToMany ? rhsIn : lhsIn;
  const rhs = oneToMany ? lhsIn : rhsIn;
  const sig = signatures(lhs, rhs, m);
  const rightStamp = new Int32Array(sig.count).fill(-1);
  const rightIdx = new Int32Array(sig.count);
  const matchedStamp = new Int32Array(sig.count).fill(-1);
  const out = new SeriesBuilder(n);
  const pairOut = new Map<number, number>();
  const fillOut = new Map<string, number>();
  const R = rhs.length + 1;
  const dropSchema = changesMetricSchema(op);
  const fillL = m.fillLeft;
  const fillR = m.fillRight;

  const resultLabels = (ls: Labels, rs: Labels): Labels => {
    let lb = ls;
    if ((!ev.ctx.delayedNameRemoval && e.returnBool) || dropSchema) lb = dropMetricName(lb);
    if (m.card === "one-to-one") lb = matchLabelsKeep(lb, m);
    for (const name of m.include) lb = setLabel(lb, name, getLabel(rs, name));
    return lb;
  };

  const apply = (
    i: number,
    sigOrd: number,
    lf: number,
    lh: FloatHistogram | undefined,
    rf: number,
    rh: FloatHistogram | undefined,
    o: number,
  ) => {
    const r = oneToMany ? elemBinop(op, rf, lf, rh, lh) : elemBinop(op, lf, rf, lh, rh);
    if (r.incompatible !== undefined) {
      ev.info(
        `incompatible sample types encountered for binary operator "${op}": ${r.incompatible}`,
        e.pos,
      );
      return;
    }
    annotate(ev, r, e);
    if (m.card === "one-to-one") {
      if (matchedStamp[sigOrd] === i) {
        throw new QueryError(
          "execution",
          "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)",
        );
      }
    }
    matchedStamp[sigOrd] = i;
    if (m.card !== "one-to-one" && out.series[o].k[i] !== ABSENT) {
      throw new QueryError(
        "execution",
        "multiple matches for labels: grouping labels must ensure unique matches",
      );
    }
    let f = r.f;
    let h = r.h;
    if (e.returnBool) {
      f = r.keep ? 1 : 0;
      h = undefined;
    } else if (!r.keep) return;
    if (h !== undefined) out.putHist(o, i, h);
    else out.putFloat(o, i, f);
  };

  const fillIndex = (key: string, ls: Labels, rs: Labels): number => {
    let o = fillOut.get(key);
    if (o === undefined) {
      o = out.index(resultLabels(ls, rs), e.returnBool);
      fillOut.set(key, o);
    }
    return o;
  };

  for (let i = 0; i < n; i++) {
    if ((i & 63) === 0) ev.checkAbort();
    for (let j = 0; j < rhs.length; j++) {
      if (rhs[j].k[i] === ABSENT) continue;
      const s = sig.r[j];
      if (rightStamp[s] === i) {
        const side = oneToMany ? "left" : "right";
        let a = goLabelsString(rhs[j].labels);
        let b = goLabelsString(rhs[rightIdx[s]].labels);
        if (a > b) [a, b] = [b, a];
        throw new QueryError(
          "execution",
          `found duplicate series for the match group ${
            goLabelsString(matchLabels(rhs[j].labels, m))
          } on the ${side} hand-side of the operation: [${a}, ${b}]` +
            ";many-to-many matching not allowed: matching labels must be unique on one side",
        );
      }
      rightStamp[s] = i;
      rightIdx[s] = j;
    }
    for (let j = 0; j < lhs.length; j++) {
      const ls = lhs[j];
      if (ls.k[i] === ABSENT) continue;
      const s = sig.l[j];
      const lh = ls.k[i] === HIST ? ls.h![i] : undefined;
      if (rightStamp[s] !== i) {
        if (fillR === undefined) continue;
        const fillLabels = matchLabels(ls.labels, m);
        apply(i, s, ls.f[i], lh, fillR, undefined, fillIndex("l" + j, ls.labels, fillLabels));
        continue;
      }
      const r = rightIdx[s];
      const rs = rhs[r];
      const rh = rs.k[i] === HIST ? rs.h![i] : undefined;
      // Output series are per (left, right) pair: labels are computed once per pair.
      const key = j * R + r;
      let o = pairOut.get(key);
      if (o === undefined) {
        o = out.index(resultLabels(ls.labels, rs.labels), e.returnBool);
        pairOut.set(key, o);
      }
      apply(i, s, ls.f[i], lh, rs.f[i], rh, o);
    }
    if (fillL !== undefined) {
      for (let j = 0; j < rhs.length; j++) {
        const rs = rhs[j];
        if (rs.k[i] === ABSENT) continue;
        const s = sig.r[j];
        if (matchedStamp[s] === i) continue;
        const fillLabels = matchLabels(rs.labels, m);
        const rh = rs.k[i] === HIST ? rs.h![i] : undefined;
        apply(i, s, fillL, undefined, rs.f[i], rh, fillIndex("r" + j, fillLabels, rs.labels));
      }
    }
  }
  return { type: "vector", series: out.result() };
}

/** For one-to-one matches: keep only the `on` labels, or drop the `ignoring` ones. */
function matchLabelsKeep(labels: Labels, m: VectorMatching): Labels {
  const names = new Set(m.matchingLabels);
  return labels.filter((l) => m.on ? names.has(l.name) : !names.has(l.name));
}

/** Formats labels like Go's `labels.Labels.String()`: `{__name__="x", a="b"}`. */
function goLabelsString(labels: Labels): string {
  return "{" + labels.map((l) => `${l.name}=${JSON.stringify(l.value)}`).join(", ") + "}";
}
