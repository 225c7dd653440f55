/**
 * A block's `tombstones` file (`tsdb/docs/format/tombstones.md`): magic 0x0130BA30, format
 * byte 1, then (series ref uvarint, mint varint, maxt varint) records, then a CRC32C of the
 * records (the format byte is not covered). Deleted intervals are closed: [mint, maxt].
 *
 * @module
 */
import { crc32c } from "./crc32c.ts";
import { be32At, Decbuf, hex8 } from "./_decbuf.ts";
import { TsdbFormatError } from "./errors.ts";

/** Magic number at the start of a tombstones file. */
export const TOMBSTONES_MAGIC = 0x0130ba30;

/** A closed time interval [minTime, maxTime] of deleted samples. */
export interface Interval {
  /** First deleted timestamp. */
  minTime: number;
  /** Last deleted timestamp. */
  maxTime: number;
}

/** Deleted intervals by series reference, each list sorted and merged. */
export type Tombstones = Map<number, Interval[]>;

/** Parses a tombstones file; `file` names it in errors. */
export function parseTombstones(data: Uint8Array, file = "tombstones"): Tombstones {
  if (data.length < 9) {
    throw new TsdbFormatError(file, "header", `file too short (${data.length} bytes)`);
  }
  const magic = be32At(data, 0);
  if (magic !== TOMBSTONES_MAGIC) {
    throw new TsdbFormatError(file, "header", `bad magic 0x${hex8(magic)}`);
  }
  if (data[4] !== 1) throw new TsdbFormatError(file, "header", `unknown format ${data[4]}`);
  const end = data.length - 4;
  if (crc32c(data, 5, end) !== be32At(data, end)) {
    throw new TsdbFormatError(file, "stones", "checksum mismatch");
  }
  const out: Tombstones = new Map();
  const d = new Decbuf(data, 5, end, file, "stones");
  while (d.remaining > 0) {
    const ref = d.uvarint();
    const minTime = d.varint();
    const maxTime = d.varint();
    addInterval(out, ref, { minTime, maxTime });
  }
  return out;
}

/** Adds an interval to a series' list, merging overlapping and adjacent intervals. */
export function addInterval(t: Tombstones, ref: number, iv: Interval): void {
  const list = t.get(ref) ?? [];
  list.push({ ...iv });
  list.sort((a, b) => a.minTime - b.minTime);
  const merged: Interval[] = [];
  for (const x of list) {
    const last = merged[merged.length - 1];
    if (last && x.minTime <= last.maxTime + 1) last.maxTime = Math.max(last.maxTime, x.maxTime);
    else merged.push(x);
  }
  t.set(ref, merged);
}

/** Reports whether `t` falls in one of the sorted intervals. */
export function isDeleted(intervals: readonly Interval[], t: number): boolean {
  for (const iv of intervals) {
    if (t < iv.minTime) return false;
    if (t <= iv.maxTime) return true;
  }
  return false;
}

/** Encodes tombstones as Prometheus writes them (series in ascending reference order). */
export function encodeTombstones(t: Tombstones): Uint8Array {
  const bytes: number[] = [0x01, 0x30, 0xba, 0x30, 1];
  const refs = [...t.keys()].sort((a, b) => a - b);
  for (const ref of refs) {
    for (const iv of t.get(ref)!) {
      putUvarint(bytes, BigInt(ref));
      putVarint(bytes, iv.minTime);
      putVarint(bytes, iv.maxTime);
    }
  }
  const out = new Uint8Array(bytes.length + 4);
  out.set(bytes);
  const crc = crc32c(out, 5, bytes.length);
  new DataView(out.buffer).setUint32(bytes.length, crc);
  return out;
}

function putUvarint(out: number[], v: bigint): void {
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
}

function putVarint(out: number[], v: number): void {
  // Clamp to int64 so open-ended deletions (maxt = MaxInt64, read back as 2^63) round-trip.
  const b = v >= 2 ** 63 ? (1n << 63n) - 1n : v <= -(2 ** 63) ? -(1n << 63n) : BigInt(v);
  putUvarint(out, BigInt.asUintN(64, (b << 1n) ^ (b >> 63n)));
}
