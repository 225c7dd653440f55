/**
 * Reads a Parquet OffsetIndex (Thrift compact protocol) straight into typed arrays. hyparquet's
 * reader builds an object with two BigInts per page, which a million-series chunks file (1.47M
 * pages) turns into a third of a second of parsing and garbage in every isolate that opens it.
 *
 * OffsetIndex: 1: list<PageLocation> page_locations, 2: optional list<i64>
 * unencoded_byte_array_data_bytes (skipped). PageLocation: 1: i64 offset,
 * 2: i32 compressed_page_size, 3: i64 first_row_index.
 *
 * @module
 */
import type { OffsetIndex } from "hyparquet";

/** Page locations of one column chunk as typed arrays. */
export interface PageLocations {
  /** First row of each page (row-group relative). */
  readonly firstRow: Float64Array;
  /** File offset of each page's header. */
  readonly offset: Float64Array;
  /** Bytes of header plus compressed data of each page. */
  readonly length: Int32Array;
}

/** `oi`'s page locations as typed arrays (file offsets and rows stay far below 2^53). */
export function compactPageLocations(oi: OffsetIndex): PageLocations {
  const n = oi.page_locations.length;
  const locs: PageLocations = {
    firstRow: new Float64Array(n),
    offset: new Float64Array(n),
    length: new Int32Array(n),
  };
  for (let i = 0; i < n; i++) {
    const l = oi.page_locations[i];
    locs.firstRow[i] = Number(l.first_row_index);
    locs.offset[i] = Number(l.offset);
    locs.length[i] = l.compressed_page_size;
  }
  return locs;
}

/** `locs` as hyparquet's OffsetIndex, for the API that hands one out. */
export function offsetIndexOf(locs: PageLocations): OffsetIndex {
  return {
    page_locations: Array.from(locs.firstRow, (firstRow, i) => ({
      offset: BigInt(locs.offset[i]),
      compressed_page_size: locs.length[i],
      first_row_index: BigInt(firstRow),
    })),
  };
}

// Compact protocol type ids.
const BOOL_TRUE = 1, BOOL_FALSE = 2, BYTE = 3, I16 = 4, I32 = 5, I64 = 6, DOUBLE = 7;
const BINARY = 8, LIST = 9, SET = 10, MAP = 11, STRUCT = 12;

/** Most nested structs and containers {@linkcode skip} follows (hostile input bound). */
const MAX_DEPTH = 64;

class Reader {
  pos: number;
  constructor(readonly bytes: Uint8Array, offset: number) {
    this.pos = offset;
  }

  byte(): number {
    if (this.pos >= this.bytes.length) throw new RangeError("offset index truncated");
    return this.bytes[this.pos++];
  }

  /**
   * An unsigned varint of up to 64 bits, exact below 2^53: one loop over the bytes, as a
   * million-series chunks file has over three million of them in its offset indexes.
   */
  uvarint(): number {
    const bytes = this.bytes;
    let pos = this.pos;
    let result = 0, scale = 1;
    for (;;) {
      if (pos >= bytes.length) throw new RangeError("offset index truncated");
      const b = bytes[pos++];
      result += (b & 0x7f) * scale;
      if (b < 0x80) break;
      scale *= 128;
      if (scale > 2 ** 63) throw new RangeError("offset index varint too long");
    }
    this.pos = pos;
    return result;
  }

  /** A zigzag varint (i16, i32, i64), exact below 2^53 in magnitude. */
  zigzag(): number {
    const u = this.uvarint();
    // (u >>> 1) ^ -(u & 1), in 32-bit arithmetic where it fits and in one that holds beyond.
    return u < 2 ** 31 ? (u >>> 1) ^ -(u & 1) : u % 2 === 0 ? u / 2 : -(u + 1) / 2;
  }

  /** The next field header: [type, id], or type 0 at the struct's end. */
  field(lastId: number): [number, number] {
    const b = this.byte();
    const type = b & 0x0f;
    if (type === 0) return [0, 0];
    const delta = b >> 4;
    return [type, delta === 0 ? this.zigzag() : lastId + delta];
  }

  /** A list or set header: [element type, size]. */
  list(): [number, number] {
    const b = this.byte();
    const size = b >> 4;
    return [b & 0x0f, size === 15 ? this.uvarint() : size];
  }

  skip(type: number, depth = 0): void {
    if (depth > MAX_DEPTH) throw new RangeError("offset index nested too deeply");
    switch (type) {
      case BOOL_TRUE:
      case BOOL_FALSE:
        return;
      case BYTE:
        this.pos++;
        return;
      case I16:
      case I32:
      case I64:
        this.uvarint();
        return;
      case DOUBLE:
        this.pos += 8;
        return;
      case BINARY: {
        // Not `this.pos += this.uvarint()`: that adds to the position from before the varint.
        const length = this.uvarint();
        this.pos += length;
        return;
      }
      case LIST:
      case SET: {
        const [elem, n] = this.list();
        // A list of booleans holds one byte per element.
        for (let i = 0; i < n; i++) this.skip(elem === BOOL_TRUE ? BYTE : elem, depth + 1);
        return;
      }
      case MAP: {
        const n = this.uvarint();
        if (n === 0) return;
        const kv = this.byte();
        for (let i = 0; i < n; i++) {
          this.skip(kv >> 4, depth + 1);
          this.skip(kv & 0x0f, depth + 1);
        }
        return;
      }
      case STRUCT: {
        let id = 0;
        let [t, fid] = this.field(id);
        while (t !== 0) {
          this.skip(t, depth + 1);
          id = fid;
          [t, fid] = this.field(id);
        }
        return;
      }
    }
    throw new RangeError(`offset index holds unknown thrift type ${type}`);
  }
}

/**
 * Reads the OffsetIndex that starts at `offset` of `bytes`. Throws `RangeError` on truncated or
 * malformed input, or when it has no page locations.
 */
export function readPageLocations(bytes: Uint8Array, offset = 0): PageLocations {
  const r = new Reader(bytes, offset);
  let locations: PageLocations | undefined;
  let id = 0;
  for (;;) {
    const [type, fid] = r.field(id);
    if (type === 0) break;
    id = fid;
    if (fid !== 1 || type !== LIST) {
      r.skip(type);
      continue;
    }
    const [elem, n] = r.list();
    if (elem !== STRUCT) throw new RangeError(`page locations are thrift type ${elem}`);
    // Each location takes at least 4 bytes: a bound on `n` before allocating for it.
    if (n > (bytes.length - r.pos) / 4 + 1) throw new RangeError("offset index truncated");
    locations = {
      firstRow: new Float64Array(n),
      offset: new Float64Array(n),
      length: new Int32Array(n),
    };
    for (let i = 0; i < n; i++) {
      // The layout writers produce: fields 1 (i64), 2 (i32) and 3 (i64) in order, then the
      // struct's end. Read without field bookkeeping (a million-series chunks file has over a
      // million locations); any other layout goes through the general path below.
      const start = r.pos;
      if (bytes[start] === 0x16) {
        r.pos++;
        const offset = r.zigzag();
        if (bytes[r.pos] === 0x15) {
          r.pos++;
          const length = r.zigzag();
          if (bytes[r.pos] === 0x16) {
            r.pos++;
            const firstRow = r.zigzag();
            if (bytes[r.pos] === 0) {
              r.pos++;
              locations.offset[i] = offset;
              locations.length[i] = length;
              locations.firstRow[i] = firstRow;
              continue;
            }
          }
        }
        r.pos = start;
      }
      let found = 0, pid = 0;
      for (;;) {
        const [t, f] = r.field(pid);
        if (t === 0) break;
        pid = f;
        if (f === 1 && t === I64) {
          locations.offset[i] = r.zigzag();
          found |= 1;
        } else if (f === 2 && t === I32) {
          locations.length[i] = r.zigzag();
          found |= 2;
        } else if (f === 3 && t === I64) {
          locations.firstRow[i] = r.zigzag();
          found |= 4;
        } else r.skip(t);
      }
      if (found !== 7) throw new RangeError(`page location ${i} lacks a required field`);
    }
  }
  if (locations === undefined) throw new RangeError("offset index has no page locations");
  return locations;
}
