/**
 * Encodes the data pages of a chunks file (gateway.md 2.2) one at a time, as rows arrive: DataPage
 * V2 of a REQUIRED column (no levels), chunk columns DELTA_LENGTH_BYTE_ARRAY, the series hash
 * PLAIN INT64. The shard writer spills them to disk so that a row group's chunk bytes never sit
 * in memory (hyparquet-writer encodes a whole row group's column at once).
 *
 * @module
 */
import { ByteBuffer } from "../../internal/byte_buffer.ts";

/** Parquet `Encoding` values written here. */
const PLAIN = 0, DELTA_LENGTH_BYTE_ARRAY = 6;
/** `PageType.DATA_PAGE_V2`. */
const DATA_PAGE_V2 = 3;
/** DELTA_BINARY_PACKED layout parquet-mr and hyparquet-writer use: 128 values, 4 miniblocks. */
const BLOCK = 128, MINIBLOCKS = 4, MINIBLOCK = BLOCK / MINIBLOCKS;
/** A value's length must stay below this, so deltas of lengths fit 32 bits. */
const MAX_VALUE_BYTES = 2 ** 31;

/** An encoded page: its header and its (possibly compressed) data, written one after the other. */
export interface EncodedPage {
  readonly header: Uint8Array;
  readonly data: Uint8Array;
  /** Header plus uncompressed data bytes (for the column chunk's `total_uncompressed_size`). */
  readonly uncompressedSize: number;
}

/** Compresses a page's data; `undefined` stores it as it is. */
export type PageCompressor = ((data: Uint8Array) => Uint8Array) | undefined;

/**
 * Collects a page of values of one column and encodes it. {@linkcode PageBuilder.wouldOverflow}
 * says when a value should start a new page: a page ends before the value that brings its size to
 * the target, and holds at least one value (hyparquet-writer cuts pages alike).
 */
export interface PageBuilder<T> {
  /** Values collected. */
  readonly count: number;
  /** Whether `value` should go to a new page. */
  wouldOverflow(value: T): boolean;
  /** Collects `value`. */
  add(value: T): void;
  /** Encodes the collected values (views valid until the next call) and starts a new page. */
  encode(): EncodedPage;
}

/** Pages of a REQUIRED BYTE_ARRAY column, DELTA_LENGTH_BYTE_ARRAY encoded. */
export class ByteArrayPageBuilder implements PageBuilder<Uint8Array> {
  readonly #pageSize: number;
  readonly #compress: PageCompressor;
  #values: Uint8Array[] = [];
  #bytes = 0;
  readonly #lengths = new Float64Array(BLOCK + 1);
  readonly #data = new ByteBuffer();
  readonly #header = new ByteBuffer();

  /** Pages of about `pageSize` bytes of values, compressed with `compress`. */
  constructor(pageSize: number, compress: PageCompressor) {
    this.#pageSize = pageSize;
    this.#compress = compress;
  }

  get count(): number {
    return this.#values.length;
  }

  wouldOverflow(value: Uint8Array): boolean {
    return this.#values.length > 0 && this.#bytes + value.length >= this.#pageSize;
  }

  add(value: Uint8Array): void {
    if (value.length >= MAX_VALUE_BYTES) {
      throw new RangeError(`a value of ${value.length} bytes is too large for a page`);
    }
    this.#values.push(value);
    this.#bytes += value.length;
  }

  encode(): EncodedPage {
    const values = this.#values;
    const out = this.#data;
    out.length = 0;
    deltaBinaryPackedLengths(out, values, this.#lengths);
    for (const v of values) out.bytes(v);
    const page = finishPage(
      this.#header,
      out.view(),
      values.length,
      DELTA_LENGTH_BYTE_ARRAY,
      this.#compress,
    );
    this.#values = [];
    this.#bytes = 0;
    return page;
  }
}

/** Pages of a REQUIRED INT64 column, PLAIN encoded. */
export class Int64PageBuilder implements PageBuilder<bigint> {
  readonly #compress: PageCompressor;
  readonly #values: BigInt64Array;
  readonly #view: DataView;
  #count = 0;
  readonly #header = new ByteBuffer();

  /** Pages of about `pageSize` bytes, compressed with `compress`. */
  constructor(pageSize: number, compress: PageCompressor) {
    this.#compress = compress;
    // The value that reaches the target starts the next page.
    this.#values = new BigInt64Array(Math.max(1, Math.ceil(pageSize / 8) - 1));
    this.#view = new DataView(this.#values.buffer);
  }

  get count(): number {
    return this.#count;
  }

  wouldOverflow(): boolean {
    return this.#count === this.#values.length;
  }

  add(value: bigint): void {
    this.#view.setBigInt64(8 * this.#count++, value, true);
  }

  encode(): EncodedPage {
    const data = new Uint8Array(this.#values.buffer, 0, 8 * this.#count);
    const page = finishPage(this.#header, data, this.#count, PLAIN, this.#compress);
    this.#count = 0;
    return page;
  }
}

/**
 * DELTA_BINARY_PACKED lengths of `values`: a header (block size, miniblocks, count, first value),
 * then per block of 128 deltas the smallest delta, four miniblock bit widths and the miniblocks of
 * (delta - smallest) bit-packed, least significant bit first. Unused miniblocks of the last block
 * have width 0 and no bytes.
 */
function deltaBinaryPackedLengths(
  out: ByteBuffer,
  values: readonly Uint8Array[],
  deltas: Float64Array,
): void {
  const count = values.length;
  out.uvarint(BLOCK);
  out.uvarint(MINIBLOCKS);
  out.uvarint(count);
  out.varint(count > 0 ? values[0].length : 0);
  for (let i = 1; i < count; i += BLOCK) {
    const n = Math.min(BLOCK, count - i);
    let min = Infinity;
    for (let k = 0; k < n; k++) {
      const d = values[i + k].length - values[i + k - 1].length;
      deltas[k] = d;
      if (d < min) min = d;
    }
    out.varint(min);
    const widths = out.length;
    for (let m = 0; m < MINIBLOCKS; m++) out.byte(0);
    for (let m = 0; m < MINIBLOCKS; m++) {
      const from = m * MINIBLOCK;
      const to = Math.min(from + MINIBLOCK, n);
      let max = 0;
      for (let k = from; k < to; k++) if (deltas[k] - min > max) max = deltas[k] - min;
      let width = 0;
      while (width < 32 && 2 ** width <= max) width++;
      out.setByte(widths + m, width);
      if (from >= n || width === 0) continue;
      // 32 values of `width` bits end on a byte boundary; values past `n` pad with zeros. The
      // accumulator stays below 2^40, exact in a double.
      let acc = 0, bits = 0;
      for (let k = from; k < from + MINIBLOCK; k++) {
        acc += (k < to ? deltas[k] - min : 0) * 2 ** bits;
        bits += width;
        while (bits >= 8) {
          const b = acc % 256;
          out.byte(b);
          acc = (acc - b) / 256;
          bits -= 8;
        }
      }
    }
  }
}

/**
 * Compresses `data` and builds the Thrift compact PageHeader of a DataPage V2 of `count` values
 * of a REQUIRED column: type, sizes, and `data_page_header_v2` (num_values, num_nulls, num_rows,
 * encoding, both level lengths 0, is_compressed).
 */
function finishPage(
  header: ByteBuffer,
  data: Uint8Array,
  count: number,
  encoding: number,
  compress: PageCompressor,
): EncodedPage {
  const stored = compress ? compress(data) : data;
  header.length = 0;
  // Each field header is (id delta << 4) | type: 5 = i32, 12 = struct, 1/2 = bool true/false.
  header.byte(0x15);
  header.varint(DATA_PAGE_V2);
  header.byte(0x15);
  header.varint(data.length);
  header.byte(0x15);
  header.varint(stored.length);
  header.byte(0x5c); // field 8, data_page_header_v2
  for (const v of [count, 0, count, encoding, 0, 0]) {
    header.byte(0x15);
    header.varint(v);
  }
  header.byte(compress ? 0x11 : 0x12);
  header.byte(0); // end of data_page_header_v2
  header.byte(0); // end of PageHeader
  const head = header.view();
  return { header: head, data: stored, uncompressedSize: head.length + data.length };
}
