/**
 * XXH64 and Prometheus' label-set hash (`labels.Hash()` of its default `stringlabels` build),
 * which `limit_ratio` uses to pick a stable, uniformly spread subset of series. BigInt arithmetic
 * keeps the 64-bit math exact.
 *
 * @module
 */
import type { Labels } from "../model/labels.ts";

const M = (1n << 64n) - 1n;
const P1 = 11400714785074694791n;
const P2 = 14029467366897019727n;
const P3 = 1609587929392839161n;
const P4 = 9650029242287828579n;
const P5 = 2870177450012600261n;

function rotl(x: bigint, r: bigint): bigint {
  return ((x << r) | (x >> (64n - r))) & M;
}

function round(acc: bigint, lane: bigint): bigint {
  acc = (acc + lane * P2) & M;
  return (rotl(acc, 31n) * P1) & M;
}

function mergeRound(acc: bigint, v: bigint): bigint {
  acc ^= round(0n, v);
  return (acc * P1 + P4) & M;
}

/** XXH64 of `data` with seed 0. */
export function xxhash64(data: Uint8Array): bigint {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const len = data.length;
  let p = 0;
  let h: bigint;
  if (len >= 32) {
    let v1 = (P1 + P2) & M;
    let v2 = P2;
    let v3 = 0n;
    let v4 = (M + 1n - P1) & M;
    while (p + 32 <= len) {
      v1 = round(v1, view.getBigUint64(p, true));
      v2 = round(v2, view.getBigUint64(p + 8, true));
      v3 = round(v3, view.getBigUint64(p + 16, true));
      v4 = round(v4, view.getBigUint64(p + 24, true));
      p += 32;
    }
    h = (rotl(v1, 1n) + rotl(v2, 7n) + rotl(v3, 12n) + rotl(v4, 18n)) & M;
    h = mergeRound(h, v1);
    h = mergeRound(h, v2);
    h = mergeRound(h, v3);
    h = mergeRound(h, v4);
  } else {
    h = P5;
  }
  h = (h + BigInt(len)) & M;
  while (p + 8 <= len) {
    h ^= round(0n, view.getBigUint64(p, true));
    h = (rotl(h, 27n) * P1 + P4) & M;
    p += 8;
  }
  if (p + 4 <= len) {
    h ^= (BigInt(view.getUint32(p, true)) * P1) & M;
    h = (rotl(h, 23n) * P2 + P3) & M;
    p += 4;
  }
  while (p < len) {
    h ^= (BigInt(data[p]) * P5) & M;
    h = (rotl(h, 11n) * P1) & M;
    p++;
  }
  h ^= h >> 33n;
  h = (h * P2) & M;
  h ^= h >> 29n;
  h = (h * P3) & M;
  h ^= h >> 32n;
  return h;
}

const encoder = new TextEncoder();
let scratch = new Uint8Array(1024);

/** Grows the scratch buffer to hold at least `n` bytes, keeping its contents. */
function reserve(n: number): void {
  if (scratch.length >= n) return;
  const grown = new Uint8Array(Math.max(n, scratch.length * 2));
  grown.set(scratch);
  scratch = grown;
}

/**
 * Appends `s` at `pos` as `stringlabels` stores a name or value: its UTF-8 byte length (one byte
 * below 255, else 255 and three little-endian bytes), then the bytes. Returns the new end.
 */
function putSized(pos: number, s: string): number {
  // A UTF-16 unit takes at most 3 UTF-8 bytes. Encode after a one-byte size, the usual case,
  // and shift the bytes for a four-byte size.
  reserve(pos + 4 + 3 * s.length);
  const n = encoder.encodeInto(s, scratch.subarray(pos + 1)).written;
  if (n < 255) {
    scratch[pos] = n;
    return pos + 1 + n;
  }
  scratch.copyWithin(pos + 4, pos + 1, pos + 1 + n);
  // Prometheus panics above 2^24 bytes and writes 2^24 itself as 0: the low 24 bits, as here.
  scratch[pos] = 255;
  scratch[pos + 1] = n & 0xff;
  scratch[pos + 2] = (n >>> 8) & 0xff;
  scratch[pos + 3] = (n >>> 16) & 0xff;
  return pos + 4 + n;
}

/**
 * Prometheus' `labels.Hash()` in its default (`stringlabels`) build: XXH64 of the label set's
 * flat encoding, each name and value preceded by its byte length. `labels` must be sorted by
 * name, as every {@linkcode Labels} is; empty values are hashed as given.
 */
export function labelsHash(labels: Labels): bigint {
  let pos = 0;
  for (const l of labels) {
    pos = putSized(pos, l.name);
    pos = putSized(pos, l.value);
  }
  return xxhash64(scratch.subarray(0, pos));
}

/**
 * `limit_ratio`'s sampling offset of a label hash, in [0, 1]: `float64(hash) /
 * float64(math.MaxUint64)` as Prometheus computes it. `Number()` rounds to nearest, ties to
 * even, as Go's conversion does, and `float64(math.MaxUint64)` is 2^64, so the division is exact.
 * Hashes from 2^64 - 1024 up give 1, which even `limit_ratio(1, ...)` leaves out, as Prometheus
 * does.
 */
export function sampleOffset(hash: bigint): number {
  return Number(hash) / 2 ** 64;
}
