import assert from "node:assert/strict";
import { labelsFromRecord, labelsToString } from "./labels.ts";
import type { SeriesSet } from "./queryable.ts";
import { ArraySampleIterator, type Series } from "./series.ts";
import { collectSeries, eachSeries, IterableSeriesSet } from "./series_set.ts";

const series = (n: number): Series[] =>
  Array.from({ length: n }, (_, i) => ({
    labels: labelsFromRecord({ i: String(i).padStart(2, "0") }),
    iterator: () => new ArraySampleIterator([i], [i]),
  }));

const names = (s: readonly Series[]) => s.map((x) => labelsToString(x.labels));

Deno.test("IterableSeriesSet hands out its series in batches, then null", async () => {
  const set = new IterableSeriesSet(series(7), { batchSize: 3, warnings: ["w"] });
  const sizes: number[] = [];
  const got: Series[] = [];
  for (let b = await set.next(); b !== null; b = await set.next()) {
    sizes.push(b.length);
    got.push(...b);
  }
  assert.deepEqual(sizes, [3, 3, 1]);
  assert.deepEqual(names(got), names(series(7)));
  assert.equal(await set.next(), null);
  assert.deepEqual(set.warnings(), ["w"]);
  assert.equal(await new IterableSeriesSet([]).next(), null);
});

Deno.test("IterableSeriesSet pulls its source lazily and stops it on close or abort", async () => {
  let pulled = 0;
  let stopped = false;
  function* source(): Generator<Series> {
    try {
      for (const s of series(100)) {
        pulled++;
        yield s;
      }
    } finally {
      stopped = true;
    }
  }
  const set = new IterableSeriesSet(source(), { batchSize: 4 });
  assert.equal((await set.next())?.length, 4);
  assert.equal(pulled, 4);
  await set.close();
  assert.ok(stopped);
  assert.equal(await set.next(), null);

  const ac = new AbortController();
  const aborted = new IterableSeriesSet(series(10), { signal: ac.signal });
  ac.abort(new Error("stop"));
  await assert.rejects(() => aborted.next(), /stop/);
  const failing = new IterableSeriesSet(
    (function* () {
      yield* series(1);
      throw new Error("broken store");
    })(),
    { batchSize: 5 },
  );
  await assert.rejects(() => failing.next(), /broken store/);
  assert.equal(await failing.next(), null);
});

/** A set of `n` series in batches of 2 that records closing and can fail at batch `failAt`. */
function recording(n: number, failAt = -1): SeriesSet & { closed: number } {
  const all = series(n);
  let batch = 0;
  return {
    closed: 0,
    next() {
      if (batch === failAt) return Promise.reject(new Error("read failed"));
      const b = all.slice(batch * 2, ++batch * 2);
      return Promise.resolve(b.length > 0 ? b : null);
    },
    warnings: () => ["done"],
    close() {
      this.closed++;
      return Promise.resolve();
    },
  };
}

Deno.test("collectSeries reads a set to its end and closes it, also on failure", async () => {
  const set = recording(5);
  const got = await collectSeries(set);
  assert.deepEqual(names(got.series), names(series(5)));
  assert.deepEqual(got.warnings, ["done"]);
  assert.equal(set.closed, 1);
  const failing = recording(5, 1);
  await assert.rejects(() => collectSeries(failing), /read failed/);
  assert.equal(failing.closed, 1);
});

Deno.test("eachSeries yields series one by one and closes the set when stopped early", async () => {
  const set = recording(9);
  const seen: string[] = [];
  for await (const s of eachSeries(set)) {
    seen.push(labelsToString(s.labels));
    if (seen.length === 3) break;
  }
  assert.deepEqual(seen, names(series(3)));
  assert.equal(set.closed, 1);
});
