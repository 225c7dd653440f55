/**
 * The XOR float chunk (`chunkenc.EncXOR`): Gorilla-style delta-of-delta timestamps and XOR'd
 * values, bit-exact with Prometheus' `xor.go`.
 *
 * Layout: 2-byte big-endian sample count, then a bit stream: first timestamp (varint), first
 * value (64 raw bits), second timestamp delta (uvarint) and value, then per sample a
 * delta-of-delta bucket (`0`, `10`+14, `110`+17, `1110`+20, `1111`+64 bits) and a value
 * (`0` unchanged, `10`+bits reusing the previous leading/trailing zero counts, `11`+5-bit
 * leading+6-bit length+bits).
 *
 * @module
 */
import type { FloatHistogram } from "../../engine/histogram.ts";
import { type SampleIterator, ValueType } from "../../engine/series.ts";
import { BitReader, BitWriter } from "./bstream.ts";
import { BITS_F64, BITS_U32, clz64, ctz64, HI, LO } from "./_float_bits.ts";
import { ChunkEncodeError, TsdbFormatError } from "./errors.ts";

/** Largest number of samples a chunk can hold (the count is a uint16). */
export const MAX_CHUNK_SAMPLES = 0xffff;

// Slots of the iterator state array.
const T = 0;
const TDELTA = 1;
const HI_BITS = 2;
const LO_BITS = 3;

// Module-local scratch for bits <-> float (avoids cross-module binding loads in atFloat).
const F64 = new Float64Array(1);
const U32 = new Uint32Array(F64.buffer);

/**
 * A chunk's bit stream as big-endian 32-bit words, so that a bit-window read is two word loads
 * instead of five byte loads and a bounds check. The buffer is reused across chunks; words past
 * the chunk are kept zero, so reads past the end see zero bits exactly as byte reads do.
 */
class Words {
  #w = new Uint32Array(64);
  #filled = 0;

  /** Loads `data` and returns the word array. */
  load(data: Uint8Array): Uint32Array {
    const end = data.length;
    const nw = (end + 3) >>> 2;
    if (this.#w.length < nw + 2) this.#w = new Uint32Array(Math.max(nw + 2, this.#w.length * 2));
    const w = this.#w;
    const full = end >>> 2;
    for (let k = 0, b = 0; k < full; k++, b += 4) {
      w[k] = ((data[b] << 24) | (data[b + 1] << 16) | (data[b + 2] << 8) | data[b + 3]) >>> 0;
    }
    if (full < nw) {
      let last = 0;
      for (let b = full * 4, sh = 24; b < end; b++, sh -= 8) last |= data[b] << sh;
      w[full] = last >>> 0;
    }
    w.fill(0, nw, Math.max(nw + 2, this.#filled));
    this.#filled = nw + 2;
    return w;
  }
}

/** The 32 bits at bit `pos` of `w` (reads past the array give zero bits). */
function pk(w: Uint32Array, pos: number): number {
  const i = pos >>> 5;
  const s = pos & 31;
  return s === 0 ? w[i] >>> 0 : ((w[i] << s) | (w[i + 1] >>> (32 - s))) >>> 0;
}

const bulkWords = new Words();

/**
 * Iterates the samples of an XOR chunk without allocating per sample or per chunk (the bytes
 * are read in place; do not modify them while iterating). Malformed data throws
 * {@linkcode TsdbFormatError} naming `source`.
 */
export class XorIterator implements SampleIterator {
  #b: Uint8Array;
  readonly #words = new Words();
  #w: Uint32Array;
  #end: number;
  #bitLength: number;
  #total: number;
  #source: string;
  /** Bit position in `#b` (the stream starts after the 2-byte count). */
  #pos = 16;
  #read = 0;
  /**
   * Timestamp, timestamp delta and the value's high and low 32 bits. A typed array, because
   * V8 boxes every store of a non-small-integer number into an object field (an allocation
   * per sample); typed array elements are updated in place.
   */
  readonly #s = new Float64Array(4);
  #leading = 0xff;
  #trailing = 0;
  #done = false;

  /**
   * Starts iterating a chunk.
   *
   * @param data the chunk bytes (`Chunk.Bytes()`: count header then bit stream)
   * @param source names the chunk in errors
   */
  constructor(data: Uint8Array, source = "XOR chunk") {
    this.#source = source;
    if (data.length < 2) throw new TsdbFormatError(source, "XOR chunk header", "truncated");
    this.#b = data;
    this.#w = this.#words.load(data);
    this.#end = data.length;
    this.#bitLength = data.length * 8;
    this.#total = (data[0] << 8) | data[1];
  }

  /**
   * Restarts the iterator on another chunk, reusing its state (Prometheus' `Iterator.Reset`):
   * decoding many chunks then allocates nothing per chunk either.
   */
  reset(data: Uint8Array, source = "XOR chunk"): this {
    if (data.length < 2) throw new TsdbFormatError(source, "XOR chunk header", "truncated");
    this.#source = source;
    this.#b = data;
    this.#w = this.#words.load(data);
    this.#end = data.length;
    this.#bitLength = data.length * 8;
    this.#total = (data[0] << 8) | data[1];
    this.#pos = 16;
    this.#read = 0;
    this.#s.fill(0);
    this.#leading = 0xff;
    this.#trailing = 0;
    this.#done = false;
    return this;
  }

  /** Advances to the next sample. */
  next(): ValueType {
    // Kept small so V8 can inline it into the caller's loop; rare paths live in methods.
    const read = this.#read;
    if (read < 2 || read >= this.#total || this.#done) return this.#nextSlow();
    const w = this.#w;
    let pos = this.#pos;
    const p = pk(w, pos);
    // dod == 0 (a regular scrape interval) takes one bit.
    if (p < 0x80000000) pos += 1;
    else pos = this.#readDod(p, pos);
    const st = this.#s;
    st[T] += st[TDELTA];
    pos = this.#readValue(w, pos);
    if (pos > this.#bitLength) this.#truncated();
    this.#pos = pos;
    this.#read = read + 1;
    return ValueType.Float;
  }

  #nextSlow(): ValueType {
    if (this.#read >= this.#total || this.#done) {
      this.#done = true;
      return ValueType.None;
    }
    this.#readFirst();
    if (this.#pos > this.#bitLength) this.#truncated();
    this.#read++;
    return ValueType.Float;
  }

  #truncated(): never {
    this.#done = true;
    throw new TsdbFormatError(
      this.#source,
      "XOR samples",
      `truncated at sample ${this.#read + 1} of ${this.#total}`,
    );
  }

  /** Reads a non-zero delta-of-delta whose first 32 bits are `p`; returns the new position. */
  #readDod(p: number, pos: number): number {
    let dod: number;
    if (p < 0xc0000000) {
      dod = (p >>> 16) & 0x3fff;
      pos += 16;
      if (dod > 0x2000) dod -= 0x4000;
    } else if (p < 0xe0000000) {
      dod = (p >>> 12) & 0x1ffff;
      pos += 20;
      if (dod > 0x10000) dod -= 0x20000;
    } else if (p < 0xf0000000) {
      dod = (p >>> 8) & 0xfffff;
      pos += 24;
      if (dod > 0x80000) dod -= 0x100000;
    } else {
      const hi = pk(this.#w, pos + 4);
      const lo = pk(this.#w, pos + 36);
      pos += 68;
      dod = Number(BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo)));
    }
    this.#s[TDELTA] += dod;
    return pos;
  }

  /** Samples 0 and 1: varint timestamp and raw value, then uvarint delta and XOR value. */
  #readFirst(): void {
    const r = headReader.reset(this.#b, 0, this.#end);
    r.pos = this.#pos;
    if (this.#read === 0) {
      this.#s[T] = r.readVarint();
      this.#s[HI_BITS] = r.readBits(32);
      this.#s[LO_BITS] = r.readBits(32);
      this.#pos = r.pos;
    } else {
      this.#s[TDELTA] = r.readUvarint();
      this.#s[T] += this.#s[TDELTA];
      this.#pos = this.#readValue(this.#w, r.pos);
    }
  }

  /** Reads one XOR-encoded value at `pos`; returns the position after it. */
  #readValue(w: Uint32Array, pos: number): number {
    const p = pk(w, pos);
    if (p < 0x80000000) return pos + 1;
    if (p < 0xc0000000) {
      if (this.#leading === 0xff) this.#badWindow("reused bit window before any");
      return this.#xorBits(w, pos + 2);
    }
    // 2 control bits, 5 bits leading zeros, 6 bits significant-bit count (0 means 64).
    const leading = (p >>> 25) & 0x1f;
    const mbits = ((p >>> 19) & 0x3f) || 64;
    if (leading + mbits > 64) this.#badWindow("bit window exceeds 64 bits");
    this.#leading = leading;
    this.#trailing = 64 - leading - mbits;
    return this.#xorBits(w, pos + 13);
  }

  #badWindow(detail: string): never {
    this.#done = true;
    throw new TsdbFormatError(this.#source, "XOR samples", detail);
  }

  /** Reads the significant bits of the current window at `pos` and XORs them into the value. */
  #xorBits(w: Uint32Array, pos: number): number {
    const t = this.#trailing;
    const mbits = 64 - this.#leading - t;
    let h = 0;
    let l: number;
    if (mbits > 32) {
      h = pk(w, pos) >>> (64 - mbits);
      l = pk(w, pos + mbits - 32);
    } else {
      l = pk(w, pos) >>> (32 - mbits);
    }
    if (t >= 32) {
      h = l << (t - 32);
      l = 0;
    } else if (t > 0) {
      h = (h << t) | (l >>> (32 - t));
      l <<= t;
    }
    const st = this.#s;
    st[HI_BITS] = (st[HI_BITS] ^ h) >>> 0;
    st[LO_BITS] = (st[LO_BITS] ^ l) >>> 0;
    return pos + mbits;
  }

  /** Advances to the first sample at or after `t`. */
  seek(t: number): ValueType {
    if (this.#done) return ValueType.None;
    if (this.#read > 0 && this.#s[T] >= t) return ValueType.Float;
    while (this.next() !== ValueType.None) {
      if (this.#s[T] >= t) return ValueType.Float;
    }
    return ValueType.None;
  }

  /** Timestamp of the current sample. */
  atT(): number {
    return this.#s[T];
  }

  /** Value of the current sample (NaN payloads such as the stale marker preserved). */
  atFloat(): number {
    U32[HI] = this.#s[HI_BITS];
    U32[LO] = this.#s[LO_BITS];
    return F64[0];
  }

  /** Always throws: XOR chunks hold floats. */
  atFloatHistogram(): FloatHistogram {
    throw new TypeError("XOR chunk samples are floats, not histograms");
  }
}

/**
 * Decodes a whole XOR chunk into `ts` and `values` (from index 0) and returns the sample count:
 * the fast path for consumers that want every sample, with all decoder state in locals.
 * Values are written through their bit patterns, so stale markers keep their payload.
 * Throws {@linkcode TsdbFormatError} naming `source` for malformed data and `RangeError` when
 * the arrays are shorter than the chunk's sample count.
 */
export function decodeXorChunk(
  data: Uint8Array,
  ts: Float64Array,
  values: Float64Array,
  source = "XOR chunk",
): number {
  if (data.length < 2) throw new TsdbFormatError(source, "XOR chunk header", "truncated");
  const n = (data[0] << 8) | data[1];
  if (n === 0) return 0;
  if (ts.length < n || values.length < n) {
    throw new RangeError(`arrays hold ${Math.min(ts.length, values.length)} of ${n} samples`);
  }
  const end = data.length;
  const bitLength = end * 8;
  const w = bulkWords.load(data);
  // Samples 0 and 1 through the general bit reader (a reused one: no allocation per chunk).
  const r = headReader.reset(data);
  r.pos = 16;
  let t = r.readVarint();
  let hi = r.readBits(32);
  let lo = r.readBits(32);
  if (r.overrun) throw truncated(source, n);
  ts[0] = t;
  U32[HI] = hi;
  U32[LO] = lo;
  // Typed array stores keep NaN payloads (stale markers).
  values[0] = F64[0];
  if (n === 1) return 1;
  let tDelta = r.readUvarint();
  let pos = r.pos;
  let leading = 0xff;
  let trailing = 0;
  for (let k = 1; k < n; k++) {
    if (k > 1) {
      const p = pk(w, pos);
      if (p < 0x80000000) pos += 1;
      else {
        let dod: number;
        if (p < 0xc0000000) {
          dod = (p >>> 16) & 0x3fff;
          pos += 16;
          if (dod > 0x2000) dod -= 0x4000;
        } else if (p < 0xe0000000) {
          dod = (p >>> 12) & 0x1ffff;
          pos += 20;
          if (dod > 0x10000) dod -= 0x20000;
        } else if (p < 0xf0000000) {
          dod = (p >>> 8) & 0xfffff;
          pos += 24;
          if (dod > 0x80000) dod -= 0x100000;
        } else {
          const dh = pk(w, pos + 4);
          const dl = pk(w, pos + 36);
          pos += 68;
          dod = Number(BigInt.asIntN(64, (BigInt(dh) << 32n) | BigInt(dl)));
        }
        tDelta += dod;
      }
    }
    t += tDelta;
    const p = pk(w, pos);
    if (p < 0x80000000) pos += 1;
    else {
      if (p < 0xc0000000) {
        if (leading === 0xff) {
          throw new TsdbFormatError(source, "XOR samples", "reused bit window before any");
        }
        pos += 2;
      } else {
        const lead = (p >>> 25) & 0x1f;
        const m = ((p >>> 19) & 0x3f) || 64;
        if (lead + m > 64) {
          throw new TsdbFormatError(source, "XOR samples", "bit window exceeds 64 bits");
        }
        leading = lead;
        trailing = 64 - lead - m;
        pos += 13;
      }
      const mbits = 64 - leading - trailing;
      let h = 0;
      let l: number;
      if (mbits > 32) {
        h = pk(w, pos) >>> (64 - mbits);
        l = pk(w, pos + mbits - 32);
      } else {
        l = pk(w, pos) >>> (32 - mbits);
      }
      pos += mbits;
      if (trailing >= 32) {
        h = l << (trailing - 32);
        l = 0;
      } else if (trailing > 0) {
        h = (h << trailing) | (l >>> (32 - trailing));
        l <<= trailing;
      }
      hi = (hi ^ h) >>> 0;
      lo = (lo ^ l) >>> 0;
    }
    ts[k] = t;
    U32[HI] = hi;
    U32[LO] = lo;
    values[k] = F64[0];
  }
  // Reads past the end see zero bits, so one check after the loop finds any truncation.
  if (pos > bitLength) throw truncated(source, n);
  return n;
}

const headReader = new BitReader(new Uint8Array(0));

function truncated(source: string, total: number): TsdbFormatError {
  return new TsdbFormatError(source, "XOR samples", `truncated: too few bits for ${total} samples`);
}

/**
 * Builds an XOR chunk sample by sample, producing exactly the bytes Prometheus' appender
 * produces for the same samples. Timestamps must be strictly increasing.
 */
export class XorChunkEncoder {
  readonly #w = new BitWriter(2);
  #num = 0;
  #t = 0;
  #tDelta = 0;
  #hi = 0;
  #lo = 0;
  readonly #window: XorWindow = { leading: 0xff, trailing: 0 };

  /** Number of samples appended. */
  get numSamples(): number {
    return this.#num;
  }

  /**
   * Appends a sample; throws {@linkcode ChunkEncodeError} when the chunk is full or `t` is not
   * after the previous timestamp.
   */
  append(t: number, v: number): void {
    const w = this.#w;
    BITS_F64[0] = v;
    const hi = BITS_U32[HI];
    const lo = BITS_U32[LO];
    if (this.#num === MAX_CHUNK_SAMPLES) throw new ChunkEncodeError("XOR chunk is full");
    if (this.#num > 0 && !(t > this.#t)) {
      throw new ChunkEncodeError(`timestamp ${t} not after ${this.#t}`);
    }
    if (this.#num === 0) {
      w.writeVarint(t);
      w.writeBits(hi, 32);
      w.writeBits(lo, 32);
    } else if (this.#num === 1) {
      const tDelta = t - this.#t;
      w.writeUvarint(tDelta);
      this.#writeValue(hi, lo);
      this.#tDelta = tDelta;
    } else {
      const tDelta = t - this.#t;
      const dod = tDelta - this.#tDelta;
      if (dod === 0) w.writeBit(0);
      else if (bitRange(dod, 14)) {
        w.writeBits(0b10, 2);
        w.writeBits(dod, 14);
      } else if (bitRange(dod, 17)) {
        w.writeBits(0b110, 3);
        w.writeBits(dod, 17);
      } else if (bitRange(dod, 20)) {
        w.writeBits(0b1110, 4);
        w.writeBits(dod, 20);
      } else {
        w.writeBits(0b1111, 4);
        w.writeBitsBig(BigInt(dod), 64);
      }
      this.#writeValue(hi, lo);
      this.#tDelta = tDelta;
    }
    this.#t = t;
    this.#hi = hi;
    this.#lo = lo;
    this.#num++;
    w.setByte(0, this.#num >>> 8);
    w.setByte(1, this.#num & 0xff);
  }

  #writeValue(hi: number, lo: number): void {
    xorWrite(this.#w, (hi ^ this.#hi) >>> 0, (lo ^ this.#lo) >>> 0, this.#window);
  }

  /** The chunk bytes so far (`Chunk.Bytes()`), as a copy. */
  bytes(): Uint8Array {
    return this.#w.bytes().slice();
  }
}

/** Reports whether `x` fits the `nbits` bucket of `bstream.md` (asymmetric two's complement). */
export function bitRange(x: number, nbits: number): boolean {
  const half = 2 ** (nbits - 1);
  return -(half - 1) <= x && x <= half;
}

/** Leading/trailing zero window carried between XOR-encoded values. */
export interface XorWindow {
  /** Leading zeros of the current window, 0xff before the first. */
  leading: number;
  /** Trailing zeros of the current window. */
  trailing: number;
}

/** Writes one XOR-encoded value given the 64-bit XOR `dh:dl` against the previous value. */
export function xorWrite(w: BitWriter, dh: number, dl: number, win: XorWindow): void {
  if (dh === 0 && dl === 0) {
    w.writeBit(0);
    return;
  }
  w.writeBit(1);
  let leading = clz64(dh, dl);
  const trailing = ctz64(dh, dl);
  // Five bits hold the leading count, so it is clamped.
  if (leading >= 32) leading = 31;
  if (win.leading !== 0xff && leading >= win.leading && trailing >= win.trailing) {
    w.writeBit(0);
    writeShifted(w, dh, dl, win.trailing, 64 - win.leading - win.trailing);
    return;
  }
  win.leading = leading;
  win.trailing = trailing;
  w.writeBit(1);
  w.writeBits(leading, 5);
  const sigbits = 64 - leading - trailing;
  // 64 significant bits do not fit 6 bits; they are written as 0 (never a real count).
  w.writeBits(sigbits & 0x3f, 6);
  writeShifted(w, dh, dl, trailing, sigbits);
}

function writeShifted(w: BitWriter, hi: number, lo: number, shift: number, n: number): void {
  if (shift >= 32) {
    w.writeBits(hi >>> (shift - 32), n);
  } else if (shift > 0) {
    w.writeBits64(hi >>> shift, ((lo >>> shift) | (hi << (32 - shift))) >>> 0, n);
  } else {
    w.writeBits64(hi, lo, n);
  }
}
