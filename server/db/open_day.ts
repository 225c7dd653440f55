/**
 * Opening a day's files: what a day is made of ({@linkcode DayFiles}: keys and sizes of its
 * shards' files, plain data that can be posted to a worker) and {@linkcode openDay}, which opens
 * them into a {@linkcode LoadedDay}. The syncer opens days this way after it has listed and
 * downloaded them; the query workers open the same days again from their `DayFiles`, without
 * listing or downloading anything.
 *
 * @module
 */
import type { Bucket } from "../../storage/objstore/bucket.ts";
import type { BlockMeta } from "../../storage/parquet/meta.ts";
import type { Registry } from "prom-client";
import {
  BucketSource,
  type ByteSource,
  type DictionaryCache,
  LruDictionaryCache,
  LruPageCache,
  type PageCache,
  PageFile,
  PageLocationCache,
} from "../../storage/parquet/pages.ts";
import {
  CHUNK_COLUMNS,
  LABEL_HASH_COLUMN,
  LABEL_INDEX_COLUMN,
  V0,
  V2,
} from "../../storage/parquet/schema.ts";
import { LoadedDay, type LoadedShard } from "./block.ts";
import { registerPageCacheMetrics } from "./cache_metrics.ts";

/** An object of a day: its key and size in bytes. */
export interface FileRef {
  /** The object key. */
  readonly key: string;
  /** Its size in bytes. */
  readonly size: number;
}

/** The files of one loaded day, as plain (structured-cloneable) data. */
export interface DayFiles {
  /** The stream's external-labels hash. */
  readonly hash: bigint;
  /** The UTC date, `YYYY-MM-DD`. */
  readonly date: string;
  /** The stream's external labels. */
  readonly externalLabels: Readonly<Record<string, string>>;
  /** The day's `meta.pb`. */
  readonly meta: BlockMeta;
  /** Its shards in order. */
  readonly shards: readonly { readonly labels: FileRef; readonly chunks: FileRef }[];
}

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

/** Where {@linkcode openDay} reads from and what it shares with other days. */
export interface DayIO {
  /** The bucket holding the chunks files. */
  readonly bucket: Bucket;
  /** Opens a labels file (e.g. its local copy). */
  openLabels(ref: FileRef, signal?: AbortSignal): Promise<ByteSource>;
  /** Decoded label dictionaries shared by all days. */
  readonly dictionaries?: DictionaryCache;
  /** Decoded data pages shared by all days. */
  readonly pages?: PageCache;
  /** Page locations of the chunks files shared by all days (else each file keeps its own). */
  readonly locations?: PageLocationCache;
  /** Called as each ranged read of a chunks file is sent. */
  readonly onChunkRequest?: () => void;
}

/** Sizes of the caches the days of one thread share (see {@linkcode dayCaches}). */
export interface DayCacheSizes {
  /** Decoded data pages, bytes (0: no cache). */
  readonly pageCacheBytes: number;
  /** Page locations of the chunks files, bytes (`undefined`: each file keeps its own). */
  readonly locationCacheBytes?: number;
  /** Decoded label dictionaries, entries (0: no cache). */
  readonly dictionaryCacheEntries: number;
}

/**
 * The caches for {@linkcode DayIO} (the syncer's and each query worker's), the page cache's
 * metrics registered in `registry`.
 */
export function dayCaches(
  sizes: DayCacheSizes,
  registry?: Registry,
): Pick<DayIO, "pages" | "locations" | "dictionaries"> {
  const pages = sizes.pageCacheBytes > 0 ? new LruPageCache(sizes.pageCacheBytes) : undefined;
  if (pages) registerPageCacheMetrics(pages, registry ? [registry] : []);
  return {
    pages,
    locations: sizes.locationCacheBytes === undefined
      ? undefined
      : new PageLocationCache(sizes.locationCacheBytes),
    dictionaries: sizes.dictionaryCacheEntries > 0
      ? new LruDictionaryCache(sizes.dictionaryCacheEntries)
      : undefined,
  };
}

/** The {@linkcode DayFiles} of a loaded day. */
export function dayFiles(day: LoadedDay): DayFiles {
  return {
    hash: day.hash,
    date: day.date,
    externalLabels: day.externalLabels,
    meta: day.meta,
    shards: day.shards.map((s) => ({
      labels: { key: s.labels.name, size: s.labels.source.size },
      chunks: { key: s.chunks.name, size: s.chunks.source.size },
    })),
  };
}

/**
 * Opens every shard of a day: the chunks file through ranged reads of the bucket (footer and the
 * page index of its chunk columns), the labels file through `io.openLabels` (every page index).
 * A labels file that does not open or does not match its chunks file is a
 * {@linkcode CorruptLabelsFileError}. The returned day holds one reference; releasing the last
 * one drops its cached pages and closes its labels files.
 */
export async function openDay(
  files: DayFiles,
  io: DayIO,
  signal?: AbortSignal,
): Promise<LoadedDay> {
  const sources: ByteSource[] = [];
  try {
    const shards: LoadedShard[] = [];
    for (const [index, refs] of files.shards.entries()) {
      shards.push(await openShard(index, refs, files.meta, io, sources, signal));
    }
    return new LoadedDay(
      files.hash,
      files.date,
      files.externalLabels,
      files.meta,
      shards,
      async () => {
        for (const s of shards) {
          s.labels.dropCachedPages();
          s.chunks.dropCachedPages();
        }
        await Promise.all(sources.map((s) => s.close()));
      },
    );
  } catch (err) {
    await Promise.all(sources.map((s) => s.close().catch(() => {})));
    throw err;
  }
}

async function openShard(
  index: number,
  refs: DayFiles["shards"][number],
  meta: BlockMeta,
  io: DayIO,
  sources: ByteSource[],
  signal?: AbortSignal,
): Promise<LoadedShard> {
  const { key: chunksKey, size: chunksSize } = refs.chunks;
  const chunks = await PageFile.open(
    chunksKey,
    new BucketSource(io.bucket, chunksKey, chunksSize, io.onChunkRequest),
    [...CHUNK_COLUMNS, LABEL_HASH_COLUMN],
    signal,
    undefined,
    io.pages,
    io.locations,
  );
  for (const c of CHUNK_COLUMNS) {
    if (chunks.columnPosition(c) === undefined) {
      throw new Error(`${chunksKey}: no column ${c}`);
    }
  }
  if (meta.version >= V2 && chunks.columnPosition(LABEL_HASH_COLUMN) === undefined) {
    throw new Error(`${chunksKey}: version ${meta.version} file lacks ${LABEL_HASH_COLUMN}`);
  }
  const labelsKey = refs.labels.key;
  const source = await io.openLabels(refs.labels, signal);
  sources.push(source);
  try {
    // The labels file is local: every page index is read up front for the filters.
    const labels = await PageFile.open(labelsKey, source, "all", signal, io.dictionaries, io.pages);
    checkLabelsFile(labelsKey, labels, chunks, meta);
    return { index, labels, chunks };
  } catch (err) {
    if (err instanceof CorruptLabelsFileError) throw err;
    throw new CorruptLabelsFileError(labelsKey, (err as Error).message, { cause: err });
  }
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
