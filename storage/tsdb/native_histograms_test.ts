import assert from "node:assert/strict";
import type { FloatHistogram } from "../../model/histogram.ts";
import { ValueType } from "../../model/series.ts";
import { Block } from "./block.ts";
import { Encoding } from "./chunks_reader.ts";
import { HistogramChunkEncoder, HistogramIterator } from "./histogram.ts";
import type { CounterResetHeader } from "./histogram_meta.ts";

// Blocks written by a Prometheus 2.42 server scraping protobuf native histograms, and the same
// samples as its HTTP API returned them (see testdata/native_histograms/gen.ts).
const DIR = new URL("./testdata/native_histograms/", import.meta.url).pathname;

type ApiBucket = [number, string, string, string];
interface ApiHistogram {
  count: string;
  sum: string;
  buckets?: ApiBucket[];
}
interface ApiResponse {
  data: { result: { metric: Record<string, string>; histograms?: [number, ApiHistogram][] }[] };
}

/** Bucket boundary as Prometheus computes it: 2^(idx * 2^-schema). */
function bound(idx: number, schema: number): number {
  return schema <= 0 ? 2 ** (idx * 2 ** -schema) : 2 ** (idx / 2 ** schema);
}

/** The non-empty buckets of a histogram in the API's order and shape. */
function apiBuckets(h: FloatHistogram): [number, number, number, number][] {
  const out: [number, number, number, number][] = [];
  // Span offsets: the first is the start index, later ones the gap after the previous span.
  const side = (spans: typeof h.positiveSpans, counts: Float64Array) => {
    const res: [number, number][] = [];
    let idx = 0;
    let k = 0;
    for (const s of spans) {
      idx += s.offset;
      for (let j = 0; j < s.length; j++) res.push([idx++, counts[k++]]);
    }
    return res;
  };
  const neg = side(h.negativeSpans, h.negativeBuckets).reverse();
  for (const [idx, c] of neg) {
    if (c !== 0) out.push([1, -bound(idx, h.schema), -bound(idx - 1, h.schema), c]);
  }
  if (h.zeroCount !== 0) out.push([3, -h.zeroThreshold, h.zeroThreshold, h.zeroCount]);
  for (const [idx, c] of side(h.positiveSpans, h.positiveBuckets)) {
    if (c !== 0) out.push([0, bound(idx - 1, h.schema), bound(idx, h.schema), c]);
  }
  return out;
}

Deno.test("native histogram blocks from Prometheus decode to the samples its API returns", async () => {
  const expected = JSON.parse(await Deno.readTextFile(`${DIR}expected.json`)) as Record<
    string,
    ApiResponse
  >;
  const want = new Map<string, Map<number, ApiHistogram>>();
  for (const resp of Object.values(expected)) {
    for (const r of resp.data.result) {
      const key = r.metric.path ?? r.metric.q;
      want.set(key, new Map((r.histograms ?? []).map(([t, h]) => [Math.round(t * 1000), h])));
    }
  }
  const ulids = [...Deno.readDirSync(`${DIR}blocks`)].map((e) => e.name).sort();
  assert.ok(ulids.length >= 3);
  const seen = new Map<string, number>();
  const encodings = new Set<number>();
  let stale = 0;
  const headers = new Set<string>();
  for (const u of ulids) {
    const b = await Block.open(`${DIR}blocks/${u}`);
    for (const s of b.series()) {
      // Scrape metadata series (up, scrape_*) are floats; only the fixture's histograms count.
      if (!s.labels[0].value.startsWith("fixture_")) continue;
      const key = s.labels.find((l) => l.name === "path" || l.name === "q")!.value;
      const w = want.get(key)!;
      s.chunks.forEach((_, i) => {
        const raw = s.rawChunk(i);
        encodings.add(raw.encoding);
        if (raw.encoding === Encoding.Histogram) {
          headers.add(`${key}:${new HistogramIterator(raw.data).counterResetHeader}`);
        }
      });
      const it = s.iterator();
      for (let vt = it.next(); vt !== ValueType.None; vt = it.next()) {
        const t = it.atT();
        assert.notEqual(vt, ValueType.Float, `float sample in ${key} at ${t}`);
        if (it.isStaleHistogram()) {
          // Prometheus 2.42 marks a disappeared histogram series with a stale histogram; its API
          // leaves stale samples out.
          assert.ok(Number.isNaN(it.atFloatHistogram().sum));
          stale++;
          continue;
        }
        const h = it.atFloatHistogram();
        const api = w.get(t);
        assert.ok(api, `${key} at ${t} missing from the API answer`);
        assert.equal(h.count, Number(api.count), `${key} at ${t} count`);
        assert.equal(h.sum, Number(api.sum), `${key} at ${t} sum`);
        const ours = apiBuckets(h);
        const theirs = (api.buckets ?? []).map((
          x,
        ) => [x[0], Number(x[1]), Number(x[2]), Number(x[3])]);
        assert.equal(ours.length, theirs.length, `${key} at ${t} buckets`);
        ours.forEach((o, i) => {
          const th = theirs[i];
          assert.equal(o[0], th[0]);
          assert.ok(
            Math.abs(o[1] - th[1]) <= 1e-12 * Math.abs(th[1]),
            `${key} ${t} lower ${o[1]} ${th[1]}`,
          );
          assert.ok(Math.abs(o[2] - th[2]) <= 1e-12 * Math.abs(th[2]), `${key} ${t} upper`);
          assert.equal(o[3], th[3]);
        });
        seen.set(key, (seen.get(key) ?? 0) + 1);
      }
    }
  }
  // Every series yielded samples and one went stale. Chunk headers: gauge for the gauge
  // histogram; "not a reset" for /a's chunk continuing across a block boundary and "reset" for
  // the chunk after its counter reset.
  assert.deepEqual([...seen.keys()].sort(), ["/a", "/b", "x"]);
  assert.equal(stale, 1);
  assert.deepEqual([...encodings], [Encoding.Histogram]);
  assert.deepEqual([...headers].sort(), ["/a:0", "/a:128", "/a:64", "/b:0", "x:192"]);
});

Deno.test("re-encoding Prometheus' histogram chunks reproduces them byte for byte", async () => {
  let compared = 0;
  for (const u of [...Deno.readDirSync(`${DIR}blocks`)].map((e) => e.name).sort()) {
    const b = await Block.open(`${DIR}blocks/${u}`);
    for (const s of b.series()) {
      for (let i = 0; i < s.chunks.length; i++) {
        const raw = s.rawChunk(i);
        if (raw.encoding !== Encoding.Histogram) continue;
        const it = new HistogramIterator(raw.data);
        const enc = new HistogramChunkEncoder({
          header: it.counterResetHeader as CounterResetHeader,
        });
        while (it.next() !== ValueType.None) {
          if (it.isStale()) enc.appendStale(it.atT());
          else enc.append(it.atT(), it.atHistogram());
        }
        assert.deepEqual(enc.bytes(), raw.data, `${u} series ${s.ref} chunk ${i}`);
        compared++;
      }
    }
  }
  assert.ok(compared >= 8, `${compared} chunks compared`);
});
