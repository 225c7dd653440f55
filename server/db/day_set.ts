/**
 * The days of a thread that queries but does not sync (a query worker): the syncer of the main
 * thread lists, downloads and checks the days, and posts their {@linkcode DayFiles}; a
 * {@linkcode DaySet} opens those files again for its own thread, with its own page and dictionary
 * caches, and closes the days that leave the set once no query uses them.
 *
 * Days that the syncer could not load come along as {@linkcode UnavailableDay}s; days this set
 * fails to open (e.g. their files vanished since the syncer loaded them) join them, so that a
 * query over either warns rather than answering without them.
 *
 * @module
 */
import type { Registry } from "prom-client";
import { forEachConcurrently } from "../../internal/concurrency.ts";
import { locateMetrics } from "../../internal/locate_metrics.ts";
import type { Logger } from "../../internal/log.ts";
import type { Bucket } from "../../storage/objstore/bucket.ts";
import type { ByteSource } from "../../storage/parquet/pages.ts";
import type { LoadedDay } from "./block.ts";
import { dayCaches, type DayFiles, type DayIO, type FileRef, openDay } from "./open_day.ts";
import { sameMeta } from "./syncer.ts";
import { type UnavailableDay, unavailableDay } from "./unavailable.ts";

/** Options of {@linkcode DaySet}. */
export interface DaySetOptions {
  /** The Parquet bucket (chunks files are read from it). */
  bucket: Bucket;
  /** Opens a labels file the syncer has put in place (e.g. `LocalLabelFileStore.openCopy`). */
  openLabels(ref: FileRef, signal?: AbortSignal): Promise<ByteSource>;
  /** Days opened in parallel (default 1). */
  concurrency?: number;
  /** Decoded data pages kept in memory, bytes (0: no cache). */
  pageCacheBytes: number;
  /** Decoded label dictionaries kept in memory, values (0: no cache). */
  dictionaryCacheEntries: number;
  /**
   * Page locations of the chunks files kept in memory, bytes; those evicted are read again
   * when needed (default: each open file keeps all of its own).
   */
  locationCacheBytes?: number;
  /** Registry for the page cache metrics and `locate_bucket_requests_total`, if any. */
  registry?: Registry;
  /** Logs days that fail to open. */
  logger: Logger;
}

/** What an update of a {@linkcode DaySet} did. */
export interface DaySetUpdate {
  /** Days open after it. */
  loaded: number;
  /** Days of the update that failed to open here. */
  failed: readonly UnavailableDay[];
}

/** Days opened from another thread's {@linkcode DayFiles}. */
export class DaySet {
  readonly #opts: DaySetOptions;
  readonly #caches: Pick<DayIO, "pages" | "locations" | "dictionaries">;
  readonly #onChunkRequest: () => void;
  #days = new Map<string, LoadedDay>();
  #sorted: readonly LoadedDay[] = [];
  #given: readonly UnavailableDay[] = [];
  #failed: readonly UnavailableDay[] = [];
  #running: Promise<unknown> = Promise.resolve();

  /** Creates an empty set. */
  constructor(opts: DaySetOptions) {
    this.#opts = opts;
    this.#caches = dayCaches(opts, opts.registry);
    const requests = locateMetrics(opts.registry).bucketRequests;
    this.#onChunkRequest = () => requests.inc();
  }

  /** Open days, sorted by start time (then stream hash). */
  get days(): readonly LoadedDay[] {
    return this.#sorted;
  }

  /** The unavailable days given with the last update, and those that failed to open here. */
  get unavailable(): readonly UnavailableDay[] {
    return this.#failed.length === 0 ? this.#given : [...this.#given, ...this.#failed];
  }

  /**
   * Makes the set equal to `files`: opens the days it lacks (again, those that failed before),
   * and releases those not listed or whose meta changed. Updates run one after the other; a
   * query started before an update keeps the days it acquired.
   */
  update(
    files: readonly DayFiles[],
    unavailable: readonly UnavailableDay[],
  ): Promise<DaySetUpdate> {
    const run = this.#running.then(() => this.#update(files, unavailable));
    this.#running = run.catch(() => {});
    return run;
  }

  async #update(
    files: readonly DayFiles[],
    unavailable: readonly UnavailableDay[],
  ): Promise<DaySetUpdate> {
    const wanted = new Map(files.map((f) => [`${f.hash}/${f.date}`, f]));
    const next = new Map<string, LoadedDay>();
    const released: LoadedDay[] = [];
    for (const [key, day] of this.#days) {
      const f = wanted.get(key);
      if (f && sameMeta(f.meta, day.meta)) next.set(key, day);
      else released.push(day);
    }
    const failed: UnavailableDay[] = [];
    const toOpen = [...wanted].filter(([key]) => !next.has(key));
    await forEachConcurrently(toOpen, this.#opts.concurrency ?? 1, async ([key, f]) => {
      try {
        next.set(
          key,
          await openDay(f, {
            bucket: this.#opts.bucket,
            openLabels: this.#opts.openLabels,
            ...this.#caches,
            onChunkRequest: this.#onChunkRequest,
          }),
        );
      } catch (err) {
        this.#opts.logger.warn("could not open a day the syncer loaded", { day: key, err });
        failed.push(unavailableDay(f.hash, f.date, f.externalLabels, f.meta, err));
      }
    });
    this.#days = next;
    this.#sorted = [...next.values()].sort((a, b) =>
      a.mint - b.mint || (a.hash < b.hash ? -1 : a.hash > b.hash ? 1 : 0)
    );
    this.#given = unavailable;
    this.#failed = failed;
    await Promise.all(released.map((d) => d.release()));
    return { loaded: next.size, failed };
  }

  /** Releases every day; their files close once running queries finish. */
  async close(): Promise<void> {
    await this.#running;
    const days = [...this.#days.values()];
    this.#days = new Map();
    this.#sorted = [];
    await Promise.all(days.map((d) => d.release()));
  }
}
