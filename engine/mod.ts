/**
 * The PromQL engine's public face: the {@linkcode Engine}, parsing and printing, and the value,
 * storage and error types shared with the APIs and storage readers.
 *
 * @module
 */
export { Engine, type EngineOptions, type QueryOptions } from "./engine.ts";
export { exprType, Features, parseExpr, parseMetricSelector, type ParseOptions } from "./parser.ts";
export { exprToString } from "./printer.ts";
export { ParseError, QueryError, type QueryErrorKind } from "./errors.ts";
export type * from "./ast.ts";
export type * from "./value.ts";
export type * from "./queryable.ts";
