/**
 * The snappy framing format (google/snappy `framing_format.txt`), which Thanos registers as the
 * gRPC `snappy` compressor (klauspost/compress snappy buffered writer and reader): a stream
 * identifier chunk, then chunks of at most 64 KiB of input, each carrying a masked CRC-32C of
 * its uncompressed bytes. Raw snappy blocks come from hyparquet(-writer).
 *
 * @module
 */
import { snappyUncompress } from "hyparquet";
import { snappyCompress } from "hyparquet-writer/src/snappy.js";
import { crc32c } from "../../storage/tsdb/crc32c.ts";

/** Thrown for input that is not a valid snappy frame stream. */
export class SnappyFormatError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(`snappy: ${message}`);
    this.name = "SnappyFormatError";
  }
}

/** Thrown when the decompressed stream would exceed the allowed size. */
export class SnappyTooLargeError extends Error {
  /** Creates the error. */
  constructor(readonly limit: number) {
    super(`snappy: decompressed data larger than ${limit} bytes`);
    this.name = "SnappyTooLargeError";
  }
}

const STREAM_IDENTIFIER = Uint8Array.from([0xff, 6, 0, 0, 0x73, 0x4e, 0x61, 0x50, 0x70, 0x59]);
const MAX_BLOCK = 65536;
const CHUNK_COMPRESSED = 0x00;
const CHUNK_UNCOMPRESSED = 0x01;
const CHUNK_PADDING = 0xfe;
const CHUNK_STREAM_ID = 0xff;

/** The CRC the format stores: CRC-32C rotated right by 15 bits plus a constant. */
export function maskedCrc(data: Uint8Array): number {
  const c = crc32c(data);
  return ((((c >>> 15) | (c << 17)) >>> 0) + 0xa282ead8) >>> 0;
}

function chunkHeader(type: number, len: number, crc: number): Uint8Array {
  const h = new Uint8Array(8);
  h[0] = type;
  h[1] = len & 0xff;
  h[2] = (len >>> 8) & 0xff;
  h[3] = (len >>> 16) & 0xff;
  new DataView(h.buffer).setUint32(4, crc, true);
  return h;
}

/** Compresses `data` as one framed snappy stream. */
export function snappyFrameEncode(data: Uint8Array): Uint8Array {
  const parts: Uint8Array[] = [STREAM_IDENTIFIER];
  for (let off = 0; off < data.length; off += MAX_BLOCK) {
    const block = data.subarray(off, Math.min(off + MAX_BLOCK, data.length));
    const crc = maskedCrc(block);
    const compressed = snappyCompress(block);
    // Like the Go writers: store blocks that compress by less than 12.5% uncompressed.
    const useRaw = compressed.length >= block.length - (block.length >>> 3);
    const body = useRaw ? block : compressed;
    parts.push(chunkHeader(useRaw ? CHUNK_UNCOMPRESSED : CHUNK_COMPRESSED, body.length + 4, crc));
    parts.push(body);
  }
  let size = 0;
  for (const p of parts) size += p.length;
  const out = new Uint8Array(size);
  let pos = 0;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.length;
  }
  return out;
}

function readUvarint(data: Uint8Array): number {
  let v = 0;
  for (let i = 0, shift = 0; i < 5 && i < data.length; i++, shift += 7) {
    v += (data[i] & 0x7f) * 2 ** shift;
    if (data[i] < 0x80) return v;
  }
  throw new SnappyFormatError("bad block length");
}

/**
 * Decompresses a framed snappy stream (concatenated streams included). Throws
 * {@linkcode SnappyFormatError} for corrupt input and {@linkcode SnappyTooLargeError} above
 * `maxSize` bytes of output.
 */
export function snappyFrameDecode(data: Uint8Array, maxSize: number): Uint8Array {
  const blocks: Uint8Array[] = [];
  let total = 0;
  let sawIdentifier = false;
  let pos = 0;
  while (pos < data.length) {
    if (data.length - pos < 4) throw new SnappyFormatError("truncated chunk header");
    const type = data[pos];
    const len = data[pos + 1] | (data[pos + 2] << 8) | (data[pos + 3] << 16);
    pos += 4;
    if (data.length - pos < len) throw new SnappyFormatError("truncated chunk");
    const body = data.subarray(pos, pos + len);
    pos += len;
    if (type === CHUNK_STREAM_ID) {
      if (len !== 6 || !body.every((b, i) => b === STREAM_IDENTIFIER[4 + i])) {
        throw new SnappyFormatError("bad stream identifier");
      }
      sawIdentifier = true;
      continue;
    }
    if (!sawIdentifier) throw new SnappyFormatError("missing stream identifier");
    if (type === CHUNK_COMPRESSED || type === CHUNK_UNCOMPRESSED) {
      if (len < 4) throw new SnappyFormatError("chunk too short");
      const crc = new DataView(body.buffer, body.byteOffset, 4).getUint32(0, true);
      let block = body.subarray(4);
      if (type === CHUNK_COMPRESSED) {
        const n = readUvarint(block);
        if (n > MAX_BLOCK) throw new SnappyFormatError("block larger than 64 KiB");
        const out = new Uint8Array(n);
        try {
          snappyUncompress(block, out);
        } catch (e) {
          throw new SnappyFormatError(e instanceof Error ? e.message : String(e));
        }
        block = out;
      } else if (block.length > MAX_BLOCK) {
        throw new SnappyFormatError("block larger than 64 KiB");
      }
      if (maskedCrc(block) !== crc) throw new SnappyFormatError("checksum mismatch");
      total += block.length;
      if (total > maxSize) throw new SnappyTooLargeError(maxSize);
      blocks.push(block);
      continue;
    }
    // Padding and reserved skippable chunks (0x80-0xfe) are ignored; 0x02-0x7f must not be.
    if (type === CHUNK_PADDING || type >= 0x80) continue;
    throw new SnappyFormatError(`reserved unskippable chunk type ${type}`);
  }
  if (blocks.length === 1) return blocks[0];
  const out = new Uint8Array(total);
  let off = 0;
  for (const b of blocks) {
    out.set(b, off);
    off += b.length;
  }
  return out;
}
