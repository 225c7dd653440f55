/**
 * Decoding of single Parquet pages, the part of the format the query path reads page by page:
 * page headers (thrift compact protocol), dictionary pages, and data pages V1 and V2 of flat
 * columns (no repetition, definition level 0 or 1). Encodings: PLAIN (BYTE_ARRAY, INT32,
 * INT64), RLE_DICTIONARY and PLAIN_DICTIONARY (indexes are returned, not looked up),
 * DELTA_LENGTH_BYTE_ARRAY, DELTA_BYTE_ARRAY and DELTA_BINARY_PACKED (INT32), with definition
 * levels in the RLE/bit-packed hybrid. That covers what parquet-go and the project's writer
 * produce for gateway files; anything else is an error naming what is missing.
 *
 * @module
 */
import { ByteArrays } from "./byte_arrays.ts";
import { Dictionary } from "./dictionary.ts";

/** Page types (`PageType`). */
export const PageType = {
  DATA_PAGE: 0,
  INDEX_PAGE: 1,
  DICTIONARY_PAGE: 2,
  DATA_PAGE_V2: 3,
} as const;

/** Value encodings (`Encoding`). */
export const Encoding = {
  PLAIN: 0,
  PLAIN_DICTIONARY: 2,
  RLE: 3,
  BIT_PACKED: 4,
  DELTA_BINARY_PACKED: 5,
  DELTA_LENGTH_BYTE_ARRAY: 6,
  DELTA_BYTE_ARRAY: 7,
  RLE_DICTIONARY: 8,
  BYTE_STREAM_SPLIT: 9,
} as const;

/** The fields of a page header the reader uses. */
export interface PageHeader {
  /** One of {@linkcode PageType}. */
  type: number;
  /** Bytes of the page body once decompressed (V2: levels included). */
  uncompressedSize: number;
  /** Bytes of the page body as stored (V2: levels included). */
  compressedSize: number;
  /** Values in the page, nulls included (data and dictionary pages). */
  numValues: number;
  /** One of {@linkcode Encoding}: the values' encoding. */
  encoding: number;
  /** V2: bytes of the definition levels, stored uncompressed before the values. */
  definitionLevelsLength: number;
  /** V2: bytes of the repetition levels (must be 0 here: flat columns). */
  repetitionLevelsLength: number;
  /** V2: whether the values are compressed (default true). */
  isCompressed: boolean;
  /** V1: the definition levels' encoding (one of {@linkcode Encoding}). */
  definitionLevelEncoding: number;
  /** Bytes of the header itself (the body follows). */
  headerLength: number;
}

/** A page cannot be decoded: corrupt bytes, or a feature this decoder does not support. */
export class PageDecodeError extends Error {
  /** The error's name, for logs. */
  override readonly name = "PageDecodeError";
}

/** A position in a byte array being read. */
class Cursor {
  constructor(readonly bytes: Uint8Array, public pos = 0) {}

  byte(): number {
    if (this.pos >= this.bytes.length) throw new PageDecodeError("unexpected end of page");
    return this.bytes[this.pos++];
  }

  /** An unsigned LEB128 varint (up to 2^53). */
  uvarint(): number {
    let result = 0;
    let mul = 1;
    for (;;) {
      const b = this.byte();
      result += (b & 0x7f) * mul;
      if (b < 0x80) return result;
      mul *= 128;
      if (mul > 2 ** 56) throw new PageDecodeError("varint too long");
    }
  }

  /** A zigzag varint (up to ±2^52). */
  zigzag(): number {
    const z = this.uvarint();
    return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
  }

  take(n: number): Uint8Array {
    if (n < 0 || this.pos + n > this.bytes.length) {
      throw new PageDecodeError(`needs ${n} bytes at ${this.pos} of ${this.bytes.length}`);
    }
    const out = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
}

// Thrift compact protocol element types.
const T_TRUE = 1, T_FALSE = 2, T_BYTE = 3, T_I16 = 4, T_I32 = 5, T_I64 = 6, T_DOUBLE = 7;
const T_BINARY = 8, T_LIST = 9, T_SET = 10, T_MAP = 11, T_STRUCT = 12;

type ThriftValue = number | boolean | Uint8Array | ThriftValue[] | ThriftStruct;
type ThriftStruct = Map<number, ThriftValue>;

function readValue(c: Cursor, type: number, depth: number): ThriftValue {
  if (depth > 16) throw new PageDecodeError("thrift structure nested too deeply");
  switch (type) {
    case T_TRUE:
      return true;
    case T_FALSE:
      return false;
    case T_BYTE:
      return c.byte();
    case T_I16:
    case T_I32:
    case T_I64:
      return c.zigzag();
    case T_DOUBLE:
      c.take(8);
      return 0;
    case T_BINARY:
      return c.take(c.uvarint());
    case T_LIST:
    case T_SET: {
      const h = c.byte();
      const size = h >> 4 === 15 ? c.uvarint() : h >> 4;
      const elem = h & 15;
      const out: ThriftValue[] = [];
      // Booleans in collections are one byte each.
      for (let i = 0; i < size; i++) {
        out.push(
          elem === T_TRUE || elem === T_FALSE ? c.byte() === 1 : readValue(c, elem, depth + 1),
        );
      }
      return out;
    }
    case T_MAP: {
      const size = c.uvarint();
      if (size === 0) return [];
      const kv = c.byte();
      const out: ThriftValue[] = [];
      for (let i = 0; i < size; i++) {
        out.push(readValue(c, kv >> 4, depth + 1), readValue(c, kv & 15, depth + 1));
      }
      return out;
    }
    case T_STRUCT:
      return readStruct(c, depth + 1);
    default:
      throw new PageDecodeError(`unknown thrift type ${type}`);
  }
}

function readStruct(c: Cursor, depth = 0): ThriftStruct {
  const out: ThriftStruct = new Map();
  let id = 0;
  for (;;) {
    const h = c.byte();
    if (h === 0) return out;
    const type = h & 15;
    id = h >> 4 === 0 ? c.zigzag() : id + (h >> 4);
    out.set(id, readValue(c, type, depth));
  }
}

function int(s: ThriftStruct, id: number, what: string): number {
  const v = s.get(id);
  if (typeof v !== "number") throw new PageDecodeError(`page header without ${what}`);
  return v;
}

/** Reads the page header at the start of `bytes`. */
export function readPageHeader(bytes: Uint8Array): PageHeader {
  const c = new Cursor(bytes);
  const h = readStruct(c);
  const type = int(h, 1, "type");
  const header: PageHeader = {
    type,
    uncompressedSize: int(h, 2, "uncompressed_page_size"),
    compressedSize: int(h, 3, "compressed_page_size"),
    numValues: 0,
    encoding: Encoding.PLAIN,
    definitionLevelsLength: 0,
    repetitionLevelsLength: 0,
    isCompressed: true,
    definitionLevelEncoding: Encoding.RLE,
    headerLength: 0,
  };
  const sub = (id: number, what: string): ThriftStruct => {
    const v = h.get(id);
    if (!(v instanceof Map)) throw new PageDecodeError(`page header without ${what}`);
    return v;
  };
  if (type === PageType.DATA_PAGE) {
    const d = sub(5, "data_page_header");
    header.numValues = int(d, 1, "num_values");
    header.encoding = int(d, 2, "encoding");
    header.definitionLevelEncoding = int(d, 3, "definition_level_encoding");
  } else if (type === PageType.DICTIONARY_PAGE) {
    const d = sub(7, "dictionary_page_header");
    header.numValues = int(d, 1, "num_values");
    header.encoding = int(d, 2, "encoding");
  } else if (type === PageType.DATA_PAGE_V2) {
    const d = sub(8, "data_page_header_v2");
    header.numValues = int(d, 1, "num_values");
    header.encoding = int(d, 4, "encoding");
    header.definitionLevelsLength = int(d, 5, "definition_levels_byte_length");
    header.repetitionLevelsLength = int(d, 6, "repetition_levels_byte_length");
    header.isCompressed = d.get(7) !== false;
  }
  header.headerLength = c.pos;
  return header;
}

/**
 * Decodes `n` values of the RLE/bit-packed hybrid encoding from `c` into `out`. The loops over
 * values live in functions of their own: V8 compiles a hot inner loop of a long function alone
 * (OSR) and deoptimizes each time the loop exits, hundreds of times on a cold query's pages.
 */
function readHybrid(c: Cursor, bitWidth: number, n: number, out: Int32Array): void {
  if (bitWidth > 32) throw new PageDecodeError(`bit width ${bitWidth}`);
  const valueBytes = (bitWidth + 7) >> 3;
  let i = 0;
  while (i < n) {
    const header = c.uvarint();
    const runs = Math.floor(header / 2);
    if (header % 2 === 0) {
      let v = 0;
      for (let b = 0; b < valueBytes; b++) v += c.byte() * 2 ** (8 * b);
      const end = Math.min(n, i + runs);
      out.fill(v, i, end);
      i = end;
      continue;
    }
    // Bit-packed: groups of 8 values.
    const bytes = c.take(Math.min(runs * bitWidth, c.bytes.length - c.pos));
    const end = Math.min(n, i + runs * 8);
    if (bitWidth <= 24) unpackNarrow(bytes, bitWidth, out, i, end);
    else unpackWide(bytes, bitWidth, out, i, end);
    i = end;
  }
}

/**
 * Unpacks values of `bitWidth` <= 24 bits, least significant bit first, from `bytes` into
 * `out[i..end)` (missing bytes read as 0): the bits pending stay below 2^32, so int arithmetic.
 */
function unpackNarrow(
  bytes: Uint8Array,
  bitWidth: number,
  out: Int32Array,
  i: number,
  end: number,
) {
  const mask = (1 << bitWidth) - 1;
  let acc = 0, bits = 0, p = 0;
  while (i < end) {
    while (bits < bitWidth) {
      acc |= (p < bytes.length ? bytes[p] : 0) << bits;
      p++;
      bits += 8;
    }
    out[i++] = acc & mask;
    acc >>>= bitWidth;
    bits -= bitWidth;
  }
}

/** {@linkcode unpackNarrow} for 25 to 32 bits, whose pending bits exceed 32: float arithmetic. */
function unpackWide(bytes: Uint8Array, bitWidth: number, out: Int32Array, i: number, end: number) {
  const range = 2 ** bitWidth;
  let acc = 0, bits = 0, p = 0;
  while (i < end) {
    while (bits < bitWidth) {
      acc += (p < bytes.length ? bytes[p] : 0) * 2 ** bits;
      p++;
      bits += 8;
    }
    out[i++] = acc % range;
    acc = Math.floor(acc / range);
    bits -= bitWidth;
  }
}

/** Decodes `n` DELTA_BINARY_PACKED values (32-bit range) from `c`. */
function readDeltaBinaryPacked(c: Cursor, n: number): Int32Array {
  const blockSize = c.uvarint();
  const miniblocks = c.uvarint();
  const total = c.uvarint();
  let value = c.zigzag();
  if (blockSize % 128 !== 0 || miniblocks === 0 || (blockSize / miniblocks) % 32 !== 0) {
    throw new PageDecodeError(`bad delta block ${blockSize}/${miniblocks}`);
  }
  if (total < n) throw new PageDecodeError(`delta encoding holds ${total} values, want ${n}`);
  const out = new Int32Array(n);
  if (n === 0) return out;
  out[0] = value;
  const perMini = blockSize / miniblocks;
  const widths = new Uint8Array(miniblocks);
  let i = 1;
  while (i < total) {
    const minDelta = c.zigzag();
    for (let m = 0; m < miniblocks; m++) widths[m] = c.byte();
    for (let m = 0; m < miniblocks && i < total; m++) {
      const w = widths[m];
      const bytes = c.take(Math.min((perMini * w) / 8, c.bytes.length - c.pos));
      let acc = 0, bits = 0, p = 0;
      for (let k = 0; k < perMini && i < total; k++) {
        let delta = 0;
        if (w > 0) {
          while (bits < w) {
            acc += (p < bytes.length ? bytes[p] : 0) * 2 ** bits;
            p++;
            bits += 8;
          }
          delta = acc % 2 ** w;
          acc = Math.floor(acc / 2 ** w);
          bits -= w;
        }
        value += minDelta + delta;
        if (i < n) out[i] = value;
        i++;
      }
    }
  }
  return out;
}

/** The column a page belongs to, as far as decoding needs it. */
export interface PageColumn {
  /** Physical type: `BYTE_ARRAY`, `INT32` or `INT64`. */
  readonly type: string;
  /** Whether the column is optional (definition levels 0/1) rather than required. */
  readonly optional: boolean;
  /** Decompresses a page body to `size` bytes (the column chunk's codec). */
  readonly decompress: (body: Uint8Array, size: number) => Uint8Array;
}

/** The values of a decoded page: dictionary indexes, INT32, INT64 or byte arrays. */
export type PageValueArray = Int32Array | BigInt64Array | ByteArrays;

/** A decoded data page before it is placed in its row group. */
export interface PageValues {
  /** Rows (values, nulls included). */
  readonly rows: number;
  /** Whether `values` are dictionary indexes. */
  readonly dictionaryEncoded: boolean;
  /** Per-row non-null flags, when the page has nulls. */
  readonly defined?: Uint8Array;
  /** One value per non-null row. */
  readonly values: PageValueArray;
}

/** Value `k` of a page: a dictionary index or INT32, an INT64, or a view of a byte array. */
export function pageValueAt(values: PageValueArray, k: number): number | bigint | Uint8Array {
  return values instanceof ByteArrays ? values.at(k) : values[k];
}

/** `n` PLAIN byte arrays (each a 4-byte little-endian length, then the bytes), in place. */
function plainByteArrays(c: Cursor, n: number): ByteArrays {
  // Each value takes at least its length: a bound on `n` before allocating for it.
  if (n > (c.bytes.length - c.pos) / 4) {
    throw new PageDecodeError(`${n} byte arrays in ${c.bytes.length - c.pos} bytes`);
  }
  const starts = new Int32Array(n), ends = new Int32Array(n);
  const bytes = c.bytes;
  let pos = c.pos;
  for (let i = 0; i < n; i++) {
    if (pos + 4 > bytes.length) throw new PageDecodeError(`value ${i} beyond the page`);
    const len = (bytes[pos] | bytes[pos + 1] << 8 | bytes[pos + 2] << 16 | bytes[pos + 3] << 24) >>>
      0;
    pos += 4;
    if (len > bytes.length - pos) throw new PageDecodeError(`value ${i} beyond the page`);
    starts[i] = pos;
    ends[i] = pos += len;
  }
  c.pos = pos;
  return new ByteArrays(bytes, starts, ends);
}

function plainValues(c: Cursor, type: string, n: number): PageValueArray {
  if (type === "BYTE_ARRAY") return plainByteArrays(c, n);
  const size = type === "INT64" ? 8 : type === "INT32" ? 4 : 0;
  if (size === 0) throw new PageDecodeError(`PLAIN ${type} is not supported`);
  const raw = c.take(n * size).slice();
  return size === 8 ? new BigInt64Array(raw.buffer) : new Int32Array(raw.buffer);
}

/** `n` DELTA_LENGTH_BYTE_ARRAY values: their lengths, then their bytes back to back, in place. */
function deltaLengthByteArrays(c: Cursor, n: number): ByteArrays {
  const lengths = readDeltaBinaryPacked(c, n);
  const starts = new Int32Array(n), ends = new Int32Array(n);
  let pos = c.pos;
  for (let i = 0; i < n; i++) {
    if (lengths[i] < 0 || lengths[i] > c.bytes.length - pos) {
      throw new PageDecodeError(`value ${i} of ${lengths[i]} bytes beyond the page`);
    }
    starts[i] = pos;
    ends[i] = pos += lengths[i];
  }
  c.pos = pos;
  return new ByteArrays(c.bytes, starts, ends);
}

function byteArrayValues(c: Cursor, encoding: number, n: number): ByteArrays {
  if (encoding === Encoding.DELTA_LENGTH_BYTE_ARRAY) return deltaLengthByteArrays(c, n);
  // DELTA_BYTE_ARRAY: a prefix of the previous value, then a suffix; rebuilt in a new buffer.
  const prefixes = readDeltaBinaryPacked(c, n);
  const suffixes = deltaLengthByteArrays(c, n);
  let total = 0;
  for (let i = 0; i < n; i++) total += prefixes[i] + suffixes.ends[i] - suffixes.starts[i];
  const bytes = new Uint8Array(total);
  const starts = new Int32Array(n), ends = new Int32Array(n);
  let pos = 0, prevStart = 0, prevLength = 0;
  for (let i = 0; i < n; i++) {
    const prefix = prefixes[i];
    if (prefix < 0 || prefix > prevLength) {
      throw new PageDecodeError("delta prefix beyond previous value");
    }
    starts[i] = pos;
    bytes.copyWithin(pos, prevStart, prevStart + prefix);
    pos += prefix;
    bytes.set(suffixes.at(i), pos);
    pos += suffixes.ends[i] - suffixes.starts[i];
    ends[i] = pos;
    prevStart = starts[i];
    prevLength = pos - prevStart;
  }
  return new ByteArrays(bytes, starts, ends);
}

/** Decodes the values of a page body (levels removed) in `encoding`. */
function pageValues(
  c: Cursor,
  column: PageColumn,
  encoding: number,
  n: number,
): { dictionaryEncoded: boolean; values: PageValueArray } {
  switch (encoding) {
    case Encoding.PLAIN:
      return { dictionaryEncoded: false, values: plainValues(c, column.type, n) };
    case Encoding.PLAIN_DICTIONARY:
    case Encoding.RLE_DICTIONARY: {
      const out = new Int32Array(n);
      if (n > 0) readHybrid(c, c.byte(), n, out);
      return { dictionaryEncoded: true, values: out };
    }
    case Encoding.DELTA_LENGTH_BYTE_ARRAY:
    case Encoding.DELTA_BYTE_ARRAY:
      if (column.type !== "BYTE_ARRAY") break;
      return { dictionaryEncoded: false, values: byteArrayValues(c, encoding, n) };
    case Encoding.DELTA_BINARY_PACKED:
      if (column.type !== "INT32") break;
      return { dictionaryEncoded: false, values: readDeltaBinaryPacked(c, n) };
  }
  throw new PageDecodeError(`encoding ${encoding} of ${column.type} is not supported`);
}

/** Per-row non-null flags from definition levels; `undefined` when no row is null. */
function definedFlags(levels: Int32Array, rows: number): { defined?: Uint8Array; n: number } {
  let n = 0;
  const defined = new Uint8Array(rows);
  for (let i = 0; i < rows; i++) if ((defined[i] = levels[i] > 0 ? 1 : 0)) n++;
  return n === rows ? { n } : { defined, n };
}

/** Decodes a data page (V1 or V2) whose header is `h`; `body` is its stored body. */
export function decodeDataPage(h: PageHeader, body: Uint8Array, column: PageColumn): PageValues {
  const rows = h.numValues;
  let levels: Int32Array | undefined;
  let c: Cursor;
  if (h.type === PageType.DATA_PAGE_V2) {
    if (h.repetitionLevelsLength !== 0) throw new PageDecodeError("repeated columns");
    const levelBytes = h.definitionLevelsLength;
    if (levelBytes > body.length) throw new PageDecodeError("levels beyond the page");
    if (column.optional) {
      levels = new Int32Array(rows);
      readHybrid(new Cursor(body.subarray(0, levelBytes)), 1, rows, levels);
    }
    const data = body.subarray(levelBytes);
    c = new Cursor(
      h.isCompressed ? column.decompress(data, h.uncompressedSize - levelBytes) : data,
    );
  } else if (h.type === PageType.DATA_PAGE) {
    c = new Cursor(column.decompress(body, h.uncompressedSize));
    if (column.optional) {
      if (h.definitionLevelEncoding !== Encoding.RLE) {
        throw new PageDecodeError(`definition level encoding ${h.definitionLevelEncoding}`);
      }
      const len = c.take(4);
      const n = len[0] | len[1] << 8 | len[2] << 16 | len[3] << 24;
      levels = new Int32Array(rows);
      readHybrid(new Cursor(c.take(n)), 1, rows, levels);
    }
  } else {
    throw new PageDecodeError(`unexpected page type ${h.type}`);
  }
  const { defined, n } = levels ? definedFlags(levels, rows) : { n: rows };
  const { dictionaryEncoded, values } = pageValues(c, column, h.encoding, n);
  return { rows, dictionaryEncoded, defined, values };
}

/**
 * Decodes the dictionary page of a byte-array column whose header is `h` into a
 * {@linkcode Dictionary}: the entries stay in the (decompressed) body, located by offsets.
 */
export function decodeByteArrayDictionary(
  h: PageHeader,
  body: Uint8Array,
  column: PageColumn,
): Dictionary {
  checkDictionaryPage(h);
  if (column.type !== "BYTE_ARRAY") {
    throw new PageDecodeError(`a dictionary of ${column.type} values is not one of strings`);
  }
  const values = plainByteArrays(
    new Cursor(column.decompress(body, h.uncompressedSize)),
    h.numValues,
  );
  return new Dictionary(values.bytes, values.starts, values.ends);
}

function checkDictionaryPage(h: PageHeader): void {
  if (h.type !== PageType.DICTIONARY_PAGE) {
    throw new PageDecodeError(`expected a dictionary page, got type ${h.type}`);
  }
  if (h.encoding !== Encoding.PLAIN && h.encoding !== Encoding.PLAIN_DICTIONARY) {
    throw new PageDecodeError(`dictionary encoding ${h.encoding} is not supported`);
  }
}

/** Decodes a dictionary page (PLAIN values) whose header is `h`. */
export function decodeDictionaryPage(
  h: PageHeader,
  body: Uint8Array,
  column: PageColumn,
): PageValueArray {
  checkDictionaryPage(h);
  return plainValues(
    new Cursor(column.decompress(body, h.uncompressedSize)),
    column.type,
    h.numValues,
  );
}
