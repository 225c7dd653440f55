/**
 * The labels of `absent()` and `absent_over_time()` results, taken from their selector.
 *
 * @module
 */
import type { Expr, MatrixSelector, VectorSelector } from "./ast.ts";
import { type Labels, METRIC_NAME, setLabel } from "../model/labels.ts";
import { MatchType } from "../model/matchers.ts";

function unwrap(e: Expr): Expr {
  while (e.kind === "ParenExpr") e = e.expr;
  return e;
}

/** Labels `absent()` and `absent_over_time()` give their result: the selector's `=` matchers. */
export function absentLabels(arg: Expr): Labels {
  let e = unwrap(arg);
  if (e.kind === "MatrixSelector") e = (e as MatrixSelector).vectorSelector;
  if (e.kind !== "VectorSelector") return [];
  const vs = e as VectorSelector;
  let labels: Labels = [];
  const seen = new Set<string>();
  for (const m of vs.matchers) {
    if (m.name === METRIC_NAME) continue;
    if (m.type === MatchType.Equal && !seen.has(m.name)) {
      labels = setLabel(labels, m.name, m.value);
      seen.add(m.name);
    } else {
      labels = setLabel(labels, m.name, "");
    }
  }
  return labels;
}
