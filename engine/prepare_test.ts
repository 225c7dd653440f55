import assert from "node:assert/strict";
import type { Expr } from "./ast.ts";
import { Features, parseExpr } from "./parser.ts";
import { prepareExpr } from "./prepare.ts";
import { exprToString } from "./printer.ts";

const ALL = new Set<string>(Object.values(Features));
const times = { start: 60_000, end: 120_000, step: 30_000 };

function prepare(q: string): Expr {
  return prepareExpr(parseExpr(q, { features: ALL }), times);
}

/** Lists the printed subtrees wrapped as step invariant, outermost first. */
function invariants(e: Expr, out: string[] = []): string[] {
  if (e.kind === "StepInvariantExpr") out.push(exprToString(e.expr));
  for (const v of Object.values(e)) {
    if (v && typeof v === "object" && "kind" in v) invariants(v as Expr, out);
    if (Array.isArray(v)) {
      for (const a of v) if (a && typeof a === "object" && "kind" in a) invariants(a, out);
    }
  }
  return out;
}

Deno.test("prepare wraps the largest step-invariant subtrees", () => {
  assert.deepEqual(invariants(prepare("sum(rate(x[5m] @ 100))")), ["sum(rate(x[5m] @ 100.000))"]);
  assert.deepEqual(invariants(prepare("x @ 100 + y")), ["x @ 100.000"]);
  // time() depends on the step: only the other side is invariant.
  assert.deepEqual(invariants(prepare("time() - x @ 50")), ["x @ 50.000"]);
  // Literals alone are not wrapped; selectors without @ never are.
  assert.deepEqual(invariants(prepare("x + 1")), []);
  // timestamp() of an @ selector is invariant, of anything else not.
  assert.deepEqual(invariants(prepare("timestamp(x @ 10)")), ["timestamp(x @ 10.000)"]);
});

Deno.test("prepare resolves @ start()/end() and query-context functions", () => {
  const e = prepare("x @ end() + y @ start()");
  assert.equal(e.kind, "StepInvariantExpr");
  assert.match(exprToString(e), /x @ 120\.000 \+ y @ 60\.000/);
  const r = prepare("vector(range() + step())");
  assert.match(exprToString(r), /vector\(60 \+ 30\)/);
});

Deno.test("prepare computes duration expressions", () => {
  const m = prepare("rate(x[1m + 30s])");
  assert.ok(m.kind === "Call");
  if (m.kind !== "Call") return;
  const arg = m.args[0];
  assert.ok(arg.kind === "MatrixSelector" && arg.range === 90_000);
  const s = prepare("max_over_time(x[2 * step():step()])");
  if (s.kind === "Call" && s.args[0].kind === "SubqueryExpr") {
    assert.equal(s.args[0].range, 60_000);
    assert.equal(s.args[0].step, 30_000);
  } else assert.fail("expected a subquery argument");
  assert.throws(() => prepare("rate(x[1m - 2m])"), /duration must be greater than 0/);
});

Deno.test("prepare does not modify the parsed tree", () => {
  const parsed = parseExpr("x @ end()", { features: ALL });
  const before = exprToString(parsed);
  prepareExpr(parsed, times);
  assert.equal(exprToString(parsed), before);
});

Deno.test("duration errors give byte offsets, as Prometheus does", () => {
  const fail = (q: string) => () =>
    prepareExpr(parseExpr(q, { features: ALL }), { ...times, query: q });
  assert.throws(fail("rate(x[1m - 2m])"), { message: "7:14: duration must be greater than 0" });
  // "é" is one UTF-16 unit but two bytes.
  assert.throws(fail('rate(x{l="é"}[1m - 2m])'), {
    message: "15:22: duration must be greater than 0",
  });
  // A zero known only at preparation (a literal zero is a parse error).
  assert.throws(fail('x{l="é"}[1m / (step() - step())]'), {
    message: "10:32: division by zero",
  });
});
