import assert from "node:assert/strict";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { BinaryWriter } from "@bufbuild/protobuf/wire";
import { CounterResetHint, type FloatHistogram } from "../../model/histogram.ts";
import { labelsFromRecord } from "../../model/labels.ts";
import { ArraySampleIterator, STALE_NAN } from "../../model/series.ts";
import {
  ChunkedReadResponseSchema,
  QueryResultSchema,
  ReadRequest_ResponseType,
  ReadRequestSchema,
} from "../../proto/gen/prompb/remote_pb.ts";
import { ChunkSchema, LabelMatcher_Type, LabelSchema } from "../../proto/gen/prompb/types_pb.ts";
import { crc32c } from "../../storage/tsdb/crc32c.ts";
import { HistogramChunkEncoder, HistogramIterator } from "../../storage/tsdb/histogram.ts";
import {
  chunkSize,
  decodeReadRequest,
  encodeChunkedReadResponse,
  frame,
  labelSize,
  ReadRequestError,
  seriesFrames,
  snappyBlockDecode,
  snappyBlockEncode,
  writeTimeSeries,
} from "./remote_read_codec.ts";

Deno.test("snappy blocks: a hand-made literal block decodes, and encode/decode round-trips", () => {
  // Preamble 5 (uvarint), then a literal of 5 bytes: tag (5-1)<<2.
  const block = Uint8Array.from([5, 4 << 2, 104, 101, 108, 108, 111]);
  assert.equal(new TextDecoder().decode(snappyBlockDecode(block, 100)), "hello");
  const repetitive = new TextEncoder().encode("abcdefgh".repeat(20_000));
  const random = crypto.getRandomValues(new Uint8Array(50_000));
  for (const data of [new Uint8Array(0), repetitive, random]) {
    const enc = snappyBlockEncode(data);
    assert.deepEqual(snappyBlockDecode(enc, data.length), data);
  }
  assert.ok(snappyBlockEncode(repetitive).length < repetitive.length / 10);
});

Deno.test("snappy blocks: a declared length over the limit or corrupt input is refused", () => {
  const enc = snappyBlockEncode(new Uint8Array(1000));
  assert.throws(() => snappyBlockDecode(enc, 999), ReadRequestError);
  assert.throws(() => snappyBlockDecode(Uint8Array.from([0xff, 0xff]), 10), ReadRequestError);
  // Declares 10 bytes, holds a 5-byte literal.
  assert.throws(
    () => snappyBlockDecode(Uint8Array.from([10, 4 << 2, 1, 2, 3, 4, 5]), 10),
    ReadRequestError,
  );
  assert.throws(() => decodeReadRequest(snappyBlockEncode(Uint8Array.from([0xff]))), {
    name: "ReadRequestError",
    message: /^unmarshal read request/,
  });
});

Deno.test("decodeReadRequest reads what the generated schema writes", () => {
  const req = create(ReadRequestSchema, {
    queries: [{
      startTimestampMs: 1000n,
      endTimestampMs: 2000n,
      matchers: [{ type: LabelMatcher_Type.RE, name: "job", value: "a.*" }],
      hints: { stepMs: 15n, func: "rate", startMs: 1100n, endMs: 1900n, rangeMs: 300n },
    }],
    acceptedResponseTypes: [ReadRequest_ResponseType.STREAMED_XOR_CHUNKS],
  });
  const got = decodeReadRequest(snappyBlockEncode(toBinary(ReadRequestSchema, req)));
  assert.deepEqual(toBinary(ReadRequestSchema, got), toBinary(ReadRequestSchema, req));
  assert.equal(got.queries[0].hints?.func, "rate");
});

Deno.test("writeTimeSeries writes the bytes the generated schema writes for the same series", () => {
  const labels = labelsFromRecord({ __name__: "m", job: "a" });
  const h: FloatHistogram = {
    counterResetHint: CounterResetHint.NotCounterReset,
    schema: 1,
    zeroThreshold: 0.001,
    zeroCount: 2,
    count: 10.5,
    sum: 42,
    positiveSpans: [{ offset: -1, length: 2 }],
    negativeSpans: [],
    positiveBuckets: Float64Array.from([3, 5.5]),
    negativeBuckets: new Float64Array(0),
    customValues: new Float64Array(0),
  };
  const it = new ArraySampleIterator(
    [0, 1000, 2000, 4000],
    Float64Array.from([0, -0, 1.5, 0]),
    [undefined, undefined, undefined, h],
  );
  const w = new BinaryWriter();
  let counted = 0;
  writeTimeSeries(w, 1, labels, it, () => counted++);
  const ours = w.finish();
  assert.equal(counted, 4);
  const want = toBinary(
    QueryResultSchema,
    create(QueryResultSchema, {
      timeseries: [{
        labels: [{ name: "__name__", value: "m" }, { name: "job", value: "a" }],
        samples: [
          { timestamp: 0n, value: 0 },
          { timestamp: 1000n, value: -0 },
          { timestamp: 2000n, value: 1.5 },
        ],
        histograms: [{
          count: { case: "countFloat", value: 10.5 },
          sum: 42,
          schema: 1,
          zeroThreshold: 0.001,
          zeroCount: { case: "zeroCountFloat", value: 2 },
          positiveSpans: [{ offset: -1, length: 2 }],
          positiveCounts: [3, 5.5],
          resetHint: 2,
          timestamp: 4000n,
        }],
      }],
    }),
  );
  assert.deepEqual(ours, want);
  assert.ok(Object.is(fromBinary(QueryResultSchema, ours).timeseries[0].samples[1].value, -0));
});

/** Whether `bytes` holds `pattern`. */
function holds(bytes: Uint8Array, pattern: number[]): boolean {
  return bytes.some((_, i) => pattern.every((b, j) => bytes[i + j] === b));
}

/** The stale marker's bits, little-endian, as they go on the wire. */
const STALE_BYTES = [0x02, 0, 0, 0, 0, 0, 0xf0, 0x7f];

Deno.test("writeTimeSeries keeps the stale marker's bits (JS decoders may not)", () => {
  const w = new BinaryWriter();
  writeTimeSeries(
    w,
    1,
    [],
    new ArraySampleIterator([1000], Float64Array.from([STALE_NAN])),
    () => {},
  );
  // Sample field 1 (value, 64-bit): tag 0x09.
  assert.ok(holds(w.finish(), [0x09, ...STALE_BYTES]));
});

Deno.test("writeTimeSeries sends integer histograms as integers with bucket deltas", () => {
  const enc = new HistogramChunkEncoder();
  const base = {
    counterResetHint: CounterResetHint.Unknown,
    schema: 0,
    zeroThreshold: 0,
    zeroCount: 1,
    sum: 7,
    positiveSpans: [{ offset: 0, length: 3 }],
    negativeSpans: [],
    negativeBuckets: new Float64Array(0),
    customValues: new Float64Array(0),
  };
  // Absolute counts 2, 5, 1: stored deltas 2, 3, -4.
  enc.append(1000, { ...base, count: 9, positiveBuckets: Float64Array.from([2, 3, -4]) });
  enc.appendStale(2000);
  const w = new BinaryWriter();
  writeTimeSeries(
    w,
    1,
    labelsFromRecord({ __name__: "h" }),
    new HistogramIterator(enc.bytes()),
    () => {},
  );
  const bytes = w.finish();
  const [first, stale] = fromBinary(QueryResultSchema, bytes).timeseries[0].histograms;
  assert.deepEqual(first.count, { case: "countInt", value: 9n });
  assert.deepEqual(first.zeroCount, { case: "zeroCountInt", value: 1n });
  assert.deepEqual(first.positiveDeltas, [2n, 3n, -4n]);
  assert.deepEqual(first.positiveCounts, []);
  assert.equal(first.timestamp, 1000n);
  assert.equal(stale.timestamp, 2000n);
  // Histogram field 3 (sum, 64-bit): tag 0x19.
  assert.ok(holds(bytes, [0x19, ...STALE_BYTES]));
});

Deno.test("writeTimeSeries stops where onSample throws", () => {
  const it = new ArraySampleIterator([1, 2, 3], [1, 2, 3]);
  let n = 0;
  assert.throws(
    () =>
      writeTimeSeries(new BinaryWriter(), 1, [], it, () => {
        if (++n > 2) throw new Error("limit");
      }),
    /limit/,
  );
  assert.equal(n, 3);
});

Deno.test("labelSize and chunkSize equal the encoded sizes of the messages", () => {
  for (
    const [name, value] of [["", ""], ["job", ""], ["a", "b"], ["ü€", "😀".repeat(100)]]
  ) {
    assert.equal(
      labelSize(name, value),
      toBinary(LabelSchema, create(LabelSchema, { name, value })).length,
    );
  }
  const chunks = [
    { encoding: 1, minTime: 0, maxTime: 0, data: new Uint8Array(0) },
    {
      encoding: 2,
      minTime: 1_736_467_200_000,
      maxTime: 1_736_467_260_000,
      data: new Uint8Array(300),
    },
    { encoding: 1, minTime: -5, maxTime: 127, data: new Uint8Array(1) },
  ];
  for (const c of chunks) {
    const pb = create(ChunkSchema, {
      minTimeMs: BigInt(c.minTime),
      maxTimeMs: BigInt(c.maxTime),
      type: c.encoding,
      data: c.data,
    });
    assert.equal(chunkSize(c), toBinary(ChunkSchema, pb).length);
  }
});

function parseFrames(stream: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let p = 0; p < stream.length;) {
    let len = 0, shift = 0;
    for (;;) {
      const b = stream[p++];
      len += (b & 0x7f) * 2 ** shift;
      shift += 7;
      if (b < 0x80) break;
    }
    const crc = new DataView(stream.buffer, stream.byteOffset + p, 4).getUint32(0);
    const msg = stream.subarray(p + 4, p + 4 + len);
    assert.equal(crc32c(msg), crc);
    out.push(msg);
    p += 4 + len;
  }
  return out;
}

Deno.test("frame: uvarint length, big-endian CRC-32C, message", () => {
  const msg = new Uint8Array(300).fill(7);
  const f = frame(msg);
  assert.deepEqual([...f.subarray(0, 2)], [0xac, 0x02]);
  assert.deepEqual(parseFrames(f), [msg]);
});

Deno.test("seriesFrames splits a series as Prometheus does, labels in every frame", () => {
  const labels = labelsFromRecord({ __name__: "m", job: "a" });
  const chunks = Array.from({ length: 7 }, (_, i) => ({
    encoding: 1,
    // Times of equal varint length: chunks of equal size.
    minTime: 1_000_000 + 1000 * i,
    maxTime: 1_000_999 + 1000 * i,
    data: new Uint8Array(100).fill(i),
  }));
  const l = labelSize("__name__", "m") + labelSize("job", "a");
  const s = chunkSize(chunks[0]);
  // 2.5 chunks of room: a frame is closed by the chunk that uses the room up, the third.
  const frames = seriesFrames(labels, chunks, 3, l + 2.5 * s).map((f) =>
    fromBinary(ChunkedReadResponseSchema, parseFrames(f)[0])
  );
  assert.deepEqual(frames.map((f) => f.chunkedSeries[0].chunks.length), [3, 3, 1]);
  for (const f of frames) {
    assert.equal(f.queryIndex, 3n);
    assert.deepEqual(f.chunkedSeries[0].labels.map((x) => [x.name, x.value]), [
      ["__name__", "m"],
      ["job", "a"],
    ]);
  }
  const all = frames.flatMap((f) => f.chunkedSeries[0].chunks);
  assert.deepEqual(
    all.map((c) => [Number(c.minTimeMs), Number(c.maxTimeMs), c.type, c.data]),
    chunks.map((c) => [c.minTime, c.maxTime, c.encoding, c.data]),
  );
  // The exact room for three chunks closes the frame at the third as well; one byte more
  // takes a fourth.
  assert.deepEqual(
    seriesFrames(labels, chunks, 0, l + 3 * s).map((f) =>
      fromBinary(ChunkedReadResponseSchema, parseFrames(f)[0]).chunkedSeries[0].chunks.length
    ),
    [3, 3, 1],
  );
  assert.deepEqual(
    seriesFrames(labels, chunks, 0, l + 3 * s + 1).map((f) =>
      fromBinary(ChunkedReadResponseSchema, parseFrames(f)[0]).chunkedSeries[0].chunks.length
    ),
    [4, 3],
  );
});

Deno.test("encodeChunkedReadResponse writes the bytes the generated schema writes", () => {
  const labels = labelsFromRecord({ __name__: "m" });
  const chunks = [{ encoding: 2, minTime: 5, maxTime: 9, data: Uint8Array.from([1, 2]) }];
  const want = toBinary(
    ChunkedReadResponseSchema,
    create(ChunkedReadResponseSchema, {
      chunkedSeries: [{
        labels: [{ name: "__name__", value: "m" }],
        chunks: [{ minTimeMs: 5n, maxTimeMs: 9n, type: 2, data: Uint8Array.from([1, 2]) }],
      }],
      queryIndex: 0n,
    }),
  );
  assert.deepEqual(encodeChunkedReadResponse(labels, chunks, 0), want);
});
