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
  let buf: Uint8Array = new Uint8Array(0);
  for await (const chunk of body) {
    buf = buf.length === 0 ? chunk : concat(buf, chunk);
    while (buf.length >= 5) {
      const len = new DataView(buf.buffer, buf.byteOffset, 5).getUint32(1);
      if (len > maxMessageSize) {
        throw new GrpcError(
          Code.ResourceExhausted,
          `grpc: received message larger than max (${len} vs. ${maxMessageSize})`,
        );
      }
      if (buf.length < 5 + len) break;
      const flag = buf[0];
      const payload = buf.subarray(5, 5 + len);
      buf = buf.subarray(5 + len);
      yield decompress(flag, payload, encoding, maxMessageSize);
    }
  }
  if (buf.length > 0) {
    throw new GrpcError(Code.Internal, "grpc: request body ends inside a message");
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

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}
