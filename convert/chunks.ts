/**
 * Turns one series' raw chunks from its source blocks into the three chunk-column values of a
 * day's row: drop duplicates, merge overlapping float chunks, trim chunks to the day, optionally
 * re-cut float chunks at the 8h column boundaries, and place each chunk by its min time.
 *
 * Days are half-open (`[midnight, next midnight)`): a sample at exactly midnight belongs to one day
 * only (the Go gateway stores it in both).
 *
 * @module
 */
import { ValueType } from "../engine/series.ts";
import {
  ChunkEncoding,
  encodeChunkColumn,
  type RawChunk,
} from "../storage/parquet/chunk_column.ts";
import {
  CHUNK_COLUMN_LENGTH_MS,
  CHUNK_COLUMNS_PER_DAY,
  chunkColumnForTime,
} from "../storage/parquet/schema.ts";
import { XorChunkEncoder, XorIterator } from "../storage/tsdb/xor.ts";
import type { Day } from "./days.ts";

/** Samples per chunk when float chunks are re-encoded (Prometheus' compaction target). */
export const SAMPLES_PER_CHUNK = 120;

/** Options of {@linkcode dayChunkColumns}. */
export interface ChunkColumnsOptions {
  /** Re-cut float chunks that cross an 8h column boundary so each lands in its own column. */
  readonly recompress: boolean;
  /** Names the series in errors. */
  readonly source?: string;
}

/**
 * Decoded float samples. Values live in a Float64Array: V8 canonicalises NaNs stored into plain
 * arrays of doubles, which would turn Prometheus' stale marker (a signalling NaN) into a quiet one.
 */
class Samples {
  ts = new Float64Array(128);
  vs = new Float64Array(128);
  length = 0;

  push(t: number, v: number): void {
    if (this.length === this.ts.length) {
      const ts = new Float64Array(this.length * 2), vs = new Float64Array(this.length * 2);
      ts.set(this.ts);
      vs.set(this.vs);
      this.ts = ts;
      this.vs = vs;
    }
    this.ts[this.length] = t;
    this.vs[this.length++] = v;
  }

  /** Appends sample `i` of `from`, copying the value between typed arrays (bits preserved). */
  pushFrom(from: Samples, i: number): void {
    this.push(from.ts[i], 0);
    this.vs[this.length - 1] = from.vs[i];
  }
}

function decodeXor(c: RawChunk, source: string, from: number, to: number, out: Samples): void {
  const it = new XorIterator(c.data, source);
  while (it.next() !== ValueType.None) {
    const t = it.atT();
    if (t >= from && t < to) out.push(t, it.atFloat());
  }
}

/** Encodes samples (ascending, unique timestamps) into XOR chunks of at most `perChunk` samples. */
function encodeXor(s: Samples, perChunk: number, out: RawChunk[]): void {
  for (let i = 0; i < s.length; i += perChunk) {
    const enc = new XorChunkEncoder();
    const end = Math.min(i + perChunk, s.length);
    for (let j = i; j < end; j++) enc.append(s.ts[j], s.vs[j]);
    out.push({
      encoding: ChunkEncoding.XOR,
      minT: s.ts[i],
      maxT: s.ts[end - 1],
      data: enc.bytes(),
    });
  }
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
 * Merges time-overlapping float chunks sample by sample (the first chunk in min-time order wins
 * on equal timestamps) and trims float chunks to `[from, to)`, re-encoding only what changes.
 * Histogram chunks are passed through whole.
 */
function mergeAndTrim(chunks: RawChunk[], from: number, to: number, source: string): RawChunk[] {
  const out: RawChunk[] = [];
  let i = 0;
  while (i < chunks.length) {
    const c = chunks[i];
    if (c.encoding !== ChunkEncoding.XOR) {
      out.push(c);
      i++;
      continue;
    }
    // Gather the run of float chunks overlapping c (transitively).
    let j = i + 1;
    let maxT = c.maxT;
    while (
      j < chunks.length && chunks[j].encoding === ChunkEncoding.XOR && chunks[j].minT <= maxT
    ) {
      maxT = Math.max(maxT, chunks[j].maxT);
      j++;
    }
    if (j === i + 1 && c.minT >= from && c.maxT < to) {
      out.push(c); // untouched: byte for byte
      i++;
      continue;
    }
    const merged = new Samples();
    if (j === i + 1) {
      decodeXor(c, source, from, to, merged);
    } else {
      const parts = chunks.slice(i, j).map((p) => {
        const s = new Samples();
        decodeXor(p, source, from, to, s);
        return s;
      });
      const pos = parts.map(() => 0);
      while (true) {
        let best = -1;
        for (let k = 0; k < parts.length; k++) {
          if (
            pos[k] < parts[k].length &&
            (best < 0 || parts[k].ts[pos[k]] < parts[best].ts[pos[best]])
          ) {
            best = k;
          }
        }
        if (best < 0) break;
        const t = parts[best].ts[pos[best]];
        merged.pushFrom(parts[best], pos[best]);
        for (let k = 0; k < parts.length; k++) {
          while (pos[k] < parts[k].length && parts[k].ts[pos[k]] === t) pos[k]++;
        }
      }
    }
    encodeXor(merged, SAMPLES_PER_CHUNK, out);
    i = j;
  }
  return out;
}

/** Splits a float chunk at the 8h boundaries of the day it lies in; other chunks pass through. */
function recut(c: RawChunk, day: Day, source: string, out: RawChunk[]): void {
  const first = chunkColumnForTime(c.minT), last = chunkColumnForTime(c.maxT);
  if (c.encoding !== ChunkEncoding.XOR || c.maxT >= day.end || first === last) {
    out.push(c);
    return;
  }
  for (let col = first; col <= last; col++) {
    const s = new Samples();
    decodeXor(
      c,
      source,
      day.start + col * CHUNK_COLUMN_LENGTH_MS,
      day.start + (col + 1) * CHUNK_COLUMN_LENGTH_MS,
      s,
    );
    if (s.length > 0) encodeXor(s, s.length, out);
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
  for (const c of kept) {
    // A histogram chunk reaching back into the previous day starts the day's first window.
    columns[c.minT < day.start ? 0 : chunkColumnForTime(c.minT)].push(c);
  }
  return columns.map(encodeChunkColumn);
}
