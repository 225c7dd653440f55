/**
 * Float64 <-> two uint32 halves, through one shared typed-array view (no DataView per call).
 * NaN payloads (the stale marker) survive because values never pass through arithmetic.
 *
 * @module
 */

/** Scratch float whose bits are {@linkcode BITS_U32}. */
export const BITS_F64: Float64Array = new Float64Array(1);
/** The halves of {@linkcode BITS_F64}; index with {@linkcode HI} and {@linkcode LO}. */
export const BITS_U32: Uint32Array = new Uint32Array(BITS_F64.buffer);
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
/** Index of the high 32 bits in {@linkcode BITS_U32}. */
export const HI: number = LITTLE_ENDIAN ? 1 : 0;
/** Index of the low 32 bits in {@linkcode BITS_U32}. */
export const LO: number = LITTLE_ENDIAN ? 0 : 1;

/** Count of leading zero bits of the 64-bit value `hi:lo`. */
export function clz64(hi: number, lo: number): number {
  return hi !== 0 ? Math.clz32(hi) : 32 + Math.clz32(lo);
}

/** Count of trailing zero bits of the 64-bit value `hi:lo` (64 for zero). */
export function ctz64(hi: number, lo: number): number {
  if (lo !== 0) return 31 - Math.clz32(lo & -lo);
  if (hi !== 0) return 63 - Math.clz32(hi & -hi);
  return 64;
}
