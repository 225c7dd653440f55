/**
 * What the Store API needs from storage: series labels with their raw chunks in a time range,
 * plus label names and values. A Parquet reader can hand over stored chunk bytes unchanged;
 * {@linkcode queryableSource} adapts any engine {@linkcode Queryable} by re-encoding its float
 * samples into XOR chunks.
 *
 * @module
 */
import type { Labels } from "../../../engine/labels.ts";
import type { Matcher } from "../../../engine/matchers.ts";
import type {
  LabelHints,
  Queryable,
  SelectHints,
  StringsResult,
} from "../../../engine/queryable.ts";
import { ValueType } from "../../../engine/series.ts";
import { XorChunkEncoder } from "../../../storage/tsdb/xor.ts";

/** Prometheus chunk encodings (`chunkenc.Encoding`) a store may hand over. */
export const ChunkEncoding = {
  XOR: 1,
  Histogram: 2,
  FloatHistogram: 3,
} as const;

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

/** The storage contract of the Store API. */
export interface StoreSource {
  /**
   * Selects series matching all matchers with data in `[hints.start, hints.end]`.
   * With `hints.func === "series"` chunks may be left out.
   */
  selectChunks(
    matchers: readonly Matcher[],
    hints: SelectHints,
    signal?: AbortSignal,
  ): Promise<ChunkSeriesSet>;
  /** Label names of matching series. */
  labelNames(
    matchers: readonly Matcher[],
    hints: LabelHints,
    signal?: AbortSignal,
  ): Promise<StringsResult>;
  /** Values of label `name` over matching series. */
  labelValues(
    name: string,
    matchers: readonly Matcher[],
    hints: LabelHints,
    signal?: AbortSignal,
  ): Promise<StringsResult>;
}

/** Samples per re-encoded chunk, as in Prometheus' head (`DefaultSamplesPerChunk`). */
const SAMPLES_PER_CHUNK = 120;

const HISTOGRAM_WARNING =
  "native histogram samples are not served by this store (no histogram chunk encoder)";

/**
 * Adapts a {@linkcode Queryable}: each series' samples in the range are re-encoded into XOR
 * chunks of up to 120 samples, lazily while the series are streamed. Histogram samples cannot
 * be re-encoded here and are skipped with a warning.
 */
export function queryableSource(queryable: Queryable): StoreSource {
  return {
    async selectChunks(matchers, hints, signal) {
      const set = await queryable.select(matchers, hints, signal);
      const warnings = [...set.warnings];
      const skipChunks = hints.func === "series";
      function* series(): Generator<ChunkSeries> {
        let warned = false;
        for (const s of set.series) {
          signal?.throwIfAborted();
          if (skipChunks) {
            yield { labels: s.labels, chunks: [] };
            continue;
          }
          const chunks: RawChunk[] = [];
          let enc: XorChunkEncoder | null = null;
          let minT = 0;
          let maxT = 0;
          const it = s.iterator();
          for (let vt = it.seek(hints.start); vt !== ValueType.None; vt = it.next()) {
            const t = it.atT();
            if (t > hints.end) break;
            if (vt !== ValueType.Float) {
              if (!warned) warnings.push(HISTOGRAM_WARNING);
              warned = true;
              continue;
            }
            if (enc === null) {
              enc = new XorChunkEncoder();
              minT = t;
            }
            enc.append(t, it.atFloat());
            maxT = t;
            if (enc.numSamples === SAMPLES_PER_CHUNK) {
              chunks.push({
                encoding: ChunkEncoding.XOR,
                minTime: minT,
                maxTime: maxT,
                data: enc.bytes(),
              });
              enc = null;
            }
          }
          if (enc !== null) {
            chunks.push({
              encoding: ChunkEncoding.XOR,
              minTime: minT,
              maxTime: maxT,
              data: enc.bytes(),
            });
          }
          if (chunks.length > 0) yield { labels: s.labels, chunks };
        }
      }
      return { series: series(), warnings };
    },
    labelNames: (matchers, hints, signal) => queryable.labelNames(matchers, hints, signal),
    labelValues: (name, matchers, hints, signal) =>
      queryable.labelValues(name, matchers, hints, signal),
  };
}
