/**
 * Thanos' vertical sharding of Series (`SeriesRequest.shard_info`, storepb's `ShardMatcher`):
 * a series belongs to shard `shard_index` of `total_shards` when the XXH64 of its sharding labels
 * modulo `total_shards` equals `shard_index`. The sharding labels are the ones `labels` names
 * when `by` is set, else all the others; each contributes its name, a 0xff byte, its value and
 * another 0xff byte, in label order. The labels hashed are the series' as sent, with external
 * labels and without the replica labels the request removes.
 *
 * @module
 */
import type { Labels } from "../../../model/labels.ts";
import type { ShardInfo } from "../../../proto/gen/store/storepb/rpc_pb.ts";
import { xxHash64 } from "../../../model/xxhash64.ts";

const SEPARATOR = 0xff;
const encoder = new TextEncoder();

/** The hash a series is sharded by: XXH64 over the chosen labels (see the module doc). */
export function shardHash(labels: Labels, names: ReadonlySet<string>, by: boolean): bigint {
  const parts: Uint8Array[] = [];
  let size = 0;
  for (const l of labels) {
    if (names.has(l.name) !== by) continue;
    const name = encoder.encode(l.name), value = encoder.encode(l.value);
    parts.push(name, value);
    size += name.length + value.length + 2;
  }
  const buf = new Uint8Array(size);
  let pos = 0;
  for (let i = 0; i < parts.length; i += 2) {
    buf.set(parts[i], pos);
    pos += parts[i].length;
    buf[pos++] = SEPARATOR;
    buf.set(parts[i + 1], pos);
    pos += parts[i + 1].length;
    buf[pos++] = SEPARATOR;
  }
  return xxHash64(buf);
}

/**
 * Whether a series (its complete labels) is in the requested shard; undefined when the request
 * is not sharded (no `shard_info`, or `total_shards` below 1), so every series is.
 */
export function shardFilter(
  info: ShardInfo | undefined,
): ((labels: Labels) => boolean) | undefined {
  if (!info || info.totalShards < 1n) return undefined;
  const names = new Set(info.labels);
  const total = info.totalShards;
  // Compared as unsigned 64-bit numbers, as Thanos does: a negative index matches nothing.
  const index = BigInt.asUintN(64, info.shardIndex);
  return (labels) => shardHash(labels, names, info.by) % total === index;
}
