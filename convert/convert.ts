/**
 * Converts one UTC day of one stream into a gateway Parquet block (gateway.md 3.6):
 *
 * 1. read the labels of every series of every source overlapping the day;
 * 2. sort them by the sort labels, then by all labels (really sorted, unlike the Go converter
 *    whose rows follow index order), and merge equal label sets across sources;
 * 3. cut shards of at most `numRowGroups * rowGroupSize` rows and fewer than 32767 columns;
 * 4. per shard, fetch each series' chunks, build its chunk columns and stream both files;
 * 5. upload `meta.pb` (the commit marker: any failure before leaves no `meta.pb`), then
 *    `stream.pb` if the stream has none yet.
 *
 * @module
 */
import { compareStrings, getLabel, type Labels } from "../model/labels.ts";
import type { Bucket } from "../storage/objstore/bucket.ts";
import { isObjectNotFound } from "../storage/objstore/bucket.ts";
import { externalLabelsHash } from "../storage/parquet/hash.ts";
import {
  chunksFileKey,
  labelsFileKey,
  metaFileKey,
  streamFileKey,
} from "../storage/parquet/layout.ts";
import {
  decodeStreamDescriptor,
  encodeBlockMeta,
  encodeStreamDescriptor,
} from "../storage/parquet/meta.ts";
import { WRITE_VERSION } from "../storage/parquet/schema.ts";
import { ShardWriter } from "../storage/parquet/writer.ts";
import { dayChunkColumns } from "./chunks.ts";
import type { Day } from "../storage/parquet/days.ts";
import type { SeriesSource } from "./source.ts";

/** Most columns a Parquet file may have (parquet-go's limit, kept for compatibility). */
export const MAX_COLUMNS = 32767;

/** Chunk bytes after which the converter cuts a row group early (64 MiB per shard written). */
export const CONVERT_MAX_ROW_GROUP_BYTES = 64 * 1024 * 1024;
/** Columns of a shard that are not label columns (index, hash, three chunk columns). */
const NON_LABEL_COLUMNS = 4;

/** Conversion settings (`--convert.*` flags). */
export interface ConvertOptions {
  /** Rows per row group (`--convert.rowgroup.size`). */
  readonly rowGroupSize: number;
  /** Row groups per shard (`--convert.rowgroup.count`). */
  readonly numRowGroups: number;
  /** Labels to sort rows by first (`--convert.sorting.label`), default `["__name__"]`. */
  readonly sortLabels?: readonly string[];
  /** Re-cut chunks crossing 8h boundaries, one piece per column (`--convert.recompress`). */
  readonly recompress?: boolean;
  /**
   * A shard is cut before its columns (label columns plus 4) would reach this (default
   * {@linkcode MAX_COLUMNS}).
   */
  readonly maxColumns?: number;
  /**
   * Told once, after the labels of all sources are read, how many distinct series the day has
   * (series in several sources count once): the total that {@linkcode onProgress} counts up to.
   */
  readonly onSeriesCounted?: (series: number) => void;
  /** Told, every few hundred series and at the end of each shard, how many more were processed. */
  readonly onProgress?: (series: number) => void;
  /** Shards written at once (`--convert.write.concurrency`, default 1). */
  readonly writeConcurrency?: number;
  /** zstd level of the shard files. */
  readonly zstdLevel?: number;
  /** Aborts the conversion. */
  readonly signal?: AbortSignal;
}

/** What a converted day holds. */
export interface ConvertResult {
  /** The stream hash (directory name). */
  readonly hash: bigint;
  /** Shards written. */
  readonly shards: number;
  /** Rows (series) written over all shards. */
  readonly rows: number;
}

/** The day has no series with data. */
export class NoSeriesError extends Error {
  /** The error's name, for logs. */
  override readonly name = "NoSeriesError";
  /**
   * Creates the error for the day `date` (`YYYY-MM-DD`).
   *
   * @param date the day
   */
  constructor(readonly date: string) {
    super(`${date}: no series found in the day`);
  }
}

/** A source answered differently for the same series in the two passes. */
export class SourceChangedError extends Error {
  /** The error's name, for logs. */
  override readonly name = "SourceChangedError";
  /**
   * Creates the error for the series `series`.
   *
   * @param series names the source and series
   * @param detail what changed
   */
  constructor(readonly series: string, readonly detail: string) {
    super(`${series}: ${detail}`);
  }
}

/**
 * The bucket already has a `stream.pb` under this hash with different external labels (the
 * hash has no separators, so e.g. `{ab="c"}` and `{a="bc"}` collide).
 */
export class StreamConflictError extends Error {
  /** The error's name, for logs. */
  override readonly name = "StreamConflictError";
  /**
   * Creates the error for the `stream.pb` at `key`.
   *
   * @param key the `stream.pb` key
   * @param existing its labels
   * @param wanted the labels being converted
   */
  constructor(
    readonly key: string,
    readonly existing: Readonly<Record<string, string>>,
    readonly wanted: Readonly<Record<string, string>>,
  ) {
    super(
      `${key} holds external labels ${JSON.stringify(existing)}, not ${JSON.stringify(wanted)}` +
        " (external-labels hash collision)",
    );
  }
}

const ULID_RE = /^[0-7][0-9A-HJKMNP-TV-Z]{25}$/i;

interface Entry {
  /** {@linkcode sortKey} of the series: one string instead of label objects. */
  key: string;
  /** Its label names, an array shared by all series with the same names. */
  names: readonly string[];
  refs: { source: number; ref: number | bigint }[];
}

// Control characters 0 and 1 are escaped so that 0 can separate fields: escaping keeps the order
// of strings (0 -> 1 1, 1 -> 1 2 still sort below every other character) and is injective.
function escapeField(s: string): string {
  return s.includes("\u0000") || s.includes("\u0001")
    ? s.replaceAll("\u0001", "\u0001\u0002").replaceAll("\u0000", "\u0001\u0001")
    : s;
}

/**
 * A string whose code-point order is the row order: the sort labels' values (missing = empty),
 * then all labels as in `compareLabels`, each field ended by a 0. Equal keys mean equal labels.
 */
export function sortKey(labels: Labels, sortLabels: readonly string[]): string {
  let key = "";
  for (const l of sortLabels) key += escapeField(getLabel(labels, l)) + "\u0000";
  key += "\u0000";
  for (const l of labels) key += escapeField(l.name) + "\u0000" + escapeField(l.value) + "\u0000";
  return key;
}

function sameRecord(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>) {
  const ka = Object.keys(a), kb = Object.keys(b);
  return ka.length === kb.length && ka.every((k) => b[k] === a[k]);
}

/** Reads `stream.pb` if present and checks it names the same labels; reports whether it exists. */
async function checkStream(
  bucket: Bucket,
  hash: bigint,
  externalLabels: Readonly<Record<string, string>>,
  signal?: AbortSignal,
): Promise<boolean> {
  const key = streamFileKey(hash);
  let data: Uint8Array;
  try {
    data = await bucket.get(key, signal);
  } catch (err) {
    if (isObjectNotFound(err)) return false;
    throw err;
  }
  const existing = decodeStreamDescriptor(data, key);
  if (!sameRecord(existing, externalLabels)) {
    throw new StreamConflictError(key, existing, externalLabels);
  }
  return true;
}

/**
 * Converts `day` of the stream with `externalLabels` from `sources` (whose ids, TSDB block ULIDs,
 * are recorded in `meta.pb`) into `bucket`. Shard files are streamed; `meta.pb` is uploaded only
 * after all of them succeeded.
 */
export async function convertDay(
  bucket: Bucket,
  day: Day,
  externalLabels: Readonly<Record<string, string>>,
  sources: readonly SeriesSource[],
  options: ConvertOptions,
): Promise<ConvertResult> {
  for (const s of sources) {
    if (!ULID_RE.test(s.id)) {
      throw new RangeError(`source id ${JSON.stringify(s.id)} is not a ULID`);
    }
  }
  const hash = externalLabelsHash(externalLabels);
  const signal = options.signal;
  const haveStream = await checkStream(bucket, hash, externalLabels, signal);
  const sortLabels = options.sortLabels ?? ["__name__"];

  // Pass 1: a key per series overlapping the day, sorted, equal label sets merged. Only the
  // label names are kept besides, to size the shards' schemas.
  const entries: Entry[] = [];
  const names = new Map<string, string[]>();
  for (let s = 0; s < sources.length; s++) {
    for await (const series of sources[s].series()) {
      signal?.throwIfAborted();
      if (series.maxTime < day.start || series.minTime >= day.end) continue;
      // Series share few distinct name lists: keep each once.
      const n = series.labels.map((l) => l.name);
      const nk = n.join("\u0000");
      let shared = names.get(nk);
      if (!shared) names.set(nk, shared = n);
      entries.push({
        key: sortKey(series.labels, sortLabels),
        names: shared,
        refs: [{ source: s, ref: series.ref }],
      });
    }
  }
  entries.sort((a, b) => compareStrings(a.key, b.key));
  const series: Entry[] = [];
  for (const e of entries) {
    const last = series.at(-1);
    if (last && last.key === e.key) last.refs.push(...e.refs);
    else series.push(e);
  }
  if (series.length === 0) throw new NoSeriesError(day.date);
  options.onSeriesCounted?.(series.length);

  // Shards: row count and column count bounded.
  const maxRows = options.numRowGroups * options.rowGroupSize;
  const maxColumns = options.maxColumns ?? MAX_COLUMNS;
  if (!Number.isSafeInteger(maxRows) || maxRows < 1) {
    throw new RangeError(`invalid shard size ${options.numRowGroups} x ${options.rowGroupSize}`);
  }
  const shards: { start: number; end: number; names: Set<string> }[] = [];
  let current = { start: 0, end: 0, names: new Set<string>() };
  for (let i = 0; i < series.length; i++) {
    const names = series[i].names;
    const added = names.filter((n) => !current.names.has(n)).length;
    const full = current.end - current.start >= maxRows ||
      current.names.size + added + NON_LABEL_COLUMNS >= maxColumns;
    if (full && current.end > current.start) {
      shards.push(current);
      current = { start: i, end: i, names: new Set() };
    }
    for (const n of names) current.names.add(n);
    current.end = i + 1;
  }
  shards.push(current);

  // Pass 2: write the shards, `writeConcurrency` at a time; the first failure stops the others.
  let rows = 0;
  const date = day.date;
  const failure = new AbortController();
  const stop = signal ? AbortSignal.any([signal, failure.signal]) : failure.signal;
  const writeShard = async (s: number) => {
    const shard = shards[s];
    const writer = new ShardWriter(
      bucket,
      labelsFileKey(hash, date, s),
      chunksFileKey(hash, date, s),
      shard.names,
      {
        rowGroupSize: options.rowGroupSize,
        // A row group's chunk bytes are buffered until it is cut; with several shards written
        // at once this cap is what bounds the converter's memory.
        maxRowGroupBytes: CONVERT_MAX_ROW_GROUP_BYTES,
        sortingLabels: sortLabels,
        zstdLevel: options.zstdLevel,
      },
    );
    let unreported = 0;
    try {
      for (let i = shard.start; i < shard.end; i++) {
        if (++unreported === 256) {
          options.onProgress?.(unreported);
          unreported = 0;
        }
        stop.throwIfAborted();
        const e = series[i];
        const data = await Promise.all(e.refs.map((r) => sources[r.source].read(r.ref)));
        const name = `${sources[e.refs[0].source].id} series ${e.refs[0].ref}`;
        for (const d of data) {
          if (sortKey(d.labels, sortLabels) !== e.key) {
            throw new SourceChangedError(name, "labels differ from the first read");
          }
        }
        const columns = dayChunkColumns(data.flatMap((d) => d.chunks), day, {
          recompress: options.recompress ?? false,
          source: name,
        });
        if (columns) await writer.append({ labels: data[0].labels, chunks: columns });
      }
      // Await first: `rows += await ...` would read `rows` before other shards add to it.
      const written = (await writer.close()).rows;
      rows += written;
      if (unreported > 0) options.onProgress?.(unreported);
    } catch (err) {
      failure.abort(err);
      await writer.abort(err instanceof Error ? err : new Error(String(err)));
      throw err;
    }
  };
  let next = 0;
  const workers = Array.from(
    { length: Math.max(1, Math.min(options.writeConcurrency ?? 1, shards.length)) },
    async () => {
      while (next < shards.length && !stop.aborted) await writeShard(next++);
    },
  );
  const settled = await Promise.allSettled(workers);
  // Report the failure that stopped the others, not the aborts it caused.
  if (failure.signal.aborted) throw failure.signal.reason;
  for (const r of settled) if (r.status === "rejected") throw r.reason;
  // Series can overlap the day yet have no sample in it (a chunk spanning it): nothing to commit.
  if (rows === 0) throw new NoSeriesError(day.date);

  signal?.throwIfAborted();
  await bucket.upload(
    metaFileKey(hash, date),
    encodeBlockMeta({
      version: WRITE_VERSION,
      mint: day.start,
      maxt: day.end,
      shards: shards.length,
      columnsForName: new Map(),
      convertedFromBLIDs: sources.map((s) => s.id),
    }),
    undefined,
    signal,
  );
  if (!haveStream) {
    await bucket.upload(
      streamFileKey(hash),
      encodeStreamDescriptor(externalLabels),
      undefined,
      signal,
    );
  }
  return { hash, shards: shards.length, rows };
}
