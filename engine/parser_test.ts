import assert from "node:assert/strict";
import type { BinaryExpr, Expr, NumberLiteral, VectorSelector } from "./ast.ts";
import { ParseError } from "./errors.ts";
import { MatchType } from "../model/matchers.ts";
import {
  exprType,
  Features,
  MAX_EXPRESSION_DEPTH,
  parseExpr,
  parseMetricSelector,
} from "./parser.ts";

const ALL = new Set<string>([
  Features.ExperimentalFunctions,
  Features.ExtendedRangeSelectors,
  Features.BinopFillModifiers,
]);

function parse(q: string): Expr {
  return parseExpr(q, { features: ALL });
}

// Removes positions so that trees can be compared structurally.
function strip(e: unknown): unknown {
  if (Array.isArray(e)) return e.map(strip);
  if (e && typeof e === "object" && !(e instanceof Float64Array)) {
    if ("matches" in e && "operator" in e) return String(e);
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(e)) if (k !== "pos") out[k] = strip(v);
    return out;
  }
  return e;
}

// Inputs and the exact errors Prometheus reports for them (from its parser test-suite).
const ERROR_CASES: [string, string][] = [
  ["", "1:1: parse error: no expression found in input"],
  ["1+", "1:3: parse error: unexpected end of input"],
  [".", "1:1: parse error: unexpected character: '.'"],
  ["2.5.", '1:1: parse error: bad number or duration syntax: "2.5."'],
  ["100..4", '1:1: parse error: bad number or duration syntax: "100.."'],
  ["0deadbeef", '1:1: parse error: bad number or duration syntax: "0de"'],
  ["*1", "1:1: parse error: unexpected <op:*>"],
  ["(1))", "1:5: parse error: unexpected right parenthesis ')'"],
  ["((1)", "1:5: parse error: unclosed left parenthesis"],
  ["1 and 1", '1:1: parse error: set operator "and" not allowed in binary scalar expression'],
  ["1 == 1", "1:3: parse error: comparisons between scalars must use BOOL modifier"],
  ["1 or 1", '1:1: parse error: set operator "or" not allowed in binary scalar expression'],
  ["1 unless 1", '1:1: parse error: set operator "unless" not allowed in binary scalar expression'],
  ["1 !~ 1", "1:3: parse error: unexpected character after '!': '~'"],
  ["1 =~ 1", "1:3: parse error: unexpected character after '=': '~'"],
  [
    '-"string"',
    '1:1: parse error: unary expression only allowed on expressions of type scalar or instant vector, got "string"',
  ],
  [
    "-test[5m]",
    '1:1: parse error: unary expression only allowed on expressions of type scalar or instant vector, got "range vector"',
  ],
  ["@@", "1:1: parse error: unexpected <op:@>"],
  [
    "1 offset 1d",
    "1:1: parse error: offset modifier must be preceded by an instant vector selector or range vector selector or a subquery",
  ],
  ["foo offset 1s offset 2s", "1:1: parse error: offset may not be set multiple times"],
  ["a - on(b) ignoring(c) d", "1:11: parse error: unexpected <ignoring>"],
  ["1 or on(bar) foo", "1:1: parse error: vector matching only allowed between instant vectors"],
  ["foo + group_left(baz) bar", "1:7: parse error: unexpected <group_left>"],
  [
    "foo and on(bar) group_left(baz) bar",
    '1:1: parse error: no grouping allowed for "and" operation',
  ],
  [
    "foo or on(bar) group_left(baz) bar",
    '1:1: parse error: no grouping allowed for "or" operation',
  ],
  [
    "foo unless on(bar) group_left(baz) bar",
    '1:1: parse error: no grouping allowed for "unless" operation',
  ],
  [
    'http_requests{group="production"} + on(instance) group_left(job,instance) cpu_count{type="smp"}',
    '1:35: parse error: label "instance" must not occur in ON and GROUP clause at once',
  ],
  ["foo + bool bar", "1:5: parse error: bool modifier can only be used on comparison operators"],
  ["foo @ +Inf", "1:1: parse error: timestamp out of bounds for @ modifier: +Inf"],
  ["foo @ -Inf", "1:1: parse error: timestamp out of bounds for @ modifier: -Inf"],
  ["foo @ NaN", "1:1: parse error: timestamp out of bounds for @ modifier: NaN"],
  ["{", "1:2: parse error: unexpected end of input inside braces"],
  ["}", "1:1: parse error: unexpected character: '}'"],
  [
    "some_metric{a=b}",
    '1:15: parse error: unexpected identifier "b" in label matching, expected string',
  ],
  ['some_metric{a:b="b"}', "1:14: parse error: unexpected character inside braces: ':'"],
  ['foo{a*"b"}', "1:6: parse error: unexpected character inside braces: '*'"],
  ['foo{a>="b"}', "1:6: parse error: unexpected character inside braces: '>'"],
  ['some_metric{a="\udcff"}', "1:15: parse error: invalid UTF-8 rune"],
  [
    "foo{gibberish}",
    '1:14: parse error: unexpected "}" in label matching, expected label matching operator',
  ],
  ["foo{1}", "1:5: parse error: unexpected character inside braces: '1'"],
  ["{}", "1:1: parse error: vector selector must contain at least one non-empty matcher"],
  ['foo{__name__="bar"}', '1:1: parse error: metric name must not be set twice: "foo" or "bar"'],
  ["foo{__name__= =}", '1:15: parse error: unexpected "=" in label matching, expected string'],
  ["foo{,}", '1:5: parse error: unexpected "," in label matching, expected identifier or "}"'],
  [
    'foo{__name__="bar" lol}',
    '1:20: parse error: unexpected identifier "lol" in label matching, expected "," or "}"',
  ],
  ['foo{"a"=}', '1:9: parse error: unexpected "}" in label matching, expected string'],
  ["foo[5mm]", '1:5: parse error: bad number or duration syntax: "5mm"'],
  ["foo[5m1]", '1:5: parse error: bad number or duration syntax: "5m1"'],
  ["foo[5m:1m1]", '1:8: parse error: bad number or duration syntax: "1m1"'],
  ["foo[5y1hs]", '1:5: parse error: unknown unit "hs" in duration "5y1hs"'],
  ["foo[5m1h]", '1:5: parse error: not a valid duration string: "5m1h"'],
  ["foo[5m1m]", '1:5: parse error: not a valid duration string: "5m1m"'],
  ["foo[0m]", "1:5: parse error: duration must be greater than 0"],
  ['foo["5m"]', "1:5: parse error: unexpected character in duration expression: '\"'"],
  [
    "foo[]",
    '1:5: parse error: unexpected "]" in subquery or range selector, expected number, duration, step(), or range()',
  ],
  ["some_metric[5m] OFFSET 1mm", '1:24: parse error: bad number or duration syntax: "1mm"'],
  [
    "some_metric[5m] OFFSET",
    "1:23: parse error: unexpected end of input in offset, expected number, duration, step(), or range()",
  ],
  ["some_metric OFFSET 1m[5m]", "1:22: parse error: no offset modifiers allowed before range"],
  ["some_metric[5m] @", "1:18: parse error: unexpected end of input in @, expected timestamp"],
  ["some_metric @ 1234 [5m]", "1:20: parse error: no @ modifiers allowed before range"],
  ["(foo + bar)[5m]", "1:12: parse error: ranges only allowed for vector selectors"],
  ['sum by ("foo)(some_metric{})', "1:9: parse error: unterminated quoted string"],
  [
    "sum without(==)(some_metric)",
    "1:13: parse error: unexpected <op:==> in grouping opts, expected label",
  ],
  [
    "sum without(,)(some_metric)",
    '1:13: parse error: unexpected "," in grouping opts, expected label',
  ],
  ["sum some_metric by (test)", '1:5: parse error: unexpected identifier "some_metric"'],
  [
    "sum (some_metric) by test",
    '1:22: parse error: unexpected identifier "test" in grouping opts, expected "("',
  ],
  ["sum () by (test)", "1:1: parse error: no arguments for aggregate expression provided"],
  ["MIN keep_common (some_metric)", '1:5: parse error: unexpected identifier "keep_common"'],
  ["sum (some_metric) without (test) by (test)", "1:34: parse error: unexpected <by>"],
  [
    "topk(some_metric)",
    "1:1: parse error: wrong number of arguments for aggregate expression provided, expected 2, got 1",
  ],
  ["topk(some_metric,)", "1:17: parse error: trailing commas not allowed in function call args"],
  [
    "topk(some_metric, other_metric)",
    "1:6: parse error: expected type scalar in aggregation parameter, got instant vector",
  ],
  [
    "count_values(5, other_metric)",
    "1:14: parse error: expected type string in aggregation parameter, got scalar",
  ],
  [
    "rate(some_metric[5m]) @ 1234",
    "1:1: parse error: @ modifier must be preceded by an instant vector selector or range vector selector or a subquery",
  ],
  ["floor()", '1:1: parse error: expected 1 argument(s) in call to "floor", got 0'],
  [
    "floor(some_metric, other_metric)",
    '1:1: parse error: expected 1 argument(s) in call to "floor", got 2',
  ],
  [
    "floor(1)",
    '1:7: parse error: expected type instant vector in call to function "floor", got scalar',
  ],
  [
    "hour(some_metric, some_metric, some_metric)",
    '1:1: parse error: expected at most 1 argument(s) in call to "hour", got 3',
  ],
  ["time(some_metric)", '1:1: parse error: expected 0 argument(s) in call to "time", got 1'],
  [
    "non_existent_function_far_bar()",
    '1:1: parse error: unknown function with name "non_existent_function_far_bar"',
  ],
  [
    "rate(some_metric)",
    '1:6: parse error: expected type range vector in call to function "rate", got instant vector',
  ],
  ["-=", '1:2: parse error: unexpected "="'],
  ["++-++-+-+-<", "1:11: parse error: unexpected <op:<>"],
  ["a>b()", '1:3: parse error: unknown function with name "b"'],
  ["`\\``", "1:4: parse error: unterminated raw string"],
  ['"\\', "1:1: parse error: escape sequence not terminated"],
  ['"\\c"', "1:1: parse error: unknown escape sequence U+0063 'c'"],
  ['"\\x."', "1:1: parse error: illegal character U+002E '.' in escape sequence"],
  ['foo{bar="baz"}[', "1:16: parse error: unexpected end of input in duration expression"],
  [
    "test[5d] OFFSET 10s [10m:5s]",
    "1:1: parse error: subquery is only allowed on instant vector, got matrix instead",
  ],
  [
    'info(rate(http_request_counter_total{}[5m]), target_info{foo="bar"})',
    "1:46: parse error: expected label selectors only, got vector selector instead",
  ],
  [
    'info(http_request_counter_total{namespace="zzz"}, {foo="bar"} == 1)',
    "1:51: parse error: expected label selectors only",
  ],
  ["foo[step()/0d]", "1:11: parse error: division by zero"],
  ["foo[5s%0d]", "1:7: parse error: modulo by zero"],
  ["foo offset 9.5e10", "1:12: parse error: duration out of range"],
  ["foo[5s x 5s]", "1:8: parse error: unexpected character: 'x', expected ':'"],
  ["foo[5s s 5s]", "1:8: parse error: unexpected character: 's', expected ':'"],
];

Deno.test("parse errors match Prometheus' messages and positions", () => {
  for (const [input, message] of ERROR_CASES) {
    assert.throws(() => parse(input), (e: unknown) => {
      assert.ok(e instanceof ParseError, `${input}: ${e}`);
      assert.equal(e.message, message, input);
      return true;
    });
  }
});

Deno.test("a very long number literal is out of range", () => {
  assert.throws(() => parse("9".repeat(400)), /value out of range/);
});

Deno.test("vector selectors: names, the four matcher types, quoted UTF-8 names", () => {
  const vs = parse('foo{a="b", c!="d", e=~"f.*", g!~"h",}') as VectorSelector;
  assert.equal(vs.kind, "VectorSelector");
  assert.equal(vs.name, "foo");
  assert.deepEqual(vs.matchers.map((m) => [m.type, m.name, m.value]), [
    [MatchType.Equal, "a", "b"],
    [MatchType.NotEqual, "c", "d"],
    [MatchType.Regexp, "e", "f.*"],
    [MatchType.NotRegexp, "g", "h"],
    [MatchType.Equal, "__name__", "foo"],
  ]);
  assert.deepEqual(vs.pos, { start: 0, end: 37 });
  const utf8 = parse('{"my.metric", "a.b"="x"}') as VectorSelector;
  assert.equal(utf8.name, "");
  assert.deepEqual(utf8.matchers.map(String), ['__name__="my.metric"', '"a.b"="x"']);
  const keyword = parse("sum") as VectorSelector;
  assert.equal(keyword.kind, "VectorSelector");
  assert.equal(keyword.name, "sum");
  const byName = parse('{__name__=~"job:.*"}') as VectorSelector;
  assert.equal(byName.matchers[0].matches("job:x"), true);
});

Deno.test("strings follow Go escape rules in all three quote styles", () => {
  const cases: [string, string][] = [
    [String.raw`"a\tb\n\\\"\x41\101\u00e9\U0001F600"`, 'a\tb\n\\"AAé😀'],
    [String.raw`'it\'s'`, "it's"],
    ["`raw\\n`", "raw\\n"],
  ];
  for (const [src, want] of cases) {
    const e = parse(src);
    assert.equal(e.kind === "StringLiteral" && e.value, want, src);
  }
  const invalid = parse(String.raw`"a\xc5z"`);
  assert.ok(invalid.kind === "StringLiteral" && !invalid.value.isWellFormed());
});

Deno.test("number literals: hex, octal, underscores, exponents, Inf/NaN, durations", () => {
  const cases: [string, number][] = [
    ["0x1F", 31],
    ["0X_ff", 255],
    ["017", 15],
    ["08", 8],
    ["1_000", 1000],
    [".5", 0.5],
    ["2.", 2],
    ["1e3", 1000],
    ["-1.5e-3", -0.0015],
    ["inF", Infinity],
    ["-Inf", -Infinity],
    ["1h30m", 5400],
    ["54s321ms", 54.321],
  ];
  for (const [src, want] of cases) {
    const e = parse(src);
    assert.equal(e.kind, "NumberLiteral", src);
    assert.equal(e.kind === "NumberLiteral" && e.value, want, src);
  }
  const nan = parse("NaN");
  assert.ok(nan.kind === "NumberLiteral" && Number.isNaN(nan.value));
  const dur = parse("5m");
  assert.ok(dur.kind === "NumberLiteral" && dur.duration === true && dur.value === 300);
});

Deno.test("binary operator precedence and associativity", () => {
  const shape = (e: Expr): string => {
    switch (e.kind) {
      case "BinaryExpr":
        return `(${shape(e.lhs)} ${e.op} ${shape(e.rhs)})`;
      case "UnaryExpr":
        return `(${e.op}${shape(e.expr)})`;
      case "NumberLiteral":
        return String(e.value);
      case "VectorSelector":
        return e.name;
      case "ParenExpr":
        return shape(e.expr);
      default:
        return e.kind;
    }
  };
  const cases: [string, string][] = [
    ["1 + 2 * 3", "(1 + (2 * 3))"],
    ["1 - 2 - 3", "((1 - 2) - 3)"],
    ["2 ^ 3 ^ 2", "(2 ^ (3 ^ 2))"],
    ["-1 ^ 2", "(-(1 ^ 2))"],
    ["-a * b", "((-a) * b)"],
    ["a or b and c unless d", "(a or ((b and c) unless d))"],
    ["a == b + c", "(a == (b + c))"],
    ["a atan2 b ^ c", "(a atan2 (b ^ c))"],
    ["a + b >/ c", "((a + b) >/ c)"],
    ["a </ b or c", "((a </ b) or c)"],
    ["- - 1", "1"],
  ];
  for (const [q, want] of cases) assert.equal(shape(parse(q)), want, q);
});

Deno.test("vector matching modifiers and set-operator cardinality", () => {
  const e = parse("a * on(x, y) group_left(z) b") as BinaryExpr;
  assert.deepEqual(e.matching, {
    card: "many-to-one",
    matchingLabels: ["x", "y"],
    on: true,
    include: ["z"],
  });
  const set = parse("a and ignoring(x) b") as BinaryExpr;
  assert.equal(set.matching?.card, "many-to-many");
  assert.equal(set.matching?.on, false);
  const cmp = parse("a > bool 1") as BinaryExpr;
  assert.equal(cmp.returnBool, true);
  assert.equal(cmp.matching, undefined);
  const right = parse("a / on(x) group_right b") as BinaryExpr;
  assert.equal(right.matching?.card, "one-to-many");
  assert.deepEqual(right.matching?.include, []);
  const fill = parse("a + fill_right(-1) fill_left(2) b") as BinaryExpr;
  assert.equal(fill.matching?.fillLeft, 2);
  assert.equal(fill.matching?.fillRight, -1);
  const both = parse("a + on(x) fill(5m) b") as BinaryExpr;
  assert.equal(both.matching?.fillLeft, 300);
  assert.equal(both.matching?.fillRight, 300);
  // fill is an ordinary name unless "(" follows.
  const name = parse("a + fill") as BinaryExpr;
  assert.equal(name.rhs.kind === "VectorSelector" && name.rhs.name, "fill");
});

Deno.test("aggregations: grouping before or after, parameters, keywords as labels", () => {
  const a = parse("sum by (job, instance) (x)");
  const b = parse("sum(x) by (job, instance,)");
  assert.deepEqual(strip(a), strip(b));
  assert.ok(a.kind === "AggregateExpr" && a.grouping.join() === "job,instance" && !a.without);
  const t = parse('topk without("a.b", on) (5, x)');
  assert.ok(t.kind === "AggregateExpr");
  assert.equal(t.op, "topk");
  assert.equal(t.without, true);
  assert.deepEqual(t.grouping, ["a.b", "on"]);
  assert.equal(t.param?.kind, "NumberLiteral");
  const cv = parse('count_values("v", x)');
  assert.ok(cv.kind === "AggregateExpr" && cv.param?.kind === "StringLiteral");
  assert.equal(parse("SUM(x)").kind, "AggregateExpr");
});

Deno.test("ranges, subqueries, offsets and @ modifiers", () => {
  const m = parse("x[1h30m] offset -5m @ 123.4567");
  assert.ok(m.kind === "MatrixSelector");
  assert.equal(m.range, 5_400_000);
  assert.equal(m.vectorSelector.offset, -300_000);
  assert.equal(m.vectorSelector.timestamp, 123_457);
  assert.deepEqual(m.pos, { start: 0, end: 30 });
  const bare = parse("x[100]");
  assert.ok(bare.kind === "MatrixSelector" && bare.range === 100_000);
  const s = parse("rate(x[5m])[30m:] @ end() offset 1m");
  assert.ok(s.kind === "SubqueryExpr");
  assert.equal(s.range, 1_800_000);
  assert.equal(s.step, 0);
  assert.equal(s.startOrEnd, "end");
  assert.equal(s.offset, 60_000);
  const st = parse("x[1h:5m]");
  assert.ok(st.kind === "SubqueryExpr" && st.step === 300_000);
  const at = parse("x @ start() offset 1m");
  assert.ok(at.kind === "VectorSelector" && at.startOrEnd === "start" && at.offset === 60_000);
  assert.deepEqual(at.pos, { start: 0, end: 21 });
});

Deno.test("duration expressions inside ranges and offsets", () => {
  const m = parse("x[1m + 30s]");
  assert.ok(m.kind === "MatrixSelector" && m.range === 0 && m.rangeExpr?.kind === "BinaryExpr");
  const o = parse("x offset -(1m)");
  assert.ok(o.kind === "VectorSelector" && o.offsetExpr?.kind === "UnaryExpr");
  // Only a signed primary belongs to the offset.
  const p = parse("x offset 2 ^ 2");
  assert.ok(p.kind === "BinaryExpr" && p.op === "^");
  assert.ok(p.lhs.kind === "VectorSelector" && p.lhs.offset === 2000);
  const neg = parse("x offset -2 ^ 2");
  assert.ok(neg.kind === "BinaryExpr" && neg.lhs.kind === "VectorSelector");
  assert.equal(neg.lhs.kind === "VectorSelector" && neg.lhs.offset, -2000);
  const step = parse("x[10m:step() * 2] offset min_of(step(), 1s)");
  assert.ok(step.kind === "SubqueryExpr");
  assert.ok(step.stepExpr?.kind === "BinaryExpr");
  assert.ok(step.offsetExpr?.kind === "Call" && step.offsetExpr.func.name === "min_of");
  const upper = parse("x offset STEP()");
  assert.ok(upper.kind === "VectorSelector" && upper.offsetExpr?.kind === "Call");
});

Deno.test("experimental syntax is rejected unless its feature flag is set", () => {
  const off: [string, RegExp][] = [
    ['sort_by_label(x, "a")', /function "sort_by_label" is not enabled/],
    ["limitk(1, x)", /limitk\(\) is experimental and must be enabled/],
    ["step()", /function "step" is not enabled/],
    ["x[5m] anchored", /anchored modifier is experimental and not enabled/],
    ["x smoothed", /smoothed modifier is experimental and not enabled/],
    ["a + fill(0) b", /binop fill modifiers are experimental and not enabled/],
  ];
  for (const [q, re] of off) {
    assert.throws(() => parseExpr(q), re, q);
    parse(q);
  }
  const vs = parse("x[5m] anchored");
  assert.ok(vs.kind === "MatrixSelector" && vs.vectorSelector.anchored === true);
  assert.throws(
    () => parse("x[5m:] smoothed"),
    /smoothed modifier is not supported for subqueries/,
  );
  assert.throws(() => parse("x anchored smoothed"), /cannot be used together/);
  // Duration expressions are on by default, as in Prometheus 3.14.
  parseExpr("x[2m * 2]");
});

Deno.test("function calls check arity and argument types", () => {
  assert.equal(parse('label_join(x, "d", ",", "a", "b", "c")').kind, "Call");
  assert.equal(parse("round(x)").kind, "Call");
  assert.equal(parse("round(x, 5)").kind, "Call");
  assert.equal(parse("hour()").kind, "Call");
  assert.throws(
    () => parse("round(x, 1, 2)"),
    /expected at most 2 argument\(s\) in call to "round", got 3/,
  );
  assert.throws(() => parse('label_join(x, "d")'), /expected at least 3 argument\(s\)/);
  assert.throws(() => parse('label_replace(x, "a", "b", "c", 1)'), /expected type string/);
  const info = parse('info(x, {k=~".*"})');
  assert.ok(info.kind === "Call" && info.args[1].kind === "VectorSelector");
  assert.equal(
    info.args[1].kind === "VectorSelector" && info.args[1].bypassEmptyMatcherCheck,
    true,
  );
});

Deno.test("comments and whitespace are ignored", () => {
  assert.deepEqual(
    strip(parse("# leading\nsum(\n  x # inner\n) # trailing")),
    strip(parse("sum(x)")),
  );
  assert.throws(() => parse("# only a comment"), /no expression found in input/);
});

Deno.test("exprType follows Prometheus' Type()", () => {
  const cases: [string, string][] = [
    ["1", "scalar"],
    ['"s"', "string"],
    ["x", "vector"],
    ["x[5m]", "matrix"],
    ["x[5m:]", "matrix"],
    ["1 + 1", "scalar"],
    ["x + 1", "vector"],
    ["-(time())", "scalar"],
    ["scalar(x)", "scalar"],
    ["sum(x)", "vector"],
  ];
  for (const [q, t] of cases) assert.equal(exprType(parse(q)), t, q);
});

Deno.test("parseMetricSelector returns matchers with the name last", () => {
  const ms = parseMetricSelector('up{job=~"a|b"}');
  assert.deepEqual(ms.map(String), ['job=~"a|b"', '__name__="up"']);
  assert.deepEqual(parseMetricSelector('{"a.b"}').map(String), ['__name__="a.b"']);
  assert.deepEqual(parseMetricSelector("{}"), []);
  assert.throws(() => parseMetricSelector("up + 1"), /unexpected <op:\+>/);
  assert.throws(() => parseMetricSelector('up{job="a"'), /unexpected end of input inside braces/);
});

Deno.test("bad regular expressions report the regexp error", () => {
  assert.throws(() => parse('x{a=~"(.*"}'), (e: unknown) => {
    assert.ok(e instanceof ParseError);
    assert.match(e.message, /^1:3: parse error: error parsing regexp: /);
    return true;
  });
});

Deno.test("expressions nested deeper than the limit are a parse error, never a stack overflow", () => {
  const n = MAX_EXPRESSION_DEPTH;
  const nest = (open: string, inner: string, close: string, levels: number) =>
    open.repeat(levels) + inner + close.repeat(levels);
  const chain = (op: string, terms: number) => Array(terms).fill("up").join(` ${op} `);
  // Each shape exactly at the limit (a lone selector has depth 1) parses.
  const atLimit = [
    nest("(", "up", ")", n - 1),
    nest("abs(", "up", ")", n - 1),
    nest("sum(", "up", ")", n - 1),
    "-".repeat(n - 1) + "up",
    chain("+", n),
    chain("^", n),
  ];
  for (const q of atLimit) parse(q);
  const tooDeep = [
    nest("(", "up", ")", n),
    nest("abs(", "up", ")", n),
    nest("sum(", "up", ")", n),
    "-".repeat(n) + "up",
    chain("+", n + 1),
    chain("^", n + 1),
    // Shapes of the "deep expression" finding, and the other ways to nest.
    nest("(", "1", ")", 5000),
    nest("abs(", "vector(1)", ")", 5000),
    "-".repeat(5000) + "up",
    chain("or", 100_000),
    "up" + "[1m:]".repeat(5000),
    "up[" + nest("(", "1m", ")", 5000) + "]",
  ];
  for (const q of tooDeep) {
    assert.throws(() => parse(q), (e: unknown) => {
      assert.ok(e instanceof ParseError, `${q.slice(0, 20)}: ${e}`);
      assert.match(
        e.message,
        new RegExp(
          `^1:\\d+: parse error: expressions nested deeper than ${n} levels are not supported$`,
        ),
      );
      return true;
    });
  }
});

Deno.test("a run of signs before a number folds into it, whatever its length", () => {
  // Prometheus answers 5,000 minus signs before 1 with 1.
  assert.deepEqual(parse("-".repeat(5000) + "1"), {
    kind: "NumberLiteral",
    value: 1,
    pos: { start: 0, end: 5001 },
  });
  assert.equal((parse("+-".repeat(2500) + "2") as NumberLiteral).value, 2);
  assert.equal((parse("+-".repeat(2500) + "-2") as NumberLiteral).value, -2);
});
