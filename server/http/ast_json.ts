/**
 * The AST as `/api/v1/parse_query` returns it (Prometheus' `web/api/v1/translate_ast.go`).
 * Go encodes these maps with sorted keys, so every object here is built in key order.
 *
 * @module
 */
import type { Expr, VectorSelector } from "../../engine/ast.ts";
import type { Matcher } from "../../model/matchers.ts";
import { formatGoFloat } from "../../engine/format.ts";

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function sorted(obj: Record<string, Json>): Record<string, Json> {
  const out: Record<string, Json> = {};
  for (const key of Object.keys(obj).sort()) out[key] = obj[key];
  return out;
}

function matchers(list: readonly Matcher[]): Json {
  return list.map((m) => sorted({ name: m.name, type: m.operator, value: m.value }));
}

function selectorFields(vs: VectorSelector): Record<string, Json> {
  return {
    anchored: vs.anchored ?? false,
    matchers: matchers(vs.matchers),
    name: vs.name,
    offset: vs.offset,
    offsetExpr: vs.offsetExpr ? astJson(vs.offsetExpr) : null,
    smoothed: vs.smoothed ?? false,
    startOrEnd: vs.startOrEnd ?? null,
    timestamp: vs.timestamp ?? null,
  };
}

/** Translates an expression into parse_query's JSON shape. */
export function astJson(expr: Expr): Json {
  switch (expr.kind) {
    case "AggregateExpr":
      return sorted({
        type: "aggregation",
        op: expr.op,
        expr: astJson(expr.expr),
        param: expr.param ? astJson(expr.param) : null,
        grouping: expr.grouping,
        without: expr.without,
      });
    case "BinaryExpr":
      return sorted({
        type: "binaryExpr",
        op: expr.op,
        lhs: astJson(expr.lhs),
        rhs: astJson(expr.rhs),
        matching: expr.matching
          ? sorted({
            card: expr.matching.card,
            labels: expr.matching.matchingLabels,
            on: expr.matching.on,
            include: expr.matching.include,
            fillValues: sorted({
              lhs: expr.matching.fillLeft ?? null,
              rhs: expr.matching.fillRight ?? null,
            }),
          })
          : null,
        bool: expr.returnBool,
      });
    case "Call":
      return sorted({
        type: "call",
        func: sorted({
          name: expr.func.name,
          argTypes: expr.func.argTypes,
          variadic: expr.func.variadic,
          returnType: expr.func.returnType,
        }),
        args: expr.args.map(astJson),
      });
    case "MatrixSelector":
      return sorted({
        type: "matrixSelector",
        ...selectorFields(expr.vectorSelector),
        range: expr.range,
        rangeExpr: expr.rangeExpr ? astJson(expr.rangeExpr) : null,
      });
    case "SubqueryExpr":
      return sorted({
        type: "subquery",
        expr: astJson(expr.expr),
        range: expr.range,
        rangeExpr: expr.rangeExpr ? astJson(expr.rangeExpr) : null,
        offset: expr.offset,
        offsetExpr: expr.offsetExpr ? astJson(expr.offsetExpr) : null,
        step: expr.step,
        stepExpr: expr.stepExpr ? astJson(expr.stepExpr) : null,
        timestamp: expr.timestamp ?? null,
        startOrEnd: expr.startOrEnd ?? null,
      });
    case "NumberLiteral":
      return sorted({ type: "numberLiteral", val: formatGoFloat(expr.value) });
    case "ParenExpr":
      return sorted({ type: "parenExpr", expr: astJson(expr.expr) });
    case "StringLiteral":
      return sorted({ type: "stringLiteral", val: expr.value });
    case "UnaryExpr":
      return sorted({ type: "unaryExpr", op: expr.op, expr: astJson(expr.expr) });
    case "VectorSelector":
      return sorted({ type: "vectorSelector", ...selectorFields(expr) });
    case "StepInvariantExpr":
      return astJson(expr.expr);
  }
}
