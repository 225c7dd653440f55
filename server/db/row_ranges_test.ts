import assert from "node:assert/strict";
import {
  allRows,
  countRows,
  intersectRows,
  limitRows,
  overlapsRows,
  pushRange,
  type RowRanges,
} from "./row_ranges.ts";

/** The rows of `r` as an explicit list, to compare against set arithmetic on plain arrays. */
function rowsOf(r: RowRanges): number[] {
  const out: number[] = [];
  for (let i = 0; i < r.length; i += 2) for (let x = r[i]; x < r[i + 1]; x++) out.push(x);
  return out;
}

function fromRows(rows: number[]): RowRanges {
  const out: RowRanges = [];
  for (const x of rows) pushRange(out, x, x + 1);
  return out;
}

Deno.test("pushRange merges adjacent and overlapping ranges, ignores empty ones", () => {
  const r: RowRanges = [];
  pushRange(r, 0, 2);
  pushRange(r, 2, 4);
  pushRange(r, 3, 5);
  pushRange(r, 7, 7);
  pushRange(r, 8, 9);
  assert.deepEqual(r, [0, 5, 8, 9]);
  assert.equal(countRows(r), 6);
  assert.deepEqual(allRows(0), []);
});

Deno.test("intersectRows equals set intersection on random inputs", () => {
  let seed = 42;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let n = 0; n < 200; n++) {
    const a = [...Array(60).keys()].filter(() => rnd() < 0.5);
    const b = [...Array(60).keys()].filter(() => rnd() < 0.5);
    const want = a.filter((x) => b.includes(x));
    assert.deepEqual(rowsOf(intersectRows(fromRows(a), fromRows(b))), want);
  }
});

Deno.test("limitRows keeps the first rows; overlapsRows finds any row in a window", () => {
  const r = [2, 5, 10, 12, 20, 30];
  assert.deepEqual(limitRows(r, 4), [2, 5, 10, 11]);
  assert.deepEqual(limitRows(r, 100), r);
  assert.deepEqual(limitRows(r, 0), []);
  assert.equal(overlapsRows(r, 0, 2), false);
  assert.equal(overlapsRows(r, 0, 3), true);
  assert.equal(overlapsRows(r, 5, 10), false);
  assert.equal(overlapsRows(r, 11, 12), true);
  assert.equal(overlapsRows(r, 30, 40), false);
  assert.equal(overlapsRows([], 0, 10), false);
});
