/**
 * Test fixtures: real gateway Parquet days written with the project's shard writer into a
 * FILESYSTEM bucket from series given as plain sample arrays, and the expected query answers
 * computed from those arrays (independently of any Parquet code).
 *
 * @module
 */
import { parquetMetadata, readOffsetIndex } from "hyparquet";
import type { Registry } from "prom-client";
import { compareLabels, type Labels, labelsFromRecord, setLabel } from "../../model/labels.ts";
import { type Matcher, matchesAll } from "../../model/matchers.ts";
import { ValueType } from "../../model/series.ts";
import type { Series } from "../../model/series.ts";
import type { Bucket } from "../../storage/objstore/bucket.ts";
import { encodeChunkColumn, type RawChunk } from "../../storage/parquet/chunk_column.ts";
import { externalLabelsHash } from "../../storage/parquet/hash.ts";
import {
  chunksFileKey,
  labelsFileKey,
  metaFileKey,
  streamFileKey,
} from "../../storage/parquet/layout.ts";
import { encodeBlockMeta, encodeStreamDescriptor } from "../../storage/parquet/meta.ts";
import { chunkColumnForTime } from "../../storage/parquet/schema.ts";
import { ShardWriter } from "../../storage/parquet/writer.ts";
import { XorChunkEncoder } from "../../storage/tsdb/xor.ts";
import { NOP_LOGGER } from "../../internal/log.ts";
import { ParquetDiscoverer } from "../../storage/parquet/discovery.ts";
import { LocalLabelFileStore } from "./label_files.ts";
import { Syncer, type SyncerOptions } from "./syncer.ts";

/** A test series: labels and float samples in time order. */
export interface TestSeries {
  labels: Labels;
  ts: number[];
  vs: number[];
}

/** Prometheus cuts head chunks at 120 samples and at 2h-aligned boundaries. */
const CHUNK_RANGE = 2 * 3_600_000;

/** Encodes samples into XOR chunks, cut like Prometheus' head (120 samples, 2h boundaries). */
export function toChunks(s: TestSeries): RawChunk[] {
  const out: RawChunk[] = [];
  let enc: XorChunkEncoder | undefined;
  let minT = 0, maxT = 0, window = NaN;
  const flush = () => {
    if (enc && enc.numSamples > 0) out.push({ encoding: 1, minT, maxT, data: enc.bytes() });
    enc = undefined;
  };
  for (let i = 0; i < s.ts.length; i++) {
    const t = s.ts[i];
    const w = Math.floor(t / CHUNK_RANGE);
    if (!enc || enc.numSamples >= 120 || w !== window) {
      flush();
      enc = new XorChunkEncoder();
      minT = t;
      window = w;
    }
    enc.append(t, s.vs[i]);
    maxT = t;
  }
  flush();
  return out;
}

/** Options of {@linkcode writeDay}. */
export interface DayFixture {
  /** Stream external labels (`{}` for hash 0). */
  ext: Record<string, string>;
  /** `YYYY-MM-DD`. */
  date: string;
  /** Series per shard (samples outside the day are dropped). */
  shards: TestSeries[][];
  /** Rows per row group. */
  rowGroupSize?: number;
  /** Labels-file page size (small values force many pages). */
  labelsPageSize?: number;
  /** Chunks-file page size. */
  chunksPageSize?: number;
  /** Version declared in `meta.pb` (default 2; the files always have the V2 layout). */
  version?: number;
  /** `columnsForName` declared in `meta.pb` (V0). */
  columnsForName?: Map<string, string[]>;
}

/** Writes one day (shards, `meta.pb`, `stream.pb`) and returns the stream hash. */
export async function writeDay(bucket: Bucket, f: DayFixture): Promise<bigint> {
  const hash = externalLabelsHash(f.ext);
  const dayStart = Date.parse(`${f.date}T00:00:00Z`);
  const dayEnd = dayStart + 86_400_000;
  for (const [i, series] of f.shards.entries()) {
    const rows = series
      .map((s) => {
        const keep = s.ts.map((t, j) => [t, s.vs[j]]).filter(([t]) => t >= dayStart && t < dayEnd);
        return { labels: s.labels, ts: keep.map((x) => x[0]), vs: keep.map((x) => x[1]) };
      })
      .filter((s) => s.ts.length > 0)
      .sort((a, b) => compareLabels(a.labels, b.labels));
    const w = new ShardWriter(
      bucket,
      labelsFileKey(hash, f.date, i),
      chunksFileKey(hash, f.date, i),
      rows.flatMap((s) => s.labels.map((l) => l.name)),
      {
        rowGroupSize: f.rowGroupSize ?? 1000,
        labelsPageSize: f.labelsPageSize,
        chunksPageSize: f.chunksPageSize,
      },
    );
    for (const s of rows) {
      const cols: RawChunk[][] = [[], [], []];
      for (const c of toChunks(s)) cols[chunkColumnForTime(c.minT)].push(c);
      await w.append({ labels: s.labels, chunks: cols.map(encodeChunkColumn) });
    }
    await w.close();
  }
  await bucket.upload(
    metaFileKey(hash, f.date),
    encodeBlockMeta({
      version: f.version ?? 2,
      mint: dayStart,
      maxt: dayEnd,
      shards: f.shards.length,
      columnsForName: f.columnsForName ?? new Map(),
      convertedFromBLIDs: [],
    }),
  );
  if (hash !== 0n) await bucket.upload(streamFileKey(hash), encodeStreamDescriptor(f.ext));
  return hash;
}

/** A series' samples as `[t, v]` pairs, read through its iterator. */
export function samplesOf(s: Series): [number, number][] {
  const it = s.iterator();
  const out: [number, number][] = [];
  while (it.next() === ValueType.Float) out.push([it.atT(), it.atFloat()]);
  return out;
}

/** A stream's series with their external labels applied (external labels win). */
export function withExt(series: TestSeries[], ext: Record<string, string>): TestSeries[] {
  return series.map((s) => {
    let labels = s.labels;
    for (const [k, v] of Object.entries(ext)) labels = setLabel(labels, k, v);
    return { ...s, labels };
  });
}

/**
 * What a select must return over `all` (series with final labels): matching series with their
 * samples in `[mint, maxt]`, equal label sets merged (one sample per timestamp), empty ones
 * dropped, sorted by labels.
 */
export function expectedSelect(
  all: TestSeries[],
  matchers: readonly Matcher[],
  mint: number,
  maxt: number,
): { labels: Labels; samples: [number, number][] }[] {
  const byKey = new Map<string, { labels: Labels; samples: Map<number, number> }>();
  for (const s of all) {
    if (!matchesAll(matchers, s.labels)) continue;
    const key = JSON.stringify(s.labels);
    let e = byKey.get(key);
    if (!e) byKey.set(key, e = { labels: s.labels, samples: new Map() });
    s.ts.forEach((t, i) => {
      if (t >= mint && t <= maxt && !e!.samples.has(t)) e!.samples.set(t, s.vs[i]);
    });
  }
  return [...byKey.values()]
    .filter((e) => e.samples.size > 0)
    .map((e) => ({
      labels: e.labels,
      samples: [...e.samples].sort((a, b) => a[0] - b[0]),
    }))
    .sort((a, b) => compareLabels(a.labels, b.labels));
}

/** Builds a label set from a record. */
export const L = labelsFromRecord;

/**
 * From the file itself (hyparquet, not the gateway's reader): per row group holding any of
 * `rows` (file-absolute), the pages of `column` overlapping them, their bytes, and how many of
 * them also hold other rows (`rows` must be unique).
 */
export async function pagesOverlapping(
  bucket: Bucket,
  key: string,
  column: string,
  rows: number[],
) {
  const file = await bucket.get(key);
  const md = parquetMetadata(file.slice().buffer);
  const c = md.schema.slice(1).findIndex((e) => e.name === column);
  if (c < 0) throw new Error(`no column ${column}`);
  let rowGroups = 0, pages = 0, bytes = 0, straddling = 0, start = 0;
  for (const rg of md.row_groups) {
    const end = start + Number(rg.num_rows);
    const inGroup = rows.filter((r) => r >= start && r < end);
    if (inGroup.length > 0) {
      rowGroups++;
      const ch = rg.columns[c];
      const locs = readOffsetIndex({
        view: new DataView(file.buffer, file.byteOffset + Number(ch.offset_index_offset)),
        offset: 0,
      }).page_locations;
      locs.forEach((p, i) => {
        const from = start + Number(p.first_row_index);
        const to = i + 1 < locs.length ? start + Number(locs[i + 1].first_row_index) : end;
        const held = inGroup.filter((r) => r >= from && r < to).length;
        if (held > 0) {
          pages++;
          bytes += p.compressed_page_size;
          if (held < to - from) straddling++;
        }
      });
    }
    start = end;
  }
  return { rowGroups, pages, bytes, straddling };
}

/** The sum of the series of metric `name` whose labels include `labels`. */
export async function metric(
  registry: Registry,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const m = registry.getSingleMetric(name);
  if (!m) throw new Error(`no metric ${name}`);
  let sum = 0;
  for (const v of (await m.get()).values) {
    const l = v.labels as Record<string, string>;
    if (Object.entries(labels).every(([k, want]) => l[k] === want)) sum += v.value;
  }
  return sum;
}

/**
 * Discovers the streams of `bucket` and syncs their days into a {@linkcode Syncer} keeping its
 * label files under `labelDir`, as serve does at start; `options` add to the syncer's or
 * override them.
 */
export async function syncBucket(
  bucket: Bucket,
  labelDir: string,
  options: Partial<SyncerOptions> = {},
): Promise<Syncer> {
  const discoverer = new ParquetDiscoverer(bucket, { concurrency: 1, logger: NOP_LOGGER });
  await discoverer.discover();
  const syncer = new Syncer({
    bucket,
    streams: () => discoverer.streams,
    labelFiles: new LocalLabelFileStore(bucket, labelDir),
    logger: NOP_LOGGER,
    ...options,
  });
  await syncer.sync();
  return syncer;
}
