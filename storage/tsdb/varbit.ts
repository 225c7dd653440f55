/**
 * Variable bit-width integers of histogram chunks (Prometheus' `varbit.go`): a unary prefix of
 * up to eight 1-bits ended by a 0-bit selects the payload width, 0, 3, 6, 9, 12, 18, 25, 56 or
 * (eight 1-bits, no terminator) 64 bits. Signed payloads are two's complement with the
 * asymmetric range of `bitRange` (e.g. -3..4 in 3 bits).
 *
 * Values are JS numbers: exact for |x| < 2^53, which covers timestamps and every count a float
 * histogram can represent.
 *
 * @module
 */
import type { BitReader, BitWriter } from "./bstream.ts";
import { bitRange } from "./xor.ts";

const TWO24 = 2 ** 24;
const TWO32 = 2 ** 32;
/** Payload width by number of leading 1-bits in the prefix. */
const WIDTH = [0, 3, 6, 9, 12, 18, 25, 56, 64];

function readPrefix(r: BitReader): number {
  const ones = Math.min(Math.clz32(~r.peek32()), 8);
  // Eight ones have no terminating zero bit.
  r.pos += ones === 8 ? 8 : ones + 1;
  return WIDTH[ones];
}

/** Reads a signed varbit integer. */
export function readVarbitInt(r: BitReader): number {
  const sz = readPrefix(r);
  if (sz === 0) return 0;
  if (sz <= 25) {
    const v = r.readBits(sz);
    return v > 2 ** (sz - 1) ? v - 2 ** sz : v;
  }
  if (sz === 56) {
    const hi = r.readBits(24);
    const lo = r.readBits(32);
    // Values above 2^55 are negative; 2^55 itself is the asymmetric positive end.
    const neg = hi > 0x800000 || (hi === 0x800000 && lo > 0);
    return (neg ? hi - TWO24 : hi) * TWO32 + lo;
  }
  const hi = r.readBits(32);
  const lo = r.readBits(32);
  return (hi | 0) * TWO32 + lo;
}

/** Reads an unsigned varbit integer. */
export function readVarbitUint(r: BitReader): number {
  const sz = readPrefix(r);
  if (sz === 0) return 0;
  if (sz <= 25) return r.readBits(sz);
  const hi = r.readBits(sz - 32);
  const lo = r.readBits(32);
  return hi * TWO32 + lo;
}

/** Writes a signed varbit integer (`val` an integer). */
export function writeVarbitInt(w: BitWriter, val: number): void {
  if (val === 0) w.writeBit(0);
  else if (bitRange(val, 3)) putSmall(w, 0b10, 2, val, 3);
  else if (bitRange(val, 6)) putSmall(w, 0b110, 3, val, 6);
  else if (bitRange(val, 9)) putSmall(w, 0b1110, 4, val, 9);
  else if (bitRange(val, 12)) putSmall(w, 0b11110, 5, val, 12);
  else if (bitRange(val, 18)) putSmall(w, 0b111110, 6, val, 18);
  else if (bitRange(val, 25)) putSmall(w, 0b1111110, 7, val, 25);
  // Beyond 2^53 float arithmetic cannot tell the 56-bit bounds apart: compare exactly.
  else if (fitsInt56(val)) {
    w.writeBits(0b11111110, 8);
    w.writeBitsBig(BigInt(val), 56);
  } else {
    w.writeBits(0b11111111, 8);
    w.writeBitsBig(BigInt(val), 64);
  }
}

/** Writes an unsigned varbit integer (`val` a non-negative integer). */
export function writeVarbitUint(w: BitWriter, val: number): void {
  if (val === 0) w.writeBit(0);
  else if (val < 2 ** 3) putSmall(w, 0b10, 2, val, 3);
  else if (val < 2 ** 6) putSmall(w, 0b110, 3, val, 6);
  else if (val < 2 ** 9) putSmall(w, 0b1110, 4, val, 9);
  else if (val < 2 ** 12) putSmall(w, 0b11110, 5, val, 12);
  else if (val < 2 ** 18) putSmall(w, 0b111110, 6, val, 18);
  else if (val < 2 ** 25) putSmall(w, 0b1111110, 7, val, 25);
  else if (val < 2 ** 56) {
    w.writeBits(0b11111110, 8);
    w.writeBitsBig(BigInt(val), 56);
  } else {
    w.writeBits(0b11111111, 8);
    w.writeBitsBig(BigInt(val), 64);
  }
}

function fitsInt56(val: number): boolean {
  const v = BigInt(val);
  return -(2n ** 55n - 1n) <= v && v <= 2n ** 55n;
}

function putSmall(w: BitWriter, prefix: number, plen: number, val: number, sz: number): void {
  w.writeBits(prefix, plen);
  // The low `sz` bits of the two's complement; `val` fits 32 bits here.
  w.writeBits(val & ((1 << sz) - 1), sz);
}
