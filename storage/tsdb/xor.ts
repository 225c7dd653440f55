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
import type { FloatHistogram } from "../../model/histogram.ts";
import { type SampleIterator, ValueType } from "../../model/series.ts";
import { BitReader, BitWriter } from "./bstream.ts";
import { BITS_F64, BITS_U32, clz64, ctz64, HI, LO } from "./_float_bits.ts";
import { ChunkEncodeError, TsdbFormatError } from "./errors.ts";

/** Largest number of samples a chunk can hold (the count is a uint16). */
export const MAX_CHUNK_SAMPLES = 0xffff;

/**
 * A chunk's bit stream as big-endian 32-bit words, so that a bit-window read is two word loads
 * instead of five byte loads. Signed words keep every intermediate a 32-bit integer (V8 turns
 * uint32 values above 2^31 into doubles). One buffer serves every decode, which runs to
 * completion synchronously; words past the chunk are kept zero, so reads past the end see
 * zero bits exactly as byte reads do.
 */
let wordBytes = new Uint8Array(256);
let words = new Int32Array(wordBytes.buffer);
let wordsFilled = 0;
const LITTLE_ENDIAN = HI === 1;

function loadWords(data: Uint8Array): Int32Array {
  const end = data.length;
  const nw = (end + 3) >>> 2;
  if (words.length < nw + 2) {
    wordBytes = new Uint8Array(4 * Math.max(nw + 2, words.length * 2));
    words = new Int32Array(wordBytes.buffer);
  }
  const w = words;
  // One memcpy, then a byte swap per word: fewer loads than assembling words byte by byte.
  wordBytes.set(data);
  for (let b = end; b < nw * 4; b++) wordBytes[b] = 0;
  if (LITTLE_ENDIAN) {
    for (let k = 0; k < nw; k++) {
      const x = w[k];
      w[k] = (x << 24) | ((x & 0xff00) << 8) | ((x >>> 8) & 0xff00) | (x >>> 24);
    }
  }
  for (let k = nw, stop = Math.max(nw + 2, wordsFilled); k < stop; k++) w[k] = 0;
  wordsFilled = nw + 2;
  return w;
}

/** The 32 bits at bit `pos` of `w`, as a signed integer (the first bit is the sign). */
function pk(w: Int32Array, pos: number): number {
  const i = pos >>> 5;
  const s = pos & 31;
  // Two shifts, because a JavaScript shift by 32 is a shift by 0.
  return (w[i] << s) | ((w[i + 1] >>> 1) >>> (31 - s));
}

const headReader = new BitReader(new Uint8Array(0));

function truncated(source: string, total: number): TsdbFormatError {
  return new TsdbFormatError(source, "XOR samples", `truncated: too few bits for ${total} samples`);
}

/**
 * Decodes the `n` samples of an XOR chunk: timestamps into `ts`, each value's bits into `bits`
 * (two signed 32-bit halves per value, in platform order: a view of a Float64Array). All
 * decoder state lives in locals; values never pass through arithmetic, so NaN payloads such as
 * the stale marker survive.
 */
function decodeXorBits(
  data: Uint8Array,
  n: number,
  ts: Float64Array,
  bits: Int32Array,
  source: string,
): void {
  const bitLength = data.length * 8;
  const w = loadWords(data);
  // Samples 0 and 1 through the general bit reader (a reused one: no allocation per chunk).
  const r = headReader.reset(data);
  r.pos = 16;
  ts[0] = r.readVarint();
  // Read back from the Float64Array, the time is a raw double to the optimising compiler, so
  // the loop below keeps it unboxed (from the call, each `t += tDelta` allocated a HeapNumber).
  let t = ts[0];
  let hi = r.readBits(32) | 0;
  let lo = r.readBits(32) | 0;
  if (r.overrun) throw truncated(source, n);
  bits[HI] = hi;
  bits[LO] = lo;
  if (n === 1) return;
  let tDelta = r.readUvarint();
  let pos = r.pos;
  let leading = 0xff;
  let trailing = 0;
  let mbits = 0;
  // Sample 1 has no delta of delta: its value control bits come first.
  let p = pk(w, pos);
  for (let k = 1; k < n; k++) {
    if (k > 1) {
      // Delta of delta: `0`, or `10`/`110`/`1110` + 14/17/20 bits, or `1111` + 64 bits. The
      // bucket is told by comparing the signed window; the payload is sign-extended by shifts.
      // Prometheus reads a payload of exactly 2^(size-1) as positive (bitRange's asymmetry).
      p = pk(w, pos);
      if (p >= 0) {
        // dod 0 (a regular interval): the value's control bits follow in the same window.
        pos += 1;
        p <<= 1;
      } else {
        let dod: number;
        if (p < -0x40000000) {
          dod = (p << 2) >> 18;
          pos += 16;
          if (dod === -0x2000) dod = 0x2000;
        } else if (p < -0x20000000) {
          dod = (p << 3) >> 15;
          pos += 20;
          if (dod === -0x10000) dod = 0x10000;
        } else if (p < -0x10000000) {
          dod = (p << 4) >> 12;
          pos += 24;
          if (dod === -0x80000) dod = 0x80000;
        } else {
          const dh = pk(w, pos + 4);
          const dl = pk(w, pos + 36);
          pos += 68;
          dod = Number(BigInt.asIntN(64, (BigInt(dh) << 32n) | BigInt(dl >>> 0)));
        }
        tDelta += dod;
        p = pk(w, pos);
      }
    }
    t += tDelta;
    // Value: `0` unchanged, `10` reuse the window, `11` + 5-bit leading + 6-bit length.
    if (p >= 0) pos += 1;
    else {
      if (p < -0x40000000) {
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
        mbits = m;
        pos += 13;
      }
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
      hi ^= h;
      lo ^= l;
    }
    ts[k] = t;
    bits[2 * k + HI] = hi;
    bits[2 * k + LO] = lo;
  }
  // Reads past the end see zero bits, so one check after the loop finds any truncation.
  if (pos > bitLength) throw truncated(source, n);
}

/** Arrays a chunk's samples are decoded into, and the iterator whose samples they hold. */
interface SampleArrays {
  ts: Float64Array;
  values: Float64Array;
  /** `values` as 32-bit halves. */
  bits: Int32Array;
  owner: XorIterator | undefined;
}

function sampleArrays(capacity: number): SampleArrays {
  const values = new Float64Array(capacity);
  return {
    ts: new Float64Array(capacity),
    values,
    bits: new Int32Array(values.buffer),
    owner: undefined,
  };
}

/** The arrays iterators decode into until another iterator takes them over (see below). */
let shared = sampleArrays(0);

/**
 * Iterates the samples of an XOR chunk. The chunk is decoded in one pass on the first `next`
 * or `seek`, so iterating allocates nothing per sample.
 *
 * The samples go into arrays shared by the thread's iterators: a query reads series one after
 * another, and two arrays per series (each an ArrayBuffer outside V8's heap) were most of the
 * garbage of a query over many series. An iterator still in use after another one decoded into
 * the shared arrays decodes its chunk again into arrays of its own, which it keeps (across
 * {@linkcode XorIterator.reset} too), so interleaved iterators pay one extra decode each.
 * Malformed data throws {@linkcode TsdbFormatError} naming `source` from that first call.
 */
export class XorIterator implements SampleIterator {
  #data: Uint8Array;
  #source: string;
  /** The arrays its samples were last decoded into. */
  #arrays: SampleArrays = shared;
  /** Whether it decodes into arrays of its own (after another iterator overwrote its samples). */
  #private = false;
  /** Samples decoded, or -1 before decoding. */
  #n = -1;
  /** Index of the current sample. */
  #i = -1;
  #done = false;

  /**
   * Starts iterating a chunk.
   *
   * @param data the chunk bytes (`Chunk.Bytes()`: count header then bit stream)
   * @param source names the chunk in errors
   */
  constructor(data: Uint8Array, source = "XOR chunk") {
    if (data.length < 2) throw new TsdbFormatError(source, "XOR chunk header", "truncated");
    this.#data = data;
    this.#source = source;
  }

  /**
   * Restarts the iterator on another chunk, reusing its arrays (Prometheus' `Iterator.Reset`).
   */
  reset(data: Uint8Array, source = "XOR chunk"): this {
    if (data.length < 2) throw new TsdbFormatError(source, "XOR chunk header", "truncated");
    this.#data = data;
    this.#source = source;
    this.#n = -1;
    this.#i = -1;
    this.#done = false;
    return this;
  }

  #decode(): void {
    const data = this.#data;
    const n = (data[0] << 8) | data[1];
    // An error leaves the iterator exhausted rather than half decoded.
    this.#n = 0;
    if (n === 0) return;
    this.#fill(n);
    this.#n = n;
  }

  /** Decodes the chunk's `n` samples into the shared arrays or its own (grown if too small). */
  #fill(n: number): void {
    let a = this.#private ? this.#arrays : shared;
    if (a.ts.length < n) {
      a = sampleArrays(Math.max(n, 2 * a.ts.length));
      if (!this.#private) shared = a;
    }
    this.#arrays = a;
    a.owner = undefined;
    decodeXorBits(this.#data, n, a.ts, a.bits, this.#source);
    a.owner = this;
  }

  /** The decoded samples (`#n > 0`): decoded again if another iterator overwrote them. */
  #samples(): SampleArrays {
    if (this.#arrays.owner === this) return this.#arrays;
    this.#private = true;
    this.#arrays = sampleArrays(this.#n);
    this.#fill(this.#n);
    return this.#arrays;
  }

  /** Advances to the next sample. */
  next(): ValueType {
    if (this.#n < 0) this.#decode();
    const i = this.#i + 1;
    if (i < this.#n) {
      this.#i = i;
      return ValueType.Float;
    }
    // Like Prometheus, the last sample stays current after the end.
    this.#done = true;
    return ValueType.None;
  }

  /** Advances to the first sample at or after `t` (never backwards). */
  seek(t: number): ValueType {
    if (this.#n < 0) this.#decode();
    if (this.#done) return ValueType.None;
    if (this.#n === 0) {
      this.#i = -1;
      this.#done = true;
      return ValueType.None;
    }
    const ts = this.#samples().ts;
    let lo = Math.max(this.#i, 0);
    let hi = this.#n;
    if (lo < hi && ts[lo] >= t) {
      this.#i = lo;
      return ValueType.Float;
    }
    // Binary search: ts[lo] < t, and the answer is in (lo, hi].
    while (hi - lo > 1) {
      const mid = (lo + hi) >>> 1;
      if (ts[mid] < t) lo = mid;
      else hi = mid;
    }
    if (hi < this.#n) {
      this.#i = hi;
      return ValueType.Float;
    }
    this.#i = this.#n - 1;
    this.#done = true;
    return ValueType.None;
  }

  /** Timestamp of the current sample. */
  atT(): number {
    return this.#samples().ts[this.#i];
  }

  /** Value of the current sample (NaN payloads such as the stale marker preserved). */
  atFloat(): number {
    return this.#samples().values[this.#i];
  }

  /** Always throws: XOR chunks hold floats. */
  atFloatHistogram(): FloatHistogram {
    throw new TypeError("XOR chunk samples are floats, not histograms");
  }
}

// The 32-bit view of the last `values` array given to decodeXorChunk, so that decoding many
// chunks into one array creates no view per chunk. Matched by buffer, offset and length (a
// length-tracking array over a resizable buffer changes length).
let lastBits: Int32Array = new Int32Array(0);

/**
 * Decodes a whole XOR chunk into `ts` and `values` (from index 0) and returns the sample count:
 * for consumers that want every sample. Values are written through their bit patterns, so
 * stale markers keep their payload. Throws {@linkcode TsdbFormatError} naming `source` for
 * malformed data and `RangeError` when the arrays are shorter than the chunk's sample count.
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
  if (
    lastBits.buffer !== values.buffer || lastBits.byteOffset !== values.byteOffset ||
    lastBits.length !== values.length * 2
  ) {
    lastBits = new Int32Array(values.buffer, values.byteOffset, values.length * 2);
  }
  decodeXorBits(data, n, ts, lastBits, source);
  return n;
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
    let hi = BITS_U32[HI];
    const lo = BITS_U32[LO];
    // V8 may set the quiet bit of a stale marker that passed through a JS array; write the
    // marker Prometheus compares bit for bit.
    if (hi === 0x7ff80000 && lo === 2) hi = 0x7ff00000;
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
