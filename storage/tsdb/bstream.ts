/**
 * Bit streams of chunk data (Prometheus' `bstream`, see `tsdb/docs/bstream.md`): bits are
 * written most significant first into bytes that fill from the high bit down.
 *
 * @module
 */

/**
 * Reads a bit stream. The caller detects truncation by checking {@linkcode BitReader.overrun}
 * after each sample: reads past the end return zero bits instead of failing one by one.
 *
 * The reader works on the caller's bytes without copying them (no allocation per chunk);
 * callers must not modify the bytes while reading.
 */
export class BitReader {
  #buf: Uint8Array;
  #start: number;
  #end: number;
  /** Number of valid bits. */
  bitLength: number;
  /** Position of the next bit to read, relative to the start. */
  pos = 0;

  /** Reads `data[start, end)`. */
  constructor(data: Uint8Array, start = 0, end = data.length) {
    this.#buf = data;
    this.#start = start;
    this.#end = end;
    this.bitLength = (end - start) * 8;
  }

  /** Points the reader at `data[start, end)` from bit 0, for reuse without allocation. */
  reset(data: Uint8Array, start = 0, end = data.length): this {
    this.#buf = data;
    this.#start = start;
    this.#end = end;
    this.bitLength = (end - start) * 8;
    this.pos = 0;
    return this;
  }

  /** Reports whether more bits were consumed than the stream holds. */
  get overrun(): boolean {
    return this.pos > this.bitLength;
  }

  /** Returns the next 32 bits (unsigned) without consuming them. */
  peek32(): number {
    const pos = this.pos;
    const i = this.#start + (pos >>> 3);
    const s = pos & 7;
    const b = this.#buf;
    if (i + 4 < this.#end) {
      const w = (b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3];
      return s === 0 ? w >>> 0 : ((w << s) | (b[i + 4] >>> (8 - s))) >>> 0;
    }
    return this.#peekTail(i, s);
  }

  /** `peek32` near the end: bytes past the end read as zeros. */
  #peekTail(i: number, s: number): number {
    const b = this.#buf;
    const end = this.#end;
    let w = 0;
    for (let k = 0; k < 4; k++) w = (w << 8) | (i + k < end && i + k >= 0 ? b[i + k] : 0);
    const next = i + 4 < end ? b[i + 4] : 0;
    return s === 0 ? w >>> 0 : ((w << s) | (next >>> (8 - s))) >>> 0;
  }

  /** Reads one bit. */
  readBit(): number {
    const b = this.peek32() >>> 31;
    this.pos++;
    return b;
  }

  /** Reads `n` bits (0 <= n <= 32) as an unsigned number. */
  readBits(n: number): number {
    if (n === 0) return 0;
    const v = this.peek32() >>> (32 - n);
    this.pos += n;
    return v;
  }

  /** Reads 8 bits. */
  readByte(): number {
    return this.readBits(8);
  }

  /** Reads an unsigned LEB128 varint from the bit stream as a bigint (any length). */
  readUvarintBig(): bigint {
    let x = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      const b = this.readByte();
      x |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return x;
      shift += 7n;
    }
    return x;
  }

  /**
   * Reads an unsigned varint. Values up to 2^49 take the fast path; longer encodings are read
   * exactly and converted, which is exact below 2^53.
   */
  readUvarint(): number {
    let x = 0;
    let mul = 1;
    const start = this.pos;
    for (let i = 0; i < 7; i++) {
      const b = this.readByte();
      x += (b & 0x7f) * mul;
      if (b < 0x80) return x;
      mul *= 128;
    }
    this.pos = start;
    return Number(this.readUvarintBig());
  }

  /** Reads a zig-zag signed varint (exact for |x| < 2^53). */
  readVarint(): number {
    const start = this.pos;
    for (let i = 0; i < 7; i++) {
      if (this.readByte() < 0x80) {
        this.pos = start;
        const u = this.readUvarint();
        return u % 2 === 0 ? u / 2 : -(u + 1) / 2;
      }
    }
    this.pos = start;
    const u = this.readUvarintBig();
    return Number((u >> 1n) ^ -(u & 1n));
  }
}

/** Appends bits to a growable byte buffer. */
export class BitWriter {
  #buf: Uint8Array;
  /** Number of bits written. */
  bitLength = 0;

  /** Starts a stream whose first `headerBytes` bytes are zero (chunk headers set later). */
  constructor(headerBytes = 0, capacity = 128) {
    this.#buf = new Uint8Array(Math.max(capacity, headerBytes + 16));
    this.bitLength = headerBytes * 8;
  }

  #ensure(extraBits: number): void {
    const need = ((this.bitLength + extraBits + 7) >>> 3) + 1;
    if (need <= this.#buf.length) return;
    const next = new Uint8Array(Math.max(need, this.#buf.length * 2));
    next.set(this.#buf);
    this.#buf = next;
  }

  /** Writes one bit (0 or 1). */
  writeBit(bit: number): void {
    this.#ensure(1);
    if (bit) this.#buf[this.bitLength >>> 3] |= 0x80 >>> (this.bitLength & 7);
    this.bitLength++;
  }

  /** Writes the low `n` bits (0 <= n <= 32) of `v`, most significant first. */
  writeBits(v: number, n: number): void {
    if (n === 0) return;
    this.#ensure(n);
    let left = n;
    const value = n === 32 ? v >>> 0 : (v & ((1 << n) - 1)) >>> 0;
    while (left > 0) {
      const free = 8 - (this.bitLength & 7);
      const take = free < left ? free : left;
      const bits = (value >>> (left - take)) & ((1 << take) - 1);
      this.#buf[this.bitLength >>> 3] |= bits << (free - take);
      this.bitLength += take;
      left -= take;
    }
  }

  /** Writes the low `n` bits (0 <= n <= 64) of the 64-bit value `hi:lo`. */
  writeBits64(hi: number, lo: number, n: number): void {
    if (n > 32) {
      this.writeBits(hi, n - 32);
      this.writeBits(lo, 32);
    } else {
      this.writeBits(lo, n);
    }
  }

  /** Writes a 64-bit two's complement value given as a bigint, in `n` bits. */
  writeBitsBig(v: bigint, n: number): void {
    const u = BigInt.asUintN(64, v);
    this.writeBits64(Number(u >> 32n), Number(u & 0xffffffffn), n);
  }

  /** Writes 8 bits. */
  writeByte(b: number): void {
    this.writeBits(b, 8);
  }

  /** Writes an unsigned varint (bytes into the bit stream). */
  writeUvarint(x: number | bigint): void {
    let u = BigInt.asUintN(64, BigInt(x));
    while (u >= 0x80n) {
      this.writeByte(Number(u & 0x7fn) | 0x80);
      u >>= 7n;
    }
    this.writeByte(Number(u));
  }

  /** Writes a zig-zag signed varint. */
  writeVarint(x: number | bigint): void {
    const v = BigInt.asIntN(64, BigInt(x));
    this.writeUvarint(BigInt.asUintN(64, (v << 1n) ^ (v >> 63n)));
  }

  /** Overwrites byte `i` (for headers). */
  setByte(i: number, b: number): void {
    this.#buf[i] = b;
  }

  /** Reads back byte `i`. */
  getByte(i: number): number {
    return this.#buf[i];
  }

  /** The bytes written so far (a view; copy before writing more). */
  bytes(): Uint8Array {
    return this.#buf.subarray(0, (this.bitLength + 7) >>> 3);
  }
}
