import assert from "node:assert/strict";
import type { Expr } from "./ast.ts";
import { Features, parseExpr } from "./parser.ts";
import { exprToString, formatFloat, formatGoG } from "./printer.ts";

const ALL = new Set<string>([
  Features.ExperimentalFunctions,
  Features.ExtendedRangeSelectors,
  Features.BinopFillModifiers,
]);

// Queries and Prometheus' String() output for them (the output is the input when omitted),
// from Prometheus' printer test-suite.
const PRINT_CASES: ([string] | [string, string])[] = [
  ['sum by() (task:errors:rate10s{job="s"})', 'sum(task:errors:rate10s{job="s"})'],
  ['sum by(code) (task:errors:rate10s{job="s"})', 'sum by (code) (task:errors:rate10s{job="s"})'],
  ['sum without() (task:errors:rate10s{job="s"})', 'sum without () (task:errors:rate10s{job="s"})'],
  [
    'sum without(instance) (task:errors:rate10s{job="s"})',
    'sum without (instance) (task:errors:rate10s{job="s"})',
  ],
  [
    'sum by("foo.bar") (task:errors:rate10s{job="s"})',
    'sum by ("foo.bar") (task:errors:rate10s{job="s"})',
  ],
  [
    'sum without("foo.bar") (task:errors:rate10s{job="s"})',
    'sum without ("foo.bar") (task:errors:rate10s{job="s"})',
  ],
  ['topk(5, task:errors:rate10s{job="s"})'],
  ['count_values("value", task:errors:rate10s{job="s"})'],
  ["a - on() c", "a - on () c"],
  ["a - on(b) c", "a - on (b) c"],
  ["a - on(b) group_left(x) c", "a - on (b) group_left (x) c"],
  ["a - on(b) group_left(x, y) c", "a - on (b) group_left (x, y) c"],
  ["a - on(b) group_left c", "a - on (b) group_left () c"],
  ["a - on(b) group_left() (c)", "a - on (b) group_left () (c)"],
  ["a - ignoring(b) c", "a - ignoring (b) c"],
  ["a - ignoring() c", "a - c"],
  ["a - ignoring() group_left c", "a - ignoring () group_left () c"],
  ["a + fill(-23) b", "a + fill (-23) b"],
  ["a + fill_left(-23) b", "a + fill_left (-23) b"],
  ["a + fill_right(42) b", "a + fill_right (42) b"],
  ["a + fill_left(-23) fill_right(42) b", "a + fill_left (-23) fill_right (42) b"],
  ["a + fill_left(5) fill_right(5) b", "a + fill (5) b"],
  ["a + on(b) group_left fill(-23) c", "a + on (b) group_left () fill (-23) c"],
  ["up > bool 0"],
  ["a offset 1m"],
  ["a offset -7m"],
  ['a{c="d"}[5m] offset 1m'],
  ["a[5m] offset 1m"],
  ["a[12m] offset -3m"],
  ["a[1h:5m] offset 1m"],
  ["a anchored"],
  ["a[5m] anchored"],
  ['a{b="c"}[5m] anchored'],
  ['a{b="c"}[5m] anchored offset 1m'],
  ['a{b="c"}[5m] anchored @ start() offset 1m'],
  ["a smoothed"],
  ["a[5m] smoothed"],
  ['a{b="c"}[5m] smoothed'],
  ['a{b="c"}[5m] smoothed offset 1m'],
  ['a{b="c"}[5m] smoothed @ start() offset 1m'],
  ['{__name__="a"}'],
  ['a{b!="c"}[1m]'],
  ['a{b=~"c"}[1m]'],
  ['a{b!~"c"}[1m]'],
  ["a @ 10", "a @ 10.000"],
  ["a[1m] @ 10", "a[1m] @ 10.000"],
  ["a @ start()"],
  ["a @ end()"],
  ["a[1m] @ start()"],
  ["a[1m] @ end()"],
  ['{__name__="",a="x"}'],
  ['{"a.b"="c"}'],
  ['{"0"="1"}'],
  ['{"_0"="1"}', '{_0="1"}'],
  ['{""="0"}'],
  ['{``="0"}', '{""="0"}'],
  ["1048576"],
  ["foo[step()]"],
  ["foo[-step()]"],
  ["foo[(step())]"],
  ["foo[-(step())]"],
  ["foo offset step()"],
  ["foo offset -step()"],
  ["foo offset (step())"],
  ["foo offset -(step())"],
  ["foo offset +(5)", "foo offset (5)"],
  ["foo offset -(5)"],
  ["foo offset (5)"],
  ["foo offset (5m)"],
  ["foo[(5s)]"],
  ["foo[(5m):(1m)]"],
  ["foo offset +min_of(10s, 20s)", "foo offset min_of(10s, 20s)"],
  ["foo offset -min_of(10s, 20s)"],
  [
    "foo offset -min_of(10s, +max_of(step() ^ 2, 2))",
    "foo offset -min_of(10s, max_of(step() ^ 2, 2))",
  ],
  ["foo[200-min_of(-step()^+step(),1)]", "foo[200 - min_of(-step() ^ step(), 1)]"],
  ["foo[200 - min_of(step() + 10s, -max_of(step() ^ 2, 3))]"],
  ["foo[range()]"],
  ["foo[-range()]"],
  ["foo offset range()"],
  ["foo offset -range()"],
  ["foo[max_of(range(), 5s)]"],
  ["predict_linear(foo[1h], 3000)"],
  ['sum by("üüü") (foo)', 'sum by ("üüü") (foo)'],
  ['sum without("äää") (foo)', 'sum without ("äää") (foo)'],
  ['count by("ööö", job) (foo)', 'count by ("ööö", job) (foo)'],
];

// Removes positions so that trees can be compared structurally; matcher order is not
// significant (the printer sorts matchers, as Prometheus does).
function strip(e: unknown): unknown {
  if (Array.isArray(e)) return e.map(strip);
  if (e && typeof e === "object") {
    if ("matches" in e && "operator" in e) return String(e);
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(e)) {
      if (k === "matchers") out[k] = (v as unknown[]).map(String).sort();
      else if (k !== "pos") out[k] = strip(v);
    }
    return out;
  }
  return e;
}

Deno.test("exprToString matches Prometheus' String()", () => {
  for (const [input, output] of PRINT_CASES) {
    assert.equal(exprToString(parseExpr(input, { features: ALL })), output ?? input, input);
  }
});

Deno.test("printing and parsing again gives the same tree", () => {
  const extra = [
    "-1 ^ 2",
    "(-1) ^ 2",
    "x offset -(1m)",
    "x[1m + 30s] offset (2m * 3)",
    "x[10m:step()] @ 1.5 offset max_of(1s, range())",
    '{"my.metric", "a.b"="x\\ny"}',
    "a + on(b) group_right fill_left(1) fill_right(2) c",
    "a > bool on() b",
    "x[5m] anchored @ start() offset 1m",
    "x smoothed",
    "1e100 + 1e-7 + -0 + 0x10",
    '"\\u00e9\\x01\\a"',
    'count_values without () ("v", x)',
  ];
  for (const q of [...PRINT_CASES.map((c) => c[0]), ...extra]) {
    const e: Expr = parseExpr(q, { features: ALL });
    const printed = exprToString(e);
    assert.deepEqual(strip(parseExpr(printed, { features: ALL })), strip(e), `${q} -> ${printed}`);
  }
});

Deno.test("formatFloat is Go's FormatFloat(v, 'f', -1, 64)", () => {
  const cases: [number, string][] = [
    [0, "0"],
    [-0, "-0"],
    [1.5, "1.5"],
    [1e21, "1000000000000000000000"],
    [1e-7, "0.0000001"],
    [123456789.125, "123456789.125"],
    [-2.5e-3, "-0.0025"],
    [Infinity, "+Inf"],
    [-Infinity, "-Inf"],
    [NaN, "NaN"],
  ];
  for (const [v, s] of cases) assert.equal(formatFloat(v), s, String(v));
});

Deno.test("formatGoG is Go's %v for floats", () => {
  const cases: [number, string][] = [
    [0, "0"],
    [5, "5"],
    [-1.5, "-1.5"],
    [123456, "123456"],
    [1e6, "1e+06"],
    [1234567, "1.234567e+06"],
    [0.0001, "0.0001"],
    [0.00001, "1e-05"],
    [1e100, "1e+100"],
    [Infinity, "+Inf"],
  ];
  for (const [v, s] of cases) assert.equal(formatGoG(v), s, String(v));
});
