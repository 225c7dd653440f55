/**
 * The Thanos gRPC services: Info, Store (Series, LabelNames, LabelValues) and Query (over any
 * engine with the shape of engine/'s `QueryEngine`).
 *
 * @module
 */
export {
  type InfoServiceOptions,
  type InfoState,
  registerInfoService,
  type TsdbInfo,
} from "./info.ts";
export { registerStoreService, type StoreServiceOptions, TRUNCATED_WARNING } from "./store.ts";
export { type QueryServiceOptions, registerQueryService } from "./query.ts";
export {
  ChunkEncoding,
  type ChunkSeries,
  type ChunkSeriesSet,
  queryableSource,
  type RawChunk,
  type StoreSource,
} from "./source.ts";
