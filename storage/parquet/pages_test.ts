import assert from "node:assert/strict";
import type { Labels } from "../../model/labels.ts";
import { FilesystemBucket } from "../objstore/filesystem.ts";
import type { ByteArrays } from "./byte_arrays.ts";
import { encodeChunkColumn } from "./chunk_column.ts";
import { chunksFileKey, labelsFileKey } from "./layout.ts";
import {
  BucketSource,
  type DecodedPage,
  LocalFileSource,
  LruDictionaryCache,
  LruPageCache,
  PageFile,
  PageLocationCache,
  type PageSpan,
  ParquetPageError,
} from "./pages.ts";
import { ShardWriter } from "./writer.ts";

async function withShard(
  fn: (bucket: FilesystemBucket, dir: string, rows: Labels[]) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "pq-pages-test-" });
  const bucket = new FilesystemBucket(dir);
  try {
    const rows: Labels[] = [];
    for (let i = 0; i < 300; i++) {
      const labels = [{ name: "__name__", value: `m${String(i % 7)}` }];
      if (i % 4) labels.push({ name: "pod", value: `pod-${String(i).padStart(3, "0")}` });
      rows.push(labels);
    }
    rows.sort((a, b) => (a[0].value < b[0].value ? -1 : a[0].value > b[0].value ? 1 : 0));
    const w = new ShardWriter(
      bucket,
      labelsFileKey(1n, "2025-01-01", 0),
      chunksFileKey(1n, "2025-01-01", 0),
      [
        "__name__",
        "pod",
      ],
      { rowGroupSize: 128, labelsPageSize: 200 },
    );
    for (const labels of rows) {
      const chunk = encodeChunkColumn([{
        encoding: 1,
        minT: 0,
        maxT: 1,
        data: Uint8Array.of(0, 0),
      }]);
      await w.append({ labels, chunks: [chunk, new Uint8Array(0), new Uint8Array(0)] });
    }
    await w.close();
    await fn(bucket, dir, rows);
  } finally {
    await bucket.close();
    await Deno.remove(dir, { recursive: true });
  }
}

/** `key` of `bucket` opened with a page cache of its own. */
async function openCached(bucket: FilesystemBucket, key: string) {
  const source = new BucketSource(bucket, key, (await bucket.attributes(key)).size);
  const cache = new LruPageCache(1 << 20);
  return { source, file: await PageFile.open(key, source, "all", undefined, undefined, cache) };
}

Deno.test("PageFile: pages decode back to the written values, via bucket and local file", async () => {
  await withShard(async (bucket, dir, rows) => {
    const key = labelsFileKey(1n, "2025-01-01", 0);
    const size = (await bucket.attributes(key)).size;
    const local = await LocalFileSource.open(`${dir}/${key}`);
    for (const source of [new BucketSource(bucket, key, size), local]) {
      const file = await PageFile.open(key, source, "all");
      assert.deepEqual(file.rowGroupRows, [128, 128, 44]);
      const col = file.columnPosition("___cf_meta_label_pod")!;
      const got: (string | null)[] = [];
      for (let rg = 0; rg < file.rowGroups; rg++) {
        const dict = await file.dictionary(rg, col);
        const spans = await file.pages(rg, col);
        assert.ok(rg === 2 || spans.length > 1, "several pages per column chunk");
        for (const span of spans) {
          const page = await file.readPage(col, span);
          let k = 0;
          for (let i = 0; i < page.rows; i++) {
            got.push(
              page.defined && !page.defined[i]
                ? null
                : dict!.entry((page.values as Int32Array)[k++]),
            );
          }
        }
      }
      assert.deepEqual(got, rows.map((l) => l.find((x) => x.name === "pod")?.value ?? null));
      await source.close();
    }
  });
});

Deno.test("PageFile: truncated or foreign files are ParquetPageErrors", async () => {
  await withShard(async (bucket) => {
    const key = labelsFileKey(1n, "2025-01-01", 0);
    const data = await bucket.get(key);
    const cases: [string, Uint8Array][] = [
      ["short", data.subarray(0, 8)],
      ["no tail magic", data.subarray(0, data.length - 1)],
      ["no head magic", Uint8Array.from([0, ...data.subarray(1)])],
      [
        "bad footer",
        (() => {
          // Damage the start of the footer (the schema), not a string that may hold anything.
          const d = data.slice();
          const footerLen = new DataView(d.buffer).getUint32(d.length - 8, true);
          d.fill(0x15, d.length - 8 - footerLen, d.length - 8 - footerLen + 24);
          return d;
        })(),
      ],
    ];
    for (const [name, bytes] of cases) {
      await bucket.upload(`bad/${name}`, bytes);
      const src = new BucketSource(bucket, `bad/${name}`, bytes.length);
      await assert.rejects(PageFile.open(name, src), ParquetPageError, name);
    }
    const lying = new BucketSource(bucket, key, data.length + 100);
    await assert.rejects(PageFile.open(key, lying), /short read|magic/);
  });
});

Deno.test("LruDictionaryCache: bounded by total entries, least recently used evicted first", () => {
  const c = new LruDictionaryCache(5);
  c.set("a", ["1", "2"]);
  c.set("b", ["3", "4"]);
  assert.deepEqual(c.get("a"), ["1", "2"]); // a is now the most recent
  c.set("c", ["5", "6"]); // 6 > 5: evicts b
  assert.equal(c.get("b"), undefined);
  assert.deepEqual([c.get("a"), c.get("c"), c.entries], [["1", "2"], ["5", "6"], 4]);
  c.set("big", ["1", "2", "3", "4", "5", "6"]); // larger than the bound: not cached
  assert.equal(c.get("big"), undefined);
  assert.equal(c.entries, 4);
  c.set("a", ["x"]); // replacing adjusts the count
  assert.equal(c.entries, 3);
});

Deno.test("PageFile: dictionaries come from the cache on the second read", async () => {
  await withShard(async (bucket) => {
    const key = labelsFileKey(1n, "2025-01-01", 0);
    const source = new BucketSource(bucket, key, (await bucket.attributes(key)).size);
    const cache = new LruDictionaryCache(1000);
    const file = await PageFile.open(key, source, "all", undefined, cache);
    const col = file.columnPosition("___cf_meta_label_pod")!;
    const first = await file.dictionary(0, col);
    const requests = source.stats.requests;
    assert.equal(await file.dictionary(0, col), first);
    assert.equal(source.stats.requests, requests);
    assert.equal(cache.entries, first!.size);
  });
});

Deno.test("LruPageCache: bounded by bytes, least recently used evicted first", () => {
  const page = (rows: number): DecodedPage => ({
    firstRow: 0,
    rows,
    dictionaryEncoded: false,
    values: new Int32Array(0),
  });
  const c = new LruPageCache(100);
  const a = page(1), b = page(2), d = page(3);
  c.set("a", a, 40);
  c.set("b", b, 40);
  assert.equal(c.get("a"), a); // a is now the most recent
  c.set("d", d, 40); // 120 > 100: evicts b
  assert.equal(c.get("b"), undefined);
  assert.deepEqual([c.get("a"), c.get("d"), c.bytes, c.size], [a, d, 80, 2]);
  c.set("big", page(4), 101); // larger than the bound: not cached
  assert.equal(c.get("big"), undefined);
  c.set("a", a, 10); // replacing adjusts the total
  assert.equal(c.bytes, 50);
  assert.deepEqual(c.stats, { hits: 3, misses: 2, evictions: 1 });
});

Deno.test("PageFile: data pages come from the page cache on the second read", async () => {
  await withShard(async (bucket, _dir, rows) => {
    const key = labelsFileKey(1n, "2025-01-01", 0);
    const source = new BucketSource(bucket, key, (await bucket.attributes(key)).size);
    const cache = new LruPageCache(1 << 20);
    const file = await PageFile.open(key, source, "all", undefined, undefined, cache);
    const col = file.columnPosition("___cf_meta_label___name__")!;
    const spans = await file.pages(0, col);
    const dict = (await file.dictionary(0, col))!;
    const first = await file.readPage(col, spans[0]);
    const requests = source.stats.requests;
    assert.equal(file.cachedPage(col, spans[0]), first);
    assert.equal(await file.readPage(col, spans[0]), first);
    assert.equal(source.stats.requests, requests);
    // The cached page still decodes to the written values.
    const names = Array.from(first.values as ArrayLike<number>, (i) => dict.entry(i));
    assert.deepEqual(names, rows.slice(0, names.length).map((l) => l[0].value));
    // Another file's page with the same column and offset is not mistaken for it.
    const other = await PageFile.open(key, source, "all", undefined, undefined, cache);
    assert.equal(other.cachedPage(col, spans[0]), undefined);
    await other.readPage(col, spans[0]);
    const bytes = cache.bytes;
    // A closed file's pages leave the cache; the other file's stay.
    file.dropCachedPages();
    assert.equal(file.cachedPage(col, spans[0]), undefined);
    assert.ok(other.cachedPage(col, spans[0]));
    assert.equal(cache.bytes, bytes / 2);
  });
});

Deno.test("PageLocationCache: offset indexes kept up to its bytes, read again once evicted", async () => {
  await withShard(async (bucket) => {
    const key = chunksFileKey(1n, "2025-01-01", 0);
    const source = new BucketSource(bucket, key, (await bucket.attributes(key)).size);
    const chunkColumns = ["___cf_meta_chunk_0", "___cf_meta_hash"];
    const plain = await PageFile.open(key, source, chunkColumns);
    const col = plain.columnPosition("___cf_meta_chunk_0")!;
    const want = await Promise.all([0, 1, 2].map((rg) => plain.pages(rg, col)));

    const openWith = (locations: PageLocationCache) =>
      PageFile.open(key, source, chunkColumns, undefined, undefined, undefined, locations);

    // Large enough: the locations read at open are kept there, and no page lookup reads.
    const cache = new PageLocationCache(1 << 20);
    const kept = await openWith(cache);
    const held = cache.bytes;
    assert.ok(held > 0);
    let requests = source.stats.requests;
    assert.deepEqual(await Promise.all([0, 1, 2].map((rg) => kept.pages(rg, col))), want);
    assert.equal(source.stats.requests, requests);

    // Too small to keep any: every lookup reads the offset index again, concurrent ones once.
    const none = new PageLocationCache(0);
    const evicting = await openWith(none);
    requests = source.stats.requests;
    assert.deepEqual(await Promise.all([evicting.pages(1, col), evicting.pages(1, col)]), [
      want[1],
      want[1],
    ]);
    assert.equal(source.stats.requests - requests, 1);
    assert.deepEqual(await evicting.pages(1, col), want[1]);
    assert.equal(source.stats.requests - requests, 2);
    assert.equal(none.bytes, 0);

    // A closed file's locations leave the cache.
    kept.dropCachedPages();
    assert.equal(cache.bytes, 0);
    assert.equal(cache.stats.misses, 0);
  });
});

Deno.test("PageFile: concurrent reads of a page share one fetch; a failed one is retried", async () => {
  await withShard(async (bucket) => {
    const key = labelsFileKey(1n, "2025-01-01", 0);
    const { source, file } = await openCached(bucket, key);
    const col = file.columnPosition("___cf_meta_label_pod")!;
    const [s0, s1] = await file.pages(0, col);
    let requests = source.stats.requests;
    const [a, b, c] = await Promise.all([
      file.readPage(col, s0),
      file.readPage(col, s0),
      file.loadPages(col, [s1, s0], async (missing) => {
        assert.deepEqual(missing, [s1]); // s0 is already being loaded
        return await Promise.all(missing.map((s) => file.readPage(col, s)));
      }),
    ]);
    assert.equal(source.stats.requests - requests, 2);
    assert.equal(a, b);
    assert.equal(c[1], a);
    assert.deepEqual(c[0], file.cachedPage(col, s1));
    // A load that fails (e.g. its query was cancelled) does not fail the queries waiting for it.
    const [, s2] = await file.pages(1, col);
    requests = source.stats.requests;
    const failing = file.loadPages(col, [s2], () => Promise.reject(new Error("cancelled")));
    const waiting = file.readPage(col, s2);
    await assert.rejects(failing, /cancelled/);
    const page = await waiting;
    assert.equal(page.firstRow, s2.firstRow);
    assert.equal(source.stats.requests - requests, 1);
  });
});

Deno.test("PageFile: pagesOverlapping is the pages holding a row of the ranges, with or without the offset index preloaded", async () => {
  await withShard(async (bucket) => {
    const key = labelsFileKey(1n, "2025-01-01", 0);
    const size = (await bucket.attributes(key)).size;
    for (const preload of ["all", ["___cf_meta_label_pod"], undefined] as const) {
      const file = await PageFile.open(key, new BucketSource(bucket, key, size), preload);
      const col = file.columnPosition("___cf_meta_label_pod")!;
      for (let rg = 0; rg < file.rowGroups; rg++) {
        const all = await file.pages(rg, col);
        const rows = file.rowGroupRows[rg];
        const holds = (ranges: number[], s: PageSpan) => {
          for (let k = 0; k < ranges.length; k += 2) {
            const [from, to] = [ranges[k], ranges[k + 1]];
            if (from < to && s.endRow > from && s.firstRow < to) return true;
          }
          return false;
        };
        for (let from = 0; from <= rows + 1; from += 3) {
          for (const to of [from, from + 1, from + 17, rows + 5]) {
            const want = all.filter((s) => holds([from, to], s));
            const got = await file.pagesOverlapping(rg, col, [from, to]);
            assert.deepEqual(got, want, `${from}-${to}`);
          }
        }
        // Several ranges: each page once, in order, whether ranges share a page or not.
        let seed = rg + 1;
        const rnd = (n: number) => (seed = (seed * 48271) % 2147483647) % n;
        for (let trial = 0; trial < 200; trial++) {
          const ranges: number[] = [];
          for (let at = rnd(40); at < rows + 3; at += 1 + rnd(trial % 2 ? 5 : 400)) {
            const to = at + 1 + rnd(trial % 3 ? 3 : 60);
            ranges.push(at, to);
            at = to;
          }
          const want = all.filter((s) => holds(ranges, s));
          const got = await file.pagesOverlapping(rg, col, ranges);
          assert.deepEqual(got, want, JSON.stringify(ranges));
        }
      }
      // The offset index as hyparquet describes it, from the compact locations.
      const oi = await file.offsetIndex(0, col);
      const spans = await file.pages(0, col);
      assert.deepEqual(
        oi.page_locations.map((l) => [Number(l.offset), l.compressed_page_size]),
        spans.map((s) => [s.offset, s.length]),
      );
      // Only "all" loads page bounds up front; the others read them on first use.
      assert.ok((await file.columnIndex(0, col)) !== undefined);
    }
  });
});

Deno.test("PageFile.columnStrings: computed once per file and column with a dictionary cache, every time without", async () => {
  await withShard(async (bucket) => {
    const key = labelsFileKey(1n, "2025-01-01", 0);
    const size = (await bucket.attributes(key)).size;
    const cache = new LruDictionaryCache(1000);
    const cached = await PageFile.open(
      key,
      new BucketSource(bucket, key, size),
      "all",
      undefined,
      cache,
    );
    const uncached = await PageFile.open(key, new BucketSource(bucket, key, size), "all");
    const pod = cached.columnPosition("___cf_meta_label_pod")!;
    const name = cached.columnPosition("___cf_meta_label___name__")!;
    let calls = 0;
    const compute = (v: string) => () => {
      calls++;
      return Promise.resolve([v]);
    };
    assert.deepEqual(await cached.columnStrings(pod, compute("a")), ["a"]);
    assert.deepEqual(await cached.columnStrings(pod, compute("b")), ["a"]);
    assert.deepEqual(await cached.columnStrings(name, compute("c")), ["c"]);
    assert.equal(calls, 2);
    // Another opening of the same object has its own entries.
    assert.deepEqual(await uncached.columnStrings(pod, compute("d")), ["d"]);
    assert.deepEqual(await uncached.columnStrings(pod, compute("e")), ["e"]);
    assert.equal(calls, 4);
  });
});

Deno.test("PageFile: a cached page of an uncompressed column does not hold on to its coalesced read", async () => {
  await withShard(async (bucket) => {
    const key = chunksFileKey(1n, "2025-01-01", 0);
    const { source, file } = await openCached(bucket, key);
    const col = file.columnPosition("___cf_meta_chunk_0")!;
    assert.equal(file.metadata.row_groups[0].columns[col].meta_data!.codec, "UNCOMPRESSED");
    const [span] = await file.pages(0, col);
    // One read holding the page amid other bytes, as a coalesced range does.
    const read = await source.read(0, span.offset + span.length + 100);
    const view = read.subarray(span.offset, span.offset + span.length);
    const cached = file.decodePage(col, span, view);
    const passing = file.decodePage(col, span, view, false);
    const value = (page: DecodedPage) => (page.values as ByteArrays).at(0);
    assert.deepEqual(value(cached), value(passing));
    assert.equal(file.cachedPage(col, span), cached);
    // The uncached page may view the read; the cached one has bytes of its own.
    assert.equal(value(passing).buffer, read.buffer);
    assert.ok(value(cached).buffer.byteLength <= span.length);
  });
});
