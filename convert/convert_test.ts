import assert from "node:assert/strict";
import { compareLabels, type Labels, labelsFromRecord } from "../model/labels.ts";
import { STALE_NAN, ValueType } from "../model/series.ts";
import type { Bucket } from "../storage/objstore/bucket.ts";
import { FilesystemBucket } from "../storage/objstore/filesystem.ts";
import type { RawChunk } from "../storage/parquet/chunk_column.ts";
import { externalLabelsHash } from "../storage/parquet/hash.ts";
import { metaFileKey, streamFileKey } from "../storage/parquet/layout.ts";
import { decodeStreamDescriptor, encodeStreamDescriptor } from "../storage/parquet/meta.ts";
import { openBlock, ParquetObject } from "../storage/parquet/reader.ts";
import { chunkColumnForTime } from "../storage/parquet/schema.ts";
import { XorChunkEncoder, XorIterator } from "../storage/tsdb/xor.ts";
import { dayChunkColumns } from "./chunks.ts";
import { convertDay, NoSeriesError, StreamConflictError } from "./convert.ts";
import { parseDay } from "../storage/parquet/days.ts";
import { MemorySource, type SeriesSource } from "./source.ts";

const H = 3_600_000;
const DAY = parseDay("2025-03-02");
const ULID_A = "01JNKQ9V4W8X2YZ3A5B6C7D8E9";
const ULID_B = "01JNKQ9V4W8X2YZ3A5B6C7D8EA";
const EXT = { cluster: "eu1", replica: "0" };

/** XOR chunks of `[from, to)` every `step` ms, cut every 2h (shifted by `offset`). */
function xorChunks(
  from: number,
  to: number,
  step: number,
  value: (t: number) => number,
  offset = 0,
): RawChunk[] {
  const out: RawChunk[] = [];
  let enc: XorChunkEncoder | undefined;
  let minT = 0, maxT = 0, window = NaN;
  for (let t = from; t < to; t += step) {
    const w = Math.floor((t - offset) / (2 * H));
    if (w !== window && enc) {
      out.push({ encoding: 1, minT, maxT, data: enc.bytes() });
      enc = undefined;
    }
    if (!enc) {
      enc = new XorChunkEncoder();
      minT = t;
      window = w;
    }
    enc.append(t, value(t));
    maxT = t;
  }
  if (enc) out.push({ encoding: 1, minT, maxT, data: enc.bytes() });
  return out;
}

function samplesOf(chunks: readonly RawChunk[]): [number, number][] {
  const out: [number, number][] = [];
  for (const c of chunks) {
    const it = new XorIterator(c.data);
    while (it.next() !== ValueType.None) out.push([it.atT(), it.atFloat()]);
  }
  return out;
}

async function withBucket(fn: (b: Bucket) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "pq-convert-test-" });
  const bucket = new FilesystemBucket(dir);
  try {
    await fn(bucket);
  } finally {
    await bucket.close();
    await Deno.remove(dir, { recursive: true });
  }
}

/** Ten series over three jobs; two sources that overlap in time and share some series. */
function fixture(): {
  sources: SeriesSource[];
  want: Map<string, [number, number][]>;
  labels: Labels[];
} {
  const want = new Map<string, [number, number][]>();
  const seriesA: { labels: Labels; chunks: RawChunk[] }[] = [];
  const seriesB: { labels: Labels; chunks: RawChunk[] }[] = [];
  const labels: Labels[] = [];
  for (let i = 0; i < 10; i++) {
    const l = labelsFromRecord({
      __name__: `m${i % 4}`,
      // The last series lacks the sort label: it sorts first, as an empty value.
      ...(i < 9 ? { job: ["b", "a", "c"][i % 3] } : {}),
      ...(i % 2 ? { instance: `i${i}` } : {}),
    });
    labels.push(l);
    const v = (t: number) => i * 1000 + t / 1000;
    // Chunks are cut at odd hours, so some straddle midnight and the 8h boundaries.
    // Source A: previous day 23h to 14h; its first chunk (23h-1h) must be trimmed.
    const a = xorChunks(DAY.start - H, DAY.start + 14 * H, 60_000, v, H);
    // Source B: 12h to next day 2h; 12h-14h overlaps A sample for sample, and its last chunk
    // (23h-1h) holds next midnight, which belongs to the next day.
    const b = xorChunks(DAY.start + 12 * H, DAY.end + 2 * H, 60_000, v, H);
    seriesA.push({ labels: l, chunks: a });
    if (i < 6) seriesB.push({ labels: l, chunks: b });
    const samples: [number, number][] = [];
    const end = i < 6 ? DAY.end : DAY.start + 14 * H;
    for (let t = DAY.start; t < end; t += 60_000) samples.push([t, v(t)]);
    want.set(JSON.stringify(l), samples);
  }
  // A series from next midnight on: in the Go converter's closed day range, not in ours.
  seriesB.push({
    labels: labelsFromRecord({ __name__: "late", job: "a" }),
    chunks: xorChunks(DAY.end, DAY.end + H, 60_000, () => 1),
  });
  return {
    sources: [new MemorySource(ULID_A, seriesA), new MemorySource(ULID_B, seriesB.reverse())],
    want,
    labels,
  };
}

Deno.test("convertDay writes sorted, sharded rows with every sample of the day exactly once", async () => {
  await withBucket(async (bucket) => {
    const { sources, want, labels } = fixture();
    let progressed = 0;
    const counted: number[] = [];
    const result = await convertDay(bucket, DAY, EXT, sources, {
      rowGroupSize: 2,
      numRowGroups: 2,
      sortLabels: ["job"],
      recompress: true,
      writeConcurrency: 2,
      onSeriesCounted: (n) => counted.push(n),
      onProgress: (n) => progressed += n,
    });
    // The day has the ten distinct series, once each: not 16 (A's ten plus B's six shared ones),
    // nor with B's series that starts at the next midnight.
    assert.deepEqual(counted, [10]);
    // Every merged series was reported as processed.
    assert.equal(progressed, 10);
    const hash = externalLabelsHash(EXT);
    assert.deepEqual(result, { hash, shards: 3, rows: 10 });

    const block = await openBlock(bucket, hash, DAY.date);
    assert.deepEqual(
      [block.meta.version, block.meta.mint, block.meta.maxt, block.meta.shards],
      [2, DAY.start, DAY.end, 3],
    );
    assert.deepEqual(block.meta.convertedFromBLIDs, [ULID_A, ULID_B]);
    assert.deepEqual(decodeStreamDescriptor(await bucket.get(streamFileKey(hash)), "s"), EXT);

    const wantOrder = [...labels].sort((x, y) => {
      const jx = x.find((l) => l.name === "job")?.value ?? "",
        jy = y.find((l) => l.name === "job")?.value ?? "";
      return jx < jy ? -1 : jx > jy ? 1 : compareLabels(x, y);
    });
    const got: Labels[] = [];
    for (const shard of block.shards) {
      assert.ok(shard.numRows <= 4);
      const rows = await shard.readLabels(0, shard.numRows);
      const chunks = await shard.readChunks(0, shard.numRows);
      // Shards only carry the label names they use.
      const names = new Set(rows.flatMap((r) => r.map((l) => l.name)));
      assert.deepEqual(new Set(shard.labelNames), names);
      for (let r = 0; r < rows.length; r++) {
        got.push(rows[r]);
        for (const c of chunks[r]) {
          // Re-cut: no chunk crosses an 8h window; each sits in its window's column.
          assert.equal(chunkColumnForTime(c.minT), chunkColumnForTime(c.maxT));
          assert.ok(c.minT >= DAY.start && c.maxT < DAY.end);
        }
        assert.deepEqual(
          samplesOf(chunks[r]),
          want.get(JSON.stringify(rows[r])),
          JSON.stringify(rows[r]),
        );
      }
    }
    assert.deepEqual(got, wantOrder);
  });
});

Deno.test("chunk placement by min time without recompress keeps untouched chunks byte for byte", () => {
  const chunks = xorChunks(DAY.start + 6 * H, DAY.start + 10 * H, 30_000, (t) => t);
  const cols = dayChunkColumns(chunks, DAY, { recompress: false })!;
  // 2h-aligned chunks: [6h,8h) -> column 0, [8h,10h) -> column 1, bytes unchanged.
  assert.equal(cols[0].length, 24 + chunks[0].data.length);
  assert.deepEqual(cols[0].subarray(24), chunks[0].data);
  assert.deepEqual(cols[1].subarray(24), chunks[1].data);
  assert.equal(cols[2].length, 0);
  // A chunk spanning 7h-9h goes to column 0 whole without recompress, is split with it.
  const one = xorChunks(DAY.start + 7 * H, DAY.start + 9 * H, 30_000, (t) => t);
  const merged = [{ ...one[0], maxT: one.at(-1)!.maxT, data: reencode(one) }];
  const plain = dayChunkColumns(merged, DAY, { recompress: false })!;
  assert.deepEqual([plain[0].length > 0, plain[1].length], [true, 0]);
  const cut = dayChunkColumns(merged, DAY, { recompress: true })!;
  assert.ok(cut[0].length > 0 && cut[1].length > 0);
  assert.equal(
    dayChunkColumns(xorChunks(DAY.end, DAY.end + H, 60_000, () => 1), DAY, { recompress: true }),
    undefined,
  );
});

function reencode(chunks: RawChunk[]): Uint8Array {
  const enc = new XorChunkEncoder();
  for (const [t, v] of samplesOf(chunks)) enc.append(t, v);
  return enc.bytes();
}

Deno.test("re-encoding keeps stale markers bit for bit", () => {
  const enc = new XorChunkEncoder();
  enc.append(DAY.start + 7 * H, 1);
  enc.append(DAY.start + 9 * H, STALE_NAN);
  const cols = dayChunkColumns(
    [{ encoding: 1, minT: DAY.start + 7 * H, maxT: DAY.start + 9 * H, data: enc.bytes() }],
    DAY,
    { recompress: true },
  )!;
  const it = new XorIterator(cols[1].subarray(24));
  assert.equal(it.next(), ValueType.Float);
  const bits = new DataView(new ArrayBuffer(8));
  bits.setFloat64(0, it.atFloat());
  const want = new DataView(new ArrayBuffer(8));
  want.setFloat64(0, STALE_NAN);
  assert.equal(bits.getBigUint64(0), want.getBigUint64(0));
});

Deno.test("a failing source leaves no meta.pb and no stream.pb", async () => {
  await withBucket(async (bucket) => {
    const { sources } = fixture();
    const failing: SeriesSource = {
      id: ULID_B,
      series: () => sources[1].series(),
      read: (ref) =>
        Number(ref) === 1 ? Promise.reject(new Error("disk on fire")) : sources[1].read(ref),
    };
    await assert.rejects(
      convertDay(bucket, DAY, EXT, [sources[0], failing], { rowGroupSize: 2, numRowGroups: 2 }),
      /disk on fire/,
    );
    // Shards written in parallel: the real cause is reported, the other shards stop.
    await assert.rejects(
      convertDay(bucket, DAY, EXT, [sources[0], failing], {
        rowGroupSize: 2,
        numRowGroups: 2,
        writeConcurrency: 3,
      }),
      /disk on fire/,
    );
    const hash = externalLabelsHash(EXT);
    assert.equal(await bucket.exists(metaFileKey(hash, DAY.date)), false);
    assert.equal(await bucket.exists(streamFileKey(hash)), false);
  });
});

Deno.test("external-label hash collisions and empty days are typed errors", async () => {
  await withBucket(async (bucket) => {
    const { sources } = fixture();
    const hash = externalLabelsHash({ ab: "c" });
    await bucket.upload(streamFileKey(hash), encodeStreamDescriptor({ ab: "c" }));
    await assert.rejects(
      convertDay(bucket, DAY, { a: "bc" }, sources, { rowGroupSize: 2, numRowGroups: 2 }),
      StreamConflictError,
    );
    assert.equal(await bucket.exists(metaFileKey(hash, DAY.date)), false);
    await assert.rejects(
      convertDay(bucket, parseDay("2020-01-01"), {}, sources, { rowGroupSize: 2, numRowGroups: 2 }),
      NoSeriesError,
    );
    // A chunk spanning the whole day without a sample in it.
    const enc = new XorChunkEncoder();
    enc.append(DAY.start - H, 1);
    enc.append(DAY.end + H, 2);
    const spanning = new MemorySource(ULID_A, [{
      labels: labelsFromRecord({ __name__: "gap" }),
      chunks: [{ encoding: 1, minT: DAY.start - H, maxT: DAY.end + H, data: enc.bytes() }],
    }]);
    await assert.rejects(
      convertDay(bucket, DAY, {}, [spanning], { rowGroupSize: 2, numRowGroups: 2 }),
      NoSeriesError,
    );
    assert.equal(await bucket.exists(`${DAY.date}/meta.pb`), false);
  });
});

Deno.test("a stream without external labels uses hash 0 and D/meta.pb", async () => {
  await withBucket(async (bucket) => {
    const { sources } = fixture();
    const r = await convertDay(bucket, DAY, {}, sources, { rowGroupSize: 100, numRowGroups: 1 });
    assert.deepEqual(r, { hash: 0n, shards: 1, rows: 10 });
    assert.ok(await bucket.exists(`${DAY.date}/meta.pb`));
    assert.ok(await bucket.exists(`0/${DAY.date}/0.labels.parquet`));
    const block = await openBlock(bucket, 0n, DAY.date);
    assert.equal(block.shards[0].numRows, 10);
  });
});

Deno.test("shards are cut before the column limit, each with only its own label names", async () => {
  await withBucket(async (bucket) => {
    // Ten series, each with two label names of its own besides __name__.
    const series = Array.from({ length: 10 }, (_, i) => ({
      labels: labelsFromRecord({ __name__: "m", [`a${i}`]: "x", [`b${i}`]: "y" }),
      chunks: xorChunks(DAY.start, DAY.start + H, 60_000, () => i),
    }));
    // Label columns + 4 must stay below 12: at most 7 label columns, so 3 series a shard.
    const r = await convertDay(bucket, DAY, {}, [new MemorySource(ULID_A, series)], {
      rowGroupSize: 100,
      numRowGroups: 1,
      maxColumns: 12,
    });
    assert.deepEqual([r.shards, r.rows], [4, 10]);
    const block = await openBlock(bucket, 0n, DAY.date);
    const names = block.shards.map((s) => s.labelNames.length);
    assert.deepEqual(names, [7, 7, 7, 3]);
    assert.ok(names.every((n) => n + 4 < 12));
  });
});

Deno.test("maxRowGroupBytes cuts row groups before rowGroupSize rows, alike in both files", async () => {
  await withBucket(async (bucket) => {
    const series = Array.from({ length: 10 }, (_, i) => ({
      labels: labelsFromRecord({ __name__: "m", i: String(i) }),
      chunks: xorChunks(DAY.start, DAY.start + H, 60_000, () => i),
    }));
    // Each buffered row counts 512 bytes (its chunk bytes spill to disk): two reach 1000 bytes.
    await convertDay(bucket, DAY, {}, [new MemorySource(ULID_A, series)], {
      rowGroupSize: 100,
      numRowGroups: 1,
      maxRowGroupBytes: 1000,
    });
    for (const file of ["0.labels.parquet", "0.chunks.parquet"]) {
      const f = await ParquetObject.open(bucket, `0/${DAY.date}/${file}`);
      assert.deepEqual(f.rowGroupSizes, [2, 2, 2, 2, 2], file);
    }
  });
});
