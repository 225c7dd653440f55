/**
 * The two label hashes of the gateway format, bit-exact with the Go gateway:
 * - the external-labels hash, which names a stream's directory in the bucket;
 * - the series hash stored in `___cf_meta_hash`, Prometheus' `labels.Hash()` of the series labels
 *   in its default (`stringlabels`) build.
 *
 * @module
 */
import { compareStrings, type Labels } from "../../model/labels.ts";
import { concatenatedHash, labelsHash } from "../../model/labels_hash.ts";

/**
 * The external-labels hash: 0 for no labels, else xxHash64 (seed 0) over each label's name bytes
 * then value bytes, in byte order of the names, with no separators (so `{ab="c"}` and `{a="bc"}`
 * collide; the stream descriptor detects that).
 */
export function externalLabelsHash(labels: Readonly<Record<string, string>>): bigint {
  const names = Object.keys(labels).sort(compareStrings);
  if (names.length === 0) return 0n;
  return concatenatedHash(names.flatMap((name) => [name, labels[name]]));
}

/**
 * The series hash (`___cf_meta_hash`): Prometheus' `labels.Hash()` ({@linkcode labelsHash}) as the
 * signed 64-bit value stored in the INT64 column.
 */
export function seriesHash(labels: Labels): bigint {
  return BigInt.asIntN(64, labelsHash(labels));
}
