/**
 * Building and draining {@linkcode SeriesSet}s: a set over series a store already has at hand
 * (in-memory stores, tests), and the consumers that want every series of a set (collect) or one
 * series at a time.
 *
 * @module
 */
import type { SeriesSet } from "./queryable.ts";
import type { Series } from "./series.ts";

/** Series per batch of an {@linkcode IterableSeriesSet} unless told otherwise. */
export const DEFAULT_BATCH_SIZE = 256;

/** Options of an {@linkcode IterableSeriesSet}. */
export interface IterableSeriesSetOptions {
  /** Series per batch (default {@linkcode DEFAULT_BATCH_SIZE}). */
  batchSize?: number;
  /** Warnings the set reports. */
  warnings?: readonly string[];
  /** Aborting it makes the next `next()` reject with its reason. */
  signal?: AbortSignal;
}

/**
 * A set over series in label order taken lazily from an iterable: each batch pulls the next
 * `batchSize` series. Errors the iterable throws reject `next()`.
 */
export class IterableSeriesSet implements SeriesSet {
  #it: Iterator<Series> | undefined;
  readonly #batchSize: number;
  readonly #warnings: readonly string[];
  readonly #signal: AbortSignal | undefined;

  /** Hands out the series of `source` (sorted by labels, unique) in batches. */
  constructor(source: Iterable<Series>, opts: IterableSeriesSetOptions = {}) {
    this.#it = source[Symbol.iterator]();
    this.#batchSize = Math.max(1, opts.batchSize ?? DEFAULT_BATCH_SIZE);
    this.#warnings = opts.warnings ?? [];
    this.#signal = opts.signal;
  }

  /** The next batch, or `null` at the end. */
  next(): Promise<readonly Series[] | null> {
    try {
      this.#signal?.throwIfAborted();
      const batch: Series[] = [];
      while (this.#it !== undefined && batch.length < this.#batchSize) {
        const r = this.#it.next();
        if (r.done) this.#it = undefined;
        else batch.push(r.value);
      }
      return Promise.resolve(batch.length > 0 ? batch : null);
    } catch (err) {
      this.#stop();
      return Promise.reject(err);
    }
  }

  /** The warnings given at construction. */
  warnings(): readonly string[] {
    return this.#warnings;
  }

  /** Stops iterating the source. */
  close(): Promise<void> {
    this.#stop();
    return Promise.resolve();
  }

  #stop(): void {
    this.#it?.return?.();
    this.#it = undefined;
  }
}

/** Every series of a set and its warnings: reads `set` to its end, closing it on failure. */
export async function collectSeries(
  set: SeriesSet,
): Promise<{ series: Series[]; warnings: string[] }> {
  const series: Series[] = [];
  try {
    for (let batch = await set.next(); batch !== null; batch = await set.next()) {
      for (const s of batch) series.push(s);
    }
  } finally {
    await set.close();
  }
  return { series, warnings: [...set.warnings()] };
}

/**
 * The series of `set` one by one (the set is read a batch at a time and closed when the
 * iteration ends early). Read `set.warnings()` after the loop.
 */
export async function* eachSeries(set: SeriesSet): AsyncGenerator<Series, void, undefined> {
  try {
    for (let batch = await set.next(); batch !== null; batch = await set.next()) {
      yield* batch;
    }
  } finally {
    await set.close();
  }
}
