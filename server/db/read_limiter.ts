/**
 * A per-request cap on storage reads in flight (`--query.storage.select.max-concurrency`): the
 * chunk ranges fetched from the bucket and the label pages read from the labels files, over all
 * the selects of one query. A wide query starts reads for every shard, row group and column of
 * a batch at once; the cap keeps it from flooding the object store (and one process' sockets)
 * while letting it overlap up to that many reads. Reads beyond it wait in arrival order.
 *
 * @module
 */

/** Default reads in flight per request. */
export const DEFAULT_MAX_QUERY_READS = 16;

/** Counts reads in flight and queues those beyond the cap (see the module doc). */
export class ReadLimiter {
  #active = 0;
  readonly #waiting: (() => void)[] = [];

  /** @param limit most reads in flight; 0 or less is unlimited */
  constructor(readonly limit: number) {}

  /** Reads in flight now. */
  get active(): number {
    return this.#active;
  }

  /**
   * Runs `read` once fewer than `limit` reads are in flight. Rejects without running it when
   * `signal` aborts while it waits.
   */
  async run<T>(read: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (this.limit <= 0) return await read();
    if (this.#active >= this.limit) await this.#wait(signal);
    else this.#active++;
    try {
      return await read();
    } finally {
      // A finished read hands its place to the next waiting one, if any.
      const next = this.#waiting.shift();
      if (next) next();
      else this.#active--;
    }
  }

  #wait(signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    return new Promise((resolve, reject) => {
      const wake = () => {
        signal?.removeEventListener("abort", abort);
        resolve();
      };
      const abort = () => {
        const i = this.#waiting.indexOf(wake);
        if (i >= 0) this.#waiting.splice(i, 1);
        reject(signal!.reason);
      };
      this.#waiting.push(wake);
      signal?.addEventListener("abort", abort, { once: true });
    });
  }
}
