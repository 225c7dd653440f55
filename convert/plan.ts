/**
 * Conversion planning (gateway.md 3.4): which UTC days of which stream to convert next, from the
 * TSDB blocks found and the Parquet days already written.
 *
 * @module
 */
import { type Day, daysInRange } from "../storage/parquet/days.ts";
import { ownsDay, type PlanShard } from "./shard.ts";

/** What planning needs to know of a TSDB block. */
export interface SourceBlock {
  /** The block's ULID. */
  readonly ulid: string;
  /** First sample, ms (inclusive). */
  readonly minTime: number;
  /** End of the block, ms (exclusive, as in meta.json). */
  readonly maxTime: number;
}

/** A stream: blocks sharing one external label set. */
export interface SourceStream<B extends SourceBlock = SourceBlock> {
  /** Identifies the stream (the decimal external-labels hash). */
  readonly key: string;
  /** The stream's external labels. */
  readonly externalLabels: Readonly<Record<string, string>>;
  /** Its blocks. */
  readonly blocks: readonly B[];
}

/** One unit of work: convert `day` of a stream from `sources`. */
export interface PlanStep<B extends SourceBlock = SourceBlock> {
  /** The stream key. */
  readonly streamKey: string;
  /** The stream's external labels. */
  readonly externalLabels: Readonly<Record<string, string>>;
  /** The day. */
  readonly day: Day;
  /** Blocks overlapping the day, oldest first. */
  readonly sources: readonly B[];
}

/** Planning inputs besides the blocks. */
export interface PlanOptions {
  /** Now, ms. */
  now: number;
  /** Days starting after `now - gracePeriod` are not converted yet, ms. */
  gracePeriod: number;
  /** Soft limit of days per stream (see {@linkcode planConversion}). */
  maxDays: number;
  /** Only days of this part of the plan (`--convert.shard`); default the whole plan. */
  shard?: PlanShard;
}

/**
 * Plans conversions, most recent day first:
 * - candidates are days of each stream that some block overlaps, that start before
 *   `now - gracePeriod`, and that have no Parquet day yet (`converted` holds `streamKey/date`);
 * - a stream's most recent candidate is dropped unless its blocks cover the whole day (some block
 *   starts at or before midnight and some ends at or after the next); older partial days are
 *   converted anyway, since no more data will arrive for them;
 * - with `shard`, only the days it owns are kept (after the rule above, which is about the
 *   stream's data, not about who converts it);
 * - of each stream, the first `maxDays` steps are kept, then further steps as long as they need
 *   no block beyond those already planned (their downloads are shared). The limit is per stream,
 *   as in the Go gateway, so every stream advances in each run;
 * - the streams' steps are then interleaved, most recent day first.
 */
export function planConversion<B extends SourceBlock>(
  streams: readonly SourceStream<B>[],
  converted: ReadonlySet<string>,
  options: PlanOptions,
): PlanStep<B>[] {
  const notAfter = options.now - options.gracePeriod;
  const steps: PlanStep<B>[] = [];
  for (const stream of streams) {
    const byDate = new Map<string, { day: Day; sources: B[] }>();
    for (const block of stream.blocks) {
      for (const day of daysInRange(block.minTime, block.maxTime)) {
        let entry = byDate.get(day.date);
        if (!entry) byDate.set(day.date, entry = { day, sources: [] });
        entry.sources.push(block);
      }
    }
    const candidates = [...byDate.values()]
      .filter(({ day }) => day.start < notAfter && !converted.has(`${stream.key}/${day.date}`))
      .sort((a, b) => b.day.start - a.day.start);
    if (candidates.length > 0) {
      const { day, sources } = candidates[0];
      const covered = sources.some((b) => b.minTime <= day.start) &&
        sources.some((b) => b.maxTime >= day.end);
      if (!covered) candidates.shift();
    }
    const shard = options.shard;
    const owned = shard
      ? candidates.filter(({ day }) => ownsDay(shard, stream.key, day.date))
      : candidates;
    const streamSteps = owned.map(({ day, sources }) => ({
      streamKey: stream.key,
      externalLabels: stream.externalLabels,
      day,
      sources: [...sources].sort((a, b) => a.minTime - b.minTime || cmp(a.ulid, b.ulid)),
    }));
    steps.push(...limitSteps(streamSteps, options.maxDays));
  }
  return steps.sort((a, b) => b.day.start - a.day.start || cmp(a.streamKey, b.streamKey));
}

/** Keeps the first `maxDays` of one stream's steps, then those needing no further block. */
function limitSteps<B extends SourceBlock>(steps: PlanStep<B>[], maxDays: number): PlanStep<B>[] {
  const kept = steps.slice(0, maxDays);
  const planned = new Set(kept.flatMap((s) => s.sources.map((b) => b.ulid)));
  for (const step of steps.slice(maxDays)) {
    if (!step.sources.every((b) => planned.has(b.ulid))) break;
    kept.push(step);
  }
  return kept;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
