/**
 * The page cache's metrics: `parquet_page_cache_{hits,misses,evictions}_total` and
 * `parquet_page_cache_bytes`, read from the cache at scrape time.
 *
 * @module
 */
import { Counter, Gauge, type Registry } from "prom-client";
import type { LruPageCache } from "../../storage/parquet/pages.ts";

/** Exposes the counters and size of `cache` in `registers`. */
export function registerPageCacheMetrics(cache: LruPageCache, registers: Registry[]): void {
  const counter = (name: string, help: string, read: () => number) =>
    new Counter({
      name,
      help,
      registers,
      collect() {
        this.reset();
        this.inc(read());
      },
    });
  counter(
    "parquet_page_cache_hits_total",
    "Data page lookups served from memory.",
    () => cache.stats.hits,
  );
  counter(
    "parquet_page_cache_misses_total",
    "Data page lookups that had to fetch.",
    () => cache.stats.misses,
  );
  counter(
    "parquet_page_cache_evictions_total",
    "Data pages dropped from the cache to make room.",
    () => cache.stats.evictions,
  );
  new Gauge({
    name: "parquet_page_cache_bytes",
    help: "Estimated memory of the cached data pages.",
    registers,
    collect() {
      this.set(cache.bytes);
    },
  });
}
