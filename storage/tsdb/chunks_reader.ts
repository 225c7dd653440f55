/**
 * Reader of a block's chunk segment files `chunks/000001...` (`tsdb/docs/format/chunks.md`):
 * an 8-byte header (magic, version 1, padding), then records of uvarint data length, one
 * encoding byte, the data and a big-endian CRC32C of encoding and data.
 *
 * @module
 */
import { crc32c } from "./crc32c.ts";
import { be32At, hex8 } from "./_decbuf.ts";
import { TsdbFormatError } from "./errors.ts";
import { chunkRefOffset, chunkRefSegment } from "./index_reader.ts";
import type { SegmentSource } from "./segment_file.ts";

/** Magic number at the start of a chunk segment file. */
export const CHUNKS_MAGIC = 0x85bd40dd;
/** Size of a segment file's header. */
export const SEGMENT_HEADER_SIZE = 8;

/** Chunk encodings (`chunkenc.Encoding`). */
export const Encoding = {
  None: 0,
  XOR: 1,
  Histogram: 2,
  FloatHistogram: 3,
  XOR2: 4,
  HistogramST: 5,
  FloatHistogramST: 6,
} as const;

/** One of {@linkcode Encoding}'s values. */
export type Encoding = typeof Encoding[keyof typeof Encoding];

/** A chunk as stored: its encoding byte and its data (a view into the segment file). */
export interface RawChunk {
  /** One of {@linkcode Encoding}'s values. */
  encoding: number;
  /** The chunk bytes (`Chunk.Bytes()`). */
  data: Uint8Array;
}

/** Segment file name for a 0-based segment index (`000001` for 0). */
export function segmentFileName(segment: number): string {
  return String(segment + 1).padStart(6, "0");
}

/** Parses a segment file name into its 0-based index, or undefined if it is not one. */
export function segmentIndex(name: string): number | undefined {
  if (!/^\d{6,}$/.test(name)) return undefined;
  const n = Number(name);
  return n >= 1 ? n - 1 : undefined;
}

/**
 * Verifies a segment file's header and returns it. `file` names it in errors.
 */
export function checkSegmentHeader(data: Uint8Array, file: string): void {
  if (data.length < SEGMENT_HEADER_SIZE) {
    throw new TsdbFormatError(file, "header", `file too short (${data.length} bytes)`);
  }
  const magic = be32At(data, 0);
  if (magic !== CHUNKS_MAGIC) {
    throw new TsdbFormatError(file, "header", `bad magic 0x${hex8(magic)}`);
  }
  if (data[4] !== 1) throw new TsdbFormatError(file, "header", `unknown version ${data[4]}`);
}

/**
 * Reads the chunk record at `offset` of a segment file and verifies its checksum. The returned
 * data is a view of `segment` (no copy).
 */
export function readChunkAt(segment: Uint8Array, offset: number, file: string): RawChunk {
  const section = `chunk at offset ${offset}`;
  if (offset < SEGMENT_HEADER_SIZE || offset >= segment.length) {
    throw new TsdbFormatError(file, section, "offset outside the file");
  }
  let len = 0;
  let mul = 1;
  let p = offset;
  for (let i = 0;; i++) {
    if (i === 5 || p >= segment.length) {
      throw new TsdbFormatError(file, section, "truncated or oversized length");
    }
    const b = segment[p++];
    len += (b & 0x7f) * mul;
    if (b < 0x80) break;
    mul *= 128;
  }
  const encStart = p;
  const end = encStart + 1 + len;
  if (end + 4 > segment.length) {
    throw new TsdbFormatError(file, section, `length ${len} past the end of the file`);
  }
  if (crc32c(segment, encStart, end) !== be32At(segment, end)) {
    throw new TsdbFormatError(file, section, "checksum mismatch");
  }
  return { encoding: segment[encStart], data: segment.subarray(encStart + 1, end) };
}

/**
 * Resolves chunk references against a block's segment files, held in memory (`Uint8Array`) or
 * read on demand ({@linkcode SegmentSource}, e.g. `FileSegment`).
 */
export class ChunksReader {
  readonly #segments: (Uint8Array | SegmentSource)[];
  readonly #names: string[];

  /**
   * Wraps the segment files, checking each one's header.
   *
   * @param segments segment files in order (index 0 is `000001`)
   * @param dir names the chunks directory in errors
   */
  constructor(segments: (Uint8Array | SegmentSource)[], dir = "chunks") {
    this.#segments = segments;
    this.#names = segments.map((_, i) => `${dir}/${segmentFileName(i)}`);
    segments.forEach((s, i) => {
      const head = s instanceof Uint8Array ? s : s.read(0, SEGMENT_HEADER_SIZE);
      checkSegmentHeader(head, this.#names[i]);
    });
  }

  /** Number of segment files. */
  get segmentCount(): number {
    return this.#segments.length;
  }

  /**
   * Reads the chunk a reference points at. For in-memory segments the data is a view of the
   * segment; for on-demand sources it is a copy.
   */
  chunk(ref: number): RawChunk {
    const seg = chunkRefSegment(ref);
    const data = this.#segments[seg];
    if (data === undefined) {
      throw new TsdbFormatError(
        `chunks/${segmentFileName(seg)}`,
        "segment",
        `chunk ref ${ref} names a missing segment file`,
      );
    }
    const offset = chunkRefOffset(ref);
    if (data instanceof Uint8Array) return readChunkAt(data, offset, this.#names[seg]);
    return readChunkFrom(data, offset, this.#names[seg]);
  }
}

/** Reads a chunk record from an on-demand source: length prefix first, then the record. */
function readChunkFrom(src: SegmentSource, offset: number, file: string): RawChunk {
  if (offset < SEGMENT_HEADER_SIZE || offset >= src.size) {
    throw new TsdbFormatError(file, `chunk at offset ${offset}`, "offset outside the file");
  }
  const head = src.read(offset, 5);
  let len = 0;
  let mul = 1;
  let n = 0;
  for (;; n++) {
    if (n === 5 || n >= head.length) {
      throw new TsdbFormatError(file, `chunk at offset ${offset}`, "truncated or oversized length");
    }
    const b = head[n];
    len += (b & 0x7f) * mul;
    if (b < 0x80) break;
    mul *= 128;
  }
  const total = n + 1 + 1 + len + 4;
  // Re-read the whole record and parse it as a small segment of its own; offsets in errors
  // stay those of the real file.
  const rec = src.read(offset, total);
  const copy = new Uint8Array(SEGMENT_HEADER_SIZE + rec.length);
  copy.set(rec, SEGMENT_HEADER_SIZE);
  try {
    return readChunkAt(copy, SEGMENT_HEADER_SIZE, file);
  } catch (err) {
    if (err instanceof TsdbFormatError) {
      throw new TsdbFormatError(file, `chunk at offset ${offset}`, err.detail, { cause: err });
    }
    throw err;
  }
}
