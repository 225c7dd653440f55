/**
 * The wire format of Prometheus' remote read (`storage/remote/codec.go`, `chunked.go`): the
 * request is a snappy block-compressed `prometheus.ReadRequest`; a SAMPLES answer is one snappy
 * block-compressed `ReadResponse`; a STREAMED_XOR_CHUNKS answer is a sequence of frames, each a
 * uvarint length, the big-endian CRC-32C (Castagnoli) of the message and a
 * `ChunkedReadResponse`.
 *
 * Responses are written field by field with the protobuf library's `BinaryWriter` rather than
 * built as message objects: a SAMPLES answer may hold millions of samples, and writing them as
 * they are read keeps one copy (the bytes). Fields come in field-number order and proto3
 * defaults are left out, as Prometheus' gogo-protobuf encoder does, so the bytes are the ones
 * Prometheus sends; the sizes that split a series into frames are gogo's `Size()`.
 *
 * @module
 */
import { fromBinary } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { snappyUncompress } from "hyparquet";
import { snappyCompress } from "hyparquet-writer/src/snappy.js";
import type { FloatHistogram } from "../../model/histogram.ts";
import type { Labels } from "../../model/labels.ts";
import { isStaleNaN, type SampleIterator, STALE_NAN, ValueType } from "../../model/series.ts";
import { type ReadRequest, ReadRequestSchema } from "../../proto/gen/prompb/remote_pb.ts";
import { crc32c } from "../../storage/tsdb/crc32c.ts";
import type { RawChunk } from "../grpc/thanos/source.ts";

/** Largest request Prometheus reads, compressed and decompressed (`decodeReadLimit`, 32 MiB). */
export const DECODE_READ_LIMIT = 32 * 1024 * 1024;

/** Content type of a SAMPLES answer (with `Content-Encoding: snappy`). */
export const SAMPLES_CONTENT_TYPE = "application/x-protobuf";
/** Content type of a STREAMED_XOR_CHUNKS answer. */
export const STREAMED_CONTENT_TYPE =
  "application/x-streamed-protobuf; proto=prometheus.ChunkedReadResponse";

/** A request that cannot be decoded (answered with 400). */
export class ReadRequestError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "ReadRequestError";
  }
}

/** The uncompressed length a snappy block declares in its uvarint preamble. */
function snappyDecodedLength(block: Uint8Array): number {
  let v = 0;
  for (let i = 0, shift = 0; i < 5 && i < block.length; i++, shift += 7) {
    v += (block[i] & 0x7f) * 2 ** shift;
    if (block[i] < 0x80) return v;
  }
  throw new ReadRequestError("snappy: corrupt input");
}

/** Compresses `data` as one snappy block (the format of Go's `snappy.Encode`). */
export function snappyBlockEncode(data: Uint8Array): Uint8Array {
  return snappyCompress(data);
}

/**
 * Decompresses one snappy block of at most `maxSize` bytes; throws {@linkcode ReadRequestError}
 * for corrupt input or a larger declared length.
 */
export function snappyBlockDecode(block: Uint8Array, maxSize: number): Uint8Array {
  const length = snappyDecodedLength(block);
  if (length > maxSize) {
    throw new ReadRequestError(`snappy: decoded length ${length} exceeds limit ${maxSize}`);
  }
  const out = new Uint8Array(length);
  try {
    snappyUncompress(block, out);
  } catch (e) {
    throw new ReadRequestError(`snappy: ${e instanceof Error ? e.message : String(e)}`);
  }
  return out;
}

/** Decodes a request body: a snappy block holding a `ReadRequest`. */
export function decodeReadRequest(body: Uint8Array): ReadRequest {
  const bytes = snappyBlockDecode(body, DECODE_READ_LIMIT);
  try {
    return fromBinary(ReadRequestSchema, bytes);
  } catch (e) {
    throw new ReadRequestError(
      `unmarshal read request: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
}

/** Bytes of `v` as a varint: non-negative below 2^64, negative int64 as ten bytes. */
function varintSize(v: number): number {
  if (v < 0) return 10;
  let n = 1;
  while (v >= 128) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

/** UTF-8 length of `s` without encoding it (lone surrogates count as U+FFFD, 3 bytes). */
function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 4;
        i++;
      } else n += 3;
    } else n += 3;
  }
  return n;
}

function stringFieldSize(s: string): number {
  const n = utf8Length(s);
  return n === 0 ? 0 : 1 + varintSize(n) + n;
}

/** gogo's `prompb.Label.Size()`: the label message without its own tag and length. */
export function labelSize(name: string, value: string): number {
  return stringFieldSize(name) + stringFieldSize(value);
}

/** gogo's `prompb.Chunk.Size()`: the chunk message without its own tag and length. */
export function chunkSize(c: RawChunk): number {
  let n = 0;
  if (c.minTime !== 0) n += 1 + varintSize(c.minTime);
  if (c.maxTime !== 0) n += 1 + varintSize(c.maxTime);
  if (c.encoding !== 0) n += 1 + varintSize(c.encoding);
  if (c.data.length > 0) n += 1 + varintSize(c.data.length) + c.data.length;
  return n;
}

function writeLabels(w: BinaryWriter, field: number, labels: Labels): void {
  for (const l of labels) {
    w.tag(field, WireType.LengthDelimited).fork();
    if (l.name !== "") w.tag(1, WireType.LengthDelimited).string(l.name);
    if (l.value !== "") w.tag(2, WireType.LengthDelimited).string(l.value);
    w.join();
  }
}

const doubleView = new DataView(new ArrayBuffer(8));
const doubleBytes = new Uint8Array(doubleView.buffer);

/**
 * Writes a double field, keeping the stale marker's exact bits (V8 may set the quiet bit of a
 * signalling NaN on its way through, which would turn the marker into an ordinary NaN).
 * `isStaleNaN` ignores the quiet bit.
 */
function writeDouble(w: BinaryWriter, field: number, v: number): void {
  if (isStaleNaN(v)) {
    doubleView.setUint32(0, 0x00000002, true);
    doubleView.setUint32(4, 0x7ff00000, true);
  } else doubleView.setFloat64(0, v, true);
  w.tag(field, WireType.Bit64).raw(doubleBytes);
}

/**
 * Whether `h` is a stale marker. Its sum's NaN payload does not survive in an object property
 * (V8 canonicalises it, see `sumBits`), so the marker is told by its shape: a NaN sum with no
 * observation and no bucket, which no real histogram has (no observation sums to 0).
 */
function isStaleHistogram(h: FloatHistogram): boolean {
  return Number.isNaN(h.sum) && h.count === 0 && h.zeroCount === 0 &&
    h.positiveBuckets.length === 0 && h.negativeBuckets.length === 0;
}

function isPositiveZero(v: number): boolean {
  return v === 0 && !Object.is(v, -0);
}

function writeSpans(w: BinaryWriter, field: number, spans: FloatHistogram["positiveSpans"]) {
  for (const s of spans) {
    w.tag(field, WireType.LengthDelimited).fork();
    if (s.offset !== 0) w.tag(1, WireType.Varint).sint32(s.offset);
    if (s.length !== 0) w.tag(2, WireType.Varint).uint32(s.length);
    w.join();
  }
}

function writePackedDoubles(w: BinaryWriter, field: number, values: ArrayLike<number>): void {
  if (values.length === 0) return;
  w.tag(field, WireType.LengthDelimited).fork();
  for (let i = 0; i < values.length; i++) w.double(values[i]);
  w.join();
}

/** Bucket counts as the deltas of an integer histogram (each to the previous bucket). */
function writePackedDeltas(w: BinaryWriter, field: number, counts: Float64Array): void {
  if (counts.length === 0) return;
  w.tag(field, WireType.LengthDelimited).fork();
  let prev = 0;
  for (const c of counts) {
    w.sint64(c - prev);
    prev = c;
  }
  w.join();
}

/**
 * Writes one `prometheus.Histogram` (`FromIntHistogram` / `FromFloatHistogram`): an integer
 * histogram with its counts as integers and bucket deltas, a float one with float counts.
 */
function writeHistogram(w: BinaryWriter, t: number, h: FloatHistogram, integer: boolean): void {
  w.tag(4, WireType.LengthDelimited).fork();
  if (integer) w.tag(1, WireType.Varint).uint64(h.count);
  else writeDouble(w, 2, h.count);
  if (isStaleHistogram(h)) writeDouble(w, 3, STALE_NAN);
  else if (!isPositiveZero(h.sum)) writeDouble(w, 3, h.sum);
  if (h.schema !== 0) w.tag(4, WireType.Varint).sint32(h.schema);
  if (!isPositiveZero(h.zeroThreshold)) writeDouble(w, 5, h.zeroThreshold);
  if (integer) w.tag(6, WireType.Varint).uint64(h.zeroCount);
  else writeDouble(w, 7, h.zeroCount);
  writeSpans(w, 8, h.negativeSpans);
  if (integer) writePackedDeltas(w, 9, h.negativeBuckets);
  else writePackedDoubles(w, 10, h.negativeBuckets);
  writeSpans(w, 11, h.positiveSpans);
  if (integer) writePackedDeltas(w, 12, h.positiveBuckets);
  else writePackedDoubles(w, 13, h.positiveBuckets);
  if (h.counterResetHint !== 0) w.tag(14, WireType.Varint).int32(h.counterResetHint);
  if (t !== 0) w.tag(15, WireType.Varint).int64(t);
  writePackedDoubles(w, 16, h.customValues);
  w.join();
}

/**
 * Writes one `prometheus.TimeSeries` as field `field` of the message `w` is in: the labels, then
 * every sample of `it` (already bounded to the query's range) as float samples and histograms.
 * `onSample` is called before each sample is written and may throw to stop (a sample limit).
 */
export function writeTimeSeries(
  w: BinaryWriter,
  field: number,
  labels: Labels,
  it: SampleIterator,
  onSample: () => void,
): void {
  w.tag(field, WireType.LengthDelimited).fork();
  writeLabels(w, 1, labels);
  // Histograms follow the float samples (field order); a series rarely has both.
  const histograms: { t: number; h: FloatHistogram; integer: boolean }[] = [];
  for (let vt = it.next(); vt !== ValueType.None; vt = it.next()) {
    onSample();
    const t = it.atT();
    if (vt === ValueType.Float) {
      w.tag(2, WireType.LengthDelimited).fork();
      const v = it.atFloat();
      if (!isPositiveZero(v)) writeDouble(w, 1, v);
      if (t !== 0) w.tag(2, WireType.Varint).int64(t);
      w.join();
    } else {
      histograms.push({ t, h: it.atFloatHistogram(), integer: vt === ValueType.Histogram });
    }
  }
  for (const { t, h, integer } of histograms) writeHistogram(w, t, h, integer);
  w.join();
}

/** Encodes one `ChunkedReadResponse` holding chunks of one series for query `queryIndex`. */
export function encodeChunkedReadResponse(
  labels: Labels,
  chunks: readonly RawChunk[],
  queryIndex: number,
): Uint8Array {
  const w = new BinaryWriter();
  w.tag(1, WireType.LengthDelimited).fork();
  writeLabels(w, 1, labels);
  for (const c of chunks) {
    w.tag(2, WireType.LengthDelimited).fork();
    if (c.minTime !== 0) w.tag(1, WireType.Varint).int64(c.minTime);
    if (c.maxTime !== 0) w.tag(2, WireType.Varint).int64(c.maxTime);
    if (c.encoding !== 0) w.tag(3, WireType.Varint).int32(c.encoding);
    if (c.data.length > 0) w.tag(4, WireType.LengthDelimited).bytes(c.data);
    w.join();
  }
  w.join();
  if (queryIndex !== 0) w.tag(2, WireType.Varint).int64(queryIndex);
  return w.finish();
}

/** Frames a message for the stream: uvarint length, big-endian CRC-32C, the message. */
export function frame(message: Uint8Array): Uint8Array {
  const head = varintSize(message.length);
  const out = new Uint8Array(head + 4 + message.length);
  let v = message.length, p = 0;
  while (v >= 128) {
    out[p++] = (v % 128) | 0x80;
    v = Math.floor(v / 128);
  }
  out[p++] = v;
  new DataView(out.buffer).setUint32(p, crc32c(message));
  out.set(message, p + 4);
  return out;
}

/**
 * The frames of one series, split as Prometheus' `StreamChunkedReadResponses` splits them: a
 * frame takes chunks until the labels and chunks reach `maxBytesInFrame` (so a frame may pass
 * it by one chunk); every frame repeats the labels.
 */
export function seriesFrames(
  labels: Labels,
  chunks: readonly RawChunk[],
  queryIndex: number,
  maxBytesInFrame: number,
): Uint8Array[] {
  let maxData = maxBytesInFrame;
  for (const l of labels) maxData -= labelSize(l.name, l.value);
  const frames: Uint8Array[] = [];
  let left = maxData;
  let from = 0;
  for (let i = 0; i < chunks.length; i++) {
    left -= chunkSize(chunks[i]);
    if (left > 0 && i + 1 < chunks.length) continue;
    frames.push(frame(encodeChunkedReadResponse(labels, chunks.slice(from, i + 1), queryIndex)));
    from = i + 1;
    left = maxData;
  }
  return frames;
}
