/**
 * Downloaded TSDB blocks kept open between planned days: plans run most recent day first, and a
 * block spanning several days is downloaded once and reused (gateway.md 3.5). Blocks no longer
 * needed by the current day are closed and their temporary files removed.
 *
 * @module
 */
import { forEachConcurrently } from "../internal/concurrency.ts";
import type { Bucket } from "../storage/objstore/bucket.ts";
import { Block } from "../storage/tsdb/block.ts";

/** Options of {@linkcode BlockCache}. */
export interface BlockCacheOptions {
  /** Parent of the download directories (`--convert.tempdir`; default the OS temp dir). */
  tmpDir?: string;
  /** Files downloaded in parallel per block (`--convert.download.concurrency`). */
  fileConcurrency: number;
  /** Blocks downloaded in parallel (`--convert.download.block-concurrency`). */
  blockConcurrency: number;
}

/** Opens blocks from a bucket, keeping the ones the next day still needs. */
export class BlockCache {
  readonly #bucket: Bucket;
  readonly #opts: BlockCacheOptions;
  readonly #open = new Map<string, Block>();

  /** Creates an empty cache over `bucket`. */
  constructor(bucket: Bucket, opts: BlockCacheOptions) {
    this.#bucket = bucket;
    this.#opts = opts;
  }

  /** ULIDs currently open. */
  get openBlocks(): string[] {
    return [...this.#open.keys()];
  }

  /** Returns the blocks `ulids` (in that order), closing every other open block first. */
  async acquire(ulids: readonly string[], signal?: AbortSignal): Promise<Block[]> {
    const wanted = new Set(ulids);
    for (const [ulid, block] of [...this.#open]) {
      if (wanted.has(ulid)) continue;
      this.#open.delete(ulid);
      await block.close();
    }
    const missing = ulids.filter((u) => !this.#open.has(u));
    // `--convert.tempdir` may name a directory that does not exist yet.
    if (missing.length > 0 && this.#opts.tmpDir) {
      await Deno.mkdir(this.#opts.tmpDir, { recursive: true });
    }
    await forEachConcurrently(missing, this.#opts.blockConcurrency, async (ulid) => {
      const block = await Block.fromBucket(this.#bucket, ulid, {
        tmpDir: this.#opts.tmpDir,
        concurrency: this.#opts.fileConcurrency,
        // Index and chunk segments are read on demand: memory must not grow with the block's size.
        lazyChunks: true,
        lazyIndex: true,
        signal,
      });
      this.#open.set(ulid, block);
    });
    return ulids.map((u) => this.#open.get(u)!);
  }

  /** Closes every open block and removes its files. */
  async close(): Promise<void> {
    const blocks = [...this.#open.values()];
    this.#open.clear();
    await Promise.all(blocks.map((b) => b.close()));
  }
}
