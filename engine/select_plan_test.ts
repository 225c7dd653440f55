import assert from "node:assert/strict";
import { Features, parseExpr } from "./parser.ts";
import { prepareExpr } from "./prepare.ts";
import { planSelects } from "./select_plan.ts";

const MIN = 60_000;
const ALL = new Set<string>(Object.values(Features));

function plan(q: string, start: number, end: number, step: number) {
  const e = prepareExpr(parseExpr(q, { features: ALL }), { start, end, step });
  return planSelects(e, start, end, step, 5 * MIN).map((
    p,
  ) => [p.hints.start, p.hints.end, p.hints.range]);
}

Deno.test("planSelects covers lookback, ranges and offsets", () => {
  // Instant selector at 10m: (5m, 10m].
  assert.deepEqual(plan("x", 10 * MIN, 10 * MIN, 0), [[5 * MIN + 1, 10 * MIN, undefined]]);
  // Range selector with offset over a range query.
  assert.deepEqual(plan("rate(x[2m] offset 1m)", 10 * MIN, 20 * MIN, MIN), [
    [7 * MIN + 1, 19 * MIN, 2 * MIN],
  ]);
  // Nested subqueries add their ranges and offsets.
  assert.deepEqual(
    plan("max_over_time(max_over_time(x[1m])[5m:1m] offset 2m)", 30 * MIN, 30 * MIN, 0),
    [
      [22 * MIN + 1, 28 * MIN, MIN],
    ],
  );
});

Deno.test("planSelects follows @ on selectors and subqueries", () => {
  assert.deepEqual(plan("x @ 600", 0, 30 * MIN, MIN), [[5 * MIN + 1, 10 * MIN, undefined]]);
  // @ on a subquery fixes its time; the inner selector reads around it.
  assert.deepEqual(plan("max_over_time(x[5m:1m] @ 1200)", 0, 30 * MIN, MIN), [
    [10 * MIN + 1, 20 * MIN, undefined],
  ]);
  // info()'s label filter is not a selection.
  assert.equal(plan('info(x, {a="b"})', 0, 0, 0).length, 1);
});
