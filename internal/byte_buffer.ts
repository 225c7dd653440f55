/**
 * A growable byte buffer, shared by the writers of the on-disk formats (TSDB index and chunks,
 * Parquet data pages) and of the converter's spill records.
 *
 * @module
 */

const ENC = new TextEncoder();

/**
 * A growable byte buffer with the integer encodings the formats write: bytes, big-endian 32-bit
 * words, LEB128 varints (unsigned, and zig-zag signed as Go's `binary.PutVarint`) and
 * length-prefixed strings.
 */
export class ByteBuffer {
  #buf = new Uint8Array(256);
  /** Bytes written. */
  length = 0;

  #grow(n: number): void {
    if (this.length + n <= this.#buf.length) return;
    const next = new Uint8Array(Math.max(this.length + n, this.#buf.length * 2));
    next.set(this.#buf.subarray(0, this.length));
    this.#buf = next;
  }
  /** Empties the buffer (keeping its memory) for the next value. */
  reset(): this {
    this.length = 0;
    return this;
  }
  /** The bytes written (a view, valid until the next write). */
  view(): Uint8Array {
    return this.#buf.subarray(0, this.length);
  }
  /** Appends one byte. */
  byte(b: number): void {
    this.#grow(1);
    this.#buf[this.length++] = b;
  }
  /** Appends `b`. */
  bytes(b: Uint8Array): void {
    this.#grow(b.length);
    this.#buf.set(b, this.length);
    this.length += b.length;
  }
  /** Appends a big-endian 32-bit word. */
  be32(v: number): void {
    this.#grow(4);
    this.setBe32(this.length, v);
    this.length += 4;
  }
  /** Overwrites the byte at `at` (already written). */
  setByte(at: number, b: number): void {
    this.#buf[at] = b;
  }
  /** Overwrites the big-endian 32-bit word at `at` (already written). */
  setBe32(at: number, v: number): void {
    const b = this.#buf;
    b[at] = v >>> 24;
    b[at + 1] = (v >>> 16) & 0xff;
    b[at + 2] = (v >>> 8) & 0xff;
    b[at + 3] = v & 0xff;
  }
  /** Appends an unsigned varint (a number up to 2^53, or a bigint of up to 64 bits). */
  uvarint(v: number | bigint): void {
    if (typeof v === "number" && v >= 0 && v <= Number.MAX_SAFE_INTEGER) {
      // 53 bits take at most 8 bytes: one check for room, not one per byte.
      this.#grow(8);
      const b = this.#buf;
      while (v >= 0x80) {
        b[this.length++] = (v % 0x80) | 0x80;
        v = Math.floor(v / 0x80);
      }
      b[this.length++] = v;
      return;
    }
    let x = BigInt.asUintN(64, BigInt(v));
    while (x >= 0x80n) {
      this.byte(Number(x & 0x7fn) | 0x80);
      x >>= 7n;
    }
    this.byte(Number(x));
  }
  /** Appends a zig-zag signed varint. */
  varint(v: number): void {
    if (Math.abs(v) <= 2 ** 51) {
      this.uvarint(v < 0 ? -2 * v - 1 : 2 * v);
      return;
    }
    const x = BigInt(v);
    this.uvarint(BigInt.asUintN(64, (x << 1n) ^ (x >> 63n)));
  }
  /** Appends a string as its UTF-8 length (uvarint) and bytes. */
  str(s: string): void {
    // Encoded in place, without a copy: room for the widest prefix and bytes (one UTF-16 unit
    // takes at most 3 UTF-8 bytes), then the prefix is written for the actual length and the
    // bytes moved back behind it.
    this.#grow(8 + s.length * 3);
    const at = this.length;
    this.uvarint(s.length * 3);
    const start = this.length;
    const { written } = ENC.encodeInto(s, this.#buf.subarray(start));
    this.length = at;
    this.uvarint(written);
    this.#buf.copyWithin(this.length, start, start + written);
    this.length += written;
  }
  /** Appends zero bytes up to the next multiple of `align`. */
  pad(align: number): void {
    while (this.length % align !== 0) this.byte(0);
  }
}
