/**
 * Bounded concurrency: I/O fan-out (metadata reads, downloads, day loads) and a semaphore for
 * admitting queries.
 *
 * @module
 */

/**
 * Runs `fn` on every item with at most `limit` calls in flight (at least one). After a call
 * fails no further item is started, and the calls still in flight finish before the first error
 * is thrown, so nothing keeps reading or writing after the caller has seen the failure.
 *
 * @example
 * ```ts
 * await forEachConcurrently(["a", "b", "c"], 2, async (key) => console.log(key));
 * ```
 */
export async function forEachConcurrently<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (!failed && next < items.length) {
      try {
        await fn(items[next++]);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  const width = Math.max(1, Math.min(limit, items.length));
  const results = await Promise.allSettled(Array.from({ length: width }, worker));
  for (const r of results) if (r.status === "rejected") throw r.reason;
}

/** A semaphore refused a caller because its queue of waiters was full. */
export class QueueFullError extends Error {
  /** Creates the error for a queue of `maxWaiting` waiters. */
  constructor(readonly maxWaiting: number) {
    super(`too many queries waiting: the queue of ${maxWaiting} is full`);
    this.name = "QueueFullError";
  }
}

/**
 * A counting semaphore (e.g. `--query.limits.queries.max-concurrent`); size 0 means
 * unlimited. Waiters are served in arrival order and leave the queue when their signal aborts;
 * with `maxWaiting` > 0, a caller finding that many waiters is refused at once.
 */
export class Semaphore {
  #active = 0;
  readonly #waiters: { grant: () => void }[] = [];

  /**
   * Creates a semaphore admitting `size` holders at once, with at most `maxWaiting` callers
   * waiting (0: no bound).
   */
  constructor(readonly size: number, readonly maxWaiting = 0) {
    for (const [what, n] of [["size", size], ["maxWaiting", maxWaiting]] as const) {
      if (!Number.isSafeInteger(n) || n < 0) {
        throw new RangeError(`semaphore ${what} must be a non-negative integer, got ${n}`);
      }
    }
  }

  /** Holders right now. */
  get active(): number {
    return this.#active;
  }

  /** Callers waiting right now. */
  get waiting(): number {
    return this.#waiters.length;
  }

  /**
   * Waits for a slot and returns its release function (idempotent). Rejects with the signal's
   * reason if `signal` aborts first, and with {@linkcode QueueFullError} when the queue is full.
   */
  acquire(signal?: AbortSignal): Promise<() => void> {
    signal?.throwIfAborted();
    if (this.size === 0 || this.#active < this.size) {
      this.#active++;
      return Promise.resolve(this.#releaser());
    }
    if (this.maxWaiting > 0 && this.#waiters.length >= this.maxWaiting) {
      return Promise.reject(new QueueFullError(this.maxWaiting));
    }
    return new Promise((resolve, reject) => {
      const waiter = {
        grant: () => {
          signal?.removeEventListener("abort", onAbort);
          resolve(this.#releaser());
        },
      };
      const onAbort = () => {
        const i = this.#waiters.indexOf(waiter);
        if (i >= 0) this.#waiters.splice(i, 1);
        reject(signal!.reason);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#waiters.push(waiter);
    });
  }

  #releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#waiters.shift();
      // The slot passes straight to the next waiter, so `active` stays the same.
      if (next) next.grant();
      else this.#active--;
    };
  }
}
