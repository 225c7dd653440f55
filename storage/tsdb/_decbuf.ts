/**
 * A bounds-checked cursor over file bytes (Prometheus' `encoding.Decbuf`): big-endian fixed
 * integers, varints and length-prefixed strings. Every failure is a {@linkcode TsdbFormatError}
 * naming the file and the section being decoded.
 *
 * @module
 */
import { TsdbFormatError } from "./errors.ts";

const UTF8 = new TextDecoder("utf-8", { fatal: true });
const TWO32 = 2 ** 32;

/** Decodes `data[start, end)` as UTF-8, or throws naming `file` and `section`. */
export function decodeUtf8(
  data: Uint8Array,
  start: number,
  end: number,
  file: string,
  section: string,
  base = 0,
): string {
  try {
    return UTF8.decode(data.subarray(start, end));
  } catch (err) {
    throw new TsdbFormatError(file, section, `invalid UTF-8 at offset ${base + start}`, {
      cause: err,
    });
  }
}

/**
 * A reading position inside `data[pos, end)`. `data` may be a piece of the file starting at
 * file offset `base`: errors then still name file offsets.
 */
export class Decbuf {
  /** Position of the next byte. */
  pos: number;

  /**
   * @param data the whole file (or a view of it)
   * @param pos first byte to read
   * @param end one past the last readable byte
   * @param file names the file in errors
   * @param section names the section in errors
   * @param base file offset of `data[0]`
   */
  constructor(
    readonly data: Uint8Array,
    pos: number,
    readonly end: number,
    readonly file: string,
    public section: string,
    readonly base = 0,
  ) {
    if (pos < 0 || end > data.length || pos > end) {
      throw new TsdbFormatError(
        file,
        section,
        `range [${base + pos}, ${base + end}) outside file`,
      );
    }
    this.pos = pos;
  }

  /** Bytes left. */
  get remaining(): number {
    return this.end - this.pos;
  }

  /** Throws a format error for this buffer's file and section. */
  fail(detail: string): never {
    throw new TsdbFormatError(this.file, this.section, detail);
  }

  #need(n: number): void {
    if (this.pos + n > this.end) {
      this.fail(`truncated: need ${n} bytes at offset ${this.base + this.pos}`);
    }
  }

  /** Reads one byte. */
  byte(): number {
    this.#need(1);
    return this.data[this.pos++];
  }

  /** Reads a big-endian uint32. */
  be32(): number {
    this.#need(4);
    const d = this.data;
    const p = this.pos;
    this.pos += 4;
    return ((d[p] << 24) | (d[p + 1] << 16) | (d[p + 2] << 8) | d[p + 3]) >>> 0;
  }

  /** Reads a big-endian uint64; throws when it does not fit a safe integer. */
  be64(): number {
    const hi = this.be32();
    const lo = this.be32();
    if (hi >= 0x200000) this.fail(`64-bit value 0x${hi.toString(16)}${hex8(lo)} too large`);
    return hi * TWO32 + lo;
  }

  /** Reads an unsigned varint; throws when it exceeds 2^53 - 1 or 64 bits. */
  uvarint(): number {
    let x = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) this.fail(`truncated varint at offset ${this.base + this.pos}`);
      const b = this.data[this.pos++];
      x += (b & 0x7f) * mul;
      if (b < 0x80) {
        if (!Number.isSafeInteger(x)) this.fail(`varint ${x} exceeds 2^53`);
        return x;
      }
      mul *= 128;
    }
    return this.fail(`varint longer than 10 bytes at offset ${this.base + this.pos}`);
  }

  /** Reads an unsigned varint as a bigint (full 64 bits). */
  uvarintBig(): bigint {
    let x = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) this.fail(`truncated varint at offset ${this.base + this.pos}`);
      const b = this.data[this.pos++];
      x |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return BigInt.asUintN(64, x);
      shift += 7n;
    }
    return this.fail(`varint longer than 10 bytes at offset ${this.base + this.pos}`);
  }

  /**
   * Reads a zig-zag signed varint. Values beyond +-2^53 (such as a tombstone's open end,
   * `math.MaxInt64`) come back rounded to the nearest float, which keeps their order.
   */
  varint(): number {
    const start = this.pos;
    for (let i = 0; i < 7 && this.pos < this.end; i++) {
      if (this.data[this.pos++] < 0x80) {
        this.pos = start;
        const u = this.uvarint();
        return u % 2 === 0 ? u / 2 : -(u + 1) / 2;
      }
    }
    this.pos = start;
    const u = this.uvarintBig();
    return Number((u >> 1n) ^ -(u & 1n));
  }

  /** Reads a uvarint-length-prefixed UTF-8 string. */
  uvarintStr(): string {
    const n = this.uvarint();
    this.#need(n);
    const s = decodeUtf8(this.data, this.pos, this.pos + n, this.file, this.section, this.base);
    this.pos += n;
    return s;
  }

  /** Skips `n` bytes. */
  skip(n: number): void {
    this.#need(n);
    this.pos += n;
  }
}

/** Reads a big-endian uint32 at `p` without bounds checks (callers check). */
export function be32At(d: Uint8Array, p: number): number {
  return ((d[p] << 24) | (d[p + 1] << 16) | (d[p + 2] << 8) | d[p + 3]) >>> 0;
}

/** Formats a uint32 as 8 hex digits. */
export function hex8(v: number): string {
  return v.toString(16).padStart(8, "0");
}
