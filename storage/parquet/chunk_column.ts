/**
 * Values of the chunk columns (`___cf_meta_chunk_0..2`): the concatenation of the series' chunks
 * whose min time falls in the column's 8h window, each as a 24-byte big-endian header
 * `u32 encoding, u64 zigzag(minT), u64 zigzag(maxT), u32 length` followed by the raw
 * Prometheus chunk bytes (`Chunk.Bytes()`). An empty value means no chunk in that window.
 *
 * @module
 */

import { Encoding as ChunkEncoding } from "../tsdb/chunks_reader.ts";

/** Prometheus chunk encodings (`chunkenc.Encoding`), as the TSDB reader defines them. */
export { ChunkEncoding };

/** One chunk of one series. */
export interface RawChunk {
  /** `chunkenc.Encoding` (1 XOR, 2 histogram, 3 float histogram). */
  readonly encoding: number;
  /** First sample time, ms. */
  readonly minT: number;
  /** Last sample time, ms. */
  readonly maxT: number;
  /** The chunk bytes as Prometheus stores them (sample count header then bit stream). */
  readonly data: Uint8Array;
}

/** Size of the per-chunk header. */
export const CHUNK_HEADER_BYTES = 24;

function putZigZag64(dv: DataView, p: number, t: number): void {
  if (!Number.isSafeInteger(t)) throw new RangeError(`chunk time ${t} is not a safe integer`);
  const z = t >= 0 ? t * 2 : -t * 2 - 1;
  dv.setUint32(p, Math.floor(z / 0x100000000));
  dv.setUint32(p + 4, z >>> 0);
}

/** A chunk column value holds a time outside the range of safe integers. */
export class ChunkColumnError extends Error {
  /** The error's name, for logs. */
  override readonly name = "ChunkColumnError";
  /**
   * Creates the error for the value `source` names.
   *
   * @param source names the value (file, column, row)
   * @param detail what is wrong
   */
  constructor(readonly source: string, readonly detail: string) {
    super(`${source}: chunk column: ${detail}`);
  }
}

function getZigZag64(dv: DataView, p: number, source: string): number {
  const hi = dv.getUint32(p);
  if (hi >= 0x200000) throw new ChunkColumnError(source, `chunk time at byte ${p} overflows 2^53`);
  // Zig-zag from the halves: a modulo of the whole 53-bit number is a slow float operation.
  const lo = dv.getUint32(p + 4);
  const half = hi * 0x80000000 + (lo >>> 1);
  return (lo & 1) === 0 ? half : -half - 1;
}

/** Serialises `chunks` (already in min-time order) into one column value. */
export function encodeChunkColumn(chunks: readonly RawChunk[]): Uint8Array {
  let size = 0;
  for (const c of chunks) size += CHUNK_HEADER_BYTES + c.data.length;
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  let p = 0;
  for (const c of chunks) {
    dv.setUint32(p, c.encoding);
    putZigZag64(dv, p + 4, c.minT);
    putZigZag64(dv, p + 12, c.maxT);
    dv.setUint32(p + 20, c.data.length);
    out.set(c.data, p + CHUNK_HEADER_BYTES);
    p += CHUNK_HEADER_BYTES + c.data.length;
  }
  return out;
}

/**
 * Parses a column value: its chunks intersecting `[mint, maxt]` (default: all). As in the Go
 * reader, parsing stops at a trailing partial header or at a chunk whose declared length overruns
 * the value; `onTruncated` (if given) is told so. Chunk `data` are views into `value`; times
 * beyond 2^53 throw {@linkcode ChunkColumnError}.
 */
export function decodeChunkColumn(
  value: Uint8Array,
  source = "chunks file",
  onTruncated?: (offset: number) => void,
  mint = -Infinity,
  maxt = Infinity,
): RawChunk[] {
  const dv = new DataView(value.buffer, value.byteOffset, value.byteLength);
  const out: RawChunk[] = [];
  let p = 0;
  while (value.length - p >= CHUNK_HEADER_BYTES) {
    const len = dv.getUint32(p + 20);
    const start = p + CHUNK_HEADER_BYTES;
    if (start + len > value.length) break;
    const minT = getZigZag64(dv, p + 4, source), maxT = getZigZag64(dv, p + 12, source);
    // A query over part of a cell's 8 hours skips the other chunks without a view of each.
    if (maxT >= mint && minT <= maxt) {
      out.push({ encoding: dv.getUint32(p), minT, maxT, data: value.subarray(start, start + len) });
    }
    p = start + len;
  }
  if (p !== value.length) onTruncated?.(p);
  return out;
}
