/**
 * Prints an AST back as PromQL in Prometheus' `String()` format (the non-pretty form used by
 * `/api/v1/format_query` and in error messages). Parsing the output gives the same AST.
 *
 * @module
 */
import type { AggregateExpr, BinaryExpr, Expr, SubqueryExpr, VectorSelector } from "./ast.ts";
import { formatDuration } from "./durations.ts";
import { goQuote } from "./lexer.ts";
import { compareStrings, METRIC_NAME } from "../model/labels.ts";
import type { Matcher } from "../model/matchers.ts";

/**
 * Formats an expression as PromQL.
 *
 * @example
 * ```ts
 * exprToString(parseExpr("sum by(job)(rate(x[5m]))")); // "sum by (job) (rate(x[5m]))"
 * ```
 */
export function exprToString(expr: Expr): string {
  switch (expr.kind) {
    case "AggregateExpr":
      return aggregateToString(expr);
    case "BinaryExpr":
      return `${exprToString(expr.lhs)} ${expr.op}${expr.returnBool ? " bool" : ""}${
        matchingToString(expr)
      } ${exprToString(expr.rhs)}`;
    case "Call":
      return `${expr.func.name}(${expr.args.map(exprToString).join(", ")})`;
    case "MatrixSelector": {
      const vs = expr.vectorSelector;
      const range = expr.rangeExpr ? exprToString(expr.rangeExpr) : formatDuration(expr.range);
      const ext = vs.anchored ? " anchored" : vs.smoothed ? " smoothed" : "";
      return `${selectorToString(vs)}[${range}]${ext}${atToString(vs)}${offsetToString(vs)}`;
    }
    case "SubqueryExpr":
      return exprToString(expr.expr) + subqueryToString(expr);
    case "NumberLiteral":
      if (expr.duration) {
        const ms = Math.trunc(Math.round(expr.value * 1e9) / 1e6);
        return ms < 0 ? `-${formatDuration(-ms)}` : formatDuration(ms);
      }
      return formatFloat(expr.value);
    case "ParenExpr":
      return `(${exprToString(expr.expr)})`;
    case "StringLiteral":
      return goQuote(expr.value);
    case "UnaryExpr":
      return expr.op + exprToString(expr.expr);
    case "VectorSelector": {
      const ext = expr.anchored ? " anchored" : expr.smoothed ? " smoothed" : "";
      return selectorToString(expr) + atToString(expr) + ext + offsetToString(expr);
    }
    case "StepInvariantExpr":
      return exprToString(expr.expr);
  }
}

function aggregateToString(e: AggregateExpr): string {
  let s: string = e.op;
  if (e.without) s += ` without (${labelList(e.grouping)}) `;
  else if (e.grouping.length > 0) s += ` by (${labelList(e.grouping)}) `;
  s += "(";
  if (e.param) s += exprToString(e.param) + ", ";
  return s + exprToString(e.expr) + ")";
}

function matchingToString(e: BinaryExpr): string {
  const vm = e.matching;
  if (!vm) return "";
  let s = "";
  const grouped = vm.card === "many-to-one" || vm.card === "one-to-many";
  if (vm.matchingLabels.length > 0 || vm.on || grouped) {
    s += ` ${vm.on ? "on" : "ignoring"} (${labelList(vm.matchingLabels)})`;
  }
  if (grouped) {
    s += ` group_${vm.card === "many-to-one" ? "left" : "right"} (${labelList(vm.include)})`;
  }
  const l = vm.fillLeft;
  const r = vm.fillRight;
  if (l !== undefined && r !== undefined && Object.is(l, r)) s += ` fill (${formatGoG(l)})`;
  else {
    if (l !== undefined) s += ` fill_left (${formatGoG(l)})`;
    if (r !== undefined) s += ` fill_right (${formatGoG(r)})`;
  }
  return s;
}

const LEGACY_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function labelList(names: readonly string[]): string {
  return names.map((n) => (LEGACY_NAME.test(n) ? n : goQuote(n))).join(", ");
}

/** Formats a matcher as Prometheus does: `name="value"`, quoting non-legacy names. */
export function matcherToString(m: Matcher): string {
  const name = LEGACY_NAME.test(m.name) ? m.name : goQuote(m.name);
  return `${name}${m.operator}${goQuote(m.value)}`;
}

// The selector without modifiers: the name, then the other matchers sorted, in braces.
function selectorToString(vs: VectorSelector): string {
  const parts: string[] = [];
  for (const m of vs.matchers) {
    const isName = m.name === METRIC_NAME && m.type === 0 && m.value === vs.name &&
      m.value !== "";
    if (!isName) parts.push(matcherToString(m));
  }
  if (parts.length === 0) return vs.name;
  parts.sort(compareStrings);
  return `${vs.name}{${parts.join(",")}}`;
}

function atToString(n: VectorSelector | SubqueryExpr): string {
  if (n.timestamp !== undefined) return ` @ ${(n.timestamp / 1000).toFixed(3)}`;
  if (n.startOrEnd) return ` @ ${n.startOrEnd}()`;
  return "";
}

function offsetToString(n: VectorSelector | SubqueryExpr): string {
  if (n.offsetExpr) return ` offset ${exprToString(n.offsetExpr)}`;
  if (n.offset > 0) return ` offset ${formatDuration(n.offset)}`;
  if (n.offset < 0) return ` offset -${formatDuration(-n.offset)}`;
  return "";
}

function subqueryToString(n: SubqueryExpr): string {
  const range = n.rangeExpr ? exprToString(n.rangeExpr) : formatDuration(n.range);
  const step = n.step !== 0 ? formatDuration(n.step) : n.stepExpr ? exprToString(n.stepExpr) : "";
  return `[${range}:${step}]${atToString(n)}${offsetToString(n)}`;
}

/**
 * Formats a float like Go's `strconv.FormatFloat(v, 'f', -1, 64)`: the shortest digits that
 * round-trip, never in exponent form; `+Inf`, `-Inf`, `NaN`.
 */
export function formatFloat(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  if (Object.is(v, -0)) return "-0";
  const { negative, digits, exp } = shortestDigits(v);
  // The value is 0.DIGITS × 10^exp.
  let s: string;
  if (exp <= 0) s = "0." + "0".repeat(-exp) + digits;
  else if (exp >= digits.length) s = digits + "0".repeat(exp - digits.length);
  else s = digits.slice(0, exp) + "." + digits.slice(exp);
  return negative ? "-" + s : s;
}

/** Formats a float like Go's `%v` (shortest `%g`: exponent form below 1e-4 and from 1e6). */
export function formatGoG(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  if (v === 0) return Object.is(v, -0) ? "-0" : "0";
  const { negative, digits, exp } = shortestDigits(v);
  const x = exp - 1; // decimal exponent of the first digit
  let s: string;
  if (x < -4 || x >= 6) {
    const mant = digits.length > 1 ? digits[0] + "." + digits.slice(1) : digits;
    const e = Math.abs(x);
    s = `${mant}e${x < 0 ? "-" : "+"}${e < 10 ? "0" + e : e}`;
  } else {
    s = formatFloat(Math.abs(v));
  }
  return negative ? "-" + s : s;
}

// Shortest round-trip decimal digits of a finite non-zero float, as 0.DIGITS × 10^exp.
function shortestDigits(v: number): { negative: boolean; digits: string; exp: number } {
  const negative = v < 0;
  const [mant, e] = Math.abs(v).toExponential().split("e");
  const digits = mant.replace(".", "").replace(/0+$/, "") || "0";
  return { negative, digits, exp: Number(e) + 1 };
}
