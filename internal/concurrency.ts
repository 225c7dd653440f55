/**
 * Bounded concurrency for I/O fan-out (metadata reads, downloads, day loads).
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
