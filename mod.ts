/**
 * parquet-gateway as a library: the pieces behind the `convert` and `serve` commands, for
 * scripting conversions or embedding the query path.
 *
 * - Object storage: {@linkcode createBucket}, {@linkcode parseBucketConfig}, the
 *   {@linkcode Bucket} contract and its providers.
 * - The PromQL engine's data model: labels, matchers, the {@linkcode Queryable} contract and
 *   its lazy series sets ({@linkcode IterableSeriesSet}, {@linkcode collectSeries}).
 * - The command line: {@linkcode main}.
 *
 * @example
 * ```ts ignore
 * import { createBucket, parseBucketConfig } from "./mod.ts";
 * const bucket = await createBucket(
 *   parseBucketConfig("type: FILESYSTEM\nconfig: {directory: ./data/parquet}", "inline"),
 * );
 * for await (const key of bucket.list("")) console.log(key);
 * ```
 *
 * @module
 */
export * from "./storage/objstore/mod.ts";
export * from "./model/labels.ts";
export * from "./model/matchers.ts";
export type * from "./model/queryable.ts";
export * from "./model/series_set.ts";
export type * from "./model/series.ts";
export { main } from "./cli/main.ts";
export type * from "./model/histogram.ts";
