/**
 * The two label hashes of the gateway format, bit-exact with the Go gateway:
 * - the external-labels hash, which names a stream's directory in the bucket;
 * - the series hash stored in `___cf_meta_hash`, Prometheus' `labels.Hash()` of the series labels
 *   in its default (`stringlabels`) build.
 *
 * @module
 */
import { compareStrings, type Labels } from "../../model/labels.ts";
import { labelsHash } from "../../model/labels_hash.ts";
import { xxHash64 } from "../../model/xxhash64.ts";

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
 * The series hash (`___cf_meta_hash`): Prometheus' `labels.Hash()` ({@linkcode labelsHash}) as the
 * signed 64-bit value stored in the INT64 column.
 */
export function seriesHash(labels: Labels): bigint {
  return BigInt.asIntN(64, labelsHash(labels));
}
