import assert from "node:assert/strict";
import { CounterResetHint, type FloatHistogram } from "../model/histogram.ts";
import { labelsFromRecord, labelsToRecord } from "../model/labels.ts";
import { Matcher, MatchType } from "../model/matchers.ts";
import { MemoryQueryable, MemoryQueryableError } from "./memory_queryable.ts";
import { collectSeries } from "../model/series_set.ts";
import { isStaleNaN, type Series, STALE_NAN, ValueType } from "../model/series.ts";

function hist(count: number): FloatHistogram {
  return {
    counterResetHint: CounterResetHint.Unknown,
    schema: 0,
    zeroThreshold: 0,
    zeroCount: 0,
    count,
    sum: count,
    positiveSpans: [{ offset: 0, length: 1 }],
    negativeSpans: [],
    positiveBuckets: Float64Array.of(count),
    negativeBuckets: new Float64Array(0),
    customValues: new Float64Array(0),
  };
}

function samples(s: Series): [number, number][] {
  const it = s.iterator();
  const out: [number, number][] = [];
  for (let t = it.next(); t !== ValueType.None; t = it.next()) {
    out.push([it.atT(), t === ValueType.Float ? it.atFloat() : -it.atFloatHistogram().count]);
  }
  return out;
}

function store(): MemoryQueryable {
  const q = new MemoryQueryable();
  const a = labelsFromRecord({ __name__: "up", job: "b" });
  const b = labelsFromRecord({ __name__: "up", job: "a", instance: "x" });
  const c = labelsFromRecord({ __name__: "down", job: "a" });
  for (let i = 0; i < 40; i++) q.append(a, i * 1000, i);
  q.append(b, 5000, 1);
  q.append(c, 100_000, 7);
  return q;
}

const eq = (name: string, value: string) => new Matcher(MatchType.Equal, name, value);
const re = (name: string, value: string) => new Matcher(MatchType.Regexp, name, value);

Deno.test("MemoryQueryable.select returns matching series sorted by labels", async () => {
  const q = store();
  const { series } = await collectSeries(
    q.select([re("__name__", ".+")], { start: 0, end: 200_000 }),
  );
  assert.deepEqual(series.map((s) => labelsToRecord(s.labels)), [
    { __name__: "down", job: "a" },
    { __name__: "up", instance: "x", job: "a" },
    { __name__: "up", job: "b" },
  ]);
  const one = await collectSeries(
    q.select([eq("__name__", "up"), eq("instance", "")], { start: 0, end: 1e9 }),
  );
  assert.deepEqual(one.series.map((s) => labelsToRecord(s.labels)), [{ __name__: "up", job: "b" }]);
});

Deno.test("MemoryQueryable.select trims samples to the inclusive hinted range", async () => {
  const q = store();
  const { series } = await collectSeries(q.select([eq("job", "b")], { start: 3000, end: 5000 }));
  assert.equal(series.length, 1);
  assert.deepEqual(samples(series[0]), [[3000, 3], [4000, 4], [5000, 5]]);
  // A series with no sample in range is not returned at all.
  const none = await collectSeries(q.select([eq("__name__", "down")], { start: 0, end: 99_999 }));
  assert.equal(none.series.length, 0);
  const limited = await collectSeries(
    q.select([re("job", "a|b")], { start: 0, end: 1e9, limit: 2 }),
  );
  assert.equal(limited.series.length, 2);
});

Deno.test("MemoryQueryable keeps samples in time order and replaces equal timestamps", async () => {
  const q = new MemoryQueryable();
  const l = labelsFromRecord({ __name__: "m" });
  for (const t of [50, 10, 30, 20, 40]) q.append(l, t, t / 10);
  q.append(l, 30, 99);
  q.append(l, 20, hist(4));
  q.append(l, 60, STALE_NAN);
  const { series } = await collectSeries(q.select([eq("__name__", "m")], { start: 0, end: 100 }));
  const it = series[0].iterator();
  assert.deepEqual(samples(series[0]).slice(0, 5), [[10, 1], [20, -4], [30, 99], [40, 4], [50, 5]]);
  assert.equal(it.seek(60), ValueType.Float);
  assert.ok(isStaleNaN(it.atFloat()));
  // A histogram replaced by a float at the same timestamp is a float again.
  q.append(l, 20, 2);
  const again = await collectSeries(q.select([eq("__name__", "m")], { start: 20, end: 20 }));
  assert.deepEqual(samples(again.series[0]), [[20, 2]]);
});

Deno.test("MemoryQueryable grows beyond its initial capacity with interleaved histograms", async () => {
  const q = new MemoryQueryable();
  const l = labelsFromRecord({ __name__: "h" });
  for (let i = 999; i >= 0; i--) q.append(l, i, i % 3 === 0 ? hist(i) : i);
  const { series } = await collectSeries(q.select([], { start: 0, end: 1000 }));
  const got = samples(series[0]);
  assert.equal(got.length, 1000);
  for (let i = 0; i < 1000; i++) assert.deepEqual(got[i], [i, i % 3 === 0 ? -i : i]);
});

Deno.test("MemoryQueryable.labelNames and labelValues filter by matchers and time", async () => {
  const q = store();
  const all = { start: 0, end: 1e9 };
  assert.deepEqual((await q.labelNames([], all)).values, ["__name__", "instance", "job"]);
  assert.deepEqual((await q.labelNames([eq("job", "b")], all)).values, ["__name__", "job"]);
  assert.deepEqual((await q.labelValues("job", [], all)).values, ["a", "b"]);
  assert.deepEqual((await q.labelValues("job", [], { start: 0, end: 1000 })).values, ["b"]);
  assert.deepEqual((await q.labelValues("__name__", [], { ...all, limit: 1 })).values, ["down"]);
  assert.deepEqual((await q.labelValues("nope", [], all)).values, []);
});

Deno.test("MemoryQueryable rejects bad input and honours abort signals", async () => {
  const q = new MemoryQueryable();
  assert.throws(() => q.append([], 0, 1), MemoryQueryableError);
  assert.throws(() => q.append(labelsFromRecord({ a: "b" }), 0.5, 1), MemoryQueryableError);
  assert.throws(
    () => q.append([{ name: "b", value: "1" }, { name: "a", value: "2" }], 0, 1),
    MemoryQueryableError,
  );
  const ac = new AbortController();
  ac.abort(new Error("stop"));
  await assert.rejects(() => q.select([], { start: 0, end: 1 }, ac.signal).next(), /stop/);
  q.append(labelsFromRecord({ a: "b" }), 0, 1);
  assert.equal(q.seriesCount, 1);
  q.clear();
  assert.equal(q.seriesCount, 0);
});

Deno.test("MemoryQueryable reports counter reset hints as a TSDB reads them back from chunks", async () => {
  const { Unknown, CounterReset, NotCounterReset, Gauge } = CounterResetHint;
  const l = labelsFromRecord({ __name__: "h" });
  const withHint = (count: number, hint: CounterResetHint = Unknown) => ({
    ...hist(count),
    counterResetHint: hint,
  });
  const input: [number | FloatHistogram, CounterResetHint][] = [
    [withHint(1), Unknown], // first histogram: a new chunk
    [withHint(2, CounterReset), Unknown], // an explicit reset cuts a chunk
    [withHint(3), NotCounterReset],
    [withHint(1), Unknown], // count dropped: detected reset, new chunk
    [withHint(2, NotCounterReset), NotCounterReset],
    [{ ...withHint(3), schema: 1 }, Unknown], // layout change: new chunk
    [withHint(4, Gauge), Gauge], // gauges read as gauges
    [withHint(1, Gauge), Gauge],
    [withHint(5), Unknown], // back to a counter chunk
    [7, Unknown], // a float sample ends the histogram chunk
    [withHint(6), Unknown],
    [STALE_NAN, Unknown], // a stale marker stays in the chunk...
    [withHint(7), Unknown], // ...but only stale samples may follow it
    [withHint(8), NotCounterReset],
  ];
  const q = new MemoryQueryable({ tsdbCounterResetHints: true });
  const plain = new MemoryQueryable();
  input.forEach(([v], t) => {
    q.append(l, t, v);
    plain.append(l, t, v);
  });
  const hints = async (store: MemoryQueryable) => {
    const it = (await collectSeries(store.select([], { start: 0, end: 100 }))).series[0].iterator();
    const out: (CounterResetHint | "float")[] = [];
    for (let vt = it.next(); vt !== ValueType.None; vt = it.next()) {
      out.push(vt === ValueType.Float ? "float" : it.atFloatHistogram().counterResetHint);
    }
    return out;
  };
  const expected = input.map(([v, h]) => typeof v === "number" ? "float" : h);
  assert.deepEqual(await hints(q), expected);
  // Without the option the stored hints come back unchanged.
  assert.deepEqual(
    await hints(plain),
    input.map(([v]) => typeof v === "number" ? "float" : v.counterResetHint),
  );
  // A bucket that lost observations is a reset even when the total grew.
  const b = new MemoryQueryable({ tsdbCounterResetHints: true });
  const two = (a: number, c: number): FloatHistogram => ({
    ...hist(a + c),
    positiveSpans: [{ offset: 0, length: 2 }],
    positiveBuckets: Float64Array.of(a, c),
  });
  b.append(l, 0, two(2, 2));
  b.append(l, 1, two(3, 3));
  b.append(l, 2, two(1, 9));
  assert.deepEqual(await hints(b), [Unknown, NotCounterReset, Unknown]);
});

Deno.test("MemoryQueryable TSDB hints: chunks end at 2h boundaries", async () => {
  const q = new MemoryQueryable({ tsdbCounterResetHints: true });
  const l = labelsFromRecord({ __name__: "h" });
  const hour = 3600_000;
  for (const [t, n] of [[0, 1], [hour, 2], [2 * hour - 1, 3], [2 * hour, 4], [3 * hour, 5]]) {
    q.append(l, t, hist(n));
  }
  const it = (await collectSeries(q.select([], { start: 0, end: 4 * hour }))).series[0].iterator();
  const hints: CounterResetHint[] = [];
  while (it.next() !== ValueType.None) hints.push(it.atFloatHistogram().counterResetHint);
  const { Unknown, NotCounterReset } = CounterResetHint;
  assert.deepEqual(hints, [Unknown, NotCounterReset, NotCounterReset, Unknown, NotCounterReset]);
});

Deno.test("MemoryQueryable keeps start timestamps aligned with their samples", async () => {
  const q = new MemoryQueryable();
  const a = labelsFromRecord({ __name__: "a" });
  // Out of order, past the initial capacity, the first start timestamp arriving late.
  for (let i = 39; i >= 0; i--) q.append(a, i * 10, i, i % 2 === 0 ? 0 : i * 10 - 5);
  q.append(a, 40 * 10, 40, 7); // replaces sample 40 with a start timestamp
  q.append(labelsFromRecord({ __name__: "b" }), 5, 1);
  const { series } = await collectSeries(q.select([], { start: 100, end: 400 }));
  const it = series[0].iterator();
  const got: number[] = [];
  for (let t = it.next(); t !== ValueType.None; t = it.next()) got.push(it.atST!());
  const want: number[] = [];
  for (let i = 10; i < 40; i++) want.push(i % 2 === 0 ? 0 : i * 10 - 5);
  assert.deepEqual(got, [...want, 7]);
  // A series stored without start timestamps reports them as unknown (0).
  const b = (await collectSeries(q.select([], { start: 0, end: 10 }))).series.find((s) =>
    s.labels[0].value === "b"
  )!;
  const bi = b.iterator();
  bi.next();
  assert.equal(bi.atST!(), 0);
  assert.throws(() => q.append(a, 1, 1, 0.5), MemoryQueryableError);
});
