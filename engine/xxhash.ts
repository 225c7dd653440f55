/**
 * XXH64 and Prometheus' label-set hash (`labels.Hash()`), which `limit_ratio` uses to pick a
 * stable, uniformly spread subset of series. BigInt arithmetic keeps the 64-bit math exact.
 *
 * @module
 */
import type { Labels } from "./labels.ts";

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

/**
 * Prometheus' label-set hash scaled to [0, 1]: XXH64 over `name 0xff value 0xff ...`, divided
 * by the largest uint64.
 */
export function labelsHash(labels: Labels): number {
  const parts: Uint8Array[] = [];
  let size = 0;
  for (const l of labels) {
    const n = encoder.encode(l.name);
    const v = encoder.encode(l.value);
    parts.push(n, v);
    size += n.length + v.length + 2;
  }
  const buf = new Uint8Array(size);
  let o = 0;
  for (let i = 0; i < parts.length; i += 2) {
    buf.set(parts[i], o);
    o += parts[i].length;
    buf[o++] = 0xff;
    buf.set(parts[i + 1], o);
    o += parts[i + 1].length;
    buf[o++] = 0xff;
  }
  return Number(xxhash64(buf)) / 18446744073709551615;
}
