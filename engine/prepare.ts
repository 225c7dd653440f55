/**
 * Query preparation before evaluation (Prometheus' `PreprocessExpr`): copies the tree, folds
 * `start()`/`end()`/`range()`/`step()` into numbers, computes duration expressions, resolves
 * `@ start()`/`@ end()`, and wraps the largest step-invariant subtrees in `StepInvariantExpr`
 * so the evaluator computes them once instead of at every step.
 *
 * @module
 */
import type { Expr, NumberLiteral } from "./ast.ts";
import { QueryError } from "./errors.ts";
import { byteRange } from "./_position.ts";

/** Functions whose value depends on the evaluation time even with `@`. */
const AT_MODIFIER_UNSAFE: ReadonlySet<string> = new Set([
  "days_in_month",
  "day_of_month",
  "day_of_week",
  "day_of_year",
  "end",
  "hour",
  "minute",
  "month",
  "year",
  "predict_linear",
  "range",
  "start",
  "step",
  "time",
  "timestamp",
]);

/** What the preparation needs: the query's times (ms) and its text. */
export interface PrepareContext {
  /** First evaluation time. */
  start: number;
  /** Last evaluation time. */
  end: number;
  /** Step (0 for instant queries). */
  step: number;
  /** The query text; with it, positions in errors count bytes, as Prometheus' do. */
  query?: string;
}

/** `start:end` of `pos` for an error message: byte offsets when the query text is known. */
function positionText(pos: Expr["pos"], t: PrepareContext): string {
  return t.query === undefined ? `${pos.start}:${pos.end}` : byteRange(t.query, pos);
}

/** Returns a prepared copy of `expr`; the input tree is not modified. */
export function prepareExpr(expr: Expr, times: PrepareContext): Expr {
  const copy = clone(expr, times);
  markHistogramStats(copy, false);
  markSelectHints(copy, []);
  const [, wrap] = wrapInvariants(copy, times);
  return wrap ? invariant(copy) : copy;
}

function num(value: number, pos: Expr["pos"]): NumberLiteral {
  return { kind: "NumberLiteral", value, pos };
}

function invariant(e: Expr): Expr {
  return { kind: "StepInvariantExpr", expr: e, pos: e.pos };
}

/** Evaluates a duration expression to seconds. */
function durationSeconds(e: Expr, t: PrepareContext): number {
  switch (e.kind) {
    case "NumberLiteral":
      return e.value;
    case "ParenExpr":
      return durationSeconds(e.expr, t);
    case "UnaryExpr":
      return e.op === "-" ? -durationSeconds(e.expr, t) : durationSeconds(e.expr, t);
    case "Call": {
      switch (e.func.name) {
        case "step":
          return t.step / 1000;
        case "range":
          return (t.end - t.start) / 1000;
        case "min_of":
          return Math.min(durationSeconds(e.args[0], t), durationSeconds(e.args[1], t));
        case "max_of":
          return Math.max(durationSeconds(e.args[0], t), durationSeconds(e.args[1], t));
      }
      break;
    }
    case "BinaryExpr": {
      const a = durationSeconds(e.lhs, t);
      const b = durationSeconds(e.rhs, t);
      switch (e.op) {
        case "+":
          return a + b;
        case "-":
          return a - b;
        case "*":
          return a * b;
        case "/":
          if (b === 0) {
            throw new QueryError("execution", `${positionText(e.pos, t)}: division by zero`);
          }
          return a / b;
        case "%":
          if (b === 0) {
            throw new QueryError("execution", `${positionText(e.pos, t)}: modulo by zero`);
          }
          return a % b;
        case "^":
          return a ** b;
      }
    }
  }
  throw new QueryError("execution", `unexpected duration expression ${e.kind}`);
}

function durationMs(e: Expr, t: PrepareContext, allowNegative: boolean): number {
  const d = durationSeconds(e, t);
  if (!Number.isFinite(d)) {
    throw new QueryError("execution", `${positionText(e.pos, t)}: duration is NaN or infinite`);
  }
  if (d <= 0 && !allowNegative) {
    throw new QueryError(
      "execution",
      `${positionText(e.pos, t)}: duration must be greater than 0`,
    );
  }
  return Math.trunc(d * 1000);
}

function clone(e: Expr, t: PrepareContext): Expr {
  switch (e.kind) {
    case "NumberLiteral":
    case "StringLiteral":
      return { ...e };
    case "ParenExpr":
    case "StepInvariantExpr":
      return { ...e, expr: clone(e.expr, t) };
    case "UnaryExpr":
      return { ...e, expr: clone(e.expr, t) };
    case "AggregateExpr":
      return {
        ...e,
        expr: clone(e.expr, t),
        param: e.param === undefined ? undefined : clone(e.param, t),
      };
    case "BinaryExpr":
      return { ...e, lhs: clone(e.lhs, t), rhs: clone(e.rhs, t) };
    case "Call":
      switch (e.func.name) {
        case "start":
          return num(t.start / 1000, e.pos);
        case "end":
          return num(t.end / 1000, e.pos);
        case "range":
          return num((t.end - t.start) / 1000, e.pos);
        case "step":
          return num(t.step / 1000, e.pos);
      }
      return { ...e, args: e.args.map((a) => clone(a, t)) };
    case "VectorSelector": {
      const vs = { ...e };
      if (vs.offsetExpr) vs.offset = durationMs(vs.offsetExpr, t, true);
      if (vs.startOrEnd === "start") vs.timestamp = t.start;
      else if (vs.startOrEnd === "end") vs.timestamp = t.end;
      return vs;
    }
    case "MatrixSelector": {
      const ms = { ...e, vectorSelector: clone(e.vectorSelector, t) as typeof e.vectorSelector };
      if (ms.rangeExpr) ms.range = durationMs(ms.rangeExpr, t, false);
      return ms;
    }
    case "SubqueryExpr": {
      const sq = { ...e, expr: clone(e.expr, t) };
      if (sq.offsetExpr) sq.offset = durationMs(sq.offsetExpr, t, true);
      if (sq.rangeExpr) sq.range = durationMs(sq.rangeExpr, t, false);
      if (sq.stepExpr) sq.step = durationMs(sq.stepExpr, t, false);
      if (sq.startOrEnd === "start") sq.timestamp = t.start;
      else if (sq.startOrEnd === "end") sq.timestamp = t.end;
      return sq;
    }
  }
}

/**
 * Wraps step-invariant children; returns `[isInvariant, shouldWrap]` for `e` itself, as
 * Prometheus' `preprocessExprHelper` does.
 */
function wrapInvariants(e: Expr, t: PrepareContext): [boolean, boolean] {
  switch (e.kind) {
    case "VectorSelector":
      return [e.timestamp !== undefined, e.timestamp !== undefined];
    case "AggregateExpr":
      e.expr = unparen(e.expr);
      if (e.param) e.param = unparen(e.param);
      return wrapInvariants(e.expr, t);
    case "BinaryExpr": {
      const [li, lw] = wrapInvariants(e.lhs, t);
      const [ri, rw] = wrapInvariants(e.rhs, t);
      if (li && ri) return [true, true];
      if (lw) e.lhs = invariant(e.lhs);
      if (rw) e.rhs = invariant(e.rhs);
      return [false, false];
    }
    case "Call": {
      let isInv = !AT_MODIFIER_UNSAFE.has(e.func.name);
      let timestampSafe = e.func.name === "timestamp";
      const wrap: boolean[] = [];
      for (let i = 0; i < e.args.length; i++) {
        e.args[i] = unparen(e.args[i]);
        const [ai, aw] = wrapInvariants(e.args[i], t);
        wrap.push(aw);
        isInv = isInv && ai;
        if (!ai || e.args[i].kind !== "VectorSelector") timestampSafe = false;
      }
      if (isInv || timestampSafe) return [true, true];
      for (let i = 0; i < e.args.length; i++) if (wrap[i]) e.args[i] = invariant(e.args[i]);
      return [false, false];
    }
    case "MatrixSelector":
      return [wrapInvariants(e.vectorSelector, t)[0], false];
    case "SubqueryExpr": {
      const [inv] = wrapInvariants(e.expr, t);
      if (inv) e.expr = invariant(e.expr);
      return [e.timestamp !== undefined, false];
    }
    case "ParenExpr":
    case "UnaryExpr":
      return wrapInvariants(e.expr, t);
    case "StepInvariantExpr":
      return [true, false];
    case "StringLiteral":
    case "NumberLiteral":
      return [true, false];
  }
}

function unparen(e: Expr): Expr {
  while (e.kind === "ParenExpr") e = e.expr;
  return e;
}

/**
 * Marks selectors whose histograms only feed `histogram_count`/`_sum`/`_avg` (Prometheus'
 * `detectHistogramStatsDecoding`). `undefined` below a subquery, a function needing buckets or
 * a trim operator: nothing under them is marked.
 */
function markHistogramStats(e: Expr, stats: boolean | undefined): void {
  switch (e.kind) {
    case "VectorSelector":
      if (stats) e.histogramStats = true;
      return;
    case "MatrixSelector":
      return markHistogramStats(e.vectorSelector, stats);
    case "SubqueryExpr":
      return markHistogramStats(e.expr, undefined);
    case "Call": {
      let next = stats;
      const name = e.func.name;
      if (stats !== undefined) {
        if (name === "histogram_count" || name === "histogram_sum" || name === "histogram_avg") {
          next = true;
        } else if (
          name === "histogram_quantile" || name === "histogram_quantiles" ||
          name === "histogram_fraction"
        ) next = undefined;
      }
      for (const a of e.args) markHistogramStats(a, next);
      return;
    }
    case "BinaryExpr": {
      const next = e.op === "</" || e.op === ">/" ? undefined : stats;
      markHistogramStats(e.lhs, next);
      markHistogramStats(e.rhs, next);
      return;
    }
    case "AggregateExpr":
      markHistogramStats(e.expr, stats);
      if (e.param) markHistogramStats(e.param, stats);
      return;
    case "ParenExpr":
    case "UnaryExpr":
    case "StepInvariantExpr":
      return markHistogramStats(e.expr, stats);
  }
}

/**
 * Records on each selector the hints Prometheus gives storage: the nearest enclosing function
 * or aggregation (none past a binary operator) and the grouping of a directly enclosing
 * aggregation.
 */
function markSelectHints(e: Expr, path: Expr[]): void {
  const down = (c: Expr) => markSelectHints(c, [...path, e]);
  switch (e.kind) {
    case "VectorSelector": {
      let func: string | undefined;
      for (let i = path.length - 1; i >= 0; i--) {
        const p = path[i];
        if (p.kind === "AggregateExpr") func = p.op;
        else if (p.kind === "Call") func = p.func.name;
        else if (p.kind !== "BinaryExpr") continue;
        break;
      }
      const parent = path[path.length - 1];
      const hints: { func?: string; grouping?: string[]; by?: boolean } = {};
      if (func !== undefined) hints.func = func;
      if (parent?.kind === "AggregateExpr") {
        hints.grouping = parent.grouping;
        hints.by = !parent.without;
      }
      e.selectHints = hints;
      return;
    }
    case "MatrixSelector":
      return down(e.vectorSelector);
    case "SubqueryExpr":
    case "ParenExpr":
    case "UnaryExpr":
    case "StepInvariantExpr":
      return down(e.expr);
    case "Call":
      for (const a of e.args) down(a);
      return;
    case "BinaryExpr":
      down(e.lhs);
      down(e.rhs);
      return;
    case "AggregateExpr":
      down(e.expr);
      if (e.param) down(e.param);
      return;
  }
}
