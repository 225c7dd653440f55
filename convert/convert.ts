/**
 * Converts one UTC day of one stream into a gateway Parquet block (gateway.md 3.6), in memory
 * bounded by the options, whatever the number of series:
 *
 * 1. merge the series of all sources overlapping the day in row order (`series_order.ts`: the
 *    sort labels, then all labels; really sorted, unlike the Go converter whose rows follow
 *    index order): blocks list theirs in that order from their postings, other sources are
 *    sorted with a buffer that spills runs to `tempDir`; equal label sets across sources are
 *    one series. Each series' source references go to a temporary file, and shards are cut
 *    at most `numRowGroups * rowGroupSize` rows and fewer than 32767 columns;
 * 2. per shard, read the references back, fetch each series' chunks, build its chunk columns
 *    and stream both files;
 * 3. upload `meta.pb` (the commit marker: any failure before leaves no `meta.pb`), then
 *    `stream.pb` if the stream has none yet.
 *
 * @module
 */
import { labelsEqual } from "../model/labels.ts";
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
import { type ChunksCodec, ShardWriter } from "../storage/parquet/writer.ts";
import { dayChunkColumns } from "./chunks.ts";
import type { Day } from "../storage/parquet/days.ts";
import type { SeriesData, SeriesSource, SourceSeries } from "./source.ts";
import { RecordDecoder, RecordEncoder, SpillReader, SpillWriter } from "./_spill_file.ts";
import { mergeSeries } from "./merge.ts";
import { compareSeries, type SortEntry } from "./series_order.ts";
import { SpillSorter } from "./spill_sort.ts";

/** Most columns a Parquet file may have (parquet-go's limit, kept for compatibility). */
export const MAX_COLUMNS = 32767;

/** Default buffered bytes after which the converter cuts a row group early, per shard written. */
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
  /**
   * Buffered bytes of a shard (its rows' labels, counted as `ROW_BUFFER_BYTES` a row; chunk
   * pages spill to `tempDir`) after which a row group is cut before `rowGroupSize` rows
   * (`--convert.rowgroup.max-bytes`, default {@linkcode CONVERT_MAX_ROW_GROUP_BYTES}): with
   * `writeConcurrency`, what bounds the writers' memory.
   */
  readonly maxRowGroupBytes?: number;
  /** Shards written at once (`--convert.write.concurrency`, default 1). */
  readonly writeConcurrency?: number;
  /**
   * Directory of the temporary files: the rows' source references, sort runs and the chunk
   * pages of the row groups being written (`--convert.tempdir`; default the OS temporary
   * directory).
   */
  readonly tempDir?: string;
  /**
   * Bytes of series buffered when sorting sources that cannot list their series in row order,
   * before a sorted run is spilled to `tempDir` (`--convert.sort.buffer-size`, default 64 MiB).
   */
  readonly sortBufferBytes?: number;
  /** zstd level of the shard files. */
  readonly zstdLevel?: number;
  /**
   * Target uncompressed page size of the labels files, bytes (`--convert.label-page-buffer-size`,
   * default {@linkcode DEFAULT_LABEL_PAGE_BYTES}).
   */
  readonly labelPageBytes?: number;
  /**
   * Target uncompressed page size of the chunks files, bytes (`--convert.chunk-page-buffer-size`,
   * default {@linkcode DEFAULT_CHUNK_PAGE_BYTES}).
   */
  readonly chunkPageBytes?: number;
  /** Codec of the chunks files (`--convert.chunk-compression`, default uncompressed). */
  readonly chunksCodec?: ChunksCodec;
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

  const maxRows = options.numRowGroups * options.rowGroupSize;
  const maxColumns = options.maxColumns ?? MAX_COLUMNS;
  if (!Number.isSafeInteger(maxRows) || maxRows < 1) {
    throw new RangeError(`invalid shard size ${options.numRowGroups} x ${options.rowGroupSize}`);
  }
  const sorter = new SpillSorter({
    sortLabels,
    bufferBytes: options.sortBufferBytes,
    tempDir: options.tempDir,
  });
  const plan = await SpillWriter.create(options.tempDir, "convert-rows-");
  let shards: Shard[];
  let rows: number;
  try {
    try {
      shards = await planRows(day, sources, sortLabels, sorter, plan, {
        maxRows,
        maxColumns,
        signal,
      });
    } finally {
      await plan.close();
      await sorter.close();
    }
    const series = shards.reduce((n, s) => n + s.rows, 0);
    if (series === 0) throw new NoSeriesError(day.date);
    options.onSeriesCounted?.(series);
    rows = await writeShards(bucket, hash, day, sources, shards, plan.path, sortLabels, options);
  } finally {
    await Deno.remove(plan.path).catch(() => {});
  }
  // Series can overlap the day yet have no sample in it (a chunk spanning it): nothing to commit.
  if (rows === 0) throw new NoSeriesError(day.date);

  signal?.throwIfAborted();
  await bucket.upload(
    metaFileKey(hash, day.date),
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

/** A shard's rows in the plan file and the label names of its schema. */
interface Shard {
  /** Offset of its first row's record in the plan file. */
  readonly offset: number;
  /** Rows (series) of the shard. */
  rows: number;
  /** Label names occurring in the shard. */
  readonly names: Set<string>;
}

/** The series of one source that overlap `day`, as sort entries. */
function* inDay(series: Iterable<SourceSeries>, day: Day, source: number): Iterable<SortEntry> {
  for (const s of series) {
    if (s.maxTime < day.start || s.minTime >= day.end) continue;
    yield { labels: s.labels, source, ref: s.ref };
  }
}

/**
 * Pass 1: merges the day's series of all sources in row order, writes each series' source
 * references to `plan` (one record per row) and cuts shards of at most `maxRows` rows and
 * fewer than `maxColumns` columns.
 */
async function planRows(
  day: Day,
  sources: readonly SeriesSource[],
  sortLabels: readonly string[],
  sorter: SpillSorter,
  plan: SpillWriter,
  limits: { maxRows: number; maxColumns: number; signal?: AbortSignal },
): Promise<Shard[]> {
  const streams: (Iterable<SortEntry> | AsyncIterable<SortEntry>)[] = [];
  for (let s = 0; s < sources.length; s++) {
    const sorted = sources[s].sortedSeries?.(sortLabels);
    if (sorted) {
      streams.push(inDay(sorted, day, s));
      continue;
    }
    for await (const series of sources[s].series()) {
      limits.signal?.throwIfAborted();
      if (series.maxTime < day.start || series.minTime >= day.end) continue;
      await sorter.add({ labels: series.labels, source: s, ref: series.ref });
    }
  }
  streams.push(...sorter.sortedRuns());

  const shards: Shard[] = [];
  let current: Shard | undefined;
  const rec = new RecordEncoder();
  for await (const m of mergeSeries(streams, sortLabels)) {
    limits.signal?.throwIfAborted();
    let added = 0;
    if (current) { for (const l of m.labels) if (!current.names.has(l.name)) added++; }
    const full = current !== undefined && (current.rows >= limits.maxRows ||
      current.names.size + added + NON_LABEL_COLUMNS >= limits.maxColumns);
    if (!current || full) {
      current = { offset: plan.offset, rows: 0, names: new Set() };
      shards.push(current);
    }
    for (const l of m.labels) current.names.add(l.name);
    current.rows++;
    rec.reset();
    rec.uvarint(m.refs.length);
    for (const r of m.refs) {
      rec.uvarint(r.source);
      rec.ref(r.ref);
    }
    await plan.write(rec.view());
  }
  return shards;
}

/**
 * Pass 2: writes the shards, `writeConcurrency` at a time, reading each one's rows back from
 * the plan file; the first failure stops the others. Returns the rows written.
 */
async function writeShards(
  bucket: Bucket,
  hash: bigint,
  day: Day,
  sources: readonly SeriesSource[],
  shards: readonly Shard[],
  planPath: string,
  sortLabels: readonly string[],
  options: ConvertOptions,
): Promise<number> {
  let rows = 0;
  const date = day.date;
  const failure = new AbortController();
  const signal = options.signal;
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
        // A row group's labels are buffered until it is cut (its chunk pages spill to the
        // tempdir); with several shards written at once this cap is what bounds the writers'
        // memory.
        maxRowGroupBytes: options.maxRowGroupBytes ?? CONVERT_MAX_ROW_GROUP_BYTES,
        spillDir: options.tempDir,
        sortingLabels: sortLabels,
        zstdLevel: options.zstdLevel,
        labelsPageSize: options.labelPageBytes,
        chunksPageSize: options.chunkPageBytes,
        chunksCodec: options.chunksCodec,
      },
    );
    const reader = await SpillReader.open(planPath, shard.offset);
    const dec = new RecordDecoder();
    let unreported = 0;
    let previous: SeriesData | undefined;
    try {
      for (let i = 0; i < shard.rows; i++) {
        if (++unreported === 256) {
          options.onProgress?.(unreported);
          unreported = 0;
        }
        stop.throwIfAborted();
        const rec = await reader.next();
        if (rec === undefined) throw new RangeError(`${planPath}: rows missing`);
        dec.reset(rec);
        const refs: { source: number; ref: number | bigint }[] = [];
        for (let n = dec.uvarint(); n > 0; n--) {
          refs.push({ source: dec.uvarint(), ref: dec.ref() });
        }
        const data = await Promise.all(refs.map((r) => sources[r.source].read(r.ref)));
        const name = `${sources[refs[0].source].id} series ${refs[0].ref}`;
        for (const d of data) {
          if (!labelsEqual(d.labels, data[0].labels)) {
            throw new SourceChangedError(name, "labels differ from the first read");
          }
        }
        if (previous && compareSeries(previous.labels, data[0].labels, sortLabels) >= 0) {
          throw new SourceChangedError(name, "labels differ from the first read");
        }
        previous = data[0];
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
    } finally {
      reader.close();
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
  return rows;
}
