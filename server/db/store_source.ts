/**
 * The Thanos Store API's view of the Parquet data: series with their chunks exactly as stored in
 * the chunk columns (no decoding and re-encoding), which is what a querier expects from a store
 * and keeps native histogram chunks intact. Parts of one series found in several shards or days
 * are concatenated in time order, as the Go gateway does.
 *
 * @module
 */
import type { Queryable } from "../../model/queryable.ts";
import type { Series } from "../../model/series.ts";
import { chunkSource, type RawChunk, type StoreSource } from "../grpc/thanos/source.ts";
import { ChunkSeries, MergedSeries } from "./series.ts";

function collectChunks(s: Series, out: RawChunk[]): void {
  if (s instanceof ChunkSeries) {
    for (const c of s.chunks) {
      out.push({ encoding: c.encoding, minTime: c.minT, maxTime: c.maxT, data: c.data });
    }
  } else if (s instanceof MergedSeries) {
    for (const p of s.parts) collectChunks(p, out);
  } else {
    throw new TypeError("series is not backed by Parquet chunks");
  }
}

function sameChunk(a: RawChunk, b: RawChunk): boolean {
  if (a.minTime !== b.minTime || a.maxTime !== b.maxTime || a.encoding !== b.encoding) return false;
  if (a.data.length !== b.data.length) return false;
  for (let i = 0; i < a.data.length; i++) if (a.data[i] !== b.data[i]) return false;
  return true;
}

/** Chunks of `s` overlapping `[start, end]`, by min time, identical duplicates dropped. */
export function storedChunks(s: Series, start: number, end: number): RawChunk[] {
  const all: RawChunk[] = [];
  collectChunks(s, all);
  const kept = all.filter((c) => c.maxTime >= start && c.minTime <= end)
    .sort((a, b) => a.minTime - b.minTime || a.maxTime - b.maxTime);
  const out: RawChunk[] = [];
  for (const c of kept) if (out.length === 0 || !sameChunk(out[out.length - 1], c)) out.push(c);
  return out;
}

/** A Store API source over a Parquet-backed {@linkcode Queryable} (one per request). */
export function parquetStoreSource(queryable: Queryable): StoreSource {
  return chunkSource(queryable, storedChunks);
}
