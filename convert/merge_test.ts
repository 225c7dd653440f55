import assert from "node:assert/strict";
import { type Labels, labelsFromRecord } from "../model/labels.ts";
import { type MergedSeries, mergeSeries, UnsortedStreamError } from "./merge.ts";
import { compareSeries, type SortEntry } from "./series_order.ts";

const SORT = ["__name__"];

function entries(source: number, sets: Labels[]): SortEntry[] {
  return sets.map((labels, i) => ({ labels, source, ref: source * 1000 + i }));
}

async function collect(it: AsyncIterable<MergedSeries>): Promise<MergedSeries[]> {
  const out: MergedSeries[] = [];
  for await (const m of it) out.push(m);
  return out;
}

async function* later<T>(items: T[]): AsyncIterable<T> {
  for (const i of items) {
    await Promise.resolve();
    yield i;
  }
}

Deno.test("mergeSeries interleaves sorted streams and joins equal series across them", async () => {
  // 60 label sets; each of three streams holds an overlapping subset, sorted.
  const all = Array.from({ length: 60 }, (_, i) =>
    labelsFromRecord({
      ...(i % 13 ? { __name__: `m${i % 5}` } : {}),
      instance: `i${i}`,
      ...(i % 3 ? { job: "j" } : {}),
    })).sort((a, b) => compareSeries(a, b, SORT));
  const pick = (k: number) => all.filter((_, i) => (i * 7 + k) % 3 !== 0);
  const streams = [entries(0, pick(0)), entries(1, pick(1)), entries(2, pick(2))];
  // Sync and async streams mix.
  const got = await collect(mergeSeries([streams[0], later(streams[1]), streams[2]], SORT));
  assert.deepEqual(got.map((m) => m.labels), all);
  for (const m of got) {
    const want = streams.flatMap((s) => s.filter((e) => e.labels === m.labels))
      .map((e) => ({ source: e.source, ref: e.ref }));
    assert.deepEqual(m.refs, want, JSON.stringify(m.labels));
  }
  // The same label set from two sources (different objects) is one series.
  const a = labelsFromRecord({ __name__: "x" }), b = labelsFromRecord({ __name__: "x" });
  const joined = await collect(mergeSeries([entries(0, [a]), entries(1, [b])], SORT));
  assert.deepEqual(joined, [{
    labels: a,
    refs: [{ source: 0, ref: 0 }, { source: 1, ref: 1000 }],
  }]);
});

Deno.test("mergeSeries rejects a stream that goes backwards", async () => {
  const s = entries(4, [labelsFromRecord({ __name__: "b" }), labelsFromRecord({ __name__: "a" })]);
  await assert.rejects(collect(mergeSeries([s], SORT)), (e: unknown) => {
    assert.ok(e instanceof UnsortedStreamError);
    assert.equal(e.source, 4);
    return true;
  });
});
