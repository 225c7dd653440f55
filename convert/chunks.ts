/**
 * Turns one series' raw chunks from its source blocks into the three chunk-column values of a
 * day's row: drop duplicates, merge overlapping chunks, trim chunks to the day, optionally
 * re-cut chunks at the 8h column boundaries, and place each chunk by its min time.
 *
 * Days are half-open (`[midnight, next midnight)`): a sample at exactly midnight belongs to one day
 * only (the Go gateway stores it in both).
 *
 * @module
 */
import { encodeChunkColumn, type RawChunk } from "../storage/parquet/chunk_column.ts";
import {
  CHUNK_COLUMN_LENGTH_MS,
  CHUNK_COLUMNS_PER_DAY,
  chunkColumnForTime,
} from "../storage/parquet/schema.ts";
import { filterChunk, mergeChunks } from "./rechunk.ts";
import type { Day } from "../storage/parquet/days.ts";

/** Options of {@linkcode dayChunkColumns}. */
export interface ChunkColumnsOptions {
  /** Re-cut chunks that cross an 8h column boundary so each piece lands in its own column. */
  readonly recompress: boolean;
  /** Names the series in errors. */
  readonly source?: string;
}

/** Every Prometheus chunk encoding starts with a 2-byte big-endian sample count. */
function sampleCount(c: RawChunk): number {
  return c.data.length < 2 ? 0 : (c.data[0] << 8) | c.data[1];
}

function sameChunk(a: RawChunk, b: RawChunk): boolean {
  if (a.encoding !== b.encoding || a.minT !== b.minT || a.maxT !== b.maxT) return false;
  if (a.data.length !== b.data.length) return false;
  for (let i = 0; i < a.data.length; i++) if (a.data[i] !== b.data[i]) return false;
  return true;
}

/**
 * Merges runs of time-overlapping chunks sample by sample (see {@linkcode mergeChunks}) and trims
 * every chunk to `[from, to)`, re-encoding only what changes.
 */
function mergeAndTrim(chunks: RawChunk[], from: number, to: number, source: string): RawChunk[] {
  const out: RawChunk[] = [];
  const inDay = (t: number) => t >= from && t < to;
  let i = 0;
  while (i < chunks.length) {
    const c = chunks[i];
    // Gather the run of chunks overlapping c (transitively).
    let j = i + 1;
    let maxT = c.maxT;
    while (j < chunks.length && chunks[j].minT <= maxT) {
      maxT = Math.max(maxT, chunks[j].maxT);
      j++;
    }
    if (j === i + 1) {
      // Untouched chunks pass byte for byte.
      if (c.minT >= from && c.maxT < to) out.push(c);
      else out.push(...filterChunk(c, inDay, source));
    } else {
      out.push(...mergeChunks(chunks.slice(i, j), inDay, source));
    }
    i = j;
  }
  return out;
}

/** Splits a chunk at the 8h boundaries of the day (chunks already lie within the day). */
function recut(c: RawChunk, day: Day, source: string, out: RawChunk[]): void {
  const first = chunkColumnForTime(c.minT), last = chunkColumnForTime(c.maxT);
  if (first === last) {
    out.push(c);
    return;
  }
  for (let col = first; col <= last; col++) {
    const from = day.start + col * CHUNK_COLUMN_LENGTH_MS;
    const to = from + CHUNK_COLUMN_LENGTH_MS;
    out.push(...filterChunk(c, (t) => t >= from && t < to, source));
  }
}

/**
 * The three chunk-column values of a series for `day`, from the chunks of all its source blocks
 * (any order). Returns `undefined` when no chunk has data in the day.
 */
export function dayChunkColumns(
  chunks: readonly RawChunk[],
  day: Day,
  options: ChunkColumnsOptions,
): Uint8Array[] | undefined {
  const source = options.source ?? "series";
  const sorted = chunks
    .filter((c) => c.maxT >= day.start && c.minT < day.end && sampleCount(c) > 0)
    .sort((a, b) => a.minT - b.minT || a.maxT - b.maxT);
  const unique: RawChunk[] = [];
  for (const c of sorted) {
    if (!unique.some((u) => u.minT === c.minT && sameChunk(u, c))) unique.push(c);
  }
  let kept = mergeAndTrim(unique, day.start, day.end, source);
  if (options.recompress) {
    const cut: RawChunk[] = [];
    for (const c of kept) recut(c, day, source, cut);
    kept = cut;
  }
  if (kept.length === 0) return undefined;
  const columns: RawChunk[][] = Array.from({ length: CHUNK_COLUMNS_PER_DAY }, () => []);
  for (const c of kept) columns[chunkColumnForTime(c.minT)].push(c);
  return columns.map(encodeChunkColumn);
}
