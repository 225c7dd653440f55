/**
 * What the Store API needs from storage: series labels with their raw chunks in a time range,
 * plus label names and values. A Parquet reader can hand over stored chunk bytes unchanged;
 * {@linkcode queryableSource} adapts any engine {@linkcode Queryable} by re-encoding its
 * samples into XOR and float histogram chunks.
 *
 * @module
 */
import type { Labels } from "../../../model/labels.ts";
import type { Matcher } from "../../../model/matchers.ts";
import type { Queryable, SelectHints } from "../../../model/queryable.ts";
import { type SampleIterator, type Series, ValueType } from "../../../model/series.ts";
import { eachSeries } from "../../../model/series_set.ts";
import { ChunkEncodeError } from "../../../storage/tsdb/errors.ts";
import { FloatHistogramChunkEncoder } from "../../../storage/tsdb/float_histogram.ts";
import { XorChunkEncoder } from "../../../storage/tsdb/xor.ts";

import { Encoding as ChunkEncoding } from "../../../storage/tsdb/chunks_reader.ts";

/** Prometheus chunk encodings (`chunkenc.Encoding`) a store may hand over. */
export { ChunkEncoding };

/** A chunk as stored: its Prometheus encoding, inclusive time range and `Chunk.Bytes()`. */
export interface RawChunk {
  /** Prometheus encoding number (1 XOR, 2 histogram, 3 float histogram). */
  readonly encoding: number;
  /** First sample time, ms. */
  readonly minTime: number;
  /** Last sample time, ms. */
  readonly maxTime: number;
  /** The chunk bytes, starting with the 2-byte sample count. */
  readonly data: Uint8Array;
}

/** One series with the chunks that overlap the requested range, sorted by `minTime`. */
export interface ChunkSeries {
  /** The series labels, sorted, without external labels. */
  readonly labels: Labels;
  /** Its chunks (empty when the request skips chunks). */
  readonly chunks: readonly RawChunk[];
}

/** The result of a chunk selection. */
export interface ChunkSeriesSet {
  /** Series sorted by labels, each label set once; consumed once. */
  readonly series: AsyncIterable<ChunkSeries> | Iterable<ChunkSeries>;
  /** Warnings to pass on; complete once `series` is exhausted. */
  readonly warnings: string[];
}

/** The storage contract of the Store API: chunks, plus a Queryable's label lookups. */
export interface StoreSource extends Pick<Queryable, "labelNames" | "labelValues"> {
  /**
   * Selects series matching all matchers with data in `[hints.start, hints.end]`.
   * With `hints.func === "series"` chunks may be left out.
   */
  selectChunks(
    matchers: readonly Matcher[],
    hints: SelectHints,
    signal?: AbortSignal,
  ): Promise<ChunkSeriesSet>;
}

/** Samples per re-encoded chunk, as in Prometheus' head (`DefaultSamplesPerChunk`). */
const SAMPLES_PER_CHUNK = 120;

/** A chunk being built: XOR for floats, float histogram for histograms. */
interface OpenChunk {
  encoding: number;
  enc: XorChunkEncoder | FloatHistogramChunkEncoder;
  minT: number;
  maxT: number;
}

/**
 * Re-encodes the samples of `[start, end]` into chunks of up to 120 samples: XOR chunks for
 * floats, float histogram chunks for histograms. A new chunk starts where the sample type
 * changes or where the histogram encoder refuses a sample (layout change, counter reset), as
 * Prometheus' appender does.
 */
export function encodeChunks(it: SampleIterator, start: number, end: number): RawChunk[] {
  const chunks: RawChunk[] = [];
  let open: OpenChunk | null = null;
  const close = () => {
    if (open) {
      const { encoding, minT, maxT, enc } = open;
      chunks.push({ encoding, minTime: minT, maxTime: maxT, data: enc.bytes() });
    }
    open = null;
  };
  for (let vt = it.seek(start); vt !== ValueType.None; vt = it.next()) {
    const t = it.atT();
    if (t > end) break;
    const encoding = vt === ValueType.Float ? ChunkEncoding.XOR : ChunkEncoding.FloatHistogram;
    if (
      open !== null && (open.encoding !== encoding || open.enc.numSamples === SAMPLES_PER_CHUNK)
    ) {
      close();
    }
    const fresh = (): OpenChunk => ({
      encoding,
      enc: encoding === ChunkEncoding.XOR
        ? new XorChunkEncoder()
        : new FloatHistogramChunkEncoder(),
      minT: t,
      maxT: t,
    });
    open ??= fresh();
    if (open.enc instanceof XorChunkEncoder) open.enc.append(t, it.atFloat());
    else {
      const h = it.atFloatHistogram();
      try {
        open.enc.append(t, h);
      } catch (e) {
        if (!(e instanceof ChunkEncodeError) || open.enc.numSamples === 0) throw e;
        close();
        open = fresh();
        (open.enc as FloatHistogramChunkEncoder).append(t, h);
      }
    }
    open.maxT = t;
  }
  close();
  return chunks;
}

/**
 * Adapts a {@linkcode Queryable}: each series' samples in the range are re-encoded into chunks
 * ({@linkcode encodeChunks}) lazily while the series are streamed.
 */
export function queryableSource(queryable: Queryable): StoreSource {
  return chunkSource(queryable, (s, start, end) => encodeChunks(s.iterator(), start, end));
}

/**
 * A {@linkcode StoreSource} over `queryable` whose series get their chunks in `[start, end]`
 * from `chunksOf` as they are streamed; series without any are left out, and a `series` hint
 * (`skip_chunks`) gives every series with no chunks.
 */
export function chunkSource(
  queryable: Queryable,
  chunksOf: (s: Series, start: number, end: number) => RawChunk[],
): StoreSource {
  return {
    selectChunks(matchers, hints, signal) {
      const set = queryable.select(matchers, hints, signal);
      const warnings: string[] = [];
      const skipChunks = hints.func === "series";
      async function* series(): AsyncGenerator<ChunkSeries> {
        try {
          for await (const s of eachSeries(set)) {
            signal?.throwIfAborted();
            if (skipChunks) {
              yield { labels: s.labels, chunks: [] };
              continue;
            }
            const chunks = chunksOf(s, hints.start, hints.end);
            if (chunks.length > 0) yield { labels: s.labels, chunks };
          }
        } finally {
          // Complete once the set ended or was closed (a consumer may stop early).
          warnings.push(...set.warnings());
        }
      }
      return Promise.resolve({ series: series(), warnings });
    },
    labelNames: (matchers, hints, signal) => queryable.labelNames(matchers, hints, signal),
    labelValues: (name, matchers, hints, signal) =>
      queryable.labelValues(name, matchers, hints, signal),
  };
}
