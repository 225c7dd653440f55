/**
 * The PromQL parser (Prometheus' `promql/parser`): a recursive-descent parser with precedence
 * climbing for binary operators, followed by the type checks of Prometheus' `checkAST`.
 *
 * Errors are {@linkcode ParseError}s whose messages follow Prometheus' wording
 * (`1:5: parse error: unexpected end of input`). Like Prometheus, only the first error found is
 * reported.
 *
 * Duration expressions (`x[1m+30s]`, `offset -(1m)`, `[5m:step()]`) are represented with the
 * ordinary expression nodes: number literals (seconds), `BinaryExpr` without vector matching,
 * `UnaryExpr`, `ParenExpr` and calls of `step()`, `range()`, `min_of()` and `max_of()`; the
 * evaluator computes them as scalars in seconds.
 *
 * Expressions nested deeper than {@linkcode MAX_EXPRESSION_DEPTH} levels are a parse error. The
 * parser, the checks and the evaluator recurse once or more per level, so without a limit a
 * query could exhaust the stack (Prometheus' yacc parser and Go's growable stacks have no such
 * limit; a JavaScript stack holds around a thousand levels of evaluation).
 *
 * @module
 */
import type {
  AggregateExpr,
  AggregateOp,
  BinaryExpr,
  BinaryOp,
  Call,
  Expr,
  FunctionDef,
  MatrixSelector,
  NumberLiteral,
  PositionRange,
  SubqueryExpr,
  ValueTypeName,
  VectorMatching,
  VectorSelector,
} from "./ast.ts";
import { ParseError } from "./errors.ts";
import { DurationError, parseDuration } from "./durations.ts";
import { EXPERIMENTAL_AGGREGATORS, FUNCTIONS } from "./function_signatures.ts";
import {
  AGGREGATORS,
  describeToken,
  goQuote,
  Lexer,
  type Token,
  type TokenType,
  UnquoteError,
  unquoteString,
} from "./lexer.ts";
import { METRIC_NAME } from "../model/labels.ts";
import { Matcher, MatchType, RegexpError } from "../model/matchers.ts";

/** Parser options. */
export interface ParseOptions {
  /**
   * Enabled Prometheus feature flags: `promql-experimental-functions`,
   * `promql-extended-range-selectors`, `promql-binop-fill-modifiers`. Duration expressions
   * (`promql-duration-expr`) are always enabled, as in Prometheus 3.14 and later.
   */
  features?: ReadonlySet<string>;
}

/** Feature flag names understood by the parser. */
export const Features = {
  /** Experimental functions and the `limitk`/`limit_ratio` aggregators. */
  ExperimentalFunctions: "promql-experimental-functions",
  /** `anchored` and `smoothed` selector modifiers. */
  ExtendedRangeSelectors: "promql-extended-range-selectors",
  /** `fill()`, `fill_left()`, `fill_right()` binary operator modifiers. */
  BinopFillModifiers: "promql-binop-fill-modifiers",
  /** Duration expressions; accepted for compatibility, always on. */
  DurationExpr: "promql-duration-expr",
} as const;

/**
 * The deepest expression nesting accepted: a selector alone is depth 1, `-x` and `(x)` 2, a chain
 * `a + b + c` 3. A quarter of what the evaluator was measured to manage, leaving room for callers'
 * stack frames.
 */
export const MAX_EXPRESSION_DEPTH = 256;

/** Returns the type of value an expression evaluates to (Prometheus' `Expr.Type()`). */
export function exprType(expr: Expr): ValueTypeName {
  switch (expr.kind) {
    case "AggregateExpr":
    case "VectorSelector":
      return "vector";
    case "Call":
      return expr.func.returnType;
    case "MatrixSelector":
    case "SubqueryExpr":
      return "matrix";
    case "NumberLiteral":
      return "scalar";
    case "StringLiteral":
      return "string";
    case "ParenExpr":
    case "UnaryExpr":
    case "StepInvariantExpr":
      return exprType(expr.expr);
    case "BinaryExpr":
      return exprType(expr.lhs) === "scalar" && exprType(expr.rhs) === "scalar"
        ? "scalar"
        : "vector";
  }
}

/**
 * Parses a PromQL expression and type-checks it.
 *
 * @example
 * ```ts
 * const e = parseExpr('sum by (job) (rate(http_requests_total{code=~"5.."}[5m]))');
 * e.kind; // "AggregateExpr"
 * ```
 * @throws {ParseError} when the query is not valid PromQL.
 */
export function parseExpr(query: string, options: ParseOptions = {}): Expr {
  const p = new Parser(query, options);
  const expr = p.parseTop();
  // Chains built by loops (`a + b + ...`, `x[1m:][1m:]...`) nest without parser recursion.
  const tooDeep = deeperThan(expr, MAX_EXPRESSION_DEPTH);
  if (tooDeep) throw new ParseError([{ pos: tooDeep.pos, message: TOO_DEEP, query }]);
  new Checker(query).check(expr);
  return expr;
}

const TOO_DEEP = `expressions nested deeper than ${MAX_EXPRESSION_DEPTH} levels are not supported`;

/** The first node found below `maxDepth` levels, walking without recursion. */
function deeperThan(root: Expr, maxDepth: number): Expr | undefined {
  const stack: [Expr, number][] = [[root, 1]];
  for (let top = stack.pop(); top; top = stack.pop()) {
    const [node, depth] = top;
    if (depth > maxDepth) return node;
    for (const child of children(node)) if (child) stack.push([child, depth + 1]);
  }
  return undefined;
}

function children(e: Expr): (Expr | undefined)[] {
  switch (e.kind) {
    case "AggregateExpr":
      return [e.expr, e.param];
    case "BinaryExpr":
      return [e.lhs, e.rhs];
    case "Call":
      return e.args;
    case "MatrixSelector":
      return [e.vectorSelector, e.rangeExpr];
    case "SubqueryExpr":
      return [e.expr, e.rangeExpr, e.stepExpr, e.offsetExpr];
    case "ParenExpr":
    case "UnaryExpr":
    case "StepInvariantExpr":
      return [e.expr];
    case "VectorSelector":
      return [e.offsetExpr];
    case "NumberLiteral":
    case "StringLiteral":
      return [];
  }
}

/**
 * Parses a series selector such as `up{job="api"}` or `{__name__=~"a.*"}` (the API's `match[]`)
 * into its matchers; a metric name written outside the braces becomes the last matcher.
 * Like Prometheus, it does not require a non-empty matcher; callers check that.
 *
 * @throws {ParseError} when the selector is malformed.
 */
export function parseMetricSelector(s: string): Matcher[] {
  const p = new Parser(s, {});
  return p.parseSelectorOnly().matchers;
}

/**
 * Parses a metric with labels, `name{label="value", ...}` (also `{"name", "a.b"="c"}`), as used
 * by series descriptions. Returns the name/value pairs in order of appearance and the offset
 * just after the metric.
 *
 * @throws {ParseError} when the metric is malformed.
 */
export function parseMetricPrefix(s: string): { pairs: [string, string][]; end: number } {
  const p = new Parser(s, {});
  return p.parseMetric();
}

const COMPARISON_OPS: ReadonlySet<string> = new Set(["==", "!=", ">", "<", ">=", "<="]);
const SET_OPS: ReadonlySet<string> = new Set(["and", "or", "unless"]);

const BINARY_OPS: ReadonlyMap<TokenType, { op: BinaryOp; prec: number }> = new Map([
  ["LOR", { op: "or", prec: 1 }],
  ["LAND", { op: "and", prec: 2 }],
  ["LUNLESS", { op: "unless", prec: 2 }],
  ["EQLC", { op: "==", prec: 3 }],
  ["NEQ", { op: "!=", prec: 3 }],
  ["LTE", { op: "<=", prec: 3 }],
  ["LSS", { op: "<", prec: 3 }],
  ["GTE", { op: ">=", prec: 3 }],
  ["GTR", { op: ">", prec: 3 }],
  ["TRIM_UPPER", { op: "</", prec: 3 }],
  ["TRIM_LOWER", { op: ">/", prec: 3 }],
  ["ADD", { op: "+", prec: 4 }],
  ["SUB", { op: "-", prec: 4 }],
  ["MUL", { op: "*", prec: 5 }],
  ["DIV", { op: "/", prec: 5 }],
  ["MOD", { op: "%", prec: 5 }],
  ["ATAN2", { op: "atan2", prec: 5 }],
  ["POW", { op: "^", prec: 6 }],
] as [TokenType, { op: BinaryOp; prec: number }][]);

const DURATION_OPS: ReadonlyMap<TokenType, { op: BinaryOp; prec: number }> = new Map([
  ["ADD", { op: "+", prec: 4 }],
  ["SUB", { op: "-", prec: 4 }],
  ["MUL", { op: "*", prec: 5 }],
  ["DIV", { op: "/", prec: 5 }],
  ["MOD", { op: "%", prec: 5 }],
  ["POW", { op: "^", prec: 6 }],
] as [TokenType, { op: BinaryOp; prec: number }][]);

// Unary minus/plus bind like `*`: their operand extends over `^` only.
const UNARY_OPERAND_PREC = 6;

// Tokens that can be a metric name (Prometheus' `metric_identifier`).
const METRIC_IDENTIFIER_TYPES: ReadonlySet<TokenType> = new Set<TokenType>([
  "IDENTIFIER",
  "METRIC_IDENTIFIER",
  "AVG",
  "BOTTOMK",
  "BY",
  "COUNT",
  "COUNT_VALUES",
  "FILL",
  "FILL_LEFT",
  "FILL_RIGHT",
  "GROUP",
  "LAND",
  "LOR",
  "LUNLESS",
  "MAX",
  "MIN",
  "OFFSET",
  "QUANTILE",
  "STDDEV",
  "STDVAR",
  "SUM",
  "TOPK",
  "WITHOUT",
  "START",
  "END",
  "LIMITK",
  "LIMIT_RATIO",
  "STEP",
  "RANGE",
  "ANCHORED",
  "SMOOTHED",
  "MAX_OF",
  "MIN_OF",
]);

// Tokens that can be a label name in grouping lists (Prometheus' `maybe_label`).
const MAYBE_LABEL_TYPES: ReadonlySet<TokenType> = new Set<TokenType>([
  ...METRIC_IDENTIFIER_TYPES,
  "BOOL",
  "GROUP_LEFT",
  "GROUP_RIGHT",
  "IGNORING",
  "ON",
  "ATAN2",
]);

// Function-call tokens besides IDENTIFIER: `start()`, `end()`, `step()`, `range()`, `min_of()`...
const KEYWORD_FUNCTIONS: ReadonlySet<TokenType> = new Set<TokenType>([
  "START",
  "END",
  "STEP",
  "RANGE",
  "MAX_OF",
  "MIN_OF",
]);

// Go's time.Duration limit, in seconds.
const MAX_DURATION_SECONDS = 9223372036.854775807;

/** Raised inside the parser; converted to a ParseError at the API boundary. */
class Failure {
  constructor(readonly pos: PositionRange, readonly message: string) {}
}

class Parser {
  readonly #query: string;
  readonly #lexer: Lexer;
  readonly #features: ReadonlySet<string>;
  #tok: Token;
  // One token of lookahead beyond #tok, filled by #peekType().
  #next: Token | undefined;
  #lastClosing = 0;
  // Sub-expressions being parsed, one per recursion of #expr or #durationExpr.
  #depth = 0;

  constructor(query: string, options: ParseOptions) {
    this.#query = query;
    this.#lexer = new Lexer(query);
    this.#features = options.features ?? new Set();
    this.#tok = { type: "EOF", pos: 0, val: "" };
  }

  // --- Entry points -----------------------------------------------------------------------

  parseTop(): Expr {
    return this.#run(() => {
      if (this.#type() === "EOF") {
        this.#fail({ start: 0, end: 0 }, "no expression found in input");
      }
      const expr = this.#expr(0);
      this.#expectEnd();
      return expr;
    });
  }

  parseSelectorOnly(): VectorSelector {
    return this.#run(() => {
      const t = this.#tok;
      let vs: VectorSelector;
      if (METRIC_IDENTIFIER_TYPES.has(t.type)) {
        this.#advance();
        vs = this.#vectorSelector(t);
      } else if (t.type === "LEFT_BRACE") {
        vs = this.#vectorSelector(undefined);
      } else {
        this.#unexpected("", "");
      }
      this.#expectEnd();
      return vs;
    });
  }

  parseMetric(): { pairs: [string, string][]; end: number } {
    return this.#run(() => {
      const pairs: [string, string][] = [];
      const t = this.#tok;
      let end = 0;
      if (METRIC_IDENTIFIER_TYPES.has(t.type)) {
        pairs.push([METRIC_NAME, t.val]);
        end = t.pos + t.val.length;
        this.#advance();
      }
      if (this.#type() === "LEFT_BRACE") {
        this.#advance();
        while (this.#type() !== "RIGHT_BRACE") {
          const name = this.#tok;
          if (name.type === "IDENTIFIER" || name.type === "STRING") {
            this.#advance();
            const nameStr = name.type === "STRING" ? this.#unquote(name) : name.val;
            if (this.#type() === "EQL") {
              this.#advance();
              if (this.#type() !== "STRING") this.#unexpected("label set", "string");
              pairs.push([nameStr, this.#unquote(this.#tok)]);
              this.#advance();
            } else if (name.type === "STRING") {
              pairs.push([METRIC_NAME, nameStr]);
            } else {
              this.#unexpected("label set", '"="');
            }
          } else {
            this.#unexpected("label set", 'identifier or "}"');
          }
          if (this.#type() === "COMMA") this.#advance();
          else if (this.#type() !== "RIGHT_BRACE") this.#unexpected("label set", '"," or "}"');
        }
        end = this.#tok.pos + 1;
      } else if (pairs.length === 0) {
        this.#unexpected("label set", '"{"');
      }
      return { pairs, end };
    });
  }

  #run<T>(body: () => T): T {
    try {
      this.#tok = this.#lex();
      return body();
    } catch (e) {
      if (e instanceof Failure) {
        throw new ParseError([{ pos: e.pos, message: e.message, query: this.#query }]);
      }
      throw e;
    }
  }

  // --- Tokens -----------------------------------------------------------------------------

  #lex(): Token {
    for (;;) {
      const t = this.#lexer.next();
      if (t.type === "COMMENT") continue;
      if (t.type === "ERROR") {
        throw new Failure({ start: t.pos, end: this.#query.length }, t.val);
      }
      return t;
    }
  }

  #advance(): Token {
    const t = this.#tok;
    switch (t.type) {
      case "RIGHT_BRACE":
      case "RIGHT_PAREN":
      case "RIGHT_BRACKET":
      case "DURATION":
      case "NUMBER":
        this.#lastClosing = t.pos + t.val.length;
    }
    this.#tok = this.#next ?? this.#lex();
    this.#next = undefined;
    return t;
  }

  #expect(type: TokenType, context: string, expected: string): Token {
    if (this.#type() !== type) this.#unexpected(context, expected);
    return this.#advance();
  }

  #expectEnd(): void {
    if (this.#type() !== "EOF") this.#unexpected("", "");
  }

  #fail(pos: PositionRange, message: string): never {
    throw new Failure(pos, message);
  }

  #unexpected(context: string, expected: string): never {
    const t = this.#tok;
    let msg = `unexpected ${describeToken(t)}`;
    if (context) msg += ` in ${context}`;
    if (expected) msg += `, expected ${expected}`;
    this.#fail(tokenRange(t), msg);
  }

  #has(feature: string): boolean {
    return this.#features.has(feature);
  }

  // Counts one more level of recursion; fails before the stack could run out.
  #nest(): void {
    if (++this.#depth > MAX_EXPRESSION_DEPTH) this.#fail(tokenRange(this.#tok), TOO_DEEP);
  }

  // --- Expressions ------------------------------------------------------------------------

  #expr(minPrec: number): Expr {
    this.#nest();
    let lhs = this.#unary();
    for (;;) {
      const info = BINARY_OPS.get(this.#type());
      if (!info || info.prec < minPrec) {
        this.#depth--;
        return lhs;
      }
      this.#advance();
      const matching = this.#binModifiers();
      const rhs = this.#expr(info.op === "^" ? info.prec : info.prec + 1);
      lhs = this.#binary(lhs, info.op, matching, rhs);
    }
  }

  #binary(lhs: Expr, op: BinaryOp, mods: BinModifiers, rhs: Expr): BinaryExpr {
    const node: BinaryExpr = {
      kind: "BinaryExpr",
      op,
      lhs,
      rhs,
      matching: mods.matching,
      returnBool: mods.returnBool,
      pos: { start: lhs.pos.start, end: rhs.pos.end },
    };
    const fill = mods.matching.fillLeft !== undefined || mods.matching.fillRight !== undefined;
    if (fill && !this.#has(Features.BinopFillModifiers)) {
      this.#fail(node.pos, "binop fill modifiers are experimental and not enabled");
    }
    return node;
  }

  #binModifiers(): BinModifiers {
    const matching: VectorMatching = {
      card: "one-to-one",
      matchingLabels: [],
      on: false,
      include: [],
    };
    let returnBool = false;
    if (this.#type() === "BOOL") {
      this.#advance();
      returnBool = true;
    }
    if (this.#type() === "ON" || this.#type() === "IGNORING") {
      matching.on = this.#advance().type === "ON";
      matching.matchingLabels = this.#groupingLabels();
      if (this.#type() === "GROUP_LEFT" || this.#type() === "GROUP_RIGHT") {
        matching.card = this.#advance().type === "GROUP_LEFT" ? "many-to-one" : "one-to-many";
        if (this.#type() === "LEFT_PAREN") matching.include = this.#groupingLabels();
      }
    }
    const first = this.#type();
    if (first === "FILL") {
      this.#advance();
      const v = this.#fillValue();
      matching.fillLeft = v;
      matching.fillRight = v;
    } else if (first === "FILL_LEFT" || first === "FILL_RIGHT") {
      this.#advance();
      const v = this.#fillValue();
      if (first === "FILL_LEFT") matching.fillLeft = v;
      else matching.fillRight = v;
      const other = first === "FILL_LEFT" ? "FILL_RIGHT" : "FILL_LEFT";
      if (this.#type() === other) {
        this.#advance();
        const w = this.#fillValue();
        if (other === "FILL_LEFT") matching.fillLeft = w;
        else matching.fillRight = w;
      }
    }
    return { matching, returnBool };
  }

  #fillValue(): number {
    this.#expect("LEFT_PAREN", "fill modifier", '"("');
    let sign = 1;
    if (this.#type() === "ADD" || this.#type() === "SUB") {
      if (this.#advance().type === "SUB") sign = -1;
    }
    const t = this.#tok;
    if (t.type !== "NUMBER" && t.type !== "DURATION") {
      this.#unexpected("fill modifier", "number or duration");
    }
    const v = this.#numberLiteral().value * sign;
    this.#expect("RIGHT_PAREN", "fill modifier", '")"');
    return v;
  }

  #groupingLabels(): string[] {
    if (this.#type() !== "LEFT_PAREN") this.#unexpected("grouping opts", '"("');
    this.#advance();
    const labels: string[] = [];
    while (this.#type() !== "RIGHT_PAREN") {
      const t = this.#tok;
      let name: string;
      if (t.type === "STRING") name = this.#unquote(t);
      else if (MAYBE_LABEL_TYPES.has(t.type)) name = t.val;
      else this.#unexpected("grouping opts", "label");
      if (!isValidLabelName(name)) {
        const start = t.type === "STRING" ? t.pos + 1 : t.pos;
        this.#fail(
          { start, end: start + name.length },
          `invalid label name for grouping: ${goQuote(name)}`,
        );
      }
      labels.push(name);
      this.#advance();
      if (this.#type() === "COMMA") this.#advance();
      else if (this.#type() !== "RIGHT_PAREN") this.#unexpected("grouping opts", '"," or ")"');
    }
    this.#advance();
    return labels;
  }

  #unary(): Expr {
    // A run of signs is read in a loop, so that `-----1` folds at any length, as in Prometheus.
    const signs: Token[] = [];
    while (this.#type() === "ADD" || this.#type() === "SUB") signs.push(this.#advance());
    if (signs.length === 0) return this.#postfix(this.#primary());
    let expr = this.#expr(UNARY_OPERAND_PREC);
    for (let i = signs.length - 1; i >= 0; i--) {
      const t = signs[i];
      if (expr.kind === "NumberLiteral") {
        if (t.type === "SUB") expr.value = -expr.value;
        expr.pos = { start: t.pos, end: expr.pos.end };
      } else {
        expr = {
          kind: "UnaryExpr",
          op: t.type === "SUB" ? "-" : "+",
          expr,
          pos: { start: t.pos, end: expr.pos.end },
        };
      }
    }
    return expr;
  }

  #primary(): Expr {
    const t = this.#tok;
    switch (t.type) {
      case "NUMBER":
      case "DURATION":
        return this.#numberLiteral();
      case "STRING":
        this.#advance();
        return { kind: "StringLiteral", value: this.#unquote(t), pos: tokenRange(t) };
      case "LEFT_PAREN": {
        this.#advance();
        const expr = this.#expr(0);
        const close = this.#expect("RIGHT_PAREN", "", "");
        return { kind: "ParenExpr", expr, pos: { start: t.pos, end: close.pos + 1 } };
      }
      case "LEFT_BRACE":
        return this.#vectorSelector(undefined);
    }
    if (AGGREGATORS.has(t.type)) {
      const next = this.#peekType();
      if (next === "LEFT_PAREN" || next === "BY" || next === "WITHOUT") {
        return this.#aggregation();
      }
      if (next === "IDENTIFIER" || next === "METRIC_IDENTIFIER" || next === "NUMBER") {
        this.#advance();
        this.#unexpected("", "");
      }
    }
    if (t.type === "IDENTIFIER" || KEYWORD_FUNCTIONS.has(t.type)) {
      if (this.#peekType() === "LEFT_PAREN") return this.#call();
    }
    if (METRIC_IDENTIFIER_TYPES.has(t.type)) {
      this.#advance();
      return this.#vectorSelector(t);
    }
    this.#unexpected("", "");
  }

  // The current token's type (a method, so that TypeScript does not narrow it across calls).
  #type(): TokenType {
    return this.#tok.type;
  }

  // The type of the token after the current one, without consuming anything.
  #peekType(): TokenType {
    this.#next ??= this.#lex();
    return this.#next.type;
  }

  #numberLiteral(): NumberLiteral {
    const t = this.#advance();
    if (t.type === "DURATION") {
      let ms: number;
      try {
        ms = parseDuration(t.val);
      } catch (e) {
        if (e instanceof DurationError) this.#fail(tokenRange(t), e.message);
        throw e;
      }
      return { kind: "NumberLiteral", value: ms / 1000, duration: true, pos: tokenRange(t) };
    }
    const value = parseGoNumber(t.val);
    if (typeof value === "string") this.#fail(tokenRange(t), value);
    return { kind: "NumberLiteral", value, pos: tokenRange(t) };
  }

  #unquote(t: Token): string {
    try {
      return unquoteString(t.val);
    } catch (e) {
      if (e instanceof UnquoteError) {
        this.#fail(tokenRange(t), `error unquoting string ${goQuote(t.val)}: invalid syntax`);
      }
      throw e;
    }
  }

  #call(): Call {
    const nameTok = this.#advance();
    const name = nameTok.val;
    const func = FUNCTIONS.get(name);
    if (!func) this.#fail(tokenRange(nameTok), `unknown function with name ${goQuote(name)}`);
    if (func.experimental && !this.#has(Features.ExperimentalFunctions)) {
      this.#fail(tokenRange(nameTok), `function ${goQuote(name)} is not enabled`);
    }
    const args = this.#callBody();
    return { kind: "Call", func, args, pos: { start: nameTok.pos, end: this.#lastClosing } };
  }

  #callBody(): Expr[] {
    this.#advance(); // "("
    const args: Expr[] = [];
    if (this.#type() === "RIGHT_PAREN") {
      this.#advance();
      return args;
    }
    for (;;) {
      args.push(this.#expr(0));
      if (this.#type() === "RIGHT_PAREN") break;
      if (this.#type() !== "COMMA") this.#unexpected("", "");
      const comma = this.#advance();
      if (this.#type() === "RIGHT_PAREN") {
        this.#fail(tokenRange(comma), "trailing commas not allowed in function call args");
      }
    }
    this.#advance();
    return args;
  }

  #aggregation(): AggregateExpr {
    const opTok = this.#advance();
    const op = opTok.val.toLowerCase() as AggregateOp;
    let grouping: string[] = [];
    let without = false;
    let modifierSeen = false;
    if (this.#type() === "BY" || this.#type() === "WITHOUT") {
      without = this.#advance().type === "WITHOUT";
      grouping = this.#groupingLabels();
      modifierSeen = true;
    }
    if (this.#type() !== "LEFT_PAREN") this.#unexpected("aggregation", "");
    const args = this.#callBody();
    if (!modifierSeen && (this.#type() === "BY" || this.#type() === "WITHOUT")) {
      without = this.#advance().type === "WITHOUT";
      grouping = this.#groupingLabels();
    }
    const pos = { start: opTok.pos, end: this.#lastClosing };
    if (args.length === 0) this.#fail(pos, "no arguments for aggregate expression provided");
    let desired = 1;
    let param: Expr | undefined;
    if (
      op === "topk" || op === "bottomk" || op === "count_values" || op === "quantile" ||
      op === "limitk" || op === "limit_ratio"
    ) {
      if (EXPERIMENTAL_AGGREGATORS.has(op) && !this.#has(Features.ExperimentalFunctions)) {
        this.#fail(
          pos,
          `${op}() is experimental and must be enabled with --enable-feature=promql-experimental-functions`,
        );
      }
      desired = 2;
      param = args[0];
    }
    if (args.length !== desired) {
      this.#fail(
        pos,
        `wrong number of arguments for aggregate expression provided, expected ${desired}, got ${args.length}`,
      );
    }
    const node: AggregateExpr = {
      kind: "AggregateExpr",
      op,
      expr: args[desired - 1],
      grouping,
      without,
      pos,
    };
    if (param) node.param = param;
    return node;
  }

  // `name`, `name{...}` or `{...}`; `nameTok` is the consumed name token, if any.
  #vectorSelector(nameTok: Token | undefined): VectorSelector {
    const matchers: Matcher[] = [];
    let start = nameTok ? nameTok.pos : this.#tok.pos;
    let end = nameTok ? nameTok.pos + nameTok.val.length : start;
    if (this.#type() === "LEFT_BRACE") {
      if (!nameTok) start = this.#tok.pos;
      this.#advance();
      while (this.#type() !== "RIGHT_BRACE") {
        matchers.push(this.#labelMatcher());
        if (this.#type() === "COMMA") this.#advance();
        else if (this.#type() !== "RIGHT_BRACE") {
          this.#unexpected("label matching", '"," or "}"');
        }
      }
      end = this.#advance().pos + 1;
    }
    const name = nameTok ? nameTok.val : "";
    if (name !== "") matchers.push(new Matcher(MatchType.Equal, METRIC_NAME, name));
    return { kind: "VectorSelector", name, matchers, offset: 0, pos: { start, end } };
  }

  #labelMatcher(): Matcher {
    const nameTok = this.#tok;
    let name: string;
    if (nameTok.type === "IDENTIFIER") {
      name = nameTok.val;
    } else if (nameTok.type === "STRING") {
      name = this.#unquote(nameTok);
    } else {
      this.#unexpected("label matching", 'identifier or "}"');
    }
    this.#advance();
    const opTok = this.#tok;
    const type = MATCH_OPS.get(opTok.type);
    if (type === undefined) {
      if (nameTok.type === "STRING") {
        return this.#newMatcher(tokenRange(nameTok), MatchType.Equal, METRIC_NAME, name);
      }
      this.#unexpected("label matching", "label matching operator");
    }
    this.#advance();
    const valueTok = this.#tok;
    if (valueTok.type !== "STRING") this.#unexpected("label matching", "string");
    this.#advance();
    const value = this.#unquote(valueTok);
    const at = { start: nameTok.pos, end: valueTok.pos + valueTok.val.length };
    return this.#newMatcher(at, type, name, value);
  }

  #newMatcher(at: PositionRange, type: MatchType, name: string, value: string): Matcher {
    try {
      return new Matcher(type, name, value);
    } catch (e) {
      if (e instanceof RegexpError) this.#fail(at, e.message);
      throw e;
    }
  }

  // --- Postfix modifiers: [range], [range:step], offset, @, anchored, smoothed ---------------

  #postfix(expr: Expr): Expr {
    for (;;) {
      switch (this.#type()) {
        case "LEFT_BRACKET":
          expr = this.#rangeOrSubquery(expr);
          break;
        case "OFFSET":
          this.#offset(expr);
          break;
        case "AT":
          this.#at(expr);
          break;
        case "ANCHORED":
        case "SMOOTHED":
          this.#extendedModifier(expr, this.#advance());
          break;
        default:
          return expr;
      }
    }
  }

  #rangeOrSubquery(expr: Expr): Expr {
    const open = this.#advance();
    if (this.#type() === "RIGHT_BRACKET" || this.#type() === "COLON") {
      this.#unexpected("subquery or range selector", "number, duration, step(), or range()");
    }
    const range = this.#positiveDuration(
      "subquery or range selector",
      "number, duration, step(), or range()",
    );
    if (this.#type() === "RIGHT_BRACKET") {
      const close = this.#advance();
      let err = "";
      if (expr.kind !== "VectorSelector") err = "ranges only allowed for vector selectors";
      else if (expr.offset !== 0 || expr.offsetExpr) {
        err = "no offset modifiers allowed before range";
      } else if (expr.timestamp !== undefined || expr.startOrEnd) {
        err = "no @ modifiers allowed before range";
      }
      if (err) this.#fail({ start: open.pos, end: close.pos + 1 }, err);
      const node: MatrixSelector = {
        kind: "MatrixSelector",
        vectorSelector: expr as VectorSelector,
        range: range.ms,
        pos: { start: expr.pos.start, end: this.#lastClosing },
      };
      if (range.expr) node.rangeExpr = range.expr;
      return node;
    }
    if (this.#type() !== "COLON") this.#unexpected("subquery or range", '":" or "]"');
    this.#advance();
    const node: SubqueryExpr = {
      kind: "SubqueryExpr",
      expr,
      range: range.ms,
      step: 0,
      offset: 0,
      pos: { start: expr.pos.start, end: 0 },
    };
    if (range.expr) node.rangeExpr = range.expr;
    if (this.#type() !== "RIGHT_BRACKET") {
      const step = this.#positiveDuration(
        "subquery selector",
        'number, duration, step(), range(), or "]"',
      );
      node.step = step.ms;
      if (step.expr) node.stepExpr = step.expr;
      if (this.#type() !== "RIGHT_BRACKET") this.#unexpected("subquery selector", '"]"');
    }
    node.pos.end = this.#advance().pos + 1;
    return node;
  }

  // A duration expression that must be > 0 when it is a literal; literals become milliseconds.
  #positiveDuration(context: string, expected: string): { ms: number; expr?: Expr } {
    const expr = this.#durationExpr(0, context, expected);
    if (expr.kind === "NumberLiteral") {
      if (expr.value <= 0) this.#fail(expr.pos, "duration must be greater than 0");
      return { ms: Math.round(expr.value * 1000) };
    }
    return { ms: 0, expr };
  }

  #durationExpr(minPrec: number, context: string, expected: string): Expr {
    this.#nest();
    let lhs = this.#durationUnary(context, expected);
    for (;;) {
      const info = DURATION_OPS.get(this.#type());
      if (!info || info.prec < minPrec) {
        this.#depth--;
        return lhs;
      }
      const opTok = this.#advance();
      const rhs = this.#durationExpr(
        info.op === "^" ? info.prec : info.prec + 1,
        context,
        expected,
      );
      if (rhs.kind === "NumberLiteral" && rhs.value === 0 && (info.op === "/" || info.op === "%")) {
        this.#fail(tokenRange(opTok), info.op === "/" ? "division by zero" : "modulo by zero");
      }
      lhs = {
        kind: "BinaryExpr",
        op: info.op,
        lhs,
        rhs,
        returnBool: false,
        pos: { start: lhs.pos.start, end: rhs.pos.end },
      };
    }
  }

  #durationUnary(context: string, expected: string): Expr {
    const t = this.#tok;
    if (t.type !== "ADD" && t.type !== "SUB") return this.#durationPrimary(context, expected);
    this.#advance();
    const operand = this.#durationExpr(UNARY_OPERAND_PREC, context, expected);
    return this.#applyDurationSign(t, operand);
  }

  #applyDurationSign(sign: Token, operand: Expr): Expr {
    if (operand.kind === "NumberLiteral") {
      if (sign.type === "SUB") operand.value = -operand.value;
      checkDurationRange(operand, sign, (p, m) => this.#fail(p, m));
      operand.pos = { start: sign.pos, end: operand.pos.end };
      return operand;
    }
    if (sign.type === "ADD") return operand;
    return {
      kind: "UnaryExpr",
      op: "-",
      expr: operand,
      pos: { start: sign.pos, end: operand.pos.end },
    };
  }

  #durationPrimary(context: string, expected: string): Expr {
    const t = this.#tok;
    switch (t.type) {
      case "NUMBER":
      case "DURATION": {
        const lit = this.#numberLiteral();
        checkDurationRange(lit, t, (p, m) => this.#fail(p, m));
        return lit;
      }
      case "STEP":
      case "RANGE": {
        this.#advance();
        this.#expect("LEFT_PAREN", context, expected);
        const close = this.#expect("RIGHT_PAREN", context, expected);
        return {
          kind: "Call",
          func: FUNCTIONS.get(t.type === "STEP" ? "step" : "range")!,
          args: [],
          pos: { start: t.pos, end: close.pos + 1 },
        };
      }
      case "MIN_OF":
      case "MAX_OF": {
        this.#advance();
        this.#expect("LEFT_PAREN", context, expected);
        const a = this.#durationExpr(0, context, expected);
        this.#expect("COMMA", context, '","');
        const b = this.#durationExpr(0, context, expected);
        const close = this.#expect("RIGHT_PAREN", context, '")"');
        return {
          kind: "Call",
          func: FUNCTIONS.get(t.type === "MIN_OF" ? "min_of" : "max_of")!,
          args: [a, b],
          pos: { start: t.pos, end: close.pos + 1 },
        };
      }
      case "LEFT_PAREN": {
        this.#advance();
        const expr = this.#durationExpr(0, context, expected);
        const close = this.#expect("RIGHT_PAREN", context, '")"');
        return { kind: "ParenExpr", expr, pos: { start: t.pos, end: close.pos + 1 } };
      }
    }
    this.#unexpected(context, expected);
  }

  #offset(expr: Expr): void {
    this.#advance();
    const context = "offset";
    const expected = "number, duration, step(), or range()";
    // Only a signed primary belongs to the offset: `x offset 1m + 2` is `(x offset 1m) + 2`.
    const sign = this.#type() === "ADD" || this.#type() === "SUB" ? this.#advance() : undefined;
    const t = this.#type();
    if (
      t !== "NUMBER" && t !== "DURATION" && t !== "STEP" && t !== "RANGE" && t !== "MIN_OF" &&
      t !== "MAX_OF" && t !== "LEFT_PAREN"
    ) {
      this.#unexpected(context, expected);
    }
    let value = this.#durationPrimary(context, expected);
    if (sign) value = this.#applyDurationSign(sign, value);
    const target = this.#modifierTarget(
      expr,
      "offset modifier must be preceded by an instant vector selector or range vector selector or a subquery",
    );
    if (target.offset !== 0 || target.offsetExpr) {
      this.#fail(expr.pos, "offset may not be set multiple times");
    }
    if (value.kind === "NumberLiteral") target.offset = Math.round(value.value * 1000);
    else target.offsetExpr = value;
    this.#extendEnd(expr);
  }

  #at(expr: Expr): void {
    this.#advance();
    const t = this.#tok;
    let ts: number | undefined;
    let startOrEnd: "start" | "end" | undefined;
    if (t.type === "START" || t.type === "END") {
      this.#advance();
      this.#expect("LEFT_PAREN", "@", "timestamp");
      this.#expect("RIGHT_PAREN", "@", "timestamp");
      startOrEnd = t.type === "START" ? "start" : "end";
    } else {
      let sign = 1;
      if (t.type === "ADD" || t.type === "SUB") {
        if (this.#advance().type === "SUB") sign = -1;
      }
      if (this.#type() !== "NUMBER" && this.#type() !== "DURATION") {
        this.#unexpected("@", "timestamp");
      }
      const v = this.#numberLiteral().value * sign;
      if (!Number.isFinite(v) || Math.abs(v) >= 9.223372036854776e18) {
        this.#fail(expr.pos, `timestamp out of bounds for @ modifier: ${formatGoF(v)}`);
      }
      ts = Math.round(v * 1000);
    }
    const target = this.#modifierTarget(
      expr,
      "@ modifier must be preceded by an instant vector selector or range vector selector or a subquery",
    );
    if (target.timestamp !== undefined || target.startOrEnd) {
      this.#fail(expr.pos, "@ <timestamp> may not be set multiple times");
    }
    if (ts !== undefined) target.timestamp = ts;
    else target.startOrEnd = startOrEnd;
    this.#extendEnd(expr);
  }

  // The node that carries offset/@ for `expr`: the selector itself, a range's selector, or a
  // subquery.
  #modifierTarget(expr: Expr, message: string): VectorSelector | SubqueryExpr {
    switch (expr.kind) {
      case "VectorSelector":
      case "SubqueryExpr":
        return expr;
      case "MatrixSelector":
        return expr.vectorSelector;
    }
    this.#fail(expr.pos, message);
  }

  #extendEnd(expr: Expr): void {
    expr.pos = { start: expr.pos.start, end: this.#lastClosing };
  }

  #extendedModifier(expr: Expr, tok: Token): void {
    const name = tok.type === "ANCHORED" ? "anchored" : "smoothed";
    if (!this.#has(Features.ExtendedRangeSelectors)) {
      this.#fail(expr.pos, `${name} modifier is experimental and not enabled`);
    }
    let vs: VectorSelector;
    if (expr.kind === "VectorSelector") vs = expr;
    else if (expr.kind === "MatrixSelector") vs = expr.vectorSelector;
    else if (expr.kind === "SubqueryExpr") {
      this.#fail(expr.pos, `${name} modifier is not supported for subqueries`);
    } else this.#fail(expr.pos, `${name} modifier not implemented`);
    if (name === "anchored") vs.anchored = true;
    else vs.smoothed = true;
    if (vs.anchored && vs.smoothed) {
      this.#fail(expr.pos, "anchored and smoothed modifiers cannot be used together");
    }
  }
}

interface BinModifiers {
  matching: VectorMatching;
  returnBool: boolean;
}

const MATCH_OPS: ReadonlyMap<TokenType, MatchType> = new Map<TokenType, MatchType>([
  ["EQL", MatchType.Equal],
  ["NEQ", MatchType.NotEqual],
  ["EQL_REGEX", MatchType.Regexp],
  ["NEQ_REGEX", MatchType.NotRegexp],
]);

function tokenRange(t: Token): PositionRange {
  return { start: t.pos, end: t.pos + t.val.length };
}

function checkDurationRange(
  lit: NumberLiteral,
  at: Token,
  fail: (pos: PositionRange, msg: string) => never,
): void {
  if (lit.value > MAX_DURATION_SECONDS || lit.value < -MAX_DURATION_SECONDS) {
    fail(tokenRange(at), "duration out of range");
  }
}

/**
 * Reports whether a label name is valid under Prometheus 3's UTF-8 rules: any non-empty
 * well-formed string.
 */
export function isValidLabelName(name: string): boolean {
  return name.length > 0 && name.isWellFormed();
}

const INT64_MAX = (1n << 63n) - 1n;

/**
 * Converts a number token the way Prometheus does (Go `strconv.ParseInt(s, 0, 64)`, then
 * `strconv.ParseFloat`). Returns the value, or an error message for malformed input.
 */
export function parseGoNumber(text: string): number | string {
  const lower = text.toLowerCase();
  if (lower === "inf" || lower === "+inf") return Infinity;
  if (lower === "-inf") return -Infinity;
  if (lower === "nan") return NaN;
  const intValue = parseGoInt(text);
  if (intValue !== undefined) return Number(intValue);
  const plain = text.replaceAll("_", "");
  const underscoresOk = !/(^|[^0-9])_|_($|[^0-9])/.test(text) || /^0[xX]/.test(text);
  if (underscoresOk && /^([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$/.test(plain)) {
    const v = Number(plain);
    if (!Number.isFinite(v)) {
      return `error parsing number: strconv.ParseFloat: parsing ${
        goQuote(text)
      }: value out of range`;
    }
    return v;
  }
  return `error parsing number: strconv.ParseFloat: parsing ${goQuote(text)}: invalid syntax`;
}

// Go's ParseInt with base 0: 0x hex, 0o or leading-0 octal, 0b binary, decimal; `_` between digits.
function parseGoInt(text: string): bigint | undefined {
  let digits: string;
  let prefix: string;
  const m = /^0([xXoObB])_?(.*)$/.exec(text);
  if (m) {
    const kind = m[1].toLowerCase();
    prefix = kind === "x" ? "0x" : kind === "o" ? "0o" : "0b";
    digits = m[2];
  } else if (/^0[0-7_]/.test(text)) {
    prefix = "0o";
    digits = text.slice(1).replace(/^_/, "");
  } else {
    prefix = "";
    digits = text;
  }
  const digitClass = prefix === "0x"
    ? "[0-9a-fA-F]"
    : prefix === "0o"
    ? "[0-7]"
    : prefix === "0b"
    ? "[01]"
    : "[0-9]";
  if (!new RegExp(`^${digitClass}+(_${digitClass}+)*$`).test(digits)) return undefined;
  const v = BigInt(prefix + digits.replaceAll("_", ""));
  return v > INT64_MAX ? undefined : v;
}

// Go's `%f`.
function formatGoF(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (!Number.isFinite(v)) return v > 0 ? "+Inf" : "-Inf";
  return v.toFixed(6);
}

const DOCUMENTED_TYPE: Record<ValueTypeName, string> = {
  none: "none",
  scalar: "scalar",
  vector: "instant vector",
  matrix: "range vector",
  string: "string",
};

/** The semantic checks of Prometheus' `checkAST`, run after a successful parse. */
class Checker {
  readonly #query: string;

  constructor(query: string) {
    this.#query = query;
  }

  #fail(pos: PositionRange, message: string): never {
    throw new ParseError([{ pos, message, query: this.#query }]);
  }

  #expectType(node: Expr, want: ValueTypeName, context: string): void {
    const t = this.check(node);
    if (t !== want) {
      this.#fail(
        node.pos,
        `expected type ${DOCUMENTED_TYPE[want]} in ${context}, got ${DOCUMENTED_TYPE[t]}`,
      );
    }
  }

  check(node: Expr): ValueTypeName {
    const typ = exprType(node);
    switch (node.kind) {
      case "AggregateExpr":
        this.#expectType(node.expr, "vector", "aggregation expression");
        if (node.param) {
          this.#expectType(
            node.param,
            node.op === "count_values" ? "string" : "scalar",
            "aggregation parameter",
          );
        }
        break;
      case "BinaryExpr":
        this.#checkBinary(node);
        break;
      case "Call":
        this.#checkCall(node);
        break;
      case "ParenExpr":
      case "StepInvariantExpr":
        this.check(node.expr);
        break;
      case "UnaryExpr": {
        const t = this.check(node.expr);
        if (t !== "scalar" && t !== "vector") {
          this.#fail(
            node.pos,
            `unary expression only allowed on expressions of type scalar or instant vector, got ${
              goQuote(DOCUMENTED_TYPE[t])
            }`,
          );
        }
        break;
      }
      case "SubqueryExpr": {
        const t = this.check(node.expr);
        if (t !== "vector") {
          this.#fail(node.pos, `subquery is only allowed on instant vector, got ${t} instead`);
        }
        break;
      }
      case "MatrixSelector":
        this.check(node.vectorSelector);
        break;
      case "VectorSelector":
        this.#checkSelector(node);
        break;
    }
    return typ;
  }

  #checkSelector(vs: VectorSelector): void {
    if (vs.name !== "") {
      for (const m of vs.matchers.slice(0, -1)) {
        if (m.name === METRIC_NAME) {
          this.#fail(
            vs.pos,
            `metric name must not be set twice: ${goQuote(vs.name)} or ${goQuote(m.value)}`,
          );
        }
      }
      return;
    }
    if (vs.bypassEmptyMatcherCheck) return;
    if (!vs.matchers.some((m) => !m.matches(""))) {
      this.#fail(vs.pos, "vector selector must contain at least one non-empty matcher");
    }
  }

  #checkBinary(n: BinaryExpr): void {
    const lt = this.check(n.lhs);
    const rt = this.check(n.rhs);
    const opRange = (): PositionRange => {
      let start = n.lhs.pos.end;
      while (isSpaceAt(this.#query, start)) start++;
      let end = n.rhs.pos.start - 1;
      while (isSpaceAt(this.#query, end)) end--;
      return { start, end };
    };
    const vm = n.matching!;
    if (n.returnBool && !COMPARISON_OPS.has(n.op)) {
      this.#fail(opRange(), "bool modifier can only be used on comparison operators");
    }
    if (COMPARISON_OPS.has(n.op) && !n.returnBool && lt === "scalar" && rt === "scalar") {
      this.#fail(opRange(), "comparisons between scalars must use BOOL modifier");
    }
    const isSet = SET_OPS.has(n.op);
    if (isSet && vm.card === "one-to-one") vm.card = "many-to-many";
    if (vm.on) {
      for (const l of vm.matchingLabels) {
        if (vm.include.includes(l)) {
          this.#fail(
            opRange(),
            `label ${goQuote(l)} must not occur in ON and GROUP clause at once`,
          );
        }
      }
    }
    if (lt !== "scalar" && lt !== "vector") {
      this.#fail(n.lhs.pos, "binary expression must contain only scalar and instant vector types");
    }
    if (rt !== "scalar" && rt !== "vector") {
      this.#fail(n.rhs.pos, "binary expression must contain only scalar and instant vector types");
    }
    const fill = vm.fillLeft !== undefined || vm.fillRight !== undefined;
    if (lt !== "vector" || rt !== "vector") {
      if (vm.matchingLabels.length > 0) {
        this.#fail(n.pos, "vector matching only allowed between instant vectors");
      }
      if (fill) this.#fail(n.pos, "filling in missing series only allowed between instant vectors");
      delete n.matching;
    } else if (isSet) {
      if (vm.card === "one-to-many" || vm.card === "many-to-one") {
        this.#fail(n.pos, `no grouping allowed for ${goQuote(n.op)} operation`);
      }
      if (vm.card !== "many-to-many") {
        this.#fail(n.pos, "set operations must always be many-to-many");
      }
      if (fill) this.#fail(n.pos, "filling in missing series not allowed for set operators");
    }
    if ((lt === "scalar" || rt === "scalar") && isSet) {
      this.#fail(n.pos, `set operator ${goQuote(n.op)} not allowed in binary scalar expression`);
    }
  }

  #checkCall(n: Call): void {
    const f: FunctionDef = n.func;
    const nargs = f.argTypes.length;
    if (f.variadic === 0) {
      if (nargs !== n.args.length) {
        this.#fail(
          n.pos,
          `expected ${nargs} argument(s) in call to ${goQuote(f.name)}, got ${n.args.length}`,
        );
      }
    } else {
      const min = nargs - 1;
      if (min > n.args.length) {
        this.#fail(
          n.pos,
          `expected at least ${min} argument(s) in call to ${
            goQuote(f.name)
          }, got ${n.args.length}`,
        );
      }
      const max = min + f.variadic;
      if (f.variadic > 0 && max < n.args.length) {
        this.#fail(
          n.pos,
          `expected at most ${max} argument(s) in call to ${goQuote(f.name)}, got ${n.args.length}`,
        );
      }
    }
    if (f.name === "info" && n.args.length > 1) {
      const arg = n.args[1];
      const t = exprType(arg);
      if (t !== "vector") {
        this.#fail(
          n.pos,
          `expected type instant vector in call to function "info", got ${DOCUMENTED_TYPE[t]}`,
        );
      }
      if (arg.kind === "VectorSelector" && arg.name !== "") {
        this.#fail(arg.pos, "expected label selectors only, got vector selector instead");
      } else if (arg.kind === "VectorSelector") {
        arg.bypassEmptyMatcherCheck = true;
      } else {
        this.#fail(arg.pos, "expected label selectors only");
      }
    }
    for (let i = 0; i < n.args.length; i++) {
      let idx = i;
      if (i >= nargs) {
        if (f.variadic === 0) break;
        idx = nargs - 1;
      }
      const want = f.argTypes[idx];
      const t = this.check(n.args[i]);
      if (t !== want) {
        this.#fail(
          n.args[i].pos,
          `expected type ${DOCUMENTED_TYPE[want]} in call to function ${goQuote(f.name)}, got ${
            DOCUMENTED_TYPE[t]
          }`,
        );
      }
    }
  }
}

function isSpaceAt(s: string, i: number): boolean {
  const c = s[i];
  return c === " " || c === "\t" || c === "\n" || c === "\r";
}
