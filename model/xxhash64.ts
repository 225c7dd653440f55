/**
 * xxHash64 (Yann Collet's XXH64): the hash under Prometheus' `labels.Hash()`, the Go gateway's
 * external-labels directory names, Parquet bloom filters and Thanos' shard selection.
 *
 * 64-bit arithmetic is done on pairs of unsigned 32-bit halves held in plain numbers, so hashing
 * allocates nothing but the final BigInt.
 *
 * @module
 */

// Scratch result registers for the 64-bit helpers below (high and low 32 bits).
let rh = 0;
let rl = 0;

/** (ah:al) * (bh:bl) mod 2^64 into (rh:rl). */
function mul(ah: number, al: number, bh: number, bl: number): void {
  // al*bl needs the full 64-bit product: split into 16-bit limbs so every partial product is
  // exact in a double. The cross terms only matter mod 2^32, which Math.imul gives directly.
  const a0 = al & 0xffff, a1 = al >>> 16, b0 = bl & 0xffff, b1 = bl >>> 16;
  const mid = a0 * b1 + a1 * b0;
  const low = a0 * b0 + (mid % 0x10000) * 0x10000;
  const carry = Math.floor(low / 0x100000000);
  rl = low >>> 0;
  rh = (a1 * b1 + Math.floor(mid / 0x10000) + carry + Math.imul(ah, bl) + Math.imul(al, bh)) >>> 0;
}

/** (ah:al) + (bh:bl) mod 2^64 into (rh:rl). */
function add(ah: number, al: number, bh: number, bl: number): void {
  const low = al + bl;
  rl = low >>> 0;
  rh = (ah + bh + (low > 0xffffffff ? 1 : 0)) >>> 0;
}

/** Rotate (h:l) left by 0 < n < 32 into (rh:rl). */
function rotl(h: number, l: number, n: number): void {
  rh = ((h << n) | (l >>> (32 - n))) >>> 0;
  rl = ((l << n) | (h >>> (32 - n))) >>> 0;
}

const P1H = 0x9e3779b1, P1L = 0x85ebca87;
const P2H = 0xc2b2ae3d, P2L = 0x27d4eb4f;
const P3H = 0x165667b1, P3L = 0x9e3779f9;
const P4H = 0x85ebca77, P4L = 0xc2b2ae63;
const P5H = 0x27d4eb2f, P5L = 0x165667c5;

/** One accumulator round: acc = rotl(acc + input * P2, 31) * P1, into (rh:rl). */
function round(acch: number, accl: number, inh: number, inl: number): void {
  mul(inh, inl, P2H, P2L);
  add(acch, accl, rh, rl);
  rotl(rh, rl, 31);
  mul(rh, rl, P1H, P1L);
}

/** Folds one lane accumulator into the hash: h = (h ^ round(0, v)) * P1 + P4, into (rh:rl). */
function mergeRound(hh: number, hl: number, vh: number, vl: number): void {
  round(0, 0, vh, vl);
  mul((hh ^ rh) >>> 0, (hl ^ rl) >>> 0, P1H, P1L);
  add(rh, rl, P4H, P4L);
}

/**
 * The xxHash64 of `data` with `seed` (default 0), as an unsigned 64-bit BigInt.
 *
 * @example
 * ```ts
 * xxHash64(new TextEncoder().encode("abc")); // 0x44bc2cf5ad770999n
 * ```
 */
export function xxHash64(data: Uint8Array, seed = 0n): bigint {
  const sh = Number((seed >> 32n) & 0xffffffffn), sl = Number(seed & 0xffffffffn);
  const len = data.length;
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let p = 0;
  let hh: number, hl: number;
  if (len >= 32) {
    add(sh, sl, P1H, P1L);
    add(rh, rl, P2H, P2L);
    let v1h = rh, v1l = rl;
    add(sh, sl, P2H, P2L);
    let v2h = rh, v2l = rl;
    let v3h = sh, v3l = sl;
    // seed - P1 == seed + (2^64 - P1)
    add(sh, sl, 0x61c8864e, 0x7a143579);
    let v4h = rh, v4l = rl;
    const limit = len - 32;
    while (p <= limit) {
      round(v1h, v1l, dv.getUint32(p + 4, true), dv.getUint32(p, true));
      v1h = rh, v1l = rl;
      round(v2h, v2l, dv.getUint32(p + 12, true), dv.getUint32(p + 8, true));
      v2h = rh, v2l = rl;
      round(v3h, v3l, dv.getUint32(p + 20, true), dv.getUint32(p + 16, true));
      v3h = rh, v3l = rl;
      round(v4h, v4l, dv.getUint32(p + 28, true), dv.getUint32(p + 24, true));
      v4h = rh, v4l = rl;
      p += 32;
    }
    rotl(v1h, v1l, 1);
    let th = rh, tl = rl;
    rotl(v2h, v2l, 7);
    add(th, tl, rh, rl);
    th = rh, tl = rl;
    rotl(v3h, v3l, 12);
    add(th, tl, rh, rl);
    th = rh, tl = rl;
    rotl(v4h, v4l, 18);
    add(th, tl, rh, rl);
    mergeRound(rh, rl, v1h, v1l);
    mergeRound(rh, rl, v2h, v2l);
    mergeRound(rh, rl, v3h, v3l);
    mergeRound(rh, rl, v4h, v4l);
    hh = rh, hl = rl;
  } else {
    add(sh, sl, P5H, P5L);
    hh = rh, hl = rl;
  }
  // h += len (len < 2^53, split into halves)
  add(hh, hl, Math.floor(len / 0x100000000), len >>> 0);
  hh = rh, hl = rl;
  while (p + 8 <= len) {
    round(0, 0, dv.getUint32(p + 4, true), dv.getUint32(p, true));
    rotl((hh ^ rh) >>> 0, (hl ^ rl) >>> 0, 27);
    mul(rh, rl, P1H, P1L);
    add(rh, rl, P4H, P4L);
    hh = rh, hl = rl;
    p += 8;
  }
  if (p + 4 <= len) {
    mul(0, dv.getUint32(p, true), P1H, P1L);
    rotl((hh ^ rh) >>> 0, (hl ^ rl) >>> 0, 23);
    mul(rh, rl, P2H, P2L);
    add(rh, rl, P3H, P3L);
    hh = rh, hl = rl;
    p += 4;
  }
  while (p < len) {
    mul(0, data[p], P5H, P5L);
    rotl((hh ^ rh) >>> 0, (hl ^ rl) >>> 0, 11);
    mul(rh, rl, P1H, P1L);
    hh = rh, hl = rl;
    p++;
  }
  // Avalanche: h ^= h >> 33; h *= P2; h ^= h >> 29; h *= P3; h ^= h >> 32.
  hl = (hl ^ (hh >>> 1)) >>> 0;
  mul(hh, hl, P2H, P2L);
  hh = rh, hl = rl;
  hl = (hl ^ ((hl >>> 29) | (hh << 3))) >>> 0;
  hh = (hh ^ (hh >>> 29)) >>> 0;
  mul(hh, hl, P3H, P3L);
  hh = rh, hl = (rl ^ rh) >>> 0;
  return (BigInt(hh) << 32n) | BigInt(hl);
}
