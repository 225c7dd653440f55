/**
 * The `@`-modifier variants the test language runs for every instant eval: the expression with
 * `@ <eval time>` attached to each selector and subquery that has none, evaluated at other
 * times, must give the same result (Prometheus' `atModifierTestCases`).
 *
 * @module
 */
import type { Expr } from "../ast.ts";
import { parseExpr, type ParseOptions } from "../parser.ts";
import { exprToString } from "../printer.ts";

/** Functions whose result depends on the evaluation time even with step-invariant arguments. */
export const AT_MODIFIER_UNSAFE_FUNCTIONS: ReadonlySet<string> = new Set([
  "days_in_month",
  "day_of_month",
  "day_of_week",
  "day_of_year",
  "hour",
  "minute",
  "month",
  "year",
  "predict_linear",
  "time",
  "timestamp",
  "start",
  "end",
  "range",
  "step",
]);

/** One extra instant query to run. */
export interface AtModifierCase {
  /** The rewritten expression. */
  expr: string;
  /** Evaluation time, ms. */
  evalTime: number;
}

/**
 * Returns the `@` variants of an instant eval at `evalTime` (ms): empty when the expression
 * uses a time-dependent function outside an `@`-pinned subquery, or does not parse.
 */
export function atModifierCases(
  query: string,
  evalTime: number,
  options: ParseOptions = {},
): AtModifierCase[] {
  let expr: Expr;
  try {
    expr = parseExpr(query, options);
  } catch {
    return [];
  }
  if (!pin(expr, evalTime)) return [];
  const rewritten = exprToString(expr);
  const times = evalTime === 0
    ? [-1000, 0, 1000]
    : [-10 * evalTime, 0, Math.trunc(evalTime / 5), evalTime, 10 * evalTime];
  return times.map((t) => ({ expr: rewritten, evalTime: t }));
}

// Sets `@ ts` on every selector and subquery without one, except below a subquery that has one.
// Returns false when a time-dependent function is reachable.
function pin(e: Expr, ts: number): boolean {
  switch (e.kind) {
    case "VectorSelector":
      e.timestamp ??= ts;
      return true;
    case "MatrixSelector":
      e.vectorSelector.timestamp ??= ts;
      return true;
    case "SubqueryExpr":
      // The subquery is pinned now, so nothing inside it is visited.
      e.timestamp ??= ts;
      return true;
    case "Call": {
      let safe = !AT_MODIFIER_UNSAFE_FUNCTIONS.has(e.func.name);
      for (const a of e.args) safe = pin(a, ts) && safe;
      return safe;
    }
    case "AggregateExpr": {
      const safe = e.param ? pin(e.param, ts) : true;
      return pin(e.expr, ts) && safe;
    }
    case "BinaryExpr": {
      const safe = pin(e.lhs, ts);
      return pin(e.rhs, ts) && safe;
    }
    case "ParenExpr":
    case "UnaryExpr":
    case "StepInvariantExpr":
      return pin(e.expr, ts);
    case "NumberLiteral":
    case "StringLiteral":
      return true;
  }
}
