/**
 * TSDB block discovery for `convert` (gateway.md 3.2): which blocks the source bucket holds, read
 * from their `meta.json`, cached between passes, grouped into streams by external labels.
 *
 * A block is a top-level directory with a `meta.json` and no `deletion-mark.json`, as in the Go
 * gateway. Blocks are left out when their external labels do not match
 * `--tsdb.discovery.select-external-labels`, when they are downsampled, when they hold no chunks,
 * or while they are younger than `--tsdb.discovery.min-block-age`. A `meta.json` that cannot be
 * read or parsed fails the pass, as a bucket error does, and the previous state is kept: the
 * block's stream and days are unknown, so any day converted without it could lack its samples
 * for good (a converted day is not converted again). Fixing the file, or deleting or marking the
 * block for deletion, lets the next pass go on. A good pass sets
 * `locate_sync_{min,max}_time_unix_seconds{what="tsdb_discoverer"}` to the range of the blocks
 * kept and `locate_sync_last_successful_update_time_unix_seconds{what="tsdb_discoverer"}` to now.
 *
 * @module
 */
import type { Labels } from "../model/labels.ts";
import { labelsFromRecord } from "../model/labels.ts";
import { type Matcher, matchesAll } from "../model/matchers.ts";
import { parseMetricSelector } from "../engine/parser.ts";
import type { Registry } from "prom-client";
import { forEachConcurrently } from "../internal/concurrency.ts";
import { type LocateMetrics, locateMetrics } from "../internal/locate_metrics.ts";
import type { Logger } from "../internal/log.ts";
import type { Bucket } from "../storage/objstore/bucket.ts";
import {
  type BlockMeta,
  DELETION_MARK_FILENAME,
  META_FILENAME,
  parseBlockMeta,
} from "../storage/tsdb/meta.ts";
import type { SourceBlock, SourceStream } from "./plan.ts";

/** A discovered TSDB block. */
export interface DiscoveredBlock extends SourceBlock {
  /** Its parsed meta.json. */
  readonly meta: BlockMeta;
  /** Its external labels (Thanos `thanos.labels`; empty for plain Prometheus blocks). */
  readonly externalLabels: Readonly<Record<string, string>>;
}

/** Options of {@linkcode TsdbDiscoverer}. */
export interface TsdbDiscoveryOptions {
  /** meta.json reads in parallel. */
  concurrency: number;
  /** Blocks whose maxTime is later than now minus this are ignored, ms. */
  minBlockAgeMs: number;
  /** Selectors (`{cluster="a"}`) the external labels must all match. */
  selectors: readonly string[];
  /** Returns the stream key of an external label set (the decimal external-labels hash). */
  streamKey: (externalLabels: Readonly<Record<string, string>>) => string;
  /** Logger for skipped blocks. */
  logger: Logger;
  /** Registry for the `locate_sync_*{what="tsdb_discoverer"}` gauges (none when absent). */
  registry?: Registry;
  /** Clock (ms), for tests. */
  now?: () => number;
}

/** Parses `--tsdb.discovery.select-external-labels` values into one matcher list. */
export function parseSelectors(selectors: readonly string[]): Matcher[] {
  const out: Matcher[] = [];
  for (const s of selectors) {
    try {
      out.push(...parseMetricSelector(s));
    } catch (err) {
      throw new Error(
        `--tsdb.discovery.select-external-labels ${JSON.stringify(s)}: ${(err as Error).message}`,
      );
    }
  }
  return out;
}

/** Runs discovery passes over a TSDB bucket and remembers what it found. */
export class TsdbDiscoverer {
  readonly #bucket: Bucket;
  readonly #opts: TsdbDiscoveryOptions;
  readonly #matchers: Matcher[];
  readonly #cache = new Map<string, DiscoveredBlock>();
  /** Directories whose meta.json was read but rejected, so it is not re-read every pass. */
  readonly #rejected = new Set<string>();
  readonly #metrics: LocateMetrics;

  /** Creates a discoverer; selectors are validated here. */
  constructor(bucket: Bucket, opts: TsdbDiscoveryOptions) {
    this.#bucket = bucket;
    this.#opts = opts;
    this.#matchers = parseSelectors(opts.selectors);
    this.#metrics = locateMetrics(opts.registry);
  }

  /** The blocks found by the last successful pass, by ULID order. */
  blocks(): DiscoveredBlock[] {
    return [...this.#cache.values()].sort((a, b) => (a.ulid < b.ulid ? -1 : 1));
  }

  /** The blocks grouped into streams by external labels. */
  streams(): SourceStream<DiscoveredBlock>[] {
    const byKey = new Map<
      string,
      { labels: Readonly<Record<string, string>>; blocks: DiscoveredBlock[] }
    >();
    for (const b of this.blocks()) {
      const key = this.#opts.streamKey(b.externalLabels);
      let s = byKey.get(key);
      if (!s) byKey.set(key, s = { labels: b.externalLabels, blocks: [] });
      s.blocks.push(b);
    }
    return [...byKey.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([key, s]) => ({ key, externalLabels: s.labels, blocks: s.blocks }));
  }

  /** One discovery pass; on error the previous state is kept. */
  async discover(signal?: AbortSignal): Promise<void> {
    const dirs = new Map<string, Set<string>>();
    for await (const key of this.#bucket.list("", { recursive: true }, signal)) {
      const parts = key.split("/");
      if (parts.length !== 2) continue;
      let files = dirs.get(parts[0]);
      if (!files) dirs.set(parts[0], files = new Set());
      files.add(parts[1]);
    }
    const candidates = [...dirs.entries()]
      .filter(([, files]) => files.has(META_FILENAME) && !files.has(DELETION_MARK_FILENAME))
      .map(([dir]) => dir);
    const fresh = candidates.filter((d) => !this.#cache.has(d) && !this.#rejected.has(d));
    const loaded = new Map<string, DiscoveredBlock>();
    await forEachConcurrently(fresh, this.#opts.concurrency, async (dir) => {
      const block = await this.#load(dir, signal);
      if (block) loaded.set(dir, block);
    });

    const now = (this.#opts.now ?? Date.now)();
    const present = new Set(candidates);
    for (const dir of [...this.#cache.keys()]) if (!present.has(dir)) this.#cache.delete(dir);
    for (const dir of [...this.#rejected]) if (!present.has(dir)) this.#rejected.delete(dir);
    for (const [dir, block] of loaded) this.#cache.set(dir, block);
    for (const [dir, block] of this.#cache) {
      // Too young: it may still be compacted or replaced; look again in a later pass.
      if (block.maxTime > now - this.#opts.minBlockAgeMs) this.#cache.delete(dir);
    }
    let mint = Infinity, maxt = -Infinity;
    for (const block of this.#cache.values()) {
      mint = Math.min(mint, block.minTime);
      maxt = Math.max(maxt, block.maxTime);
    }
    if (mint <= maxt) this.#metrics.setRange("tsdb_discoverer", mint, maxt);
    this.#metrics.succeeded("tsdb_discoverer");
  }

  async #load(dir: string, signal?: AbortSignal): Promise<DiscoveredBlock | undefined> {
    const path = `${dir}/${META_FILENAME}`;
    const bytes = await this.#bucket.get(path, signal);
    let meta: BlockMeta;
    try {
      meta = parseBlockMeta(new TextDecoder().decode(bytes), path);
    } catch (err) {
      throw new Error(
        `${(err as Error).message}; the days its block covers are unknown, so none is ` +
          "converted until the file is fixed or the block deleted or marked for deletion",
        { cause: err },
      );
    }
    const externalLabels = meta.thanos?.labels ?? {};
    const reject = (reason: string) => {
      this.#opts.logger.debug("ignoring TSDB block", { block: dir, reason });
      this.#rejected.add(dir);
      return undefined;
    };
    if (!matchesAll(this.#matchers, labelsFromRecord(externalLabels) as Labels)) {
      return reject("external labels do not match the selectors");
    }
    if ((meta.thanos?.downsample.resolution ?? 0) !== 0) return reject("downsampled");
    if (meta.stats.numChunks === 0) return reject("no chunks");
    return {
      ulid: meta.ulid,
      minTime: meta.minTime,
      maxTime: meta.maxTime,
      meta,
      externalLabels,
    };
  }
}
