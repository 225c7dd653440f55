/**
 * The two label hashes of the gateway format, bit-exact with the Go gateway:
 * - the external-labels hash, which names a stream's directory in the bucket;
 * - the series hash stored in `___cf_meta_hash`, Prometheus' `labels.Hash()` of the series labels
 *   in its default (`stringlabels`) build.
 *
 * @module
 */
import { compareStrings, type Labels } from "../../model/labels.ts";
import { xxHash64 } from "./xxhash64.ts";

const encoder = new TextEncoder();
let scratch = new Uint8Array(4096);

function ensure(n: number): void {
  if (scratch.length >= n) return;
  const grown = new Uint8Array(Math.max(n, scratch.length * 2));
  grown.set(scratch);
  scratch = grown;
}

/** Appends the UTF-8 bytes of `s` at `pos`, growing the scratch buffer; returns the new end. */
function put(pos: number, s: string): number {
  ensure(pos + s.length * 3);
  return pos + encoder.encodeInto(s, scratch.subarray(pos)).written;
}

/**
 * The external-labels hash: 0 for no labels, else xxHash64 (seed 0) over each label's name bytes
 * then value bytes, in byte order of the names, with no separators (so `{ab="c"}` and `{a="bc"}`
 * collide; the stream descriptor detects that).
 */
export function externalLabelsHash(labels: Readonly<Record<string, string>>): bigint {
  const names = Object.keys(labels).sort(compareStrings);
  if (names.length === 0) return 0n;
  let pos = 0;
  for (const name of names) {
    pos = put(pos, name);
    pos = put(pos, labels[name]);
  }
  return xxHash64(scratch.subarray(0, pos));
}

/**
 * Writes the `stringlabels` size prefix of a string of `n` UTF-8 bytes: one byte below 255,
 * else 255 followed by three little-endian bytes. Returns the new end.
 */
function putSize(pos: number, n: number): number {
  ensure(pos + 4);
  if (n < 255) {
    scratch[pos] = n;
    return pos + 1;
  }
  if (n >= 1 << 24) throw new RangeError(`label string of ${n} bytes is longer than 16 MiB`);
  scratch[pos] = 255;
  scratch[pos + 1] = n & 0xff;
  scratch[pos + 2] = (n >>> 8) & 0xff;
  scratch[pos + 3] = n >>> 16;
  return pos + 4;
}

/** Appends a size-prefixed string; the size is only known after encoding, so shift if needed. */
function putSized(pos: number, s: string): number {
  // Reserve the one-byte prefix, encode, then make room for a 4-byte prefix in the rare case.
  ensure(pos + 4 + s.length * 3);
  const start = pos + 1;
  const n = encoder.encodeInto(s, scratch.subarray(start)).written;
  if (n < 255) {
    scratch[pos] = n;
    return start + n;
  }
  scratch.copyWithin(pos + 4, start, start + n);
  putSize(pos, n);
  return pos + 4 + n;
}

/**
 * The series hash (`___cf_meta_hash`): xxHash64 (seed 0) of Prometheus' `stringlabels`
 * encoding of `labels` (sorted by name), i.e. for each label `size(name) name size(value) value`.
 * Returned as the signed 64-bit value stored in the INT64 column.
 */
export function seriesHash(labels: Labels): bigint {
  let pos = 0;
  for (const l of labels) {
    pos = putSized(pos, l.name);
    pos = putSized(pos, l.value);
  }
  return BigInt.asIntN(64, xxHash64(scratch.subarray(0, pos)));
}
