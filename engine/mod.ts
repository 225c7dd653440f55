/**
 * The PromQL engine's public face: the {@linkcode Engine}, parsing and printing, the value,
 * storage and error types shared with the APIs and storage readers, and the in-memory
 * {@linkcode MemoryQueryable} the PromQL test runner loads its series into.
 *
 * @module
 */
export { Engine, type EngineOptions, type QueryEngine, type QueryOptions } from "./engine.ts";
export { exprType, Features, parseExpr, parseMetricSelector, type ParseOptions } from "./parser.ts";
export { exprToString } from "./printer.ts";
export { ParseError, type ParseErrorDetail, QueryError, type QueryErrorKind } from "./errors.ts";
export {
  MemoryQueryable,
  MemoryQueryableError,
  type MemoryQueryableOptions,
} from "./memory_queryable.ts";
export type * from "./ast.ts";
export type * from "./value.ts";
export type * from "../model/queryable.ts";
