/**
 * gRPC message framing: each message is a 1-byte compressed flag, a 4-byte big-endian length
 * and the payload (grpc/doc/PROTOCOL-HTTP2.md "Length-Prefixed-Message"), with optional gzip or
 * snappy compression per message.
 *
 * @module
 */
import { gunzipSync, gzipSync } from "node:zlib";
import { snappyFrameDecode, snappyFrameEncode, SnappyTooLargeError } from "./snappy.ts";
import { Code, GrpcError } from "./status.ts";

/** Message encodings this server understands (snappy is Thanos' framed snappy). */
export const SUPPORTED_ENCODINGS = ["gzip", "snappy", "identity"] as const;

/** A supported `grpc-encoding`. */
export type MessageEncoding = typeof SUPPORTED_ENCODINGS[number];

/** Messages smaller than this are sent uncompressed even when compression is on. */
const MIN_COMPRESS_SIZE = 64;

/**
 * Frames one serialized message, compressing it when `encoding` asks for it and the message is
 * big enough to gain (the per-message flag lets small messages go uncompressed).
 */
export function frameMessage(payload: Uint8Array, encoding: MessageEncoding): Uint8Array {
  let body = payload;
  let flag = 0;
  if (encoding !== "identity" && payload.length >= MIN_COMPRESS_SIZE) {
    body = encoding === "gzip" ? gzipSync(payload) : snappyFrameEncode(payload);
    flag = 1;
  }
  const out = new Uint8Array(5 + body.length);
  out[0] = flag;
  new DataView(out.buffer).setUint32(1, body.length);
  out.set(body, 5);
  return out;
}

/**
 * Reads length-prefixed messages from a body stream. Throws {@linkcode GrpcError}:
 * ResourceExhausted above `maxMessageSize` (compressed or not), Internal for a truncated frame,
 * a compressed message without an encoding, or corrupt gzip data.
 */
export async function* readMessages(
  body: AsyncIterable<Uint8Array>,
  encoding: MessageEncoding,
  maxMessageSize: number,
): AsyncGenerator<Uint8Array> {
  const pending = new ByteQueue();
  for await (const chunk of body) {
    pending.push(chunk);
    while (pending.length >= 5) {
      const len = pending.uint32At(1);
      if (len > maxMessageSize) {
        throw new GrpcError(
          Code.ResourceExhausted,
          `grpc: received message larger than max (${len} vs. ${maxMessageSize})`,
        );
      }
      if (pending.length < 5 + len) break;
      const frame = pending.take(5 + len);
      yield decompress(frame[0], frame.subarray(5), encoding, maxMessageSize);
    }
  }
  if (pending.length > 0) {
    throw new GrpcError(Code.Internal, "grpc: request body ends inside a message");
  }
}

/**
 * Bytes received but not yet framed, kept as the chunks that brought them: a message that
 * arrives in many chunks is copied once when complete, not once per chunk.
 */
class ByteQueue {
  #chunks: Uint8Array[] = [];
  /** Offset of the first unread byte in the first chunk. */
  #offset = 0;
  /** Unread bytes. */
  length = 0;

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.length += chunk.length;
  }

  /** The big-endian uint32 at unread byte `at` (`at + 4 <= length`). */
  uint32At(at: number): number {
    let v = 0;
    for (let i = 0; i < 4; i++) v = v * 256 + this.#byteAt(at + i);
    return v;
  }

  #byteAt(at: number): number {
    let i = 0;
    let pos = this.#offset + at;
    while (pos >= this.#chunks[i].length) pos -= this.#chunks[i++].length;
    return this.#chunks[i][pos];
  }

  /** Removes and returns the first `n` unread bytes (`n <= length`). */
  take(n: number): Uint8Array {
    const first = this.#chunks[0];
    let out: Uint8Array;
    if (first.length - this.#offset >= n) {
      out = first.subarray(this.#offset, this.#offset + n);
      this.#offset += n;
    } else {
      out = new Uint8Array(n);
      let filled = 0;
      while (filled < n) {
        const c = this.#chunks[0];
        const k = Math.min(c.length - this.#offset, n - filled);
        out.set(c.subarray(this.#offset, this.#offset + k), filled);
        filled += k;
        this.#offset += k;
        if (this.#offset === c.length) {
          this.#chunks.shift();
          this.#offset = 0;
        }
      }
    }
    if (this.#chunks.length > 0 && this.#offset === this.#chunks[0].length) {
      this.#chunks.shift();
      this.#offset = 0;
    }
    this.length -= n;
    return out;
  }
}

function decompress(
  flag: number,
  payload: Uint8Array,
  encoding: MessageEncoding,
  maxMessageSize: number,
): Uint8Array {
  if (flag === 0) return payload;
  if (flag !== 1) throw new GrpcError(Code.Internal, `grpc: invalid compressed flag ${flag}`);
  if (encoding === "identity") {
    throw new GrpcError(
      Code.Internal,
      "grpc: compressed flag set with identity or empty encoding",
    );
  }
  try {
    if (encoding === "snappy") return snappyFrameDecode(payload, maxMessageSize);
    return gunzipSync(payload, { maxOutputLength: maxMessageSize });
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    if (e instanceof SnappyTooLargeError || /larger than/i.test(msg)) {
      throw new GrpcError(
        Code.ResourceExhausted,
        `grpc: decompressed message larger than max ${maxMessageSize}`,
      );
    }
    throw new GrpcError(Code.Internal, `grpc: failed to decompress the message: ${msg}`);
  }
}
