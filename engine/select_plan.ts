/**
 * Selection planning: the time range every selector of a prepared query reads, computed up
 * front as Prometheus' `getTimeRangesForSelector` does (offsets and ranges of enclosing
 * subqueries, `@`, lookback or range), so that every selection can be opened before evaluation.
 * Storage selections are lazy: an opened set reads its label sets and first batch of series
 * meanwhile (not the whole selection), so remote storage costs about one round trip of latency
 * per query instead of one per selector, with memory bounded by a batch per selector.
 *
 * @module
 */
import type { Expr, VectorSelector } from "./ast.ts";
import type { SelectHints } from "../model/queryable.ts";

/** The selection of one selector node. */
export interface PlannedSelect {
  /** The selector. */
  selector: VectorSelector;
  /** Hints covering every evaluation of the selector. */
  hints: SelectHints;
}

interface SubqueryScope {
  offset: number;
  range: number;
  at?: number;
}

/**
 * Lists the selections of `expr` evaluated at `start..end` (ms).
 *
 * @param step the query step (0 for instant queries), passed on as a hint
 */
export function planSelects(
  expr: Expr,
  start: number,
  end: number,
  step: number,
  lookbackDelta: number,
): PlannedSelect[] {
  const out: PlannedSelect[] = [];
  const visit = (e: Expr, scope: SubqueryScope, range: number | undefined): void => {
    switch (e.kind) {
      case "VectorSelector": {
        let s = scope.at ?? start;
        let t = scope.at ?? end;
        if (e.timestamp !== undefined) {
          s = e.timestamp;
          t = e.timestamp;
        } else {
          s -= scope.offset + scope.range;
          t -= scope.offset;
        }
        if (range === undefined) {
          s -= lookbackDelta - 1;
          if (e.smoothed) t += lookbackDelta;
        } else if (e.anchored) {
          s -= lookbackDelta + range - 1;
        } else if (e.smoothed) {
          s -= lookbackDelta + range - 1;
          t += lookbackDelta;
        } else {
          s -= range - 1;
        }
        const hints: SelectHints = {
          ...e.selectHints,
          start: s - e.offset,
          end: t - e.offset,
          step,
        };
        if (range !== undefined) hints.range = range;
        out.push({ selector: e, hints });
        return;
      }
      case "MatrixSelector":
        return visit(e.vectorSelector, scope, e.range);
      case "SubqueryExpr": {
        // An @ on a subquery resets what enclosing subqueries added.
        const inner: SubqueryScope = e.timestamp !== undefined
          ? { offset: e.offset, range: e.range, at: e.timestamp }
          : { offset: scope.offset + e.offset, range: scope.range + e.range, at: scope.at };
        return visit(e.expr, inner, undefined);
      }
      case "ParenExpr":
      case "UnaryExpr":
      case "StepInvariantExpr":
        return visit(e.expr, scope, undefined);
      case "AggregateExpr":
        visit(e.expr, scope, undefined);
        if (e.param) visit(e.param, scope, undefined);
        return;
      case "BinaryExpr":
        visit(e.lhs, scope, undefined);
        visit(e.rhs, scope, undefined);
        return;
      case "Call":
        // info()'s second argument is a label filter, not a selection of its own.
        for (const a of e.func.name === "info" ? e.args.slice(0, 1) : e.args) {
          visit(a, scope, undefined);
        }
        return;
    }
  };
  visit(expr, { offset: 0, range: 0 }, undefined);
  return out;
}
