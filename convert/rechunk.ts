/**
 * Re-encodes part of a chunk: the samples a predicate keeps, in the chunk's own encoding (XOR,
 * integer histogram or float histogram). Used to trim chunks to a day, to cut them at 8h column
 * boundaries and to drop tombstoned samples. Stale markers are kept bit for bit.
 *
 * @module
 */
import { ChunkEncoding, type RawChunk } from "../storage/parquet/chunk_column.ts";
import { ChunkEncodeError } from "../storage/tsdb/errors.ts";
import {
  FloatHistogramChunkEncoder,
  FloatHistogramIterator,
} from "../storage/tsdb/float_histogram.ts";
import { HistogramChunkEncoder, HistogramIterator } from "../storage/tsdb/histogram.ts";
import { CounterResetHeader } from "../storage/tsdb/histogram_meta.ts";
import { XorChunkEncoder, XorIterator } from "../storage/tsdb/xor.ts";
import type { FloatHistogram, IntHistogram } from "../model/histogram.ts";
import { ValueType } from "../model/series.ts";
import { TsdbFormatError } from "../storage/tsdb/errors.ts";

/** Samples per chunk when float samples are re-encoded (Prometheus' compaction target). */
export const SAMPLES_PER_CHUNK = 120;

// One decoder for every XOR chunk: each decode runs to completion without awaiting, and the
// iterator keeps its sample arrays across resets.
const xorIterator = new XorIterator(new Uint8Array(2));

/**
 * Float samples. Values live in a Float64Array: V8 canonicalises NaNs stored into plain arrays
 * of doubles, which would turn Prometheus' stale marker (a signalling NaN) into a quiet one.
 */
export class FloatSamples {
  /** Timestamps, ms. */
  ts = new Float64Array(128);
  /** Values. */
  vs = new Float64Array(128);
  /** Number of samples. */
  length = 0;

  /** Appends a sample. */
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
  pushFrom(from: FloatSamples, i: number): void {
    this.push(from.ts[i], 0);
    this.vs[this.length - 1] = from.vs[i];
  }

  /** Appends the samples of an XOR chunk whose timestamps `keep` accepts. */
  decode(c: RawChunk, source: string, keep: (t: number) => boolean): void {
    const it = xorIterator.reset(c.data, source);
    while (it.next() !== ValueType.None) {
      const t = it.atT();
      if (keep(t)) this.push(t, it.atFloat());
    }
  }

  /** Encodes the samples (ascending timestamps) into XOR chunks of at most `perChunk` samples. */
  encode(perChunk: number, out: RawChunk[]): void {
    for (let i = 0; i < this.length; i += perChunk) {
      const enc = new XorChunkEncoder();
      const end = Math.min(i + perChunk, this.length);
      for (let j = i; j < end; j++) enc.append(this.ts[j], this.vs[j]);
      out.push({
        encoding: ChunkEncoding.XOR,
        minT: this.ts[i],
        maxT: this.ts[end - 1],
        data: enc.bytes(),
      });
    }
  }
}

/** Re-encodes the samples of a histogram chunk that `keep` accepts, cutting where needed. */
function filterHistograms(
  c: RawChunk,
  source: string,
  keep: (t: number) => boolean,
  out: RawChunk[],
): void {
  const float = c.encoding === ChunkEncoding.FloatHistogram;
  const it = float
    ? new FloatHistogramIterator(c.data, source)
    : new HistogramIterator(c.data, source);
  let enc: HistogramChunkEncoder | FloatHistogramChunkEncoder | undefined;
  let minT = 0, maxT = 0;
  let index = -1;
  const flush = () => {
    if (enc && enc.numSamples > 0) {
      out.push({ encoding: c.encoding, minT, maxT, data: enc.bytes() });
    }
    enc = undefined;
  };
  const append = (t: number) => {
    if (!enc) {
      // A piece starting after the chunk's first sample continues the same counter: no reset
      // precedes it. The first piece and gauge chunks take their header from the first sample.
      const header = index > 0 && it.counterResetHeader !== CounterResetHeader.Gauge
        ? CounterResetHeader.NotCounterReset
        : undefined;
      enc = float
        ? new FloatHistogramChunkEncoder({ header })
        : new HistogramChunkEncoder({ header });
      minT = t;
    }
    if (it.isStale()) enc.appendStale(t);
    else if (enc instanceof HistogramChunkEncoder) {
      enc.append(t, (it as HistogramIterator).atHistogram());
    } else enc.append(t, it.atFloatHistogram());
    maxT = t;
  };
  while (it.next() !== ValueType.None) {
    index++;
    const t = it.atT();
    if (!keep(t)) continue;
    try {
      append(t);
    } catch (err) {
      // Where Prometheus' appender would cut a new chunk (e.g. a layout change), so do we.
      if (!(err instanceof ChunkEncodeError) || !enc || enc.numSamples === 0) throw err;
      flush();
      append(t);
    }
  }
  flush();
}

/**
 * The chunks holding exactly the samples of `c` whose timestamps `keep` accepts, in `c`'s
 * encoding (empty when none is kept). Float samples are re-encoded into one chunk.
 */
export function filterChunk(
  c: RawChunk,
  keep: (t: number) => boolean,
  source = "chunk",
): RawChunk[] {
  const out: RawChunk[] = [];
  switch (c.encoding) {
    case ChunkEncoding.XOR: {
      const s = new FloatSamples();
      s.decode(c, source, keep);
      if (s.length > 0) s.encode(s.length, out);
      return out;
    }
    case ChunkEncoding.Histogram:
    case ChunkEncoding.FloatHistogram:
      filterHistograms(c, source, keep, out);
      return out;
    default:
      throw new TsdbFormatError(source, "encoding", `unsupported chunk encoding ${c.encoding}`);
  }
}

/** Samples of any type, in time order: floats in a typed array (NaN bits kept), histograms aside. */
class MixedSamples {
  readonly floats = new FloatSamples();
  readonly kinds: number[] = [];
  readonly hists: (IntHistogram | FloatHistogram | undefined)[] = [];
  readonly stale: boolean[] = [];

  get length(): number {
    return this.floats.length;
  }

  decode(c: RawChunk, source: string, keep: (t: number) => boolean): void {
    if (c.encoding === ChunkEncoding.XOR) {
      const start = this.length;
      this.floats.decode(c, source, keep);
      for (let i = start; i < this.length; i++) {
        this.kinds.push(ChunkEncoding.XOR);
        this.hists.push(undefined);
        this.stale.push(false);
      }
      return;
    }
    if (c.encoding !== ChunkEncoding.Histogram && c.encoding !== ChunkEncoding.FloatHistogram) {
      throw new TsdbFormatError(source, "encoding", `unsupported chunk encoding ${c.encoding}`);
    }
    const it = c.encoding === ChunkEncoding.Histogram
      ? new HistogramIterator(c.data, source)
      : new FloatHistogramIterator(c.data, source);
    while (it.next() !== ValueType.None) {
      const t = it.atT();
      if (!keep(t)) continue;
      this.floats.push(t, 0);
      this.kinds.push(c.encoding);
      const stale = it.isStale();
      this.stale.push(stale);
      this.hists.push(
        stale
          ? undefined
          : it instanceof HistogramIterator
          ? it.atHistogram()
          : it.atFloatHistogram(),
      );
    }
  }

  pushFrom(from: MixedSamples, i: number): void {
    this.floats.pushFrom(from.floats, i);
    this.kinds.push(from.kinds[i]);
    this.hists.push(from.hists[i]);
    this.stale.push(from.stale[i]);
  }
}

/**
 * Merges time-overlapping chunks of any encodings sample by sample, keeping the samples `keep`
 * accepts: on equal timestamps the earliest chunk in `chunks` wins. The result is re-encoded
 * into chunks of at most {@linkcode SAMPLES_PER_CHUNK} samples, cut also where the value type
 * changes or where Prometheus' appender would cut (e.g. a histogram layout change).
 */
export function mergeChunks(
  chunks: readonly RawChunk[],
  keep: (t: number) => boolean,
  source = "chunk",
): RawChunk[] {
  const parts = chunks.map((c) => {
    const s = new MixedSamples();
    s.decode(c, source, keep);
    return s;
  });
  const merged = new MixedSamples();
  const pos = parts.map(() => 0);
  while (true) {
    let best = -1;
    for (let k = 0; k < parts.length; k++) {
      if (
        pos[k] < parts[k].length &&
        (best < 0 || parts[k].floats.ts[pos[k]] < parts[best].floats.ts[pos[best]])
      ) {
        best = k;
      }
    }
    if (best < 0) break;
    const t = parts[best].floats.ts[pos[best]];
    merged.pushFrom(parts[best], pos[best]);
    for (let k = 0; k < parts.length; k++) {
      while (pos[k] < parts[k].length && parts[k].floats.ts[pos[k]] === t) pos[k]++;
    }
  }

  const out: RawChunk[] = [];
  type Encoder = XorChunkEncoder | HistogramChunkEncoder | FloatHistogramChunkEncoder;
  let enc: Encoder | undefined;
  let kind = 0, minT = 0, maxT = 0;
  const flush = () => {
    if (enc && enc.numSamples > 0) out.push({ encoding: kind, minT, maxT, data: enc.bytes() });
    enc = undefined;
  };
  const append = (i: number) => {
    const t = merged.floats.ts[i];
    if (!enc) {
      kind = merged.kinds[i];
      enc = kind === ChunkEncoding.XOR
        ? new XorChunkEncoder()
        : kind === ChunkEncoding.Histogram
        ? new HistogramChunkEncoder()
        : new FloatHistogramChunkEncoder();
      minT = t;
    }
    if (enc instanceof XorChunkEncoder) enc.append(t, merged.floats.vs[i]);
    else if (merged.stale[i]) enc.appendStale(t);
    else if (enc instanceof HistogramChunkEncoder) enc.append(t, merged.hists[i] as IntHistogram);
    else enc.append(t, merged.hists[i] as FloatHistogram);
    maxT = t;
  };
  for (let i = 0; i < merged.length; i++) {
    if (enc && (merged.kinds[i] !== kind || enc.numSamples >= SAMPLES_PER_CHUNK)) flush();
    try {
      append(i);
    } catch (err) {
      if (!(err instanceof ChunkEncodeError) || !enc || enc.numSamples === 0) throw err;
      flush();
      append(i);
    }
  }
  flush();
  return out;
}
