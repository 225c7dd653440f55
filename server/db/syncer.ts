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
 * @module
 */
import { Counter, Gauge, type Registry } from "prom-client";
import { forEachConcurrently } from "../../internal/concurrency.ts";
import { type LocateMetrics, locateMetrics } from "../../internal/locate_metrics.ts";
import type { Logger } from "../../internal/log.ts";
import type { Bucket } from "../../storage/objstore/bucket.ts";
import type { DiscoveredStream } from "../../storage/parquet/discovery.ts";
import { chunksFileKey, labelsFileKey } from "../../storage/parquet/layout.ts";
import type { BlockMeta } from "../../storage/parquet/meta.ts";
import {
  BucketSource,
  type ByteSource,
  LruDictionaryCache,
  LruPageCache,
  PageFile,
} from "../../storage/parquet/pages.ts";
import {
  CHUNK_COLUMNS,
  LABEL_HASH_COLUMN,
  LABEL_INDEX_COLUMN,
  V0,
  V2,
} from "../../storage/parquet/schema.ts";
import { LoadedDay, type LoadedShard } from "./block.ts";
import type { LabelFileStore } from "./label_files.ts";

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
}

/** The default of {@linkcode SyncerOptions.pageCacheBytes}. */
export const DEFAULT_PAGE_CACHE_BYTES = 256 * 1024 * 1024;

/** A labels file is unreadable or does not belong with its chunks file. */
export class CorruptLabelsFileError extends Error {
  /** The error's name, for logs. */
  override readonly name = "CorruptLabelsFileError";
  /**
   * Creates the error for the labels file `key`.
   *
   * @param key the labels-file object key
   * @param detail what is wrong
   */
  constructor(readonly key: string, readonly detail: string, options?: ErrorOptions) {
    super(`${key}: corrupted labels file: ${detail}`, options);
  }
}

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

function sameMeta(a: BlockMeta, b: BlockMeta): boolean {
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
  readonly #dictionaries: LruDictionaryCache | undefined;
  readonly #pages: LruPageCache | undefined;
  readonly #locate: LocateMetrics;
  #corrupted = 0;
  #failures: ReadonlyMap<string, DayLoadFailure> = new Map();
  #lastSync = 0;
  readonly #loadedGauge: Gauge;

  /** Creates a syncer; call {@linkcode sync} to load days. */
  constructor(opts: SyncerOptions) {
    this.#opts = opts;
    const cacheEntries = opts.dictionaryCacheEntries ?? 1_000_000;
    this.#dictionaries = cacheEntries > 0 ? new LruDictionaryCache(cacheEntries) : undefined;
    const registers = opts.registry ? [opts.registry] : [];
    const pageBytes = opts.pageCacheBytes ?? DEFAULT_PAGE_CACHE_BYTES;
    const pages = this.#pages = pageBytes > 0 ? new LruPageCache(pageBytes) : undefined;
    if (pages) registerPageCacheMetrics(pages, registers);
    this.#locate = locateMetrics(opts.registry);
    this.#loadedGauge = new Gauge({
      name: "locate_sync_loaded_days",
      help: "Days currently loaded by the syncer.",
      registers,
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
    const toLoad = [...wanted].filter(([key]) => !next.has(key));
    const failures = new Map<string, unknown>();
    const failed = new Map<string, DayLoadFailure>();
    await forEachConcurrently(toLoad, this.#opts.concurrency ?? 1, async ([key, w]) => {
      try {
        next.set(key, await this.#load(w.stream, w.date, w.meta, signal));
      } catch (err) {
        const corruptedLabelsFile = err instanceof CorruptLabelsFileError;
        failed.set(key, { reason: errorMessage(err), corruptedLabelsFile, at: Date.now() });
        if (corruptedLabelsFile) {
          this.#corrupted++;
          this.#locate.corruptedLabelFiles.inc();
          this.#opts.logger.warn("skipping day with a corrupted labels file", { day: key, err });
        } else {
          failures.set(key, err);
        }
      }
    });
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
    const sources: ByteSource[] = [];
    try {
      const shards: LoadedShard[] = [];
      for (let i = 0; i < meta.shards; i++) {
        shards.push(await this.#openShard(stream.hash, date, i, meta, sources, signal));
      }
      return new LoadedDay(stream.hash, date, stream.externalLabels, meta, shards, async () => {
        for (const s of shards) {
          s.labels.dropCachedPages();
          s.chunks.dropCachedPages();
        }
        await Promise.all(sources.map((s) => s.close()));
      });
    } catch (err) {
      await Promise.all(sources.map((s) => s.close().catch(() => {})));
      throw err;
    }
  }

  async #openShard(
    hash: bigint,
    date: string,
    index: number,
    meta: BlockMeta,
    sources: ByteSource[],
    signal?: AbortSignal,
  ): Promise<LoadedShard> {
    const bucket = this.#opts.bucket;
    const chunksKey = chunksFileKey(hash, date, index);
    const labelsKey = labelsFileKey(hash, date, index);
    const chunksSize = (await bucket.attributes(chunksKey, signal)).size;
    const chunks = await PageFile.open(
      chunksKey,
      new BucketSource(bucket, chunksKey, chunksSize, () => this.#locate.bucketRequests.inc()),
      [...CHUNK_COLUMNS, LABEL_HASH_COLUMN],
      signal,
      undefined,
      this.#pages,
    );
    for (const c of CHUNK_COLUMNS) {
      if (chunks.columnPosition(c) === undefined) {
        throw new Error(`${chunksKey}: no column ${c}`);
      }
    }
    if (meta.version >= V2 && chunks.columnPosition(LABEL_HASH_COLUMN) === undefined) {
      throw new Error(`${chunksKey}: version ${meta.version} file lacks ${LABEL_HASH_COLUMN}`);
    }
    const labelsSize = (await bucket.attributes(labelsKey, signal)).size;
    const store = this.#opts.labelFiles;
    const source = await store.open(labelsKey, labelsSize, signal);
    sources.push(source);
    try {
      // The labels file is local: every page index is read up front for the filters.
      const labels = await PageFile.open(
        labelsKey,
        source,
        "all",
        signal,
        this.#dictionaries,
        this.#pages,
      );
      checkLabelsFile(labelsKey, labels, chunks, meta);
      return { index, labels, chunks };
    } catch (err) {
      await store.remove(labelsKey).catch(() => {});
      if (err instanceof CorruptLabelsFileError) throw err;
      throw new CorruptLabelsFileError(labelsKey, (err as Error).message, { cause: err });
    }
  }
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Exposes the page cache's counters, read at scrape time. */
function registerPageCacheMetrics(cache: LruPageCache, registers: Registry[]): void {
  const counter = (name: string, help: string, read: () => number) =>
    new Counter({
      name,
      help,
      registers,
      collect() {
        this.reset();
        this.inc(read());
      },
    });
  counter(
    "parquet_page_cache_hits_total",
    "Data page lookups served from memory.",
    () => cache.stats.hits,
  );
  counter(
    "parquet_page_cache_misses_total",
    "Data page lookups that had to fetch.",
    () => cache.stats.misses,
  );
  counter(
    "parquet_page_cache_evictions_total",
    "Data pages dropped from the cache to make room.",
    () => cache.stats.evictions,
  );
  new Gauge({
    name: "parquet_page_cache_bytes",
    help: "Estimated memory of the cached data pages.",
    registers,
    collect() {
      this.set(cache.bytes);
    },
  });
}

function checkLabelsFile(key: string, labels: PageFile, chunks: PageFile, meta: BlockMeta): void {
  const a = labels.rowGroupRows.join(","), b = chunks.rowGroupRows.join(",");
  if (a !== b) {
    throw new CorruptLabelsFileError(key, `row groups [${a}] differ from ${chunks.name} [${b}]`);
  }
  if (meta.version > V0 && labels.columnPosition(LABEL_INDEX_COLUMN) !== 0) {
    throw new CorruptLabelsFileError(
      key,
      `version ${meta.version} file lacks ${LABEL_INDEX_COLUMN}`,
    );
  }
}
