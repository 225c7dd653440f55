/**
 * Prometheus' label-set hash, `labels.Hash()` of its default `stringlabels` build: XXH64 of the
 * label set's flat encoding. The Parquet series-hash column stores it and `limit_ratio` samples
 * series by it, so both must be bit-exact with Prometheus.
 *
 * @module
 */
import type { Labels } from "./labels.ts";
import { xxHash64 } from "./xxhash64.ts";

const encoder = new TextEncoder();
let scratch = new Uint8Array(4096);

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
 * Prometheus' `labels.Hash()` in its default (`stringlabels`) build, unsigned: XXH64 (seed 0)
 * of each name and value preceded by its byte length. `labels` must be sorted by name, as every
 * {@linkcode Labels} is; empty values are hashed as given.
 */
export function labelsHash(labels: Labels): bigint {
  let pos = 0;
  for (const l of labels) {
    pos = putSized(pos, l.name);
    pos = putSized(pos, l.value);
  }
  return xxHash64(scratch.subarray(0, pos));
}

/**
 * XXH64 (seed 0) of the UTF-8 bytes of `strings`, one after another with nothing between (the
 * Go gateway's external-labels hash is of this form).
 */
export function concatenatedHash(strings: Iterable<string>): bigint {
  let pos = 0;
  for (const s of strings) {
    reserve(pos + 3 * s.length);
    pos += encoder.encodeInto(s, scratch.subarray(pos)).written;
  }
  return xxHash64(scratch.subarray(0, pos));
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
