/**
 * Errors the engine reports. The HTTP API maps them to Prometheus' error types
 * (`bad_data`, `execution`, `timeout`, `canceled`), the gRPC API to status codes.
 *
 * @module
 */
import type { PositionRange } from "./ast.ts";

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
  // Prometheus reports line:column (1-based, column counted in bytes from the line start).
  const before = d.query.slice(0, d.pos.start);
  const line = before.split("\n").length;
  const lastNl = before.lastIndexOf("\n");
  const col = new TextEncoder().encode(before.slice(lastNl + 1)).length + 1;
  return `${line}:${col}: parse error: ${d.message}`;
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
