import assert from "node:assert/strict";
import { create, fromBinary, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import { MemoryQueryable } from "../../engine/memory_queryable.ts";
import { NOP_LOGGER } from "../../internal/log.ts";
import { labelsFromRecord } from "../../model/labels.ts";
import type { Matcher } from "../../model/matchers.ts";
import type { Queryable, SelectHints, SeriesSet } from "../../model/queryable.ts";
import { ValueType } from "../../model/series.ts";
import {
  type ChunkedReadResponse,
  ChunkedReadResponseSchema,
  ReadRequest_ResponseType,
  ReadRequestSchema,
  type ReadResponse,
  ReadResponseSchema,
} from "../../proto/gen/prompb/remote_pb.ts";
import { LabelMatcher_Type } from "../../proto/gen/prompb/types_pb.ts";
import { FilesystemBucket } from "../../storage/objstore/filesystem.ts";
import { chunkIterator } from "../../storage/tsdb/chunk.ts";
import { crc32c } from "../../storage/tsdb/crc32c.ts";
import { L, syncBucket, type TestSeries, toChunks, writeDay } from "../db/_fixture_testutil.ts";
import { ParquetDB } from "../db/db.ts";
import { parquetStoreSource } from "../db/store_source.ts";
import { queryableSource } from "../grpc/thanos/source.ts";
import { createRemoteReadHandler, type RemoteReadOptions } from "./remote_read.ts";
import { snappyBlockDecode, snappyBlockEncode } from "./remote_read_codec.ts";
import { listenForTest } from "./_api_testutil.ts";

const { SAMPLES, STREAMED_XOR_CHUNKS } = ReadRequest_ResponseType;
/** A response type this server does not know. */
const UNKNOWN_TYPE = 7 as ReadRequest_ResponseType;
const { EQ, RE } = LabelMatcher_Type;

/** Serves remote read over `queryable` on 127.0.0.1; `options` override the defaults. */
function serve(queryable: () => Queryable, options: Partial<RemoteReadOptions> = {}) {
  const server = listenForTest(createRemoteReadHandler({
    queryable,
    chunkSource: queryableSource,
    sampleLimit: 0,
    maxSamples: 0,
    concurrencyLimit: 10,
    maxBytesInFrame: 1 << 20,
    timeout: 30_000,
    logger: NOP_LOGGER,
    ...options,
  }));
  return {
    url: `http://127.0.0.1:${server.port}/api/v1/read`,
    [Symbol.asyncDispose]: () => server.shutdown(1000),
  };
}

/** Sends a read request as Prometheus' client does and returns status, headers and body. */
async function read(url: string, req: MessageInitShape<typeof ReadRequestSchema>) {
  const res = await fetch(url, {
    method: "POST",
    headers: {
      "content-encoding": "snappy",
      "content-type": "application/x-protobuf",
      "x-prometheus-remote-read-version": "0.1.0",
    },
    body: snappyBlockEncode(
      toBinary(ReadRequestSchema, create(ReadRequestSchema, req)),
    ) as Uint8Array<ArrayBuffer>,
  });
  return {
    status: res.status,
    headers: res.headers,
    body: new Uint8Array(await res.arrayBuffer()),
  };
}

function samplesResponse(body: Uint8Array): ReadResponse {
  return fromBinary(ReadResponseSchema, snappyBlockDecode(body, 1 << 30));
}

/** The frames of a streamed body, each checked against its CRC. */
function chunkedResponses(body: Uint8Array): ChunkedReadResponse[] {
  const out: ChunkedReadResponse[] = [];
  for (let p = 0; p < body.length;) {
    let len = 0, shift = 0;
    for (;;) {
      const b = body[p++];
      len += (b & 0x7f) * 2 ** shift;
      shift += 7;
      if (b < 0x80) break;
    }
    const crc = new DataView(body.buffer, body.byteOffset + p, 4).getUint32(0);
    const msg = body.subarray(p + 4, p + 4 + len);
    assert.equal(crc32c(msg), crc, "frame checksum");
    out.push(fromBinary(ChunkedReadResponseSchema, msg));
    p += 4 + len;
  }
  return out;
}

type Pairs = [string, string][];
const pairs = (labels: { name: string; value: string }[]): Pairs =>
  labels.map((l) => [l.name, l.value]);

/** Per series (in frame order, consecutive frames of one series joined), labels and samples. */
function streamedSeries(frames: ChunkedReadResponse[]) {
  const out: { query: number; labels: Pairs; samples: [number, number][] }[] = [];
  for (const f of frames) {
    for (const s of f.chunkedSeries) {
      const labels = pairs(s.labels);
      const last = out.at(-1);
      const entry = last && last.query === Number(f.queryIndex) &&
          JSON.stringify(last.labels) === JSON.stringify(labels)
        ? last
        : out[out.push({ query: Number(f.queryIndex), labels, samples: [] }) - 1];
      for (const c of s.chunks) {
        const it = chunkIterator({ encoding: c.type, data: c.data });
        while (it.next() === ValueType.Float) entry.samples.push([it.atT(), it.atFloat()]);
      }
    }
  }
  return out;
}

/** Two series of `m` (jobs a, b) with a sample every 10 s from 0 to 990 s, value t/1000. */
function store(): MemoryQueryable {
  const q = new MemoryQueryable();
  for (const job of ["a", "b"]) {
    for (let t = 0; t < 1_000_000; t += 10_000) {
      q.append(labelsFromRecord({ __name__: "m", job }), t, t / 1000);
    }
  }
  return q;
}

function range(from: number, to: number): [number, number][] {
  const out: [number, number][] = [];
  for (let t = from; t <= to; t += 10_000) out.push([t, t / 1000]);
  return out;
}

Deno.test("SAMPLES: every query's series and samples, hints narrowing the range", async () => {
  const q = store();
  await using srv = serve(() => q);
  const res = await read(srv.url, {
    queries: [
      {
        startTimestampMs: 100_000n,
        endTimestampMs: 200_000n,
        matchers: [{ type: EQ, name: "__name__", value: "m" }],
      },
      {
        startTimestampMs: 0n,
        endTimestampMs: 900_000n,
        matchers: [{ type: RE, name: "job", value: "b|c" }],
        hints: { startMs: 500_000n, endMs: 530_000n, stepMs: 15_000n, func: "rate" },
      },
      {
        startTimestampMs: 0n,
        endTimestampMs: 900_000n,
        matchers: [{ type: EQ, name: "job", value: "a" }],
        hints: { startMs: 0n, endMs: 900_000n, func: "series" },
      },
    ],
  });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-type"), "application/x-protobuf");
  assert.equal(res.headers.get("content-encoding"), "snappy");
  const results = samplesResponse(res.body).results.map((r) =>
    r.timeseries.map((ts) => ({
      labels: pairs(ts.labels),
      samples: ts.samples.map((s) => [Number(s.timestamp), s.value]),
    }))
  );
  assert.deepEqual(results, [
    [
      { labels: [["__name__", "m"], ["job", "a"]], samples: range(100_000, 200_000) },
      { labels: [["__name__", "m"], ["job", "b"]], samples: range(100_000, 200_000) },
    ],
    [{ labels: [["__name__", "m"], ["job", "b"]], samples: range(500_000, 530_000) }],
    // func "series": the series without samples.
    [{ labels: [["__name__", "m"], ["job", "a"]], samples: [] }],
  ]);
});

Deno.test("STREAMED_XOR_CHUNKS: series in label order, each query's range and index", async () => {
  const q = store();
  await using srv = serve(() => q);
  const res = await read(srv.url, {
    queries: [
      {
        startTimestampMs: 0n,
        endTimestampMs: 995_000n,
        matchers: [{ type: EQ, name: "__name__", value: "m" }],
      },
      {
        startTimestampMs: 0n,
        endTimestampMs: 900_000n,
        matchers: [{ type: EQ, name: "job", value: "b" }],
        hints: { startMs: 305_000n, endMs: 400_000n, func: "series" },
      },
    ],
    acceptedResponseTypes: [STREAMED_XOR_CHUNKS, SAMPLES],
  });
  assert.equal(res.status, 200);
  assert.equal(
    res.headers.get("content-type"),
    "application/x-streamed-protobuf; proto=prometheus.ChunkedReadResponse",
  );
  const frames = chunkedResponses(res.body);
  // 100 samples per series re-encoded into chunks of 120: one chunk, one frame.
  assert.deepEqual(streamedSeries(frames), [
    { query: 0, labels: [["__name__", "m"], ["job", "a"]], samples: range(0, 990_000) },
    { query: 0, labels: [["__name__", "m"], ["job", "b"]], samples: range(0, 990_000) },
    { query: 1, labels: [["__name__", "m"], ["job", "b"]], samples: range(310_000, 400_000) },
  ]);
});

Deno.test("STREAMED_XOR_CHUNKS: a series of many chunks spans consecutive frames", async () => {
  const q = new MemoryQueryable();
  for (let t = 0; t < 1000 * 15_000; t += 15_000) q.append(L({ __name__: "long" }), t, t);
  for (let t = 0; t < 10 * 15_000; t += 15_000) q.append(L({ __name__: "short" }), t, t);
  await using srv = serve(() => q, { maxBytesInFrame: 400 });
  const res = await read(srv.url, {
    queries: [{
      startTimestampMs: 0n,
      endTimestampMs: 1n << 40n,
      matchers: [{ type: RE, name: "__name__", value: ".+" }],
    }],
    acceptedResponseTypes: [STREAMED_XOR_CHUNKS],
  });
  const frames = chunkedResponses(res.body);
  assert.ok(frames.length > 3, `${frames.length} frames`);
  // Every frame holds one series; "long" comes first, in several frames, then "short".
  assert.ok(frames.every((f) => f.chunkedSeries.length === 1));
  const names = frames.map((f) => f.chunkedSeries[0].labels[0].value);
  assert.deepEqual(names, [...names.slice(0, -1).map(() => "long"), "short"]);
  const [long, short] = streamedSeries(frames);
  assert.equal(long.samples.length, 1000);
  assert.deepEqual(long.samples.slice(0, 2), [[0, 0], [15_000, 15_000]]);
  assert.equal(short.samples.length, 10);
});

Deno.test("negotiation: the first supported type wins; none supported is 400", async () => {
  const q = store();
  await using srv = serve(() => q);
  const query = {
    startTimestampMs: 0n,
    endTimestampMs: 1000n,
    matchers: [{ type: EQ, name: "job", value: "a" }],
  };
  const fallback = await read(srv.url, {
    queries: [query],
    acceptedResponseTypes: [UNKNOWN_TYPE, SAMPLES],
  });
  assert.equal(fallback.headers.get("content-type"), "application/x-protobuf");
  assert.equal(samplesResponse(fallback.body).results[0].timeseries.length, 1);
  const none = await read(srv.url, { queries: [query], acceptedResponseTypes: [UNKNOWN_TYPE] });
  assert.equal(none.status, 400);
  assert.match(new TextDecoder().decode(none.body), /^server does not support any of the/);
});

Deno.test("bad requests and limits are answered with Prometheus' statuses", async () => {
  const q = store();
  await using srv = serve(() => q, { sampleLimit: 150, maxSamples: 250 });
  const text = (r: { body: Uint8Array }) => new TextDecoder().decode(r.body).trim();
  const get = await fetch(srv.url);
  await get.body?.cancel();
  assert.equal(get.status, 405);
  const garbage = await fetch(srv.url, { method: "POST", body: "not snappy" });
  assert.equal(garbage.status, 400);
  await garbage.body?.cancel();
  const badRegexp = await read(srv.url, {
    queries: [{
      startTimestampMs: 0n,
      endTimestampMs: 1n,
      matchers: [{ type: RE, name: "a", value: "(" }],
    }],
  });
  assert.equal(badRegexp.status, 400);
  const all = (end: bigint) => ({
    startTimestampMs: 0n,
    endTimestampMs: end,
    matchers: [{ type: EQ, name: "__name__", value: "m" }],
  });
  // 2 series x 76 samples (0..750 s): over 150 in one query.
  const perQuery = await read(srv.url, { queries: [all(750_000n)] });
  assert.equal(perQuery.status, 400);
  assert.equal(text(perQuery), "exceeded sample limit (150)");
  // 2 x 2 x 70 samples: each query within 150, the response over 250.
  const total = await read(srv.url, { queries: [all(690_000n), all(690_000n)] });
  assert.equal(total.status, 400);
  assert.match(text(total), /more than 250 samples \(--query\.max-samples\)/);
  const within = await read(srv.url, { queries: [all(690_000n)] });
  assert.equal(within.status, 200);
  // Streamed answers are not bound by the sample limits.
  const streamed = await read(srv.url, {
    queries: [all(990_000n)],
    acceptedResponseTypes: [STREAMED_XOR_CHUNKS],
  });
  assert.equal(streamed.status, 200);
  assert.equal(streamedSeries(chunkedResponses(streamed.body)).length, 2);
});

/**
 * `series` series of `samples` samples each (values of full precision: about 8 bytes a
 * sample), read in batches of 100 series; selections fail after `failAfter` batches.
 */
class ManySeries implements Queryable {
  readonly #store = new MemoryQueryable({ batchSize: 100 });
  /** Batches handed out and selections closed so far. */
  batches = 0;
  closed = 0;
  constructor(series: number, samples: number, readonly failAfter = Infinity) {
    for (let i = 0; i < series; i++) {
      for (let t = 0; t < samples; t++) {
        this.#store.append(L({ __name__: "m", i: `${i}` }), t, Math.sin(i + t));
      }
    }
  }
  select(matchers: readonly Matcher[], hints: SelectHints, signal?: AbortSignal): SeriesSet {
    const set = this.#store.select(matchers, hints, signal);
    let batches = 0;
    return {
      next: () => {
        this.batches++;
        return ++batches > this.failAfter ? Promise.reject(new Error("disk on fire")) : set.next();
      },
      warnings: () => set.warnings(),
      close: () => {
        this.closed++;
        return set.close();
      },
    };
  }
  labelNames = this.#store.labelNames.bind(this.#store);
  labelValues = this.#store.labelValues.bind(this.#store);
}

Deno.test("a failure before the answer starts is 500; once streaming, the stream breaks", async () => {
  const req = {
    queries: [{
      startTimestampMs: 0n,
      endTimestampMs: 100n,
      matchers: [{ type: EQ, name: "__name__", value: "m" }],
    }],
    acceptedResponseTypes: [STREAMED_XOR_CHUNKS],
  };
  {
    await using srv = serve(() => new ManySeries(1000, 20, 0));
    const res = await read(srv.url, req);
    assert.equal(res.status, 500);
    assert.equal(new TextDecoder().decode(res.body), "disk on fire\n");
  }
  {
    // 64 KiB of frames (about 400 series of 160 bytes) go out before the sixth batch fails.
    await using srv = serve(() => new ManySeries(1000, 20, 5));
    const res = await fetch(srv.url, {
      method: "POST",
      body: snappyBlockEncode(
        toBinary(ReadRequestSchema, create(ReadRequestSchema, req)),
      ) as Uint8Array<ArrayBuffer>,
    });
    assert.equal(res.status, 200);
    await assert.rejects(res.arrayBuffer());
  }
});

Deno.test("a client leaving mid-stream closes the selection and frees its place", async () => {
  // About 4 MB of frames: more than the connection buffers while the client reads nothing.
  const q = new ManySeries(2000, 250);
  await using srv = serve(() => q, { concurrencyLimit: 1 });
  const req = {
    queries: [{
      startTimestampMs: 0n,
      endTimestampMs: 1000n,
      matchers: [{ type: EQ, name: "__name__", value: "m" }],
    }],
    acceptedResponseTypes: [STREAMED_XOR_CHUNKS],
  };
  const body = snappyBlockEncode(
    toBinary(ReadRequestSchema, create(ReadRequestSchema, req)),
  ) as Uint8Array<ArrayBuffer>;
  const leaving = new AbortController();
  const res = await fetch(srv.url, { method: "POST", body, signal: leaving.signal });
  await res.body!.getReader().read();
  leaving.abort();
  // The only place is free again once the stream is cancelled.
  const next = await read(srv.url, {
    queries: [{ ...req.queries[0], matchers: [{ type: EQ, name: "i", value: "7" }] }],
  });
  assert.equal(next.status, 200);
  assert.equal(samplesResponse(next.body).results[0].timeseries[0].samples.length, 250);
  // The stream's selection stopped early: of its 20 batches, not all were read.
  assert.equal(q.closed, 2);
  assert.ok(q.batches < 20 + 2, `${q.batches} batches`);
});

/** `store()` whose selections wait until `open()` is called. */
class GatedQueryable implements Queryable {
  readonly #store = store();
  readonly #gate = Promise.withResolvers<void>();
  selects = 0;
  open = () => this.#gate.resolve();
  select(matchers: readonly Matcher[], hints: SelectHints, signal?: AbortSignal): SeriesSet {
    this.selects++;
    const set = this.#store.select(matchers, hints, signal);
    return {
      next: async () => {
        await this.#gate.promise;
        return set.next();
      },
      warnings: () => set.warnings(),
      close: () => set.close(),
    };
  }
  labelNames = this.#store.labelNames.bind(this.#store);
  labelValues = this.#store.labelValues.bind(this.#store);
}

Deno.test("--storage.remote.read-concurrent-limit: the others wait, up to the timeout", async () => {
  const q = new GatedQueryable();
  await using srv = serve(() => q, { concurrencyLimit: 1, timeout: 1000 });
  const req = {
    queries: [{
      startTimestampMs: 0n,
      endTimestampMs: 10_000n,
      matchers: [{ type: EQ, name: "job", value: "a" }],
    }],
  };
  const first = read(srv.url, req);
  while (q.selects === 0) await new Promise((r) => setTimeout(r, 10));
  const second = await read(srv.url, req);
  assert.equal(second.status, 503);
  assert.equal(
    new TextDecoder().decode(second.body),
    "remote read timed out waiting for a place\n",
  );
  assert.equal(q.selects, 1);
  q.open();
  // The first one's own deadline passed while it was held: it times out as well.
  assert.equal((await first).status, 503);
  const third = await read(srv.url, req);
  assert.equal(third.status, 200);
});

Deno.test("over Parquet: stored chunks go out byte for byte; quotas are 400", async () => {
  const dir = await Deno.makeTempDir({ prefix: "remote-read-" });
  try {
    const bucket = new FilesystemBucket(`${dir}/bucket`);
    const day = Date.UTC(2025, 3, 1);
    const series: TestSeries[] = ["a", "b", "c"].map((job) => ({
      labels: L({ __name__: "up", job }),
      ts: Array.from({ length: 600 }, (_, i) => day + i * 60_000),
      vs: Array.from({ length: 600 }, (_, i) => i),
    }));
    await writeDay(bucket, { ext: { site: "x" }, date: "2025-04-01", shards: [series] });
    const syncer = await syncBucket(bucket, `${dir}/labels`);
    try {
      const db = (maxSelectRows: number) =>
        new ParquetDB({
          days: () => syncer.days,
          limits: {
            maxShards: 0,
            maxSelectRows,
            maxChunkBytes: 0,
            maxLabelNamesRows: 0,
            maxLabelValuesRows: 0,
          },
        });
      const stored = toChunks(series[1]);
      // From inside the second chunk to inside the fourth.
      const from = stored[1].minT + 60_000, to = stored[3].maxT - 60_000;
      const req = {
        queries: [{
          startTimestampMs: BigInt(from),
          endTimestampMs: BigInt(to),
          matchers: [{ type: EQ, name: "job", value: "b" }, { type: EQ, name: "site", value: "x" }],
        }],
        acceptedResponseTypes: [STREAMED_XOR_CHUNKS],
      };
      {
        await using srv = serve(() => db(0).queryable(), { chunkSource: parquetStoreSource });
        const frames = chunkedResponses((await read(srv.url, req)).body);
        assert.equal(frames.length, 1);
        const [s] = frames[0].chunkedSeries;
        assert.deepEqual(pairs(s.labels), [["__name__", "up"], ["job", "b"], ["site", "x"]]);
        assert.equal(s.chunks.length, 3);
        // The chunk inside the range as stored; the two crossing an edge cut at the edge.
        assert.deepEqual(s.chunks[1].data, stored[2].data);
        assert.deepEqual(
          [Number(s.chunks[0].minTimeMs), Number(s.chunks[2].maxTimeMs)],
          [from, to],
        );
        const samples = streamedSeries(frames)[0].samples;
        assert.deepEqual(samples[0], [from, (from - day) / 60_000]);
        assert.equal(samples.length, (to - from) / 60_000 + 1);
      }
      {
        await using srv = serve(() => db(2).queryable(), { chunkSource: parquetStoreSource });
        const res = await read(srv.url, {
          queries: [{
            startTimestampMs: BigInt(day),
            endTimestampMs: BigInt(day + 3_600_000),
            matchers: [{ type: EQ, name: "__name__", value: "up" }],
          }],
        });
        assert.equal(res.status, 400);
        assert.match(new TextDecoder().decode(res.body), /select rows limit 2 exceeded/);
      }
    } finally {
      await syncer.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
