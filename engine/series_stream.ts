/**
 * Instant-vector results produced a batch of series at a time. Selectors and range-vector
 * functions evaluate each input series over all steps and hand their output on per storage
 * batch; aggregations fold batches into their groups and drop them. A query then holds its
 * groups and one batch, not every selected series (Prometheus' engine likewise evaluates range
 * functions one series at a time).
 *
 * Sample accounting: a producer accounts the samples of each batch it returns as held; a
 * consumer that drops a batch releases them, one that keeps it (collecting the whole vector)
 * leaves them accounted.
 *
 * @module
 */
import type { StepSeries } from "./step_vector.ts";

/** One batch of a stream: series and the samples they hold (accounted as held). */
export interface StepBatch {
  /** The batch's series (never empty), each evaluated over every step. */
  readonly series: StepSeries[];
  /** Their present values, accounted as held until the consumer releases them. */
  readonly samples: number;
}

/** An instant-vector expression's series, a batch at a time. */
export interface SeriesStream {
  /** The next batch, or `null` after the last. */
  next(): Promise<StepBatch | null>;
  /** Stops the stream early, releasing the storage it reads. Safe to call more than once. */
  close(): Promise<void>;
}

/** A stream of one batch, for values evaluated whole (`samples` already accounted). */
export function streamOf(series: StepSeries[], samples: number): SeriesStream {
  let done = series.length === 0;
  return {
    next() {
      if (done) return Promise.resolve(null);
      done = true;
      return Promise.resolve({ series, samples });
    },
    close() {
      done = true;
      return Promise.resolve();
    },
  };
}

/** Every series of a stream, which is closed in the end; the batches stay accounted. */
export async function collectStream(stream: SeriesStream): Promise<StepSeries[]> {
  const out: StepSeries[] = [];
  try {
    for (let b = await stream.next(); b !== null; b = await stream.next()) {
      for (const s of b.series) out.push(s);
    }
  } finally {
    await stream.close();
  }
  return out;
}
