/**
 * The loaded form of a Parquet day (gateway.md 4.4): a stream's day with its external labels,
 * `meta.pb` and shards, each shard being a labels file (local) and a chunks file (remote, footer
 * and page index in memory). Days are reference counted so that a day unloaded by the syncer
 * stays readable until the queries using it finish.
 *
 * @module
 */
import type { BlockMeta } from "../../storage/parquet/meta.ts";
import type { PageFile } from "../../storage/parquet/pages.ts";

/** One shard: two row-aligned files. */
export interface LoadedShard {
  /** Shard number. */
  readonly index: number;
  /** The labels file (label columns and `___cf_meta_index`). */
  readonly labels: PageFile;
  /** The chunks file (chunk columns and `___cf_meta_hash`). */
  readonly chunks: PageFile;
}

/** A loaded day of one stream. */
export class LoadedDay {
  #refs = 1;
  #closed: Promise<void> | undefined;

  /**
   * Creates a loaded day holding one reference, the syncer's.
   *
   * @param hash the stream's external-labels hash
   * @param date the UTC date, `YYYY-MM-DD`
   * @param externalLabels the stream's external labels
   * @param meta the day's `meta.pb`
   * @param shards the opened shards
   * @param onClose releases the files once nothing uses the day any more
   */
  constructor(
    readonly hash: bigint,
    readonly date: string,
    readonly externalLabels: Readonly<Record<string, string>>,
    readonly meta: BlockMeta,
    readonly shards: readonly LoadedShard[],
    readonly onClose: () => Promise<void>,
  ) {}

  /** `H/D`, the syncer's key of the day. */
  get key(): string {
    return `${this.hash}/${this.date}`;
  }

  /** Start of the day, ms (meta `mint`). */
  get mint(): number {
    return this.meta.mint;
  }

  /** End of the day, ms (meta `maxt`, treated as inclusive like upstream). */
  get maxt(): number {
    return this.meta.maxt;
  }

  /** Takes a reference for a query; returns false when the day is already released. */
  acquire(): boolean {
    if (this.#refs === 0) return false;
    this.#refs++;
    return true;
  }

  /** Drops a reference; the last one closes the files. */
  release(): Promise<void> {
    if (this.#refs === 0) return this.#closed ?? Promise.resolve();
    if (--this.#refs === 0) this.#closed = this.onClose();
    return this.#closed ?? Promise.resolve();
  }
}
