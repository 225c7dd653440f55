/**
 * The PromQL abstract syntax tree (Prometheus' `promql/parser/ast.go`), produced by the parser,
 * printed back by the printer and evaluated by the engine. Nodes are plain objects with a `kind`
 * discriminator; times and durations are milliseconds.
 *
 * @module
 */
import type { Matcher } from "../model/matchers.ts";

/** The type of value an expression produces. */
export type ValueTypeName = "none" | "scalar" | "vector" | "matrix" | "string";

/**
 * Offsets of a node in the query text, `[start, end)`, as JS string indices: UTF-16 code units,
 * not Prometheus' bytes (the two differ only after non-ASCII text).
 */
export interface PositionRange {
  /** Offset of the first character. */
  start: number;
  /** Offset after the last character. */
  end: number;
}

/** Aggregation operators. */
export type AggregateOp =
  | "sum"
  | "avg"
  | "count"
  | "min"
  | "max"
  | "group"
  | "stddev"
  | "stdvar"
  | "topk"
  | "bottomk"
  | "count_values"
  | "quantile"
  | "limitk"
  | "limit_ratio";

/**
 * Binary operators: arithmetic, comparison, set operators, and the native-histogram trim
 * operators `</` (trim upper) and `>/` (trim lower), which share the comparison precedence.
 */
export type BinaryOp =
  | "+"
  | "-"
  | "*"
  | "/"
  | "%"
  | "^"
  | "atan2"
  | "=="
  | "!="
  | ">"
  | "<"
  | ">="
  | "<="
  | "</"
  | ">/"
  | "and"
  | "or"
  | "unless";

/** Cardinality of a vector match. */
export type Cardinality = "one-to-one" | "many-to-one" | "one-to-many" | "many-to-many";

/** How the two sides of a binary operation between vectors are matched. */
export interface VectorMatching {
  /** The cardinality; `many-to-many` for set operators. */
  card: Cardinality;
  /** The labels of `on(...)` or `ignoring(...)`. */
  matchingLabels: string[];
  /** True for `on`, false for `ignoring` (or neither). */
  on: boolean;
  /** The labels of `group_left(...)` / `group_right(...)`. */
  include: string[];
  /** Experimental fill modifiers: the value used when the left/right side has no match. */
  fillLeft?: number;
  /** See `fillLeft`. */
  fillRight?: number;
}

/** The signature of a PromQL function. */
export interface FunctionDef {
  /** The function name. */
  name: string;
  /** Argument types in order. */
  argTypes: ValueTypeName[];
  /** 0: exact arity; n > 0: up to n further optional arguments of the last type; -1: unlimited. */
  variadic: number;
  /** The result type. */
  returnType: ValueTypeName;
  /** Behind an experimental feature flag in Prometheus. */
  experimental?: boolean;
}

/** `sum by (job) (x)`, `topk(3, x)`, ... */
export interface AggregateExpr {
  /** Discriminates the {@linkcode Expr} union. */
  kind: "AggregateExpr";
  /** The aggregation operator. */
  op: AggregateOp;
  /** The aggregated expression. */
  expr: Expr;
  /** The parameter of topk/bottomk/quantile/count_values/limitk/limit_ratio. */
  param?: Expr;
  /** The `by`/`without` labels. */
  grouping: string[];
  /** True for `without`. */
  without: boolean;
  /** Where the expression is in the query text, grouping included. */
  pos: PositionRange;
}

/** `a + b`, `a > bool b`, `a and on(x) b`, ... */
export interface BinaryExpr {
  /** Discriminates the {@linkcode Expr} union. */
  kind: "BinaryExpr";
  /** The operator. */
  op: BinaryOp;
  /** The left operand. */
  lhs: Expr;
  /** The right operand. */
  rhs: Expr;
  /** Present when both sides are vectors. */
  matching?: VectorMatching;
  /** The `bool` modifier of comparisons. */
  returnBool: boolean;
  /** Where the expression is in the query text, from the start of `lhs` to the end of `rhs`. */
  pos: PositionRange;
}

/** A function call. */
export interface Call {
  /** Discriminates the {@linkcode Expr} union. */
  kind: "Call";
  /** The called function's signature, from the parser's function table. */
  func: FunctionDef;
  /** The arguments in call order, as checked against `func`. */
  args: Expr[];
  /** Where the call is in the query text, from the name to the closing parenthesis. */
  pos: PositionRange;
}

/** `x[5m]`. */
export interface MatrixSelector {
  /** Discriminates the {@linkcode Expr} union. */
  kind: "MatrixSelector";
  /**
   * The selected series. It carries the range's `offset` and `@` modifiers, which are written
   * after the range (`x[5m] offset 1m`).
   */
  vectorSelector: VectorSelector;
  /** Range in ms. */
  range: number;
  /** Experimental duration expression for the range (`x[1m+30s]`), when not a literal. */
  rangeExpr?: Expr;
  /** Where the selector is in the query text, trailing `offset`/`@` modifiers included. */
  pos: PositionRange;
}

/** `expr[range:step]`. */
export interface SubqueryExpr {
  /** Discriminates the {@linkcode Expr} union. */
  kind: "SubqueryExpr";
  /** The inner expression, evaluated at each subquery step. */
  expr: Expr;
  /** Range in ms. */
  range: number;
  /** Step in ms; 0 means the default evaluation interval. */
  step: number;
  /** Offset in ms (negative allowed). */
  offset: number;
  /** `@` timestamp in ms, when given as a number. */
  timestamp?: number;
  /** `@ start()` / `@ end()`. */
  startOrEnd?: "start" | "end";
  /** Experimental duration expressions, when not literals. */
  rangeExpr?: Expr;
  /** See `rangeExpr`. */
  stepExpr?: Expr;
  /** See `rangeExpr`. */
  offsetExpr?: Expr;
  /** Where the subquery is in the query text, trailing `offset`/`@` modifiers included. */
  pos: PositionRange;
}

/** A number literal. */
export interface NumberLiteral {
  /** Discriminates the {@linkcode Expr} union. */
  kind: "NumberLiteral";
  /** The value; a leading unary minus is folded in (`-1` is a literal, not a `UnaryExpr`). */
  value: number;
  /** Set when the literal was written as a duration (`5m` used as a number, in seconds). */
  duration?: boolean;
  /** Where the literal is in the query text, a folded sign included. */
  pos: PositionRange;
}

/** `( expr )`. */
export interface ParenExpr {
  /** Discriminates the {@linkcode Expr} union. */
  kind: "ParenExpr";
  /** The parenthesized expression. */
  expr: Expr;
  /** Where the expression is in the query text, parentheses included. */
  pos: PositionRange;
}

/** A string literal. */
export interface StringLiteral {
  /** Discriminates the {@linkcode Expr} union. */
  kind: "StringLiteral";
  /** The unquoted value (escape sequences resolved). */
  value: string;
  /** Where the literal is in the query text, quotes included. */
  pos: PositionRange;
}

/** `-expr` or `+expr`. */
export interface UnaryExpr {
  /** Discriminates the {@linkcode Expr} union. */
  kind: "UnaryExpr";
  /** The sign. */
  op: "+" | "-";
  /** The operand. A sign written directly before a number is folded into the literal instead. */
  expr: Expr;
  /** Where the expression is in the query text, from the sign to the end of the operand. */
  pos: PositionRange;
}

/** `name{matchers} offset 5m @ 123`. */
export interface VectorSelector {
  /** Discriminates the {@linkcode Expr} union. */
  kind: "VectorSelector";
  /** The metric name, when given outside the braces (or `""`). */
  name: string;
  /** All matchers, including the one for the name. */
  matchers: Matcher[];
  /** Offset in ms (negative allowed). */
  offset: number;
  /** `@` timestamp in ms, when given as a number. */
  timestamp?: number;
  /** `@ start()` / `@ end()`. */
  startOrEnd?: "start" | "end";
  /** Experimental duration expression for the offset, when not a literal. */
  offsetExpr?: Expr;
  /** Experimental extended range selector modifiers. */
  anchored?: boolean;
  /** See `anchored`. */
  smoothed?: boolean;
  /** Set on the label-selector argument of `info()`, which may match the empty string. */
  bypassEmptyMatcherCheck?: boolean;
  /**
   * Set by the engine's preparation when only histogram statistics are read (under
   * `histogram_count`/`_sum`/`_avg`): counter reset hints are then derived sample by sample.
   */
  histogramStats?: boolean;
  /**
   * Set by the engine's preparation: the enclosing function or aggregation and the grouping
   * of a directly enclosing aggregation, passed to storage as select hints.
   */
  selectHints?: { func?: string; grouping?: string[]; by?: boolean };
  /** Where the selector is in the query text, its own `offset`/`@` modifiers included. */
  pos: PositionRange;
}

/** Marks a subtree whose value is the same at every step (the engine evaluates it once). */
export interface StepInvariantExpr {
  /** Discriminates the {@linkcode Expr} union. */
  kind: "StepInvariantExpr";
  /** The step-invariant subtree. */
  expr: Expr;
  /** The wrapped subtree's position. */
  pos: PositionRange;
}

/** Any PromQL expression. */
export type Expr =
  | AggregateExpr
  | BinaryExpr
  | Call
  | MatrixSelector
  | SubqueryExpr
  | NumberLiteral
  | ParenExpr
  | StringLiteral
  | UnaryExpr
  | VectorSelector
  | StepInvariantExpr;
