import assert from "node:assert/strict";
import { labelsFromRecord } from "../../model/labels.ts";
import { STALE_NAN, ValueType } from "../../model/series.ts";
import { Block } from "./block.ts";
import { dumpKey, parseDump } from "./_dump_testutil.ts";
import { IndexReader } from "./index_reader.ts";
import { BlockWriter, newUlid, type SeriesToWrite, writeBlock, xorChunks } from "./writer.ts";

/** Deterministic test series: irregular times, special values, a unicode label. */
function fixtureSeries(): SeriesToWrite[] {
  let seed = 9;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const out: SeriesToWrite[] = [];
  const specials = [NaN, Infinity, -Infinity, -0, 1e-300, 1.7976931348623157e308];
  for (let k = 0; k < 5; k++) {
    const ts: number[] = [];
    const vs: number[] = [];
    let t = 1_700_000_000_000 + k * 7;
    for (let i = 0; i < 300 + k * 40; i++) {
      t += 10_000 + Math.floor(rnd() * 5000);
      ts.push(t);
      vs.push(i % 97 === 5 ? specials[i % specials.length] : Math.round(rnd() * 1e6) / 100);
    }
    out.push({
      labels: labelsFromRecord({ __name__: k < 3 ? "metric_a" : "métrique_b", idx: String(k) }),
      chunks: xorChunks(ts, vs),
    });
  }
  return out;
}

async function promtool(): Promise<string | undefined> {
  try {
    const p = await new Deno.Command("promtool", {
      args: ["--version"],
      stdout: "null",
      stderr: "null",
    })
      .output();
    return p.success ? "promtool" : undefined;
  } catch {
    return undefined;
  }
}

Deno.test("written blocks read back with our reader", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    const series = fixtureSeries();
    // A small segment size forces several segment files.
    const meta = await writeBlock(tmp, series, { segmentSize: 4096 });
    const b = await Block.open(`${tmp}/${meta.ulid}`);
    assert.ok(b.chunks.segmentCount > 1);
    assert.equal(b.index.version, 2);
    assert.deepEqual(b.meta, meta);
    const got = [...b.series()];
    assert.equal(got.length, 5);
    assert.deepEqual(b.index.labelValues("idx"), ["0", "1", "2", "3", "4"]);
    assert.equal(b.index.legacyLabelIndex("idx"), undefined);
    for (const s of got) {
      const want = series.find((x) => dumpKey(x.labels) === dumpKey(s.labels))!;
      assert.equal(s.chunks.length, want.chunks.length);
      for (let i = 0; i < s.chunks.length; i++) {
        assert.deepEqual(s.rawChunk(i).data, want.chunks[i].data);
      }
    }
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("BlockWriter streams series in label order and refuses any other order", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    const series = fixtureSeries();
    const symbols = series.flatMap((s) => s.labels.flatMap((l) => [l.name, l.value]));
    const w = await BlockWriter.create(tmp, symbols, { segmentSize: 4096 });
    // fixtureSeries() is in label order: metric_a idx 0..2, then métrique_b.
    for (const s of series) await w.addSeries(s);
    const meta = await w.finish();
    const b = await Block.open(`${tmp}/${meta.ulid}`);
    assert.ok(b.chunks.segmentCount > 1);
    assert.equal(meta.stats.numSeries, 5);
    assert.equal(meta.stats.numChunks, series.reduce((n, s) => n + s.chunks.length, 0));
    const got = [...b.series()];
    assert.deepEqual(got.map((s) => dumpKey(s.labels)), series.map((s) => dumpKey(s.labels)));
    for (let k = 0; k < got.length; k++) {
      for (let i = 0; i < series[k].chunks.length; i++) {
        assert.deepEqual(got[k].rawChunk(i).data, series[k].chunks[i].data);
      }
    }
    await b.close();

    for (const [order, error] of [[[1, 0], /label order/], [[1, 1], /duplicate/]] as const) {
      const bad = await BlockWriter.create(tmp, symbols);
      await bad.addSeries(series[order[0]]);
      await assert.rejects(bad.addSeries(series[order[1]]), error);
      await bad.abort();
      // Only the good block is left.
      assert.deepEqual([...Deno.readDirSync(tmp)].map((e) => e.name), [meta.ulid]);
    }
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

const PROMTOOL = await promtool();
if (!PROMTOOL) console.log("promtool not found (Debian package `prometheus`): skipping its test");

Deno.test({
  name: "promtool analyzes and dumps our blocks with the same samples",
  ignore: !PROMTOOL,
  fn: () => testWithPromtool(2),
});

Deno.test({
  name: "promtool dumps our v1-index blocks with the same samples",
  ignore: !PROMTOOL,
  fn: () => testWithPromtool(1),
});

async function testWithPromtool(indexVersion: 1 | 2): Promise<void> {
  const bin = PROMTOOL!;
  const tmp = await Deno.makeTempDir();
  try {
    const series = fixtureSeries();
    // Stale markers must survive as their exact bits.
    series[0].chunks = xorChunks([1_700_000_000_000, 1_700_000_015_000], [1, STALE_NAN]);
    const meta = await writeBlock(tmp, series, { segmentSize: 4096, indexVersion });
    const analyze = await new Deno.Command(bin, {
      args: ["tsdb", "analyze", tmp, meta.ulid],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const aout = new TextDecoder().decode(analyze.stdout);
    assert.ok(analyze.success, new TextDecoder().decode(analyze.stderr));
    assert.match(aout, /^Series: 5$/m);
    assert.match(aout, /^Postings \(unique label pairs\): 7$/m);
    assert.match(aout, new RegExp(`Block ID: ${meta.ulid}`));
    // promtool 2.42 opens the directory as a DB and wants a WAL directory.
    await Deno.mkdir(`${tmp}/wal`);
    const dump = await new Deno.Command(bin, {
      args: ["tsdb", "dump", tmp],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.ok(dump.success, new TextDecoder().decode(dump.stderr));
    const parsed = parseDump(new TextDecoder().decode(dump.stdout));
    const b = await Block.open(`${tmp}/${meta.ulid}`);
    assert.equal(b.index.version, indexVersion);
    let n = 0;
    for (const s of b.series()) {
      const want = parsed.get(dumpKey(s.labels));
      assert.ok(want, dumpKey(s.labels));
      const it = s.iterator();
      let i = 0;
      while (it.next() === ValueType.Float) {
        assert.equal(it.atT(), want.ts[i]);
        assert.ok(
          Object.is(it.atFloat(), want.values[i]) || (it.atFloat() === 0 && want.values[i] === 0),
        );
        i++;
      }
      assert.equal(i, want.ts.length);
      n += i;
    }
    assert.equal(n, meta.stats.numSamples);
    assert.equal(parsed.size, 5);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}

Deno.test("newUlid makes valid, time-ordered ULIDs", () => {
  const a = newUlid(1_700_000_000_000);
  const b = newUlid(1_700_000_000_001);
  assert.match(a, /^[0-7][0-9A-HJKMNP-TV-Z]{25}$/);
  assert.ok(a.slice(0, 10) < b.slice(0, 10));
  // The first 10 characters encode the time: 1700000000000 ms.
  assert.equal(newUlid(0).slice(0, 10), "0000000000");
});

Deno.test("an index with no series is valid", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    const meta = await writeBlock(tmp, []);
    const ix = new IndexReader(await Deno.readFile(`${tmp}/${meta.ulid}/index`));
    assert.equal(ix.allPostings().length, 0);
    assert.deepEqual(ix.labelNames(), []);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("writeBlock records an explicit block range and rejects samples outside it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const series = [{
      labels: labelsFromRecord({ __name__: "a" }),
      chunks: xorChunks([7_200_371, 14_399_371], [1, 2]),
    }];
    const meta = await writeBlock(dir, series, {
      range: { minTime: 7_200_000, maxTime: 14_400_000 },
    });
    assert.equal(meta.minTime, 7_200_000);
    assert.equal(meta.maxTime, 14_400_000);
    await assert.rejects(
      writeBlock(dir, series, { range: { minTime: 7_200_000, maxTime: 14_399_371 } }),
      /outside the block range/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
