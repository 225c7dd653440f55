/**
 * Splitting the conversion plan among several converters (`--convert.shard=i/n`): every day of
 * every stream belongs to exactly one of `n` shards, chosen by a stable hash of the stream key
 * and the date, so converters that share a bucket and agree on `n` never write the same day and
 * together leave none out. A day keeps its shard from run to run, so a converter restarted after
 * a crash finds the days it left uncommitted (no `meta.pb`) in its plan again.
 *
 * @module
 */
import { xxHash64 } from "../model/xxhash64.ts";

/** One of `count` parts of the plan, numbered from 0. */
export interface PlanShard {
  /** This converter's part, `0 <= index < count`. */
  readonly index: number;
  /** How many parts the plan is split into (the same for every converter of a bucket). */
  readonly count: number;
}

const SHARD_RE = /^(\d+)\/(\d+)$/;

/** Parses `i/n` (e.g. `0/3`); throws a `RangeError` saying what is wrong. */
export function parsePlanShard(text: string): PlanShard {
  const m = SHARD_RE.exec(text.trim());
  if (!m) throw new RangeError(`${JSON.stringify(text)} is not of the form i/n, e.g. 0/3`);
  const index = Number(m[1]), count = Number(m[2]);
  if (!Number.isSafeInteger(count) || count < 1) {
    throw new RangeError(`shard count ${m[2]} is not a positive integer`);
  }
  if (index >= count) {
    throw new RangeError(
      `shard ${index} of ${count} does not exist (shards are 0 to ${count - 1})`,
    );
  }
  return { index, count };
}

/** `i/n`, as the flag takes it. */
export function formatPlanShard(shard: PlanShard): string {
  return `${shard.index}/${shard.count}`;
}

const encoder = new TextEncoder();

/**
 * The shard, `0 <= s < count`, of day `date` (`YYYY-MM-DD`) of the stream `streamKey` (the
 * decimal external-labels hash): xxHash64 (seed 0) of the UTF-8 bytes of `streamKey/date`,
 * modulo `count`. Part of the on-bucket contract: converters of different versions sharing a
 * bucket must agree on it.
 */
export function shardOfDay(streamKey: string, date: string, count: number): number {
  if (count === 1) return 0;
  return Number(xxHash64(encoder.encode(`${streamKey}/${date}`)) % BigInt(count));
}

/** Reports whether day `date` of stream `streamKey` belongs to `shard`. */
export function ownsDay(shard: PlanShard, streamKey: string, date: string): boolean {
  return shardOfDay(streamKey, date, shard.count) === shard.index;
}
