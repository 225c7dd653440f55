import assert from "node:assert/strict";
import type { FloatHistogram } from "../../model/histogram.ts";
import { labelsToRecord } from "../../model/labels.ts";
import { isStaleNaN } from "../../model/series.ts";
import {
  type Command,
  type EvalCommand,
  type LoadCommand,
  parseGoScalar,
  parseScript,
  scriptLines,
} from "./script.ts";

function only<K extends Command["kind"]>(
  cmds: Command[],
  kind: K,
): Extract<Command, { kind: K }>[] {
  return cmds.filter((c): c is Extract<Command, { kind: K }> => c.kind === kind);
}

function evals(script: string): EvalCommand[] {
  return only(parseScript(script), "eval");
}

Deno.test("scriptLines trims lines and blanks whole-line comments only", () => {
  assert.deepEqual(scriptLines("  a b \t\n# c\n\t  # d\ne # f\r"), ["a b", "", "", "e # f"]);
});

Deno.test("parseScript splits commands into blocks at blank lines and comments", () => {
  const cmds = parseScript(`
# a comment
load 30s
  m{a="1"} 1 2 3
  m{a="2"} 5
# comment ends the block
clear
eval instant at 1m m
  m{a="1"} 3

eval range from 0 to 1m step 30s m{a="2"}
  m{a="2"} 5 _ _
`);
  assert.deepEqual(cmds.map((c) => c.kind), ["load", "clear", "eval", "eval"]);
  const load = cmds[0] as LoadCommand;
  assert.equal(load.error, undefined);
  assert.equal(load.line, 3);
  assert.equal(load.interval, 30_000);
  assert.deepEqual(load.series.map((s) => [labelsToRecord(s.labels), s.values]), [
    [{ __name__: "m", a: "1" }, [1, 2, 3]],
    [{ __name__: "m", a: "2" }, [5]],
  ]);
  const [inst, rng] = cmds.slice(2) as EvalCommand[];
  assert.equal(inst.isRange, false);
  assert.equal(inst.evalTime, 60_000);
  assert.equal(inst.expr, "m");
  assert.equal(inst.line, 8);
  assert.deepEqual([...inst.expected.values()].map((e) => [e.pos, e.values]), [[1, [3]]]);
  assert.equal(rng.isRange, true);
  assert.deepEqual([rng.start, rng.end, rng.step], [0, 60_000, 30_000]);
  assert.equal(rng.expr, 'm{a="2"}');
  assert.deepEqual([...rng.expected.values()][0].values, [5, null, null]);
});

Deno.test("parseScript: a later load line for the same series replaces the earlier one", () => {
  const [load] = only(parseScript("load 1m\n  x 1 2\n  x 7 stale\n"), "load");
  assert.equal(load.series.length, 1);
  assert.equal(load.series[0].values[0], 7);
  assert.ok(isStaleNaN(load.series[0].values[1] as number));
});

Deno.test("parseScript: load_with_nhcb, @st lines and histogram values", () => {
  const [load] = only(
    parseScript(
      'load_with_nhcb 5m\n  h_bucket{le="1"} 1 2\n  c@st 0 -1s\n  c 1 2\n  n {{count:3 buckets:[1 2]}}x1\n',
    ),
    "load",
  );
  assert.equal(load.error, undefined);
  assert.equal(load.withNHCB, true);
  assert.equal(load.interval, 300_000);
  assert.deepEqual(load.series.map((s) => labelsToRecord(s.labels).__name__), [
    "h_bucket",
    "c",
    "n",
  ]);
  const h = load.series[2].values[1] as FloatHistogram;
  assert.equal(h.count, 3);
  assert.deepEqual([...h.positiveBuckets], [1, 2]);
  assert.deepEqual(load.series[1].stOffsets, [0, -1000]);
  assert.equal(load.series[0].stOffsets, undefined);
});

Deno.test("parseScript: @st sequences expand as upstream's and are checked against their line", () => {
  const [load] = only(
    parseScript(
      "load 1m\n  a@st _ -30s-1mx2 _x2 5sx1 +1m 1ms+2msx1 -0ms\n  a 1 2 3 4 5 6 7 8 9 10 11 12\n",
    ),
    "load",
  );
  assert.equal(load.error, undefined);
  // One, three, two omitted, two, one, two and one offsets: twelve in all.
  assert.deepEqual(load.series[0].stOffsets, [
    null,
    -30_000,
    -90_000,
    -150_000,
    null,
    null,
    5000,
    5000,
    60_000,
    1,
    3,
    0,
  ]);
  const err = (text: string) => only(parseScript(`load 1m\n${text}\n`), "load")[0].error;
  assert.equal(err("  a@st 0 0\n  a 1"), "line 2: @st line has 2 values but sample line has 1");
  assert.equal(
    err("  a@st 0\n  b 1"),
    "line 2: @st metric does not match the following sample line metric",
  );
  assert.equal(err("  a 1\n  a@st 0"), "line 3: @st line has no following sample line");
  assert.equal(err("  a@st 0\n  a@st 0\n  a 1"), "line 2: @st line has no following sample line");
  assert.match(
    err("  a@st 1mx\n  a 1") ?? "",
    /^line 2: invalid @st sequence: invalid ST item "1mx"/,
  );
  assert.match(err("  a@st 1m*2\n  a 1") ?? "", /unexpected character "\*" after duration/);
});

Deno.test("parseScript: expect lines, their validation and positions", () => {
  const [ev] = evals(`
eval instant at 0 sort(x)
  expect ordered
  expect warn msg:  something went wrong  
  expect info regex: ^PromQL info: .* \\(1:6\\)$
  expect no_info
  x{a="b"} 1
  expect fail
  x{a="c"} 2
`);
  assert.equal(ev.error, "line 6: invalid expect lines, info and no_info cannot be used together");
  const [ok] = evals(`
eval instant at 0 sort(x)
  expect ordered
  expect warn msg:  something went wrong  
  expect info regex: ^PromQL info: .* \\(1:6\\)$
  x{a="b"} 1
  expect no_warn regex:x
  x{a="c"} 2
`);
  assert.match(ok.error ?? "", /warn and no_warn cannot be used together/);
  const [good] = evals(`
eval instant at 0 sort(x)
  expect ordered
  expect warn msg:  something went wrong  
  expect info regex: ^PromQL info: .* \\(1:6\\)$
  x{a="b"} 1
  x{a="c"} 2
`);
  assert.equal(good.error, undefined);
  assert.equal(good.expects.ordered.length, 1);
  assert.ok(good.expects.ordered[0].test("anything"));
  const warn = good.expects.warn[0];
  assert.equal(warn.message, "something went wrong");
  assert.ok(warn.test("something went wrong"));
  assert.ok(!warn.test("something went wrong (1:1)"));
  const info = good.expects.info[0];
  assert.ok(info.test("PromQL info: ignored histogram (1:6)"));
  assert.ok(!info.test("PromQL info: ignored histogram (1:7)"));
  // Expect lines do not count as result positions.
  assert.deepEqual([...good.expected.values()].map((e) => e.pos), [1, 2]);
});

Deno.test("parseScript: regex expectations are unanchored RE2", () => {
  const [ev] = evals("eval instant at 0 x\n  expect fail regex:bad (thing|stuff)\n");
  assert.ok(ev.expects.fail[0].test("a bad stuff happened"));
  assert.ok(!ev.expects.fail[0].test("bad"));
  const [bad] = evals("eval instant at 0 x\n  expect fail regex:(unclosed\n");
  assert.match(bad.error ?? "", /invalid regex \(unclosed for fail/);
  const [two] = evals("eval instant at 0 x\n  expect fail\n  expect fail msg:y\n");
  assert.match(two.error ?? "", /multiple expect fail lines/);
  const [typo] = evals("eval instant at 0 x\n  expect failure\n");
  assert.match(typo.error ?? "", /invalid expect statement/);
});

Deno.test("parseScript: a scalar line ends the block; the next line must be a command", () => {
  const cmds = parseScript(
    "eval instant at 10s 1 + 1\n  0x10\n  bogus 1\n\neval instant at 0 -Inf\n  -inf\n",
  );
  assert.deepEqual(cmds.map((c) => c.kind), ["eval", "problem", "eval"]);
  assert.equal((cmds[0] as EvalCommand).expectScalar, 16);
  assert.equal((cmds[0] as EvalCommand).expected.size, 0);
  assert.match((cmds[1] as { error: string }).error, /invalid command "bogus 1"/);
  assert.equal((cmds[2] as EvalCommand).expectScalar, -Infinity);
});

Deno.test("parseGoScalar follows ParseInt(s, 0, 64) then ParseFloat", () => {
  assert.equal(parseGoScalar("42"), 42);
  assert.equal(parseGoScalar("-0x1f"), -31);
  assert.equal(parseGoScalar("0o17"), 15);
  assert.equal(parseGoScalar("1e3"), 1000);
  assert.equal(parseGoScalar("+.5"), 0.5);
  assert.equal(parseGoScalar("INFINITY"), Infinity);
  assert.ok(Number.isNaN(parseGoScalar("nan")!));
  assert.equal(parseGoScalar("1_000"), 1000);
  assert.equal(parseGoScalar("x 1"), undefined);
  assert.equal(parseGoScalar("{} 1"), undefined);
  assert.equal(parseGoScalar("--1"), undefined);
  assert.equal(parseGoScalar(""), undefined);
});

Deno.test("parseScript: deprecated eval_* forms and expected_fail_* lines", () => {
  const cmds = evals(`
eval_fail instant at 1m foo(
  expected_fail_message unexpected end
  x 1

eval_fail range from 0 to 1m step 1m x
  expected_fail_regexp bad.*data

eval_warn instant at 0 x

eval_info range from 0 to 0 step 1s x

eval_ordered instant at 0 x
  x 1
`);
  assert.equal(cmds.length, 5);
  assert.equal(cmds[0].fail, true);
  assert.equal(cmds[0].expectedFailMessage, "unexpected end");
  assert.equal(cmds[0].expected.size, 0);
  assert.ok(cmds[1].expectedFailRegexp?.test("some bad data here"));
  assert.equal(cmds[2].warn, true);
  assert.equal(cmds[3].info, true);
  assert.equal(cmds[3].isRange, true);
  assert.equal(cmds[4].ordered, true);
  // Outside an eval_fail block the deprecated line is an ordinary (bad) series line.
  const [plain] = evals("eval instant at 0 x\n  expected_fail_message boom\n");
  assert.ok(plain.error);
});

Deno.test("parseScript: expect range vector and expect string", () => {
  const [rv, str, raw] = evals(`
eval instant at 1m x[1m]
  expect range vector from 0 to 1m step 30s
  x 1 2 3

eval instant at 0 "a\\tb"
  expect string "a\\tb"

eval instant at 0 \`q\`
  expect string \`q\\n\`
`);
  assert.equal(rv.error, undefined);
  assert.deepEqual([rv.start, rv.end, rv.step, rv.evalTime], [0, 60_000, 30_000, 60_000]);
  assert.equal(rv.excludeFromRangeQuery, true);
  assert.deepEqual([...rv.expected.values()][0].values, [1, 2, 3]);
  assert.equal(str.expectedString, "a\tb");
  assert.equal(str.excludeFromRangeQuery, true);
  assert.equal(raw.expectedString, "q\\n");
  const [bad] = evals('eval instant at 0 "x"\n  expect string x\n');
  assert.match(bad.error ?? "", /correctly quoted/);
  const [empty] = evals('eval instant at 0 "x"\n  expect string\n');
  assert.match(empty.error ?? "", /a quoted string literal is required/);
});

Deno.test("parseScript: malformed blocks carry errors and cost only themselves", () => {
  const cmds = parseScript(`
load 1x
  a 1

load 1m
  a 1 zz

eval instant at 0 a
  a 1 2

eval range from 2m to 1m step 1m a

eval instant at 1q a

eval sometime a

eval instant at 0 a
  a 1
`);
  const loads = only(cmds, "load");
  assert.match(loads[0].error ?? "", /invalid step definition "1x"/);
  assert.match(loads[1].error ?? "", /line 6: .*zz/);
  const ev = only(cmds, "eval");
  assert.match(ev[0].error ?? "", /expecting multiple values in instant evaluation not allowed/);
  assert.match(ev[1].error ?? "", /end timestamp \(1m\) is before start timestamp \(2m\)/);
  assert.match(ev[2].error ?? "", /invalid timestamp definition "1q"/);
  assert.match(ev[3].error ?? "", /invalid evaluation command/);
  assert.equal(ev[4].error, undefined);
  assert.equal(ev.length, 5);
});
