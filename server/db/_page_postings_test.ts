import assert from "node:assert/strict";
import { pagePostings, pushPostingRuns } from "./_page_postings.ts";
import { pushRange, type RowRanges } from "./row_ranges.ts";

Deno.test("page postings give the runs of rows a row-by-row scan gives", () => {
  let seed = 7;
  const random = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
  for (let round = 0; round < 200; round++) {
    const rows = 1 + random(300), entries = 1 + random(20);
    const defined = random(2)
      ? Uint8Array.from({ length: rows }, () => random(4) ? 1 : 0)
      : undefined;
    const values = defined ? defined.reduce((n, d) => n + d, 0) : rows;
    // Runs of equal values, as sorted data has, mixed with scattered ones.
    const indexes = new Int32Array(values);
    for (let k = 0; k < values; k++) indexes[k] = random(3) ? random(entries) : indexes[k - 1] ?? 0;
    const accepted = [...new Set(Array.from({ length: 1 + random(4) }, () => random(entries)))];
    const firstRow = random(1000);
    const want: RowRanges = [];
    for (let i = 0, k = 0; i < rows; i++) {
      if (defined && defined[i] === 0) continue;
      if (accepted.includes(indexes[k++])) pushRange(want, firstRow + i, firstRow + i + 1);
    }
    const postings = pagePostings(indexes, defined, rows, entries);
    assert.ok(postings);
    assert.equal(pagePostings(indexes, defined, rows, entries), postings, "cached per page");
    const got: RowRanges = [];
    pushPostingRuns(got, firstRow, postings, accepted);
    assert.deepEqual(got, want, `round ${round}`);
  }
});

Deno.test("page postings refuse an index outside the dictionary", () => {
  assert.equal(pagePostings(Int32Array.of(0, 3, 1), undefined, 3, 3), undefined);
  assert.equal(pagePostings(Int32Array.of(0, -1), undefined, 2, 3), undefined);
});
