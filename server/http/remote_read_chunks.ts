/**
 * The chunks a STREAMED_XOR_CHUNKS answer carries for one series, from the chunks as stored: as
 * Prometheus' chunk querier does, a chunk inside the requested range goes out byte for byte,
 * and a chunk crossing an edge of the range is re-encoded in its own encoding (XOR, histogram
 * or float histogram) with only the samples inside. Prometheus clients decode every encoding
 * (the name of the response type is historical), so histogram chunks are not converted.
 *
 * Chunks that overlap in time (the same series from two sources, e.g. two streams that
 * `--query.external-label` makes identical) are merged sample by sample, the first source
 * winning on equal timestamps as in the query path, and re-encoded.
 *
 * @module
 */
import { type SampleIterator, ValueType } from "../../model/series.ts";
import { MergeIterator } from "../db/series.ts";
import { encodeChunks, type RawChunk } from "../grpc/thanos/source.ts";
import { chunkIterator } from "../../storage/tsdb/chunk.ts";
import { Encoding } from "../../storage/tsdb/chunks_reader.ts";
import { TsdbFormatError } from "../../storage/tsdb/errors.ts";
import {
  FloatHistogramChunkEncoder,
  FloatHistogramIterator,
} from "../../storage/tsdb/float_histogram.ts";
import { HistogramChunkEncoder, HistogramIterator } from "../../storage/tsdb/histogram.ts";
import { CounterResetHeader } from "../../storage/tsdb/histogram_meta.ts";
import { XorChunkEncoder, XorIterator } from "../../storage/tsdb/xor.ts";

/**
 * The chunk holding the samples of `c` within `[mint, maxt]`, in `c`'s encoding, or `undefined`
 * when none is. A subset of one chunk always fits one chunk: same layout, no new reset.
 */
export function trimChunk(c: RawChunk, mint: number, maxt: number): RawChunk | undefined {
  const source = "remote read chunk";
  if (c.encoding === Encoding.XOR) {
    const it = new XorIterator(c.data, source);
    const enc = new XorChunkEncoder();
    let minTime = 0, maxTime = 0;
    for (let vt = it.seek(mint); vt !== ValueType.None && it.atT() <= maxt; vt = it.next()) {
      if (enc.numSamples === 0) minTime = it.atT();
      maxTime = it.atT();
      enc.append(maxTime, it.atFloat());
    }
    return enc.numSamples === 0
      ? undefined
      : { encoding: c.encoding, minTime, maxTime, data: enc.bytes() };
  }
  const it = c.encoding === Encoding.Histogram
    ? new HistogramIterator(c.data, source)
    : c.encoding === Encoding.FloatHistogram
    ? new FloatHistogramIterator(c.data, source)
    : undefined;
  if (it === undefined) {
    throw new TsdbFormatError(source, "encoding", `cannot cut chunk encoding ${c.encoding}`);
  }
  let enc: HistogramChunkEncoder | FloatHistogramChunkEncoder | undefined;
  let minTime = 0, maxTime = 0;
  for (let i = 0, vt = it.next(); vt !== ValueType.None; i++, vt = it.next()) {
    const t = it.atT();
    if (t < mint) continue;
    if (t > maxt) break;
    if (enc === undefined) {
      // From the chunk's first sample the stored header holds; a piece starting later follows
      // a sample of the same counter, so no reset precedes it (gauges stay gauges).
      const header = i === 0 || it.counterResetHeader === CounterResetHeader.Gauge
        ? it.counterResetHeader as CounterResetHeader
        : CounterResetHeader.NotCounterReset;
      enc = it instanceof HistogramIterator
        ? new HistogramChunkEncoder({ header })
        : new FloatHistogramChunkEncoder({ header });
      minTime = t;
    }
    maxTime = t;
    if (it.isStale()) enc.appendStale(t);
    else if (enc instanceof HistogramChunkEncoder) {
      enc.append(t, (it as HistogramIterator).atHistogram());
    } else enc.append(t, it.atFloatHistogram());
  }
  return enc === undefined
    ? undefined
    : { encoding: c.encoding, minTime, maxTime, data: enc.bytes() };
}

/**
 * The chunks to send for a series whose stored chunks (sorted by min time) overlap
 * `[mint, maxt]` (see the module doc).
 */
export function chunksInRange(
  chunks: readonly RawChunk[],
  mint: number,
  maxt: number,
): RawChunk[] {
  const out: RawChunk[] = [];
  for (let i = 0; i < chunks.length;) {
    // The run of chunks overlapping chunks[i], transitively.
    let j = i + 1;
    let runMax = chunks[i].maxTime;
    while (j < chunks.length && chunks[j].minTime <= runMax) {
      runMax = Math.max(runMax, chunks[j].maxTime);
      j++;
    }
    if (j === i + 1) {
      const c = chunks[i];
      if (c.minTime >= mint && c.maxTime <= maxt) out.push(c);
      else if (c.maxTime >= mint && c.minTime <= maxt) {
        const trimmed = trimChunk(c, mint, maxt);
        if (trimmed) out.push(trimmed);
      }
    } else {
      const its: SampleIterator[] = chunks.slice(i, j).map((c) => chunkIterator(c));
      out.push(...encodeChunks(new MergeIterator(its), mint, maxt));
    }
    i = j;
  }
  return out;
}
