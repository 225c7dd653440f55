/**
 * The layout shared by integer and float histogram chunks (Prometheus' `histogram_meta.go`):
 * 3-byte header (sample count, flags whose top two bits are the counter reset header), zero
 * threshold, schema, positive and negative spans and, for the custom-buckets schema, the bucket
 * bounds. Also the XOR value codec with per-value bit windows used by histogram fields.
 *
 * @module
 */
import type { BucketSpan } from "../../model/histogram.ts";
import { CounterResetHint, CUSTOM_BUCKETS_SCHEMA } from "../../model/histogram.ts";
import type { BitReader, BitWriter } from "./bstream.ts";
import { readVarbitInt, readVarbitUint, writeVarbitInt, writeVarbitUint } from "./varbit.ts";
import { BITS_F64, BITS_U32, HI, LO } from "./_float_bits.ts";
import { type XorWindow, xorWrite } from "./xor.ts";

/** Bytes before the bit stream: uint16 sample count and the flags byte. */
export const HISTOGRAM_HEADER_SIZE = 3;

/** The counter reset header in the top two bits of a histogram chunk's flags byte. */
export const CounterResetHeader = {
  /** Unknown whether a counter reset preceded this chunk. */
  Unknown: 0b00000000,
  /** A counter reset preceded this chunk. */
  CounterReset: 0b10000000,
  /** No counter reset preceded this chunk. */
  NotCounterReset: 0b01000000,
  /** The chunk holds gauge histograms. */
  Gauge: 0b11000000,
} as const;

/** One of {@linkcode CounterResetHeader}'s values. */
export type CounterResetHeader = typeof CounterResetHeader[keyof typeof CounterResetHeader];

/** Mask of the counter reset bits in the flags byte. */
export const COUNTER_RESET_MASK = 0b11000000;

/**
 * The hint a decoded sample carries: gauge for gauge chunks, "not a reset" from the second
 * sample on, otherwise unknown (a reset at a chunk start is decided by the reader of the
 * header, as Prometheus does).
 */
export function hintForSample(header: number, numRead: number): CounterResetHint {
  if (header === CounterResetHeader.Gauge) return CounterResetHint.Gauge;
  return numRead > 1 ? CounterResetHint.NotCounterReset : CounterResetHint.Unknown;
}

/** Schema, zero threshold, spans and custom bounds of a histogram chunk. */
export interface HistogramLayout {
  /** Bucket resolution: -4..8 exponential, or the custom-buckets schema. */
  schema: number;
  /** Width of the zero bucket. */
  zeroThreshold: number;
  /** Runs of positive buckets. */
  positiveSpans: BucketSpan[];
  /** Runs of negative buckets. */
  negativeSpans: BucketSpan[];
  /** Upper bounds of custom buckets (custom-buckets schema only). */
  customValues: Float64Array;
}

/** Reports whether Prometheus can decode `schema` (exponential -4..8 or custom buckets). */
export function isKnownSchema(schema: number): boolean {
  return (schema >= -4 && schema <= 8) || schema === CUSTOM_BUCKETS_SCHEMA;
}

/** Number of buckets the spans describe. */
export function countSpans(spans: readonly BucketSpan[]): number {
  let n = 0;
  for (const s of spans) n += s.length;
  return n;
}

function f64FromBits(hi: number, lo: number): number {
  BITS_U32[HI] = hi;
  BITS_U32[LO] = lo;
  return BITS_F64[0];
}

/** Reads a raw 64-bit float. */
function readFloat64(r: BitReader): number {
  const hi = r.readBits(32);
  return f64FromBits(hi, r.readBits(32));
}

/** Writes a raw 64-bit float. */
export function writeFloat64(w: BitWriter, v: number): void {
  BITS_F64[0] = v;
  w.writeBits(BITS_U32[HI], 32);
  w.writeBits(BITS_U32[LO], 32);
}

function readZeroThreshold(r: BitReader): number {
  const b = r.readByte();
  if (b === 0) return 0;
  if (b === 255) return readFloat64(r);
  return 0.5 * 2 ** (b - 243);
}

function writeZeroThreshold(w: BitWriter, t: number): void {
  if (t === 0) {
    w.writeByte(0);
    return;
  }
  // Powers of two 2^-243 .. 2^10 (frexp fraction 0.5, exponent -242..11) take one byte.
  const exp = Math.log2(t) + 1;
  if (Number.isInteger(exp) && exp >= -242 && exp <= 11 && 0.5 * 2 ** exp === t) {
    w.writeByte(exp + 243);
    return;
  }
  w.writeByte(255);
  writeFloat64(w, t);
}

function readSpans(r: BitReader): BucketSpan[] {
  const n = readVarbitUint(r);
  // Every span takes at least two bits; a larger count is corrupt (and must not allocate).
  if (n > r.bitLength - r.pos) return overrunSpans(r);
  const spans: BucketSpan[] = [];
  for (let i = 0; i < n; i++) {
    const length = readVarbitUint(r);
    const offset = readVarbitInt(r);
    spans.push({ offset, length });
  }
  return spans;
}

function overrunSpans(r: BitReader): BucketSpan[] {
  r.pos = r.bitLength + 1;
  return [];
}

function writeSpans(w: BitWriter, spans: readonly BucketSpan[]): void {
  writeVarbitUint(w, spans.length);
  for (const s of spans) {
    writeVarbitUint(w, s.length);
    writeVarbitInt(w, s.offset);
  }
}

function readCustomBound(r: BitReader): number {
  const b = readVarbitUint(r);
  return b === 0 ? readFloat64(r) : (b - 1) / 1000;
}

function writeCustomBound(w: BitWriter, f: number): void {
  const tf = f * 1000;
  if (tf < 0 || tf > 33554430 || Math.round(f * 1000) / 1000 !== f) {
    w.writeBit(0);
    writeFloat64(w, f);
    return;
  }
  writeVarbitUint(w, Math.round(tf) + 1);
}

/**
 * Reads the layout at the start of a chunk's bit stream. Corrupt data shows up as
 * `r.overrun`; the caller checks it.
 */
export function readLayout(r: BitReader): HistogramLayout {
  const zeroThreshold = readZeroThreshold(r);
  const schema = readVarbitInt(r);
  const positiveSpans = readSpans(r);
  const negativeSpans = readSpans(r);
  let customValues = new Float64Array(0);
  if (schema === CUSTOM_BUCKETS_SCHEMA) {
    const n = readVarbitUint(r);
    if (n > r.bitLength - r.pos) r.pos = r.bitLength + 1;
    else {
      customValues = new Float64Array(n);
      for (let i = 0; i < n; i++) customValues[i] = readCustomBound(r);
    }
  }
  return { schema, zeroThreshold, positiveSpans, negativeSpans, customValues };
}

/** Writes a chunk layout. */
export function writeLayout(w: BitWriter, l: HistogramLayout): void {
  writeZeroThreshold(w, l.zeroThreshold);
  writeVarbitInt(w, l.schema);
  writeSpans(w, l.positiveSpans);
  writeSpans(w, l.negativeSpans);
  if (l.schema === CUSTOM_BUCKETS_SCHEMA) {
    writeVarbitUint(w, l.customValues.length);
    for (const v of l.customValues) writeCustomBound(w, v);
  }
}

/** Reports whether two layouts are identical (same chunk possible). */
export function sameLayout(a: HistogramLayout, b: HistogramLayout): boolean {
  return (a.schema === b.schema && Object.is(a.zeroThreshold, b.zeroThreshold) &&
    sameSpans(a.positiveSpans, b.positiveSpans) && sameSpans(a.negativeSpans, b.negativeSpans) &&
    a.customValues.length === b.customValues.length &&
    a.customValues.every((v, i) => v === b.customValues[i]));
}

function sameSpans(a: readonly BucketSpan[], b: readonly BucketSpan[]): boolean {
  // Spans of zero length carry no buckets but are still part of the encoded layout.
  return a.length === b.length &&
    a.every((s, i) => s.offset === b[i].offset && s.length === b[i].length);
}

/**
 * XOR-decodes the next value of slot `i` whose previous bits are `hi[i]:lo[i]`, with that
 * slot's own leading/trailing window (Prometheus' `xorRead`). A window reused before one was
 * set spans all 64 bits, as in Prometheus (zero-initialised state).
 */
export function xorReadSlot(
  r: BitReader,
  hi: Uint32Array,
  lo: Uint32Array,
  leading: Uint8Array,
  trailing: Uint8Array,
  i: number,
): void {
  const p = r.peek32();
  if (p < 0x80000000) {
    r.pos += 1;
    return;
  }
  let mbits: number;
  if (p < 0xc0000000) {
    r.pos += 2;
    mbits = 64 - leading[i] - trailing[i];
  } else {
    const lead = (p >>> 25) & 0x1f;
    mbits = (p >>> 19) & 0x3f;
    r.pos += 13;
    if (mbits === 0) mbits = 64;
    if (lead + mbits > 64) {
      // Impossible window: corrupt data. Mark overrun for the caller's check.
      r.pos = r.bitLength + 1;
      return;
    }
    leading[i] = lead;
    trailing[i] = 64 - lead - mbits;
  }
  let h = 0;
  let l: number;
  if (mbits > 32) {
    h = r.readBits(mbits - 32);
    l = r.readBits(32);
  } else {
    l = r.readBits(mbits);
  }
  const t = trailing[i];
  if (t >= 32) {
    h = l << (t - 32);
    l = 0;
  } else if (t > 0) {
    h = (h << t) | (l >>> (32 - t));
    l <<= t;
  }
  hi[i] ^= h;
  lo[i] ^= l;
}

/** XOR-encodes `v` against `prev` with `win` (updated), as Prometheus' `xorWrite`. */
export function xorWriteFloat(w: BitWriter, v: number, prev: number, win: XorWindow): void {
  BITS_F64[0] = v;
  const vh = BITS_U32[HI];
  const vl = BITS_U32[LO];
  BITS_F64[0] = prev;
  xorWrite(w, (vh ^ BITS_U32[HI]) >>> 0, (vl ^ BITS_U32[LO]) >>> 0, win);
}

/**
 * The sum's bits as a histogram encoder must see them. V8 canonicalises NaN payloads stored in
 * object properties, so a stale marker cannot survive as `h.sum`: encoders take staleness as a
 * flag and produce the exact stale bits here.
 */
export function sumBits(sum: number, stale: boolean, out: Uint32Array): void {
  if (stale) {
    out[0] = 0x7ff00000;
    out[1] = 2;
    return;
  }
  BITS_F64[0] = sum;
  out[0] = BITS_U32[HI];
  out[1] = BITS_U32[LO];
}

/** The float in slot `i` of a hi/lo pair of arrays. */
export function slotFloat(hi: Uint32Array, lo: Uint32Array, i: number): number {
  return f64FromBits(hi[i], lo[i]);
}
