/**
 * The PromQL lexer (Prometheus' `promql/parser/lex.go`): turns a query into tokens on demand.
 * Positions are UTF-16 offsets into the query string, which is what `ParseError` expects.
 *
 * Like Prometheus it is a small state machine: inside `{...}` only matcher tokens exist, inside
 * `[...]` only duration-expression tokens, and keywords such as `sum` or `by` are recognised
 * outside braces only.
 *
 * @module
 */

/** Token types. Keywords, aggregators and the duration keywords use their upper-case names. */
export type TokenType =
  | "EOF"
  | "ERROR"
  | "COMMENT"
  | "IDENTIFIER"
  | "METRIC_IDENTIFIER"
  | "NUMBER"
  | "DURATION"
  | "STRING"
  | "LEFT_PAREN"
  | "RIGHT_PAREN"
  | "LEFT_BRACE"
  | "RIGHT_BRACE"
  | "LEFT_BRACKET"
  | "RIGHT_BRACKET"
  | "COMMA"
  | "COLON"
  | "EQL"
  | "AT"
  // Operators.
  | "ADD"
  | "SUB"
  | "MUL"
  | "DIV"
  | "MOD"
  | "POW"
  | "EQLC"
  | "NEQ"
  | "LTE"
  | "LSS"
  | "GTE"
  | "GTR"
  | "TRIM_UPPER"
  | "TRIM_LOWER"
  | "EQL_REGEX"
  | "NEQ_REGEX"
  | "LAND"
  | "LOR"
  | "LUNLESS"
  | "ATAN2"
  // Aggregators.
  | "SUM"
  | "AVG"
  | "COUNT"
  | "MIN"
  | "MAX"
  | "GROUP"
  | "STDDEV"
  | "STDVAR"
  | "TOPK"
  | "BOTTOMK"
  | "COUNT_VALUES"
  | "QUANTILE"
  | "LIMITK"
  | "LIMIT_RATIO"
  // Keywords.
  | "OFFSET"
  | "SMOOTHED"
  | "ANCHORED"
  | "BY"
  | "WITHOUT"
  | "ON"
  | "IGNORING"
  | "GROUP_LEFT"
  | "GROUP_RIGHT"
  | "FILL"
  | "FILL_LEFT"
  | "FILL_RIGHT"
  | "BOOL"
  // `@` preprocessors and duration-expression keywords.
  | "START"
  | "END"
  | "STEP"
  | "RANGE"
  | "MAX_OF"
  | "MIN_OF";

/** One token: its type, start offset and source text (for errors, the message). */
export interface Token {
  type: TokenType;
  pos: number;
  val: string;
}

/** Words that are keywords outside braces (compared lower-cased). */
export const KEYWORDS: ReadonlyMap<string, TokenType> = new Map<string, TokenType>([
  ["and", "LAND"],
  ["or", "LOR"],
  ["unless", "LUNLESS"],
  ["atan2", "ATAN2"],
  ["sum", "SUM"],
  ["avg", "AVG"],
  ["count", "COUNT"],
  ["min", "MIN"],
  ["max", "MAX"],
  ["group", "GROUP"],
  ["stddev", "STDDEV"],
  ["stdvar", "STDVAR"],
  ["topk", "TOPK"],
  ["bottomk", "BOTTOMK"],
  ["count_values", "COUNT_VALUES"],
  ["quantile", "QUANTILE"],
  ["limitk", "LIMITK"],
  ["limit_ratio", "LIMIT_RATIO"],
  ["offset", "OFFSET"],
  ["smoothed", "SMOOTHED"],
  ["anchored", "ANCHORED"],
  ["by", "BY"],
  ["without", "WITHOUT"],
  ["on", "ON"],
  ["ignoring", "IGNORING"],
  ["group_left", "GROUP_LEFT"],
  ["group_right", "GROUP_RIGHT"],
  ["fill", "FILL"],
  ["fill_left", "FILL_LEFT"],
  ["fill_right", "FILL_RIGHT"],
  ["bool", "BOOL"],
  ["start", "START"],
  ["end", "END"],
  ["step", "STEP"],
  ["range", "RANGE"],
  ["max_of", "MAX_OF"],
  ["min_of", "MIN_OF"],
  ["inf", "NUMBER"],
  ["nan", "NUMBER"],
]);

// Single characters that are a token wherever they appear outside braces.
const OPERATOR_TOKENS: ReadonlyMap<string, TokenType> = new Map<string, TokenType>([
  ["+", "ADD"],
  ["-", "SUB"],
  ["*", "MUL"],
  ["/", "DIV"],
  ["%", "MOD"],
  ["^", "POW"],
  [",", "COMMA"],
]);

// What a lexer state helper returns for a character it does not handle.
const NOT_COMMON: unique symbol = Symbol("not common");

const DURATION_KEYWORDS: ReadonlyMap<string, TokenType> = new Map<string, TokenType>([
  ["step", "STEP"],
  ["range", "RANGE"],
  ["max_of", "MAX_OF"],
  ["min_of", "MIN_OF"],
]);

/** Aggregation operator token types. */
export const AGGREGATORS: ReadonlySet<TokenType> = new Set<TokenType>([
  "SUM",
  "AVG",
  "COUNT",
  "MIN",
  "MAX",
  "GROUP",
  "STDDEV",
  "STDVAR",
  "TOPK",
  "BOTTOMK",
  "COUNT_VALUES",
  "QUANTILE",
  "LIMITK",
  "LIMIT_RATIO",
]);

const KEYWORD_TYPES: ReadonlySet<TokenType> = new Set<TokenType>([
  "OFFSET",
  "SMOOTHED",
  "ANCHORED",
  "BY",
  "WITHOUT",
  "ON",
  "IGNORING",
  "GROUP_LEFT",
  "GROUP_RIGHT",
  "FILL",
  "FILL_LEFT",
  "FILL_RIGHT",
  "BOOL",
]);

/** Operator token types and their PromQL spelling. */
export const OPERATORS: ReadonlyMap<TokenType, string> = new Map<TokenType, string>([
  ["ADD", "+"],
  ["SUB", "-"],
  ["MUL", "*"],
  ["DIV", "/"],
  ["MOD", "%"],
  ["POW", "^"],
  ["EQLC", "=="],
  ["NEQ", "!="],
  ["LTE", "<="],
  ["LSS", "<"],
  ["GTE", ">="],
  ["GTR", ">"],
  ["TRIM_UPPER", "</"],
  ["TRIM_LOWER", ">/"],
  ["EQL_REGEX", "=~"],
  ["NEQ_REGEX", "!~"],
  ["LAND", "and"],
  ["LOR", "or"],
  ["LUNLESS", "unless"],
  ["ATAN2", "atan2"],
  ["AT", "@"],
]);

const PUNCTUATION: ReadonlyMap<TokenType, string> = new Map<TokenType, string>([
  ["LEFT_PAREN", "("],
  ["RIGHT_PAREN", ")"],
  ["LEFT_BRACE", "{"],
  ["RIGHT_BRACE", "}"],
  ["LEFT_BRACKET", "["],
  ["RIGHT_BRACKET", "]"],
  ["COMMA", ","],
  ["EQL", "="],
  ["COLON", ":"],
]);

/**
 * Describes a token the way Prometheus' parse errors do: `end of input`, `identifier "foo"`,
 * `number "1"`, `"("`, `<op:+>`, `<aggr:sum>`, `<by>`.
 */
export function describeToken(t: Token): string {
  switch (t.type) {
    case "EOF":
      return "end of input";
    case "ERROR":
      return t.val;
    case "IDENTIFIER":
      return `identifier ${goQuote(t.val)}`;
    case "METRIC_IDENTIFIER":
      return `metric identifier ${goQuote(t.val)}`;
    case "NUMBER":
      return `number ${shortQuote(t.val)}`;
    case "DURATION":
      return `duration ${shortQuote(t.val)}`;
    case "STRING":
      return `string ${shortQuote(t.val)}`;
    case "COMMENT":
      return `comment ${shortQuote(t.val)}`;
  }
  if (OPERATORS.has(t.type)) return `<op:${t.val}>`;
  if (AGGREGATORS.has(t.type)) return `<aggr:${t.val}>`;
  if (KEYWORD_TYPES.has(t.type)) return `<${t.val}>`;
  return goQuote(PUNCTUATION.get(t.type) ?? t.val);
}

// Go's `%.10q...` for long token values, `%q` otherwise.
function shortQuote(s: string): string {
  const chars = [...s];
  return chars.length > 10 ? goQuote(chars.slice(0, 10).join("")) + "..." : goQuote(s);
}

/** Quotes a string like Go's `strconv.Quote` (used by errors and the printer). */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) out += quoteChar(ch, '"');
  return out + '"';
}

/** Quotes one character like Go's `%q` verb on a rune, e.g. `'$'`, `'\n'`. */
export function goQuoteRune(ch: string): string {
  return "'" + quoteChar(ch, "'") + "'";
}

/** Go's `%#U` verb, e.g. `U+0071 'q'`. */
export function goUnicode(ch: string): string {
  const cp = ch.codePointAt(0) ?? 0;
  const hex = cp.toString(16).toUpperCase().padStart(4, "0");
  return isPrintable(ch) ? `U+${hex} '${ch}'` : `U+${hex}`;
}

const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u;

function isPrintable(ch: string): boolean {
  return PRINTABLE.test(ch);
}

function quoteChar(ch: string, quote: string): string {
  switch (ch) {
    case "\x07":
      return "\\a";
    case "\b":
      return "\\b";
    case "\f":
      return "\\f";
    case "\n":
      return "\\n";
    case "\r":
      return "\\r";
    case "\t":
      return "\\t";
    case "\v":
      return "\\v";
    case "\\":
      return "\\\\";
  }
  if (ch === quote) return "\\" + ch;
  const cp = ch.codePointAt(0)!;
  // Bytes that are not valid UTF-8 are carried as U+DC80..U+DCFF (see unquoteString).
  if (cp >= 0xdc80 && cp <= 0xdcff) return "\\x" + (cp - 0xdc00).toString(16).padStart(2, "0");
  if (isPrintable(ch)) return ch;
  if (cp < 0x80) return "\\x" + cp.toString(16).padStart(2, "0");
  if (cp < 0x10000) return "\\u" + cp.toString(16).padStart(4, "0");
  return "\\U" + cp.toString(16).padStart(8, "0");
}

/** Reports whether `c` is a PromQL space character. */
export function isSpace(c: string): boolean {
  return c === " " || c === "\t" || c === "\n" || c === "\r";
}

/** Reports whether `c` may start an identifier. */
export function isAlpha(c: string): boolean {
  return c === "_" || (c >= "a" && c <= "z") || (c >= "A" && c <= "Z");
}

/** Reports whether `c` is an ASCII digit. */
export function isDigit(c: string): boolean {
  return c >= "0" && c <= "9";
}

function isAlphaNumeric(c: string): boolean {
  return isAlpha(c) || isDigit(c);
}

const DIGITS = "0123456789";
const HEX_DIGITS = "0123456789abcdefABCDEF";

/** Where the lexer is: top-level statements, inside `{}` or right after `[` / a duration operator. */
type LexState = "statements" | "braces" | "duration";

/** Thrown by the lexer's `next()` callers; carries the Prometheus message and start offset. */
export interface LexError {
  message: string;
  pos: number;
}

/** The PromQL lexer. Call `next()` until it returns an `EOF` or `ERROR` token. */
export class Lexer {
  readonly input: string;
  #pos = 0;
  #start = 0;
  #state: LexState = "statements";
  #parenDepth = 0;
  #bracketOpen = false;
  #gotColon = false;
  #gotDuration = false;
  #stringOpen = "";
  #done = false;

  /** Creates a lexer over `input`. */
  constructor(input: string) {
    this.input = input;
  }

  /** The offset after the last character consumed so far. */
  get pos(): number {
    return this.#pos;
  }

  /** Returns the next token; `EOF` or `ERROR` end the stream (and repeat on further calls). */
  next(): Token {
    if (this.#done) return { type: "EOF", pos: this.input.length, val: "" };
    for (;;) {
      const t = this.#state === "braces"
        ? this.#lexInsideBraces()
        : this.#state === "duration"
        ? this.#lexDurationExpr()
        : this.#lexStatements();
      if (t === undefined) continue;
      if (t.type === "EOF" || t.type === "ERROR") this.#done = true;
      return t;
    }
  }

  #peek(): string {
    return this.#pos < this.input.length ? this.input[this.#pos] : "";
  }

  #nextChar(): string {
    if (this.#pos >= this.input.length) return "";
    return this.input[this.#pos++];
  }

  #accept(valid: string): boolean {
    const c = this.#peek();
    if (c !== "" && valid.includes(c)) {
      this.#pos++;
      return true;
    }
    return false;
  }

  #emit(type: TokenType): Token {
    const t = { type, pos: this.#start, val: this.input.slice(this.#start, this.#pos) };
    this.#start = this.#pos;
    return t;
  }

  #error(message: string): Token {
    return { type: "ERROR", pos: this.#start, val: message };
  }

  #skipSpaces(): void {
    while (isSpace(this.#peek())) this.#pos++;
    this.#start = this.#pos;
  }

  #lexComment(): Token {
    while (this.#pos < this.input.length) {
      const c = this.input[this.#pos];
      if (c === "\n" || c === "\r") break;
      this.#pos++;
    }
    return this.#emit("COMMENT");
  }

  /**
   * What statements and duration expressions lex alike: spaces, operators, commas and
   * parentheses. Returns {@linkcode NOT_COMMON} for any other character.
   */
  #lexCommon(r: string): Token | undefined | typeof NOT_COMMON {
    const op = OPERATOR_TOKENS.get(r);
    if (op !== undefined) return this.#emit(op);
    switch (r) {
      case " ":
      case "\t":
      case "\n":
      case "\r":
        this.#skipSpaces();
        return undefined;
      case "(":
        this.#parenDepth++;
        return this.#emit("LEFT_PAREN");
      case ")": {
        const t = this.#emit("RIGHT_PAREN");
        this.#parenDepth--;
        // Prometheus reports this after emitting, so the error starts after the ")".
        if (this.#parenDepth < 0) return this.#error("unexpected right parenthesis ')'");
        return t;
      }
    }
    return NOT_COMMON;
  }

  #lexStatements(): Token | undefined {
    if (this.input.startsWith("#", this.#pos)) return this.#lexComment();
    const r = this.#nextChar();
    const common = this.#lexCommon(r);
    if (common !== NOT_COMMON) return common;
    switch (r) {
      case "":
        if (this.#parenDepth !== 0) return this.#error("unclosed left parenthesis");
        if (this.#bracketOpen) return this.#error("unclosed left bracket");
        return this.#emit("EOF");
      case "=": {
        const t = this.#peek();
        if (t === "=") {
          this.#pos++;
          return this.#emit("EQLC");
        }
        if (t === "~") return this.#error(`unexpected character after '=': ${goQuoteRune(t)}`);
        return this.#emit("EQL");
      }
      case "!": {
        const t = this.#nextChar();
        if (t !== "=") return this.#error(`unexpected character after '!': ${quoteRuneOrEof(t)}`);
        return this.#emit("NEQ");
      }
      case "<":
        if (this.#accept("=")) return this.#emit("LTE");
        if (this.#accept("/")) return this.#emit("TRIM_UPPER");
        return this.#emit("LSS");
      case ">":
        if (this.#accept("=")) return this.#emit("GTE");
        if (this.#accept("/")) return this.#emit("TRIM_LOWER");
        return this.#emit("GTR");
      case '"':
      case "'":
        this.#stringOpen = r;
        return this.#lexString();
      case "`":
        return this.#lexRawString();
      case "{":
        this.#state = "braces";
        return this.#emit("LEFT_BRACE");
      case "[": {
        if (this.#bracketOpen) return this.#error("unexpected left bracket '['");
        this.#gotColon = false;
        this.#gotDuration = false;
        const t = this.#emit("LEFT_BRACKET");
        this.#skipSpaces();
        this.#bracketOpen = true;
        this.#state = "duration";
        return t;
      }
      case "]":
        if (!this.#bracketOpen) return this.#error("unexpected right bracket ']'");
        this.#bracketOpen = false;
        return this.#emit("RIGHT_BRACKET");
      case "@":
        return this.#emit("AT");
    }
    if (isDigit(r) || (r === "." && isDigit(this.#peek()))) {
      this.#pos--;
      return this.#lexNumberOrDuration();
    }
    if (isAlpha(r) || r === ":") {
      if (!this.#bracketOpen) {
        this.#pos--;
        return this.#lexKeywordOrIdentifier();
      }
      if (r === ":") {
        if (this.#gotColon) return this.#error("unexpected colon ':'");
        this.#gotColon = true;
        return this.#emit("COLON");
      }
      const kw = this.#scanDurationKeyword();
      if (kw) return kw;
      return this.#error(`unexpected character: ${goQuoteRune(r)}, expected ':'`);
    }
    return this.#error(`unexpected character: ${goQuoteRune(this.#fullChar(r))}`);
  }

  // Returns the whole code point starting at the character just read (for messages).
  #fullChar(r: string): string {
    const cp = this.input.codePointAt(this.#pos - 1);
    return cp !== undefined && cp > 0xffff ? String.fromCodePoint(cp) : r;
  }

  #lexDurationExpr(): Token | undefined {
    const r = this.#nextChar();
    const common = this.#lexCommon(r);
    if (common !== NOT_COMMON) return common;
    switch (r) {
      case "":
        return this.#error("unexpected end of input in duration expression");
      case "]":
        this.#bracketOpen = false;
        this.#gotColon = false;
        this.#state = "statements";
        return this.#emit("RIGHT_BRACKET");
      case ":": {
        const t = this.#emit("COLON");
        if (!this.#gotDuration) {
          return this.#error("unexpected colon before duration in duration expression");
        }
        if (this.#gotColon) return this.#error("unexpected repeated colon in duration expression");
        this.#gotColon = true;
        return t;
      }
    }
    if (isDigit(r) || (r === "." && isDigit(this.#peek()))) {
      this.#pos--;
      this.#gotDuration = true;
      this.#state = "statements";
      return this.#lexNumberOrDuration();
    }
    if (isAlpha(r)) {
      const kw = this.#scanDurationKeyword();
      if (kw) return kw;
    }
    return this.#error(
      `unexpected character in duration expression: ${goQuoteRune(this.#fullChar(r))}`,
    );
  }

  // Called with the first letter consumed; emits step/range/min_of/max_of or returns undefined.
  #scanDurationKeyword(): Token | undefined {
    while (isAlpha(this.#peek())) this.#pos++;
    const type = DURATION_KEYWORDS.get(this.input.slice(this.#start, this.#pos).toLowerCase());
    return type ? this.#emit(type) : undefined;
  }

  #lexInsideBraces(): Token | undefined {
    if (this.input.startsWith("#", this.#pos)) return this.#lexComment();
    const r = this.#nextChar();
    switch (r) {
      case "":
        return this.#error("unexpected end of input inside braces");
      case " ":
      case "\t":
      case "\n":
      case "\r":
        this.#skipSpaces();
        return undefined;
      case ",":
        return this.#emit("COMMA");
      case '"':
      case "'":
        this.#stringOpen = r;
        return this.#lexString();
      case "`":
        return this.#lexRawString();
      case "=":
        if (this.#accept("~")) return this.#emit("EQL_REGEX");
        return this.#emit("EQL");
      case "!": {
        const nr = this.#nextChar();
        if (nr === "~") return this.#emit("NEQ_REGEX");
        if (nr === "=") return this.#emit("NEQ");
        return this.#error(`unexpected character after '!' inside braces: ${quoteRuneOrEof(nr)}`);
      }
      case "{":
        return this.#error("unexpected left brace '{'");
      case "}":
        this.#state = "statements";
        return this.#emit("RIGHT_BRACE");
    }
    if (isAlpha(r)) {
      while (isAlphaNumeric(this.#peek())) this.#pos++;
      return this.#emit("IDENTIFIER");
    }
    return this.#error(`unexpected character inside braces: ${goQuoteRune(this.#fullChar(r))}`);
  }

  #lexString(): Token {
    for (;;) {
      const c = this.#nextChar();
      if (c === "\\") {
        const err = this.#lexEscape();
        if (err) return err;
        continue;
      }
      if (c === "" || c === "\n") return this.#error("unterminated quoted string");
      if (c === this.#stringOpen) break;
      if (isLoneSurrogate(this.input, this.#pos - 1)) return this.#error("invalid UTF-8 rune");
    }
    return this.#emit("STRING");
  }

  #lexRawString(): Token {
    for (;;) {
      const c = this.#nextChar();
      if (c === "") return this.#error("unterminated raw string");
      if (c === "`") break;
      if (isLoneSurrogate(this.input, this.#pos - 1)) return this.#error("invalid UTF-8 rune");
    }
    return this.#emit("STRING");
  }

  // Validates one escape sequence (the backslash is consumed); returns an error token or nothing.
  #lexEscape(): Token | undefined {
    let ch = this.#nextChar();
    let n: number;
    let base: number;
    let max: number;
    switch (ch) {
      case "a":
      case "b":
      case "f":
      case "n":
      case "r":
      case "t":
      case "v":
      case "\\":
      case this.#stringOpen:
        return undefined;
      case "0":
      case "1":
      case "2":
      case "3":
      case "4":
      case "5":
      case "6":
      case "7":
        [n, base, max] = [3, 8, 255];
        break;
      case "x":
        ch = this.#nextChar();
        [n, base, max] = [2, 16, 255];
        break;
      case "u":
        ch = this.#nextChar();
        [n, base, max] = [4, 16, 0x10ffff];
        break;
      case "U":
        ch = this.#nextChar();
        [n, base, max] = [8, 16, 0x10ffff];
        break;
      case "":
        return this.#error("escape sequence not terminated");
      default:
        return this.#error(`unknown escape sequence ${goUnicode(ch)}`);
    }
    let x = 0;
    while (n > 0) {
      const d = digitValue(ch);
      if (d >= base) {
        if (ch === "") return this.#error("escape sequence not terminated");
        return this.#error(`illegal character ${goUnicode(ch)} in escape sequence`);
      }
      x = x * base + d;
      n--;
      if (n > 0) ch = this.#nextChar();
    }
    if (x > max || (x >= 0xd800 && x < 0xe000)) {
      return this.#error("escape sequence is an invalid Unicode code point");
    }
    return undefined;
  }

  #lexNumberOrDuration(): Token {
    if (this.#scanNumber()) return this.#emit("NUMBER");
    if (this.#acceptRemainingDuration()) return this.#emit("DURATION");
    return this.#error(
      `bad number or duration syntax: ${goQuote(this.input.slice(this.#start, this.#pos))}`,
    );
  }

  #acceptRemainingDuration(): boolean {
    if (!this.#accept("smhdwy")) return false;
    this.#accept("s"); // "ms"
    while (this.#accept(DIGITS)) {
      while (this.#accept(DIGITS));
      if (!this.#accept("smhdw")) return false;
      this.#accept("s");
    }
    const c = this.#peek();
    if (c !== "" && isAlphaNumeric(c)) {
      this.#pos++;
      return false;
    }
    return true;
  }

  // Go-style number: decimal or hex, `_` separators, fraction and exponent. Mirrors Prometheus'
  // acceptance rules, including that a number directly followed by a letter is not a number.
  #scanNumber(): boolean {
    const initial = this.#pos;
    let digits = DIGITS;
    if (this.#accept("0") && this.#accept("xX")) {
      this.#accept("_");
      digits = HEX_DIGITS;
    }
    this.#accept(".");
    this.#accept(digits);
    let dotConsumed = false;
    let exponentConsumed = false;
    const all = digits + "._eE";
    while (this.#peek() !== "" && all.includes(this.#peek())) {
      const c = this.#peek();
      if (c === "." && dotConsumed) {
        this.#pos++;
        return false;
      }
      if ((c === "e" || c === "E") && exponentConsumed) {
        this.#pos++;
        return false;
      }
      if (this.#accept(".")) {
        dotConsumed = true;
        if (this.#accept("_.")) return false;
        if (digits === HEX_DIGITS) return false;
        continue;
      }
      if (this.#accept("eE")) {
        exponentConsumed = true;
        this.#accept("+-");
        if (this.#accept("._eE") || this.#peek() === "") return false;
        continue;
      }
      if (this.#accept("_")) {
        if (this.#accept("._eE") || this.#peek() === "") return false;
        continue;
      }
      while (this.#accept(digits));
    }
    if (this.#pos === initial) return false;
    const next = this.#peek();
    return next === "" || !isAlphaNumeric(next);
  }

  #lexKeywordOrIdentifier(): Token {
    for (;;) {
      const c = this.#peek();
      if (c !== "" && (isAlphaNumeric(c) || c === ":")) this.#pos++;
      else break;
    }
    const word = this.input.slice(this.#start, this.#pos);
    const kw = KEYWORDS.get(word.toLowerCase());
    if (kw) {
      // fill, fill_left and fill_right are keywords only when a "(" follows.
      if (
        (kw === "FILL" || kw === "FILL_LEFT" || kw === "FILL_RIGHT") && !this.#followedByParen()
      ) {
        return this.#emit("IDENTIFIER");
      }
      return this.#emit(kw);
    }
    return this.#emit(word.includes(":") ? "METRIC_IDENTIFIER" : "IDENTIFIER");
  }

  #followedByParen(): boolean {
    let p = this.#pos;
    while (p < this.input.length && isSpace(this.input[p])) p++;
    return this.input[p] === "(";
  }
}

// JavaScript strings cannot hold invalid UTF-8; a lone surrogate is their equivalent.
function isLoneSurrogate(s: string, i: number): boolean {
  const c = s.charCodeAt(i);
  if (c >= 0xd800 && c < 0xdc00) {
    const n = s.charCodeAt(i + 1);
    return !(n >= 0xdc00 && n < 0xe000);
  }
  if (c >= 0xdc00 && c < 0xe000) {
    const p = s.charCodeAt(i - 1);
    return !(p >= 0xd800 && p < 0xdc00);
  }
  return false;
}

function quoteRuneOrEof(c: string): string {
  return c === "" ? "'\\uffff'" : goQuoteRune(c);
}

function digitValue(c: string): number {
  if (c >= "0" && c <= "9") return c.charCodeAt(0) - 48;
  if (c >= "a" && c <= "f") return c.charCodeAt(0) - 87;
  if (c >= "A" && c <= "F") return c.charCodeAt(0) - 55;
  return 16;
}

/** Thrown when a quoted string's escapes are invalid. */
export class UnquoteError extends Error {
  /** Creates the error for the quoted source `input`. */
  constructor(readonly input: string) {
    super("invalid syntax");
    this.name = "UnquoteError";
  }
}

const textDecoder = new TextDecoder("utf-8", { fatal: true });

/**
 * Unquotes a PromQL string literal (with its quotes) using Go's escape rules: `\a \b \f \n \r
 * \t \v \\`, the enclosing quote, `\xHH` and `\OOO` bytes, `\uHHHH`, `\UHHHHHHHH`; backtick
 * strings are raw. Bytes that do not form valid UTF-8 are kept as U+DC80..U+DCFF (one per byte),
 * so that later validation can reject them and printing can restore them as `\xHH`.
 */
export function unquoteString(quoted: string): string {
  const q = quoted[0];
  if (quoted.length < 2 || quoted[quoted.length - 1] !== q) throw new UnquoteError(quoted);
  const body = quoted.slice(1, -1);
  if (q === "`") {
    if (body.includes("`")) throw new UnquoteError(quoted);
    return body;
  }
  if (q !== '"' && q !== "'") throw new UnquoteError(quoted);
  if (!body.includes("\\")) {
    if (body.includes(q) || body.includes("\n")) throw new UnquoteError(quoted);
    return body;
  }
  let out = "";
  let bytes: number[] = [];
  const flushBytes = () => {
    if (bytes.length > 0) {
      out += decodeBytes(bytes);
      bytes = [];
    }
  };
  for (let i = 0; i < body.length;) {
    const c = body[i];
    if (c === q || c === "\n") throw new UnquoteError(quoted);
    if (c !== "\\") {
      flushBytes();
      out += c;
      i++;
      continue;
    }
    const e = body[i + 1];
    i += 2;
    const simple = SIMPLE_ESCAPES[e];
    if (simple !== undefined) {
      flushBytes();
      out += simple;
      continue;
    }
    if (e === q) {
      flushBytes();
      out += q;
      continue;
    }
    if (e === "x" || (e >= "0" && e <= "7")) {
      const len = e === "x" ? 2 : 3;
      const start = e === "x" ? i : i - 1;
      const digits = body.slice(start, start + len);
      const v = parseInt(digits, e === "x" ? 16 : 8);
      const valid = digits.length === len &&
        [...digits].every((d) => digitValue(d) < (e === "x" ? 16 : 8));
      if (!valid || v > 255) throw new UnquoteError(quoted);
      bytes.push(v);
      i = start + len;
      continue;
    }
    if (e === "u" || e === "U") {
      const len = e === "u" ? 4 : 8;
      const digits = body.slice(i, i + len);
      if (digits.length !== len || ![...digits].every((d) => digitValue(d) < 16)) {
        throw new UnquoteError(quoted);
      }
      const v = parseInt(digits, 16);
      if (v > 0x10ffff || (v >= 0xd800 && v < 0xe000)) throw new UnquoteError(quoted);
      flushBytes();
      out += String.fromCodePoint(v);
      i += len;
      continue;
    }
    throw new UnquoteError(quoted);
  }
  flushBytes();
  return out;
}

const SIMPLE_ESCAPES: Record<string, string> = {
  a: "\x07",
  b: "\b",
  f: "\f",
  n: "\n",
  r: "\r",
  t: "\t",
  v: "\v",
  "\\": "\\",
};

// Decodes raw bytes as UTF-8, mapping each byte of an invalid sequence to U+DC00+byte.
function decodeBytes(bytes: number[]): string {
  try {
    return textDecoder.decode(new Uint8Array(bytes));
  } catch {
    let out = "";
    let i = 0;
    while (i < bytes.length) {
      const b = bytes[i];
      const len = b < 0x80
        ? 1
        : b >= 0xc2 && b < 0xe0
        ? 2
        : b >= 0xe0 && b < 0xf0
        ? 3
        : b >= 0xf0 && b < 0xf5
        ? 4
        : 0;
      if (len > 0 && i + len <= bytes.length) {
        try {
          out += textDecoder.decode(new Uint8Array(bytes.slice(i, i + len)));
          i += len;
          continue;
        } catch {
          // fall through: this byte is invalid on its own
        }
      }
      out += b < 0x80 ? String.fromCharCode(b) : String.fromCharCode(0xdc00 + b);
      i++;
    }
    return out;
  }
}
