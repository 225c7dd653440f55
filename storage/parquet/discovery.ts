/**
 * Discovery of Parquet days in a bucket (gateway.md 3.3 and 4.1), shared by `convert` (which days
 * exist) and `serve` (which days to load).
 *
 * A pass lists the bucket, groups files by stream hash and date, and keeps a day when it has a
 * `meta.pb` (the commit marker) and no `deletion-marker.pb`. A stream with a hash directory needs a
 * `stream.pb` whose labels hash back to that directory. A stream or day whose metadata cannot be
 * decoded is logged and left out of this pass, without hiding the others (the Go gateway fails
 * the whole pass); a bucket error fails the pass and keeps the previous state. `serve` may
 * discover only a slice of the bucket: the streams and days its selectors keep. A good pass sets
 * `locate_sync_{min,max}_time_unix_seconds{what="discoverer"}` to the range of its days and
 * `locate_sync_last_successful_update_time_unix_seconds{what="discoverer"}` to now.
 *
 * @module
 */
import type { Day } from "./days.ts";
import type { Registry } from "prom-client";
import { forEachConcurrently } from "../../internal/concurrency.ts";
import { type LocateMetrics, locateMetrics } from "../../internal/locate_metrics.ts";
import type { Logger } from "../../internal/log.ts";
import type { Bucket } from "../objstore/bucket.ts";
import { externalLabelsHash } from "./hash.ts";
import {
  DELETION_MARKER_FILE,
  META_FILE,
  metaFileKey,
  parseBlockKey,
  parseStreamKey,
  streamFileKey,
} from "./layout.ts";
import { type BlockMeta, decodeBlockMeta, decodeStreamDescriptor } from "./meta.ts";

/** A committed day of a stream. */
export interface DiscoveredDay {
  /** The UTC day. */
  readonly day: Day;
  /** Its `meta.pb`. */
  readonly meta: BlockMeta;
}

/** A stream (one external label set) and its committed days. */
export interface DiscoveredStream {
  /** The external-labels hash (0 for none). */
  readonly hash: bigint;
  /** The external labels from `stream.pb` (empty for hash 0). */
  readonly externalLabels: Readonly<Record<string, string>>;
  /** Days by date (`YYYY-MM-DD`), oldest first. */
  readonly days: ReadonlyMap<string, DiscoveredDay>;
}

/** A stream or day the last pass left out because its metadata file is invalid. */
export interface SkippedByDiscovery {
  /** The stream hash. */
  readonly hash: bigint;
  /** The day (`YYYY-MM-DD`) for a bad `meta.pb`; absent for a bad `stream.pb`. */
  readonly date?: string;
  /** The object that is invalid. */
  readonly key: string;
  /** What is wrong with it. */
  readonly reason: string;
}

/** Options of {@linkcode ParquetDiscoverer}. */
export interface ParquetDiscoveryOptions {
  /** Metadata reads in parallel. */
  concurrency: number;
  /** Logger for skipped streams and days. */
  logger: Logger;
  /** Registry for the `locate_sync_*{what="discoverer"}` gauges (none when absent). */
  registry?: Registry;
  /**
   * Which streams to discover, by external labels (`serve`'s `--selector.relabel-config`;
   * default all). The days of the others are not looked at.
   */
  selectStream?: (externalLabels: Readonly<Record<string, string>>) => boolean;
  /**
   * Which days to discover (`serve`'s `--min-time`/`--max-time`; default all), asked at every
   * pass with the day its key names, before its `meta.pb` is read.
   */
  selectDay?: (day: Day) => boolean;
}

/** Discovers streams and days; {@linkcode streams} is replaced atomically by each good pass. */
export class ParquetDiscoverer {
  readonly #bucket: Bucket;
  readonly #opts: ParquetDiscoveryOptions;
  #streams: ReadonlyMap<bigint, DiscoveredStream> = new Map();
  #metaCache = new Map<string, BlockMeta>();
  #streamCache = new Map<bigint, Record<string, string>>();
  #lastSync = 0;
  #skipped: readonly SkippedByDiscovery[] = [];
  readonly #metrics: LocateMetrics;

  /** Creates a discoverer over `bucket`. */
  constructor(bucket: Bucket, opts: ParquetDiscoveryOptions) {
    this.#bucket = bucket;
    this.#opts = opts;
    this.#metrics = locateMetrics(opts.registry);
  }

  /** Streams found by the last successful pass, by hash. */
  get streams(): ReadonlyMap<bigint, DiscoveredStream> {
    return this.#streams;
  }

  /** Streams and days the last successful pass left out, with the reasons. */
  get skipped(): readonly SkippedByDiscovery[] {
    return this.#skipped;
  }

  /** Time (ms) of the last successful pass; 0 before the first. */
  get lastSync(): number {
    return this.#lastSync;
  }

  /** `H/D` of every committed day, as `convert`'s planner keys them. */
  convertedDays(): Set<string> {
    const out = new Set<string>();
    for (const s of this.#streams.values()) {
      for (const date of s.days.keys()) out.add(`${s.hash}/${date}`);
    }
    return out;
  }

  /** One discovery pass. */
  async discover(signal?: AbortSignal): Promise<void> {
    const streamFiles = new Set<bigint>();
    const files = new Map<bigint, Map<string, { day: Day; names: Set<string> }>>();
    for await (const key of this.#bucket.list("", { recursive: true }, signal)) {
      const streamHash = parseStreamKey(key);
      if (streamHash !== undefined) {
        streamFiles.add(streamHash);
        continue;
      }
      const block = parseBlockKey(key);
      if (!block) continue;
      let dates = files.get(block.hash);
      if (!dates) files.set(block.hash, dates = new Map());
      let entry = dates.get(block.day.date);
      if (!entry) dates.set(block.day.date, entry = { day: block.day, names: new Set() });
      entry.names.add(block.file);
    }

    const labels = new Map<bigint, Record<string, string>>([[0n, {}]]);
    const skipped: SkippedByDiscovery[] = [];
    const hashes = [...files.keys()].filter((h) => h !== 0n && streamFiles.has(h));
    await forEachConcurrently(hashes, this.#opts.concurrency, async (hash) => {
      const cached = this.#streamCache.get(hash);
      if (cached) {
        labels.set(hash, cached);
        return;
      }
      const key = streamFileKey(hash);
      const data = await this.#bucket.get(key, signal);
      try {
        const ext = decodeStreamDescriptor(data, key);
        if (Object.keys(ext).length === 0) throw new Error("no external labels");
        const actual = externalLabelsHash(ext);
        if (actual !== hash) throw new Error(`its labels hash to ${actual}, not ${hash}`);
        labels.set(hash, ext);
      } catch (err) {
        skipped.push({ hash, key, reason: (err as Error).message });
        this.#opts.logger.warn("skipping Parquet stream with a bad stream.pb", { key, err });
      }
    });

    const metas = new Map<string, BlockMeta>();
    const wanted: { hash: bigint; date: string }[] = [];
    const selectStream = this.#opts.selectStream ?? (() => true);
    const selectDay = this.#opts.selectDay ?? (() => true);
    for (const [hash, dates] of files) {
      const ext = labels.get(hash);
      if (!ext || !selectStream(ext)) continue;
      for (const [date, { day, names }] of dates) {
        if (names.has(META_FILE) && !names.has(DELETION_MARKER_FILE) && selectDay(day)) {
          wanted.push({ hash, date });
        }
      }
    }
    await forEachConcurrently(wanted, this.#opts.concurrency, async ({ hash, date }) => {
      const key = metaFileKey(hash, date);
      const cached = this.#metaCache.get(key);
      if (cached) {
        metas.set(key, cached);
        return;
      }
      const data = await this.#bucket.get(key, signal);
      try {
        metas.set(key, decodeBlockMeta(data, key));
      } catch (err) {
        skipped.push({ hash, date, key, reason: (err as Error).message });
        this.#opts.logger.warn("skipping Parquet day with a bad meta.pb", { key, err });
      }
    });

    const streams = new Map<bigint, DiscoveredStream>();
    for (const [hash, ext] of labels) {
      const dates = files.get(hash);
      if (!dates) continue;
      const days = new Map<string, DiscoveredDay>();
      for (const [date, { day }] of [...dates].sort(([a], [b]) => (a < b ? -1 : 1))) {
        const meta = metas.get(metaFileKey(hash, date));
        if (meta) days.set(date, { day, meta });
      }
      if (days.size > 0) streams.set(hash, { hash, externalLabels: ext, days });
    }
    this.#streams = streams;
    this.#skipped = skipped.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    this.#metaCache = metas;
    this.#streamCache = new Map([...labels].filter(([h]) => h !== 0n));
    this.#lastSync = Date.now();
    let mint = Infinity, maxt = -Infinity;
    for (const s of streams.values()) {
      for (const { meta } of s.days.values()) {
        mint = Math.min(mint, meta.mint);
        maxt = Math.max(maxt, meta.maxt);
      }
    }
    if (mint <= maxt) this.#metrics.setRange("discoverer", mint, maxt);
    this.#metrics.succeeded("discoverer");
  }
}
