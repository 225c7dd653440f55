/**
 * The syncer (gateway.md 4.2): keeps the set of loaded days equal to what discovery reports and
 * the block filter keeps.
 *
 * Loading a day opens every shard: the chunks file remotely (size, footer and the page index of
 * its columns through ranged reads) and the labels file from a {@linkcode LabelFileStore}
 * (by default a local copy under `--block.labelfilepath`). A labels file that does not open or
 * does not match its chunks file is deleted, counted in
 * `locate_sync_corrupted_label_parquet_files_total` and its day skipped with a log line; the next
 * sync downloads it again. Every ranged read of a chunks file, when the day is loaded and by
 * queries, counts in `locate_bucket_requests_total`. Unlike upstream, days that disappear from discovery (retention,
 * deletion markers) or stop passing the filter are unloaded, and a day whose `meta.pb` changed
 * is reloaded. The files of all days share a byte-bounded LRU cache of decoded data pages (not in
 * upstream, see `pageCacheBytes`); a day's pages leave it when the day is closed.
 *
 * Days that fail to load are {@linkcode Syncer.unavailable} until a pass loads them: queries
 * over them warn instead of answering as if they had no data. Each pass also puts back the
 * local labels copies of loaded days that went missing, which other threads (the query workers)
 * open again.
 *
 * @module
 */
import { Gauge, type Registry } from "prom-client";
import { forEachConcurrently } from "../../internal/concurrency.ts";
import { type LocateMetrics, locateMetrics } from "../../internal/locate_metrics.ts";
import type { Logger } from "../../internal/log.ts";
import type { Bucket } from "../../storage/objstore/bucket.ts";
import type { DiscoveredStream } from "../../storage/parquet/discovery.ts";
import { chunksFileKey, labelsFileKey } from "../../storage/parquet/layout.ts";
import type { BlockMeta } from "../../storage/parquet/meta.ts";
import type { LoadedDay } from "./block.ts";
import type { LabelFileStore } from "./label_files.ts";
import {
  CorruptLabelsFileError,
  dayCaches,
  type DayFiles,
  type DayIO,
  openDay,
} from "./open_day.ts";
import { type UnavailableDay, unavailableDay } from "./unavailable.ts";

export { CorruptLabelsFileError } from "./open_day.ts";

/** The time range of a day, for block filters. */
export interface DayRange {
  /** Day start, ms. */
  readonly minT: number;
  /** Day end, ms. */
  readonly maxT: number;
}

/** Options of {@linkcode Syncer}. */
export interface SyncerOptions {
  /** The Parquet bucket. */
  bucket: Bucket;
  /** The discovered streams (e.g. `() => discoverer.streams`). */
  streams: () => ReadonlyMap<bigint, DiscoveredStream>;
  /** Where labels files are read from (e.g. a `LocalLabelFileStore` on `--block.labelfilepath`). */
  labelFiles: LabelFileStore;
  /** Days loaded in parallel (`--block.syncer.concurrency`, default 1). */
  concurrency?: number;
  /** Block filter: days for which it returns false are not loaded (default: keep all). */
  keep?: (day: DayRange) => boolean;
  /** Logger for skipped days. */
  logger: Logger;
  /** Registry for the syncer's metrics (none when absent). */
  registry?: Registry;
  /**
   * Decoded label dictionaries kept in memory across queries, as a total number of values
   * (default 1,000,000; 0 disables the cache).
   */
  dictionaryCacheEntries?: number;
  /**
   * Decoded data pages (chunk and label columns) kept in memory across queries, as a total of
   * their estimated bytes (default 256 MiB; 0 disables the cache). Metrics:
   * `parquet_page_cache_{hits,misses,evictions}_total` and `parquet_page_cache_bytes`.
   */
  pageCacheBytes?: number;
  /**
   * Page locations of the chunks files kept in memory, bytes; those evicted are read again
   * when needed (default: each open file keeps all of its own).
   */
  locationCacheBytes?: number;
}

/** The default of {@linkcode SyncerOptions.pageCacheBytes}. */
export const DEFAULT_PAGE_CACHE_BYTES = 256 * 1024 * 1024;

/**
 * One or more days failed to load for reasons other than a corrupted labels file. Its `errors`
 * are the days' errors, so that what caused them (e.g. a refused permission) can be found.
 */
export class SyncError extends AggregateError {
  /** The error's name, for logs. */
  override readonly name = "SyncError";
  /**
   * Creates the error from the days that failed.
   *
   * @param failures day key -> error
   */
  constructor(readonly failures: ReadonlyMap<string, unknown>) {
    super(
      [...failures.values()],
      `failed to load ${failures.size} day(s): ` +
        [...failures].map(([k, e]) => `${k}: ${(e as Error)?.message ?? e}`).join("; "),
    );
  }
}

/** Why a day is not loaded: its last load failed. */
export interface DayLoadFailure {
  /** The error's message. */
  readonly reason: string;
  /** Whether the labels file was corrupted (deleted, to be downloaded again). */
  readonly corruptedLabelsFile: boolean;
  /** When the load failed, ms since the epoch. */
  readonly at: number;
}

/** Whether two `meta.pb` describe the same files (a day whose meta changed is reloaded). */
export function sameMeta(a: BlockMeta, b: BlockMeta): boolean {
  return a.version === b.version && a.mint === b.mint && a.maxt === b.maxt &&
    a.shards === b.shards &&
    a.convertedFromBLIDs.join(",") === b.convertedFromBLIDs.join(",");
}

/** Loads and unloads days; {@linkcode days} is the current set, sorted by start time. */
export class Syncer {
  readonly #opts: SyncerOptions;
  #days = new Map<string, LoadedDay>();
  #sorted: readonly LoadedDay[] = [];
  #running: Promise<void> = Promise.resolve();
  readonly #caches: Pick<DayIO, "pages" | "locations" | "dictionaries">;
  readonly #locate: LocateMetrics;
  #corrupted = 0;
  #failures: ReadonlyMap<string, DayLoadFailure> = new Map();
  #lastSync = 0;
  #unavailable: readonly UnavailableDay[] = [];
  readonly #loadedGauge: Gauge;

  /** Creates a syncer; call {@linkcode sync} to load days. */
  constructor(opts: SyncerOptions) {
    this.#opts = opts;
    this.#caches = dayCaches({
      pageCacheBytes: opts.pageCacheBytes ?? DEFAULT_PAGE_CACHE_BYTES,
      locationCacheBytes: opts.locationCacheBytes,
      dictionaryCacheEntries: opts.dictionaryCacheEntries ?? 1_000_000,
    }, opts.registry);
    this.#locate = locateMetrics(opts.registry);
    this.#loadedGauge = new Gauge({
      name: "locate_sync_loaded_days",
      help: "Days currently loaded by the syncer.",
      registers: opts.registry ? [opts.registry] : [],
    });
  }

  /** Loaded days sorted by start time (then stream hash). */
  get days(): readonly LoadedDay[] {
    return this.#sorted;
  }

  /**
   * The wanted days whose load failed in the last pass, by `H/D` key, for the block browser:
   * the next pass tries them again.
   */
  get failures(): ReadonlyMap<string, DayLoadFailure> {
    return this.#failures;
  }

  /** When the last pass ended, ms since the epoch; 0 before the first. */
  get lastSync(): number {
    return this.#lastSync;
  }

  /**
   * Days discovery reports and the filter keeps that the last pass could not load, with why:
   * queries over them warn that their data is missing.
   */
  get unavailable(): readonly UnavailableDay[] {
    return this.#unavailable;
  }

  /** Corrupted labels files this syncer has seen so far. */
  get corruptedLabelFiles(): number {
    return this.#corrupted;
  }

  /**
   * One pass: unloads days no longer wanted (or whose meta changed), loads new ones. Days that
   * fail to load for other reasons than a corrupted labels file make the pass reject with a
   * {@linkcode SyncError} after the others have been applied. Concurrent calls run one after
   * the other.
   */
  sync(signal?: AbortSignal): Promise<void> {
    const run = this.#running.then(() => this.#sync(signal));
    this.#running = run.catch(() => {});
    return run;
  }

  async #sync(signal?: AbortSignal): Promise<void> {
    const keep = this.#opts.keep ?? (() => true);
    const wanted = new Map<string, { stream: DiscoveredStream; date: string; meta: BlockMeta }>();
    for (const stream of this.#opts.streams().values()) {
      for (const [date, { meta }] of stream.days) {
        if (keep({ minT: meta.mint, maxT: meta.maxt })) {
          wanted.set(`${stream.hash}/${date}`, { stream, date, meta });
        }
      }
    }
    const next = new Map(this.#days);
    for (const [key, day] of this.#days) {
      const w = wanted.get(key);
      if (!w || !sameMeta(w.meta, day.meta)) {
        next.delete(key);
        await this.#unload(day);
      }
    }
    // Days that stay get copies of their labels files back if they went: this thread keeps
    // its files open, but the query workers open them again.
    for (const day of next.values()) {
      for (const s of day.shards) {
        await this.#opts.labelFiles.restore(s.labels.name, s.labels.source.size, signal).catch(
          (err) => this.#opts.logger.warn("could not restore a labels file", { day: day.key, err }),
        );
      }
    }
    const toLoad = [...wanted].filter(([key]) => !next.has(key));
    const failures = new Map<string, unknown>();
    const failed = new Map<string, DayLoadFailure>();
    const unavailable: UnavailableDay[] = [];
    await forEachConcurrently(toLoad, this.#opts.concurrency ?? 1, async ([key, w]) => {
      try {
        next.set(key, await this.#load(w.stream, w.date, w.meta, signal));
      } catch (err) {
        const corruptedLabelsFile = err instanceof CorruptLabelsFileError;
        failed.set(key, { reason: errorMessage(err), corruptedLabelsFile, at: Date.now() });
        unavailable.push(
          unavailableDay(w.stream.hash, w.date, w.stream.externalLabels, w.meta, err),
        );
        if (corruptedLabelsFile) {
          this.#corrupted++;
          this.#locate.corruptedLabelFiles.inc();
          this.#opts.logger.warn("skipping day with a corrupted labels file", { day: key, err });
        } else {
          failures.set(key, err);
        }
      }
    });
    this.#unavailable = unavailable.sort((a, b) => a.minT - b.minT || compareKeys(a.key, b.key));
    this.#days = next;
    this.#failures = failed;
    this.#lastSync = Date.now();
    this.#sorted = [...next.values()].sort((a, b) =>
      a.mint - b.mint || (a.hash < b.hash ? -1 : a.hash > b.hash ? 1 : 0)
    );
    this.#loadedGauge.set(next.size);
    if (this.#sorted.length > 0) {
      const maxt = Math.max(...this.#sorted.map((d) => d.maxt));
      this.#locate.setRange("syncer", this.#sorted[0].mint, maxt);
    }
    if (failures.size > 0) throw new SyncError(failures);
    this.#locate.succeeded("syncer");
  }

  /**
   * Stops serving every day and closes their files once running queries finish; local label
   * copies stay for the next start.
   */
  async close(): Promise<void> {
    await this.#running;
    const days = [...this.#days.values()];
    this.#days = new Map();
    this.#sorted = [];
    this.#loadedGauge.set(0);
    await Promise.all(days.map((d) => d.release()));
  }

  async #unload(day: LoadedDay): Promise<void> {
    this.#opts.logger.info("unloading day", { day: day.key });
    // The local copies go now (open handles stay valid); the handles close with the last query.
    for (let i = 0; i < day.meta.shards; i++) {
      const key = labelsFileKey(day.hash, day.date, i);
      await this.#opts.labelFiles.remove(key).catch((err) =>
        this.#opts.logger.warn("could not remove a local labels file", { key, err })
      );
    }
    await day.release();
  }

  async #load(
    stream: DiscoveredStream,
    date: string,
    meta: BlockMeta,
    signal?: AbortSignal,
  ): Promise<LoadedDay> {
    const bucket = this.#opts.bucket;
    const shards = [];
    for (let i = 0; i < meta.shards; i++) {
      const chunks = chunksFileKey(stream.hash, date, i);
      const labels = labelsFileKey(stream.hash, date, i);
      shards.push({
        chunks: { key: chunks, size: (await bucket.attributes(chunks, signal)).size },
        labels: { key: labels, size: (await bucket.attributes(labels, signal)).size },
      });
    }
    const files: DayFiles = {
      hash: stream.hash,
      date,
      externalLabels: stream.externalLabels,
      meta,
      shards,
    };
    const store = this.#opts.labelFiles;
    try {
      return await openDay(files, {
        bucket,
        openLabels: (ref, signal) => store.open(ref.key, ref.size, signal),
        ...this.#caches,
        onChunkRequest: () => this.#locate.bucketRequests.inc(),
      }, signal);
    } catch (err) {
      // A bad copy goes, so that the next pass downloads it again.
      if (err instanceof CorruptLabelsFileError) await store.remove(err.key).catch(() => {});
      throw err;
    }
  }
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
