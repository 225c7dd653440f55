import assert from "node:assert/strict";
import { type ColumnChunk, type FileMetaData, parquetReadObjects } from "hyparquet";
import { compressors } from "hyparquet-compressors";
import type { Labels } from "../../model/labels.ts";
import type { Bucket } from "../objstore/bucket.ts";
import { FilesystemBucket } from "../objstore/filesystem.ts";
import { decodeChunkColumn, encodeChunkColumn, type RawChunk } from "./chunk_column.ts";
import { seriesHash } from "./hash.ts";
import { decodeLabelIndex } from "./label_index.ts";
import { chunksFileKey, labelsFileKey, metaFileKey } from "./layout.ts";
import { encodeBlockMeta } from "./meta.ts";
import { openBlock, ParquetObject, ShardFormatError } from "./reader.ts";
import { BucketSource, PageFile } from "./pages.ts";
import { type ChunksCodec, ShardRowError, ShardWriter } from "./writer.ts";
import { BloomFilter } from "./bloom.ts";
import { PageType, readPageHeader } from "./page_decode.ts";

const DAY = Date.UTC(2025, 2, 2);
const DATE = "2025-03-02";
const HASH = 12345678901234567890n;
const enc = new TextEncoder();

/** Deterministic test series: sorted by __name__ then labels, with optional labels. */
function makeSeries(n: number): { labels: Labels; chunks: RawChunk[][] }[] {
  const out = [];
  for (let i = 0; i < n; i++) {
    const name = `metric_${String(Math.floor(i / 50)).padStart(3, "0")}`;
    const labels = [{ name: "__name__", value: name }];
    if (i % 3 !== 0) labels.push({ name: "instance", value: `host-${i % 7}:9100` });
    labels.push({ name: "job", value: i % 2 ? "node" : "prometheus" });
    if (i % 10 === 0) {
      labels.push({ name: "zone", value: "a-very-long-zone-name-beyond-sixteen-bytes" });
    }
    const chunks: RawChunk[][] = [[], [], []];
    for (let c = 0; c < 3; c++) {
      if ((i + c) % 4 === 0) continue; // some empty windows
      const minT = DAY + c * 8 * 3_600_000 + i;
      chunks[c].push({
        encoding: 1,
        minT,
        maxT: minT + 7_200_000,
        data: enc.encode(`chunk-${i}-${c}`),
      });
      if (c === 2 && i % 5 === 0) {
        chunks[c].push({
          encoding: 2,
          minT: minT + 7_200_001,
          maxT: minT + 9e6,
          data: Uint8Array.of(i & 0xff),
        });
      }
    }
    out.push({ labels, chunks });
  }
  return out;
}

async function withBucket(fn: (b: Bucket, dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "pq-shard-test-" });
  const bucket = new FilesystemBucket(dir);
  try {
    await fn(bucket, dir);
  } finally {
    await bucket.close();
    await Deno.remove(dir, { recursive: true });
  }
}

async function writeShard(
  bucket: Bucket,
  series: ReturnType<typeof makeSeries>,
  rowGroupSize: number,
  chunksCodec?: ChunksCodec,
) {
  const names = new Set(series.flatMap((s) => s.labels.map((l) => l.name)));
  const w = new ShardWriter(
    bucket,
    labelsFileKey(HASH, DATE, 0),
    chunksFileKey(HASH, DATE, 0),
    names,
    {
      rowGroupSize,
      labelsPageSize: 512, // force several pages per label column chunk
      chunksPageSize: 4096,
      chunksCodec,
    },
  );
  for (const s of series) {
    await w.append({ labels: s.labels, chunks: s.chunks.map(encodeChunkColumn) });
  }
  const summary = await w.close();
  await bucket.upload(
    metaFileKey(HASH, DATE),
    encodeBlockMeta({
      version: 2,
      mint: DAY,
      maxt: DAY + 86_400_000,
      shards: 1,
      columnsForName: new Map(),
      convertedFromBLIDs: [],
    }),
  );
  return summary;
}

function col(md: FileMetaData, rg: number, name: string): ColumnChunk {
  const c = md.row_groups[rg].columns.find((c) => c.meta_data?.path_in_schema[0] === name);
  assert.ok(c, `column ${name}`);
  return c;
}

for (const codec of ["UNCOMPRESSED", "ZSTD"] as const) {
  Deno.test(`shard writer output reads back row for row, in the upstream layout (chunks ${codec})`, async () => {
    await withBucket(async (bucket) => {
      const series = makeSeries(1000);
      const summary = await writeShard(bucket, series, 300, codec);
      const chunksFile = await ParquetObject.open(bucket, chunksFileKey(HASH, DATE, 0));
      for (const rg of chunksFile.metadata.row_groups) {
        for (const c of rg.columns) assert.equal(c.meta_data!.codec, codec);
      }
      // An independent reader (hyparquet) gets the written chunk column values back.
      const bytes = await bucket.get(chunksFileKey(HASH, DATE, 0));
      const read = await parquetReadObjects({
        file: bytes.slice().buffer,
        columns: ["___cf_meta_chunk_2"],
        rowStart: 290,
        rowEnd: 310,
        compressors,
        utf8: false,
      });
      assert.deepEqual(
        read.map((r) => [...r.___cf_meta_chunk_2]),
        series.slice(290, 310).map((s) => [...encodeChunkColumn(s.chunks[2])]),
      );
      assert.deepEqual(summary, { rows: 1000, rowGroups: 4 });

      const block = await openBlock(bucket, HASH, DATE);
      assert.equal(block.meta.version, 2);
      assert.equal(block.shards.length, 1);
      const shard = block.shards[0];
      assert.equal(shard.numRows, 1000);
      assert.deepEqual(shard.labelNames, ["__name__", "instance", "job", "zone"]);

      // Every row: labels, chunks and hash, read across row-group boundaries.
      const labels = await shard.readLabels(0, 1000);
      assert.deepEqual(labels, series.map((s) => s.labels));
      const chunks = await shard.readChunks(250, 700);
      assert.equal(chunks.length, 450);
      for (let r = 0; r < 450; r++) {
        const want = series[250 + r].chunks.flat();
        assert.deepEqual(
          chunks[r].map((c) => [c.encoding, c.minT, c.maxT, [...c.data]]),
          want.map((c) => [c.encoding, c.minT, c.maxT, [...c.data]]),
          `row ${250 + r}`,
        );
      }
      const only2 = await shard.readChunks(10, 12, [2]);
      assert.deepEqual(only2.map((r) => r.length), [
        series[10].chunks[2].length,
        series[11].chunks[2].length,
      ]);
      const hashes = await shard.readHashes(0, 1000);
      assert.deepEqual(hashes, series.map((s) => seriesHash(s.labels)));
    });
  });
}

Deno.test("shard files carry upstream schema, encodings, codecs, V2 pages, indexes and bloom filter", async () => {
  await withBucket(async (bucket) => {
    const series = makeSeries(1000);
    await writeShard(bucket, series, 300);
    const labels = await ParquetObject.open(bucket, labelsFileKey(HASH, DATE, 0));
    const chunks = await ParquetObject.open(bucket, chunksFileKey(HASH, DATE, 0));
    const lm = labels.metadata, cm = chunks.metadata;

    assert.deepEqual(
      lm.schema.map((
        e,
      ) => [e.name, e.type, e.repetition_type, e.converted_type, e.logical_type?.type]),
      [
        ["compressed", undefined, undefined, undefined, undefined],
        ["___cf_meta_index", "BYTE_ARRAY", "REQUIRED", undefined, undefined],
        ["___cf_meta_label___name__", "BYTE_ARRAY", "OPTIONAL", "UTF8", "STRING"],
        ["___cf_meta_label_instance", "BYTE_ARRAY", "OPTIONAL", "UTF8", "STRING"],
        ["___cf_meta_label_job", "BYTE_ARRAY", "OPTIONAL", "UTF8", "STRING"],
        ["___cf_meta_label_zone", "BYTE_ARRAY", "OPTIONAL", "UTF8", "STRING"],
      ],
    );
    assert.deepEqual(cm.schema.map((e) => [e.name, e.type, e.repetition_type]), [
      ["compressed", undefined, undefined],
      ["___cf_meta_chunk_0", "BYTE_ARRAY", "REQUIRED"],
      ["___cf_meta_chunk_1", "BYTE_ARRAY", "REQUIRED"],
      ["___cf_meta_chunk_2", "BYTE_ARRAY", "REQUIRED"],
      ["___cf_meta_hash", "INT64", "REQUIRED"],
    ]);
    assert.deepEqual(labels.rowGroupSizes, [300, 300, 300, 100]);
    assert.deepEqual(chunks.rowGroupSizes, [300, 300, 300, 100]);
    assert.deepEqual(lm.key_value_metadata ?? [], []);

    // Offset indexes of several pages in every row group of both files: the writer holds them
    // compactly between row groups (PageLocationStore), and they must come back intact.
    let multiPage = 0;
    for (const [obj, md] of [[labels, lm], [chunks, cm]] as const) {
      for (let rg = 0; rg < md.row_groups.length; rg++) {
        for (const c of md.row_groups[rg].columns) {
          const name = c.meta_data!.path_in_schema[0];
          // zstd as in Go's files, except the chunks file: uncompressed by default (writer.ts).
          assert.equal(c.meta_data!.codec, obj === labels ? "ZSTD" : "UNCOMPRESSED", name);
          // Every column chunk has an offset index whose pages tile the chunk, and a column index.
          const oi = await obj.offsetIndex(rg, name);
          const ci = await obj.columnIndex(rg, name);
          assert.equal(ci.null_pages.length, oi.page_locations.length, name);
          assert.equal(oi.page_locations[0].offset, c.meta_data!.data_page_offset, name);
          assert.equal(oi.page_locations[0].first_row_index, 0n);
          if (oi.page_locations.length > 1) multiPage++;
          const last = oi.page_locations.at(-1)!;
          assert.equal(
            last.offset + BigInt(last.compressed_page_size),
            c.file_offset + c.meta_data!.total_compressed_size,
            name,
          );
          // Every data page is a DATA_PAGE_V2.
          for (const loc of oi.page_locations) {
            const bytes = await obj.buffer.slice(
              Number(loc.offset),
              Number(loc.offset) + loc.compressed_page_size,
            );
            const header = readPageHeader(new Uint8Array(bytes));
            assert.equal(header.type, PageType.DATA_PAGE_V2, name);
            // The offset index's page size covers exactly the header and the page body.
            assert.equal(header.headerLength + header.compressedSize, bytes.byteLength, name);
          }
          const isLabel = name.startsWith("___cf_meta_label_");
          if (isLabel) {
            assert.deepEqual(c.meta_data!.encodings, ["PLAIN", "RLE_DICTIONARY"], name);
            assert.ok(c.meta_data!.dictionary_page_offset !== undefined, name);
            assert.ok(
              ci.min_values.every((v, p) => ci.null_pages[p] || v.length > 0 && v.length <= 16),
              name,
            );
          } else {
            assert.equal(c.meta_data!.dictionary_page_offset, undefined, name);
            assert.deepEqual(
              c.meta_data!.encodings,
              [name === "___cf_meta_hash" ? "PLAIN" : "DELTA_LENGTH_BYTE_ARRAY"],
              name,
            );
            // Skipped page bounds, as parquet-go's SkipPageBounds.
            assert.ok(
              ci.min_values.every((v) => v.length === 0) &&
                ci.max_values.every((v) => v.length === 0),
            );
          }
          assert.equal(
            c.meta_data!.bloom_filter_offset !== undefined,
            name === "___cf_meta_label___name__",
            name,
          );
        }
      }
    }
    assert.ok(multiPage >= 8, `${multiPage} multi-page column chunks`);

    // Label pages: a page is cut where its 4-byte dictionary indexes reach 512 bytes, so each
    // holds 127 rows.
    const nameOi = await labels.offsetIndex(0, "___cf_meta_label___name__");
    assert.deepEqual(nameOi.page_locations.map((p) => p.first_row_index), [0n, 127n, 254n]);
    const nameCi = await labels.columnIndex(0, "___cf_meta_label___name__");
    assert.equal(nameCi.boundary_order, "ASCENDING");
    const dec = new TextDecoder();
    assert.deepEqual(nameCi.min_values.map((b) => dec.decode(b)), [
      "metric_000",
      "metric_002",
      "metric_005",
    ]);
    assert.deepEqual(nameCi.max_values.map((b) => dec.decode(b)), [
      "metric_002",
      "metric_005",
      "metric_005",
    ]);
    // 16-byte truncation: a 41-byte zone value gives a 16-byte min prefix and an incremented max.
    const zoneCi = await labels.columnIndex(0, "___cf_meta_label_zone");
    const zone = enc.encode("a-very-long-zone-name-beyond-sixteen-bytes");
    const page0 = zoneCi.null_pages.indexOf(false);
    assert.deepEqual([...zoneCi.min_values[page0]], [...zone.subarray(0, 16)]);
    assert.deepEqual([...zoneCi.max_values[page0]], [...zone.subarray(0, 15), zone[15] + 1]);

    // Chunk-level statistics on label columns.
    const jobStats = col(lm, 0, "___cf_meta_label_job").meta_data!.statistics!;
    assert.deepEqual([jobStats.min_value, jobStats.max_value, jobStats.null_count], [
      "node",
      "prometheus",
      0n,
    ]);
    const instStats = col(lm, 0, "___cf_meta_label_instance").meta_data!.statistics!;
    assert.equal(instStats.null_count, 100n);

    // Sorting columns: __name__ is labels-file column 1, ascending, nulls (missing labels) first.
    for (const rg of lm.row_groups) {
      assert.deepEqual(rg.sorting_columns, [{
        column_idx: 1,
        descending: false,
        nulls_first: true,
      }]);
    }
    assert.equal(cm.row_groups[0].sorting_columns, undefined);

    // The index column holds zig-zag varint label positions.
    const [idx] = await labels.read(["___cf_meta_index"], 0, 2);
    assert.deepEqual(idx.map((v) => decodeLabelIndex(v as Uint8Array)), [[1, 3, 4], [1, 2, 3]]);

    // Bloom filter: split-block filter over xxHash64 of each plain value; all present values hit.
    const bloomChunk = col(lm, 0, "___cf_meta_label___name__").meta_data!;
    const start = Number(bloomChunk.bloom_filter_offset);
    const bloomBytes = await labels.buffer.slice(start, start + bloomChunk.bloom_filter_length!);
    const bloom = BloomFilter.parse(new Uint8Array(bloomBytes));
    for (let m = 0; m < 6; m++) {
      assert.ok(bloom.contains(enc.encode(`metric_${String(m).padStart(3, "0")}`)));
    }
    let rejected = 0;
    for (let m = 100; m < 200; m++) {
      if (!bloom.contains(enc.encode(`metric_${m}`))) rejected++;
    }
    assert.ok(rejected >= 90, `bloom filter rejected only ${rejected}/100 absent names`);

    // Raw chunk column bytes are the 24-byte-header format.
    const [raw] = await chunks.read(["___cf_meta_chunk_1"], 1, 2);
    assert.deepEqual(decodeChunkColumn(raw[0] as Uint8Array)[0].minT, DAY + 8 * 3_600_000 + 1);
  });
});

Deno.test("a label absent from a whole row group is an all-null column chunk", async () => {
  await withBucket(async (bucket) => {
    const w = new ShardWriter(bucket, "x/0.labels.parquet", "x/0.chunks.parquet", [
      "__name__",
      "rare",
    ], {
      rowGroupSize: 3,
    });
    const empty = [new Uint8Array(0), new Uint8Array(0), new Uint8Array(0)];
    for (let i = 0; i < 6; i++) {
      const labels = [{ name: "__name__", value: `m${i}` }];
      if (i === 1) labels.push({ name: "rare", value: "here" });
      await w.append({ labels, chunks: empty });
    }
    await w.close();
    const labels = await ParquetObject.open(bucket, "x/0.labels.parquet");
    const [rare] = await labels.read(["___cf_meta_label_rare"], 0, 6);
    assert.deepEqual(rare, [null, "here", null, null, null, null]);
    const ci = await labels.columnIndex(1, "___cf_meta_label_rare");
    assert.deepEqual(ci.null_pages, [true]);
    const stats = col(labels.metadata, 1, "___cf_meta_label_rare").meta_data!;
    assert.equal(stats.statistics?.null_count, 3n);
  });
});

Deno.test("a shard with a label name per series (wide, sparse schema) reads back", async () => {
  await withBucket(async (bucket) => {
    const names = Array.from({ length: 1000 }, (_, i) => `l${String(i).padStart(4, "0")}`);
    const w = new ShardWriter(bucket, "x/0.labels.parquet", "x/0.chunks.parquet", [
      "__name__",
      ...names,
    ], {
      rowGroupSize: 250,
    });
    const empty = [new Uint8Array(0), new Uint8Array(0), new Uint8Array(0)];
    for (let i = 0; i < 1000; i++) {
      await w.append({
        labels: [{ name: "__name__", value: "m" }, { name: names[i], value: `v${i}` }],
        chunks: empty,
      });
    }
    assert.deepEqual(await w.close(), { rows: 1000, rowGroups: 4 });
    await bucket.upload(
      metaFileKey(HASH, DATE),
      encodeBlockMeta({
        version: 2,
        mint: 0,
        maxt: 1,
        shards: 1,
        columnsForName: new Map(),
        convertedFromBLIDs: [],
      }),
    );
    await bucket.upload(labelsFileKey(HASH, DATE, 0), await bucket.get("x/0.labels.parquet"));
    await bucket.upload(chunksFileKey(HASH, DATE, 0), await bucket.get("x/0.chunks.parquet"));
    const shard = (await openBlock(bucket, HASH, DATE)).shards[0];
    assert.equal(shard.labelNames.length, 1001);
    const labels = await shard.readLabels(700, 703);
    assert.deepEqual(
      labels,
      [700, 701, 702].map((
        i,
      ) => [{ name: "__name__", value: "m" }, { name: names[i], value: `v${i}` }]),
    );
  });
});

Deno.test("chunk bytes spill to disk: they do not cut row groups, and no spill file is left", async () => {
  await withBucket(async (bucket, dir) => {
    const spillDir = `${dir}/spill`;
    await Deno.mkdir(spillDir);
    const w = new ShardWriter(bucket, "x/0.labels.parquet", "x/0.chunks.parquet", ["__name__"], {
      rowGroupSize: 100,
      maxRowGroupBytes: 1000,
      rowOverheadBytes: 300,
      spillDir,
    });
    // 100 KiB of chunk bytes a row, far above the limit: only the 300 bytes per row count.
    const big = new Uint8Array(100_000).fill(7), none = new Uint8Array(0);
    for (let i = 0; i < 10; i++) {
      await w.append({ labels: [{ name: "__name__", value: `m${i}` }], chunks: [big, none, big] });
    }
    assert.equal([...Deno.readDirSync(spillDir)].length, 1);
    assert.deepEqual(await w.close(), { rows: 10, rowGroups: 3 });
    assert.deepEqual([...Deno.readDirSync(spillDir)], []);
    const labels = await ParquetObject.open(bucket, "x/0.labels.parquet");
    const chunks = await ParquetObject.open(bucket, "x/0.chunks.parquet");
    assert.deepEqual(labels.rowGroupSizes, [4, 4, 2]);
    assert.deepEqual(chunks.rowGroupSizes, [4, 4, 2]);
    const [names] = await labels.read(["___cf_meta_label___name__"], 0, 10);
    assert.deepEqual(names, Array.from({ length: 10 }, (_, i) => `m${i}`));
    const [chunk0, chunk1] = await chunks.read(["___cf_meta_chunk_0", "___cf_meta_chunk_1"], 3, 6);
    assert.deepEqual(chunk0, [big, big, big]);
    assert.deepEqual(chunk1, [none, none, none]);
  });
});

Deno.test("a failing spill file rejects the append, naming the file; abort still cleans up", async () => {
  await withBucket(async (bucket, dir) => {
    const spillDir = `${dir}/spill`;
    await Deno.mkdir(spillDir);
    const w = new ShardWriter(bucket, "x/0.labels.parquet", "x/0.chunks.parquet", ["__name__"], {
      rowGroupSize: 100,
      chunksPageSize: 10,
      spillDir,
    });
    const chunk = new Uint8Array(100);
    await w.append({ labels: [{ name: "__name__", value: "a" }], chunks: [chunk, chunk, chunk] });
    // The tempdir goes away under the writer (a cleaner, a full or failing disk).
    for (const e of Deno.readDirSync(spillDir)) {
      Deno.removeSync(`${spillDir}/${e.name}`, { recursive: true });
    }
    await assert.rejects(
      w.append({ labels: [{ name: "__name__", value: "b" }], chunks: [chunk, chunk, chunk] }),
      (err: Error) => /^spill file .*\/shard-[^/]+\/0: .*No such file/.test(err.message),
    );
    await w.abort(new Error("test"));
    assert.equal(await bucket.exists("x/0.labels.parquet"), false);
    assert.equal(await bucket.exists("x/0.chunks.parquet"), false);
  });
});

for (const codec of ["UNCOMPRESSED", "ZSTD"] as const) {
  Deno.test(`chunk pages of many values of any length read back in hyparquet and ours (${codec})`, async () => {
    await withBucket(async (bucket) => {
      // Lengths from 0 to 100k in a seeded mix, so a page holds up to hundreds of values (several
      // 128-value blocks, partial miniblocks) with deltas of every sign and width.
      let seed = 42;
      const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
      const rows = Array.from({ length: 700 }, (_, i) => {
        const scale = [0, 1, 16, 300, 5000, 100_000][Math.floor(random() * 6)];
        // Column 1 of the first 300 rows alternates lengths 0 and 1: deltas whose range is
        // exactly a power of two.
        const length = (c: number) => c === 1 && i < 300 ? i % 2 : Math.floor(random() * scale);
        return Array.from(
          { length: 3 },
          (_, c) => Uint8Array.from({ length: length(c) }, (_, k) => (i + c + k) & 0xff),
        );
      });
      const w = new ShardWriter(bucket, "x/0.labels.parquet", "x/0.chunks.parquet", ["__name__"], {
        rowGroupSize: 500,
        chunksPageSize: 256 * 1024,
        chunksCodec: codec,
      });
      const hashes: bigint[] = [];
      for (let i = 0; i < rows.length; i++) {
        const labels = [{ name: "__name__", value: `m${String(i).padStart(4, "0")}` }];
        hashes.push(seriesHash(labels));
        await w.append({ labels, chunks: rows[i] });
      }
      assert.deepEqual(await w.close(), { rows: 700, rowGroups: 2 });
      const bytes = await bucket.get("x/0.chunks.parquet");
      const read = await parquetReadObjects({
        file: bytes.slice().buffer,
        compressors,
        utf8: false,
      });
      assert.equal(read.length, 700);
      for (let i = 0; i < 700; i++) {
        const r = read[i];
        assert.deepEqual(
          [r.___cf_meta_chunk_0, r.___cf_meta_chunk_1, r.___cf_meta_chunk_2, r.___cf_meta_hash],
          [...rows[i], BigInt.asIntN(64, hashes[i])],
          `row ${i}`,
        );
      }
      const ours = await ParquetObject.open(bucket, "x/0.chunks.parquet");
      const cols = await ours.read(
        ["___cf_meta_chunk_0", "___cf_meta_chunk_1", "___cf_meta_chunk_2"],
        0,
        700,
      );
      for (let c = 0; c < 3; c++) assert.deepEqual(cols[c], rows.map((r) => r[c]), `column ${c}`);
    });
  });
}

Deno.test("a per-row overhead cuts row groups of rows without chunk bytes", async () => {
  await withBucket(async (bucket) => {
    const w = new ShardWriter(bucket, "x/0.labels.parquet", "x/0.chunks.parquet", ["__name__"], {
      rowGroupSize: 100,
      maxRowGroupBytes: 1000,
      rowOverheadBytes: 300,
    });
    const none = new Uint8Array(0);
    for (let i = 0; i < 10; i++) {
      await w.append({
        labels: [{ name: "__name__", value: `m${i}` }],
        chunks: [none, none, none],
      });
    }
    assert.deepEqual(await w.close(), { rows: 10, rowGroups: 3 });
    const chunks = await ParquetObject.open(bucket, "x/0.chunks.parquet");
    assert.deepEqual(chunks.rowGroupSizes, [4, 4, 2]);
  });
});

Deno.test("rejected rows leave the writer aligned; aborting leaves no object", async () => {
  await withBucket(async (bucket) => {
    const w = new ShardWriter(bucket, "x/0.labels.parquet", "x/0.chunks.parquet", [
      "__name__",
      "job",
    ], { rowGroupSize: 2 });
    const empty = [new Uint8Array(0), new Uint8Array(0), new Uint8Array(0)];
    await w.append({ labels: [{ name: "__name__", value: "a" }], chunks: empty });
    await w.append({ labels: [{ name: "__name__", value: "b" }], chunks: empty }); // flushes a row group
    await assert.rejects(
      w.append({ labels: [{ name: "zone", value: "x" }], chunks: empty }),
      ShardRowError,
    );
    await assert.rejects(
      w.append({ labels: [{ name: "__name__", value: "" }], chunks: empty }),
      ShardRowError,
    );
    await assert.rejects(
      w.append({
        labels: [{ name: "__name__", value: "c" }, { name: "__name__", value: "d" }],
        chunks: empty,
      }),
      /not sorted by name, or repeat __name__/,
    );
    await assert.rejects(
      w.append({
        labels: [{ name: "job", value: "j" }, { name: "zone", value: "z" }],
        chunks: empty,
      }),
      /label zone is not in the shard schema/,
    );
    // Rejected rows left nothing behind: the next rows line up.
    await w.append({
      labels: [{ name: "__name__", value: "c" }, { name: "job", value: "j" }],
      chunks: empty,
    });
    assert.deepEqual(await w.close(), { rows: 3, rowGroups: 2 });
    const labels = await ParquetObject.open(bucket, "x/0.labels.parquet");
    const [index, names, jobs] = await labels.read(
      ["___cf_meta_index", "___cf_meta_label___name__", "___cf_meta_label_job"],
      0,
      3,
    );
    assert.deepEqual(names, ["a", "b", "c"]);
    assert.deepEqual(jobs, [null, null, "j"]);
    assert.deepEqual(index.map((v) => decodeLabelIndex(v as Uint8Array)), [[1], [1], [1, 2]]);

    const aborted = new ShardWriter(bucket, "y/0.labels.parquet", "y/0.chunks.parquet", ["a"], {
      rowGroupSize: 1,
    });
    await aborted.append({ labels: [{ name: "a", value: "1" }], chunks: empty });
    await aborted.abort(new Error("test abort"));
    assert.equal(await bucket.exists("y/0.labels.parquet"), false);
    assert.equal(await bucket.exists("y/0.chunks.parquet"), false);
  });
});

Deno.test("mismatched shard files are reported", async () => {
  await withBucket(async (bucket) => {
    await writeShard(bucket, makeSeries(10), 5);
    // Replace the chunks file with one of a different row-group layout.
    const w = new ShardWriter(bucket, "tmp/l", chunksFileKey(HASH, DATE, 0), ["__name__"], {
      rowGroupSize: 3,
    });
    const empty = [new Uint8Array(0), new Uint8Array(0), new Uint8Array(0)];
    for (let i = 0; i < 10; i++) {
      await w.append({ labels: [{ name: "__name__", value: "a" }], chunks: empty });
    }
    await w.close();
    await assert.rejects(openBlock(bucket, HASH, DATE), ShardFormatError);
    await bucket.upload(labelsFileKey(HASH, DATE, 0), enc.encode("not parquet"));
    await assert.rejects(openBlock(bucket, HASH, DATE), /invalid parquet footer/);
  });
});

Deno.test("a failing upload rejects the writer instead of hanging it", async () => {
  await withBucket(async (inner) => {
    // The real bucket, except that uploads die after their first chunk.
    const bucket: Bucket = Object.create(inner);
    bucket.upload = async (key, body) => {
      if (body instanceof Uint8Array) return await inner.upload(key, body);
      for await (const _ of body) throw new Error(`network gone while uploading ${key}`);
    };
    const w = new ShardWriter(bucket, "x/0.labels.parquet", "x/0.chunks.parquet", ["__name__"], {
      rowGroupSize: 1,
    });
    const chunk = new Uint8Array(100);
    const run = async () => {
      for (let i = 0; i < 10; i++) {
        await w.append({
          labels: [{ name: "__name__", value: `m${i}` }],
          chunks: [chunk, chunk, chunk],
        });
      }
      await w.close();
    };
    await assert.rejects(run(), /network gone/);
    await w.abort(new Error("cleanup"));
    assert.equal(await inner.exists("x/0.labels.parquet"), false);
  });
});

Deno.test("default chunk pages hold a few rows, so one series' row is read from about its bytes", async () => {
  await withBucket(async (bucket) => {
    // 200 series with 6 KiB of chunk bytes per 8h column, as a day of 15 s scrapes may take.
    const rows = 200;
    const w = new ShardWriter(
      bucket,
      labelsFileKey(HASH, DATE, 0),
      chunksFileKey(HASH, DATE, 0),
      ["__name__", "instance"],
      { rowGroupSize: rows },
    );
    for (let i = 0; i < rows; i++) {
      const chunks = [0, 1, 2].map((c) => {
        const data = new Uint8Array(6000);
        // Incompressible bytes, as XOR chunks mostly are.
        for (let k = 0; k < data.length; k++) {
          data[k] = (Math.imul(i * 3 + c, 2654435761) >>> k % 24) & 0xff ^ k;
        }
        const minT = DAY + c * 8 * 3_600_000;
        return encodeChunkColumn([{ encoding: 1, minT, maxT: minT + 60_000, data }]);
      });
      await w.append({
        labels: [{ name: "__name__", value: "up" }, {
          name: "instance",
          value: `host-${String(i).padStart(3, "0")}`,
        }],
        chunks,
      });
    }
    await w.close();
    const key = chunksFileKey(HASH, DATE, 0);
    const file = await PageFile.open(
      key,
      new BucketSource(bucket, key, (await bucket.attributes(key)).size),
      "all",
    );
    const col = file.columnPosition("___cf_meta_chunk_1")!;
    const spans = await file.pages(0, col);
    // 16 KiB pages of 6 KiB values: two rows each (a page is cut once it reaches the target).
    assert.equal(spans.length, rows / 2);
    assert.ok(spans.every((s) => s.endRow - s.firstRow === 2));
    // The pages of one row: one, of about two rows' bytes, found without a scan.
    for (const r of [0, 1, 117, 199]) {
      const [span, ...more] = await file.pagesOverlapping(0, col, [r, r + 1]);
      assert.deepEqual(more, []);
      assert.ok(span.firstRow <= r && r < span.endRow);
      assert.ok(span.length < 2 * 6050, `page of ${span.length} bytes`);
    }
    // Overlapping pages of a row span are exactly the pages a linear filter finds.
    for (const [from, to] of [[0, 200], [3, 4], [5, 40], [198, 200], [150, 151]]) {
      assert.deepEqual(
        await file.pagesOverlapping(0, col, [from, to]),
        spans.filter((s) => s.endRow > from && s.firstRow < to),
        `[${from}, ${to})`,
      );
    }
  });
});
