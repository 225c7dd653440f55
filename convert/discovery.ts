/**
 * What the converter finds in its two buckets (gateway.md 3.2 and 3.3):
 * - TSDB blocks (`<ULID>/meta.json` without `deletion-mark.json`), filtered by external-label
 *   selectors, downsampling, emptiness and age, grouped into streams by external-labels hash;
 * - Parquet days already converted (`meta.pb` present, no deletion marker, and a `stream.pb` for
 *   streams with external labels).
 *
 * @module
 */
import type { Matcher } from "../engine/matchers.ts";
import { labelsFromRecord } from "../engine/labels.ts";
import type { Bucket } from "../storage/objstore/bucket.ts";
import { externalLabelsHash } from "../storage/parquet/hash.ts";
import {
  DELETION_MARKER_FILE,
  META_FILE,
  parseBlockKey,
  parseStreamKey,
} from "../storage/parquet/layout.ts";
import {
  type BlockMeta,
  DELETION_MARK_FILENAME,
  META_FILENAME,
  parseBlockMeta,
} from "../storage/tsdb/meta.ts";
import type { SourceBlock, SourceStream } from "./plan.ts";

/** A discovered TSDB block. */
export interface TsdbBlock extends SourceBlock {
  /** Its `meta.json`. */
  readonly meta: BlockMeta;
}

/** Options of {@linkcode TsdbDiscoverer}. */
export interface TsdbDiscoveryOptions {
  /** Parallel `meta.json` reads (`--tsdb.discovery.concurrency`). */
  readonly concurrency: number;
  /** Blocks ending later than `now - minBlockAge` are left out, ms. */
  readonly minBlockAge: number;
  /** Selectors on external labels: a block must match one of them (all when empty). */
  readonly selectors: readonly (readonly Matcher[])[];
}

/** Runs `fn` over `items` with at most `limit` calls in flight; rejects with the first error. */
async function forEachLimit<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (!failed && next < items.length) {
      try {
        await fn(items[next++]);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  const results = await Promise.allSettled(
    Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker),
  );
  for (const r of results) if (r.status === "rejected") throw r.reason;
}

/**
 * Finds TSDB blocks. Each `meta.json` is read once and cached; blocks that vanish or get a
 * deletion mark are forgotten.
 */
export class TsdbDiscoverer {
  readonly #bucket: Bucket;
  readonly #options: TsdbDiscoveryOptions;
  readonly #cache = new Map<string, BlockMeta | undefined>();

  /** @param bucket the TSDB bucket */
  constructor(bucket: Bucket, options: TsdbDiscoveryOptions) {
    this.#bucket = bucket;
    this.#options = options;
  }

  /** One discovery pass; returns the streams of usable blocks. Read errors fail the pass. */
  async discover(now: number, signal?: AbortSignal): Promise<SourceStream<TsdbBlock>[]> {
    const files = new Map<string, Set<string>>();
    for await (const key of this.#bucket.list("", { recursive: true }, signal)) {
      const parts = key.split("/");
      if (parts.length !== 2) continue;
      let set = files.get(parts[0]);
      if (!set) files.set(parts[0], set = new Set());
      set.add(parts[1]);
    }
    const candidates = [...files].filter(([, f]) =>
      f.has(META_FILENAME) && !f.has(DELETION_MARK_FILENAME)
    )
      .map(([dir]) => dir);
    const live = new Set(candidates);
    for (const dir of this.#cache.keys()) if (!live.has(dir)) this.#cache.delete(dir);
    const fresh = candidates.filter((dir) => !this.#cache.has(dir));
    const read = new Map<string, BlockMeta>();
    await forEachLimit(fresh, this.#options.concurrency, async (dir) => {
      const key = `${dir}/${META_FILENAME}`;
      const text = new TextDecoder().decode(await this.#bucket.get(key, signal));
      read.set(dir, parseBlockMeta(text, key));
    });
    for (const [dir, meta] of read) this.#cache.set(dir, this.#usable(meta) ? meta : undefined);

    const streams = new Map<string, { labels: Record<string, string>; blocks: TsdbBlock[] }>();
    for (const meta of this.#cache.values()) {
      if (!meta || meta.maxTime > now - this.#options.minBlockAge) continue;
      const labels = meta.thanos?.labels ?? {};
      const key = externalLabelsHash(labels).toString();
      let s = streams.get(key);
      if (!s) streams.set(key, s = { labels, blocks: [] });
      s.blocks.push({ ulid: meta.ulid, minTime: meta.minTime, maxTime: meta.maxTime, meta });
    }
    return [...streams].map(([key, s]) => ({ key, externalLabels: s.labels, blocks: s.blocks }));
  }

  /** Raw, non-empty blocks whose external labels match one of the selectors. */
  #usable(meta: BlockMeta): boolean {
    if ((meta.thanos?.downsample.resolution ?? 0) !== 0) return false;
    if (meta.stats.numChunks === 0) return false;
    const selectors = this.#options.selectors;
    if (selectors.length === 0) return true;
    const labels = labelsFromRecord(meta.thanos?.labels ?? {});
    return selectors.some((ms) => ms.every((m) => m.matchesLabels(labels)));
  }
}

/**
 * The days already converted in the Parquet bucket, as `hash/YYYY-MM-DD` (the keys
 * {@linkcode planConversion} takes): days with a `meta.pb`, without a deletion marker, whose
 * stream has a `stream.pb` unless its hash is 0.
 */
export async function convertedDays(bucket: Bucket, signal?: AbortSignal): Promise<Set<string>> {
  const streams = new Set<bigint>();
  const days = new Map<string, { hash: bigint; meta: boolean; marked: boolean }>();
  for await (const key of bucket.list("", { recursive: true }, signal)) {
    const stream = parseStreamKey(key);
    if (stream !== undefined) {
      streams.add(stream);
      continue;
    }
    const b = parseBlockKey(key);
    if (!b) continue;
    const id = `${b.hash}/${b.day.date}`;
    let d = days.get(id);
    if (!d) days.set(id, d = { hash: b.hash, meta: false, marked: false });
    if (b.file === META_FILE) d.meta = true;
    if (b.file === DELETION_MARKER_FILE) d.marked = true;
  }
  const out = new Set<string>();
  for (const [id, d] of days) {
    if (d.meta && !d.marked && (d.hash === 0n || streams.has(d.hash))) out.add(id);
  }
  return out;
}
