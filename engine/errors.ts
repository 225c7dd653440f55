/**
 * Errors the engine reports. The HTTP API maps them to Prometheus' error types
 * (`bad_data`, `execution`, `timeout`, `canceled`), the gRPC API to status codes.
 *
 * @module
 */
import type { PositionRange } from "./ast.ts";
import { lineColumn } from "./_position.ts";

/** One syntax or type error in a query, with its position. */
export interface ParseErrorDetail {
  /** Where in the query the error is. */
  pos: PositionRange;
  /** The message without position, e.g. `unexpected end of input`. */
  message: string;
  /** The query text. */
  query: string;
}

/** A query that does not parse or type-check. Message format as Prometheus: `1:5: parse error: ...`. */
export class ParseError extends Error {
  /** Creates the error from one or more details (Prometheus reports them joined by `; `). */
  constructor(readonly details: ParseErrorDetail[]) {
    super(details.map(formatDetail).join("; "));
    this.name = "ParseError";
  }
}

function formatDetail(d: ParseErrorDetail): string {
  return `${lineColumn(d.query, d.pos.start)}: parse error: ${d.message}`;
}

/** Why a query stopped before producing a result. */
export type QueryErrorKind = "timeout" | "canceled" | "execution" | "too_many_samples" | "storage";

/** A query that failed while evaluating. */
export class QueryError extends Error {
  /** Creates the error. */
  constructor(readonly kind: QueryErrorKind, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "QueryError";
  }
}
