/**
 * The data model under everything (Prometheus' `model/labels`, `storage` interfaces and
 * histograms): label sets, matchers, series with allocation-free sample iterators, native
 * histograms, and the storage contract ({@linkcode Queryable}) that the PromQL engine, the APIs and
 * the Parquet reader share. It imports nothing of the engine, storage or server.
 *
 * @module
 */
export * from "./labels.ts";
export * from "./matchers.ts";
export * from "./series.ts";
export * from "./histogram.ts";
export * from "./labels_hash.ts";
export * from "./xxhash64.ts";
export type * from "./queryable.ts";
export * from "./series_set.ts";
