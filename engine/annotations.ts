/**
 * Query annotations: Prometheus' "PromQL warning" and "PromQL info" messages, rendered with the
 * position of the expression they are about, as the HTTP API returns them.
 *
 * @module
 */
import type { PositionRange } from "./ast.ts";

/** Collects the warnings and infos of one query, deduplicated, in first-seen order. */
export class Annotations {
  /** Rendered warnings. */
  readonly warnings: Set<string> = new Set();
  /** Rendered infos. */
  readonly infos: Set<string> = new Set();

  /** @param query the query text positions refer to (`undefined` when given as an AST) */
  constructor(readonly query?: string) {}

  /** Adds a warning about the expression at `pos`. */
  warn(message: string, pos?: PositionRange): void {
    this.warnings.add(this.#render("PromQL warning: " + message, pos));
  }

  /** Adds an informational annotation about the expression at `pos`. */
  info(message: string, pos?: PositionRange): void {
    this.infos.add(this.#render("PromQL info: " + message, pos));
  }

  #render(message: string, pos?: PositionRange): string {
    if (pos === undefined || this.query === undefined) return message;
    const before = this.query.slice(0, pos.start);
    const line = before.split("\n").length;
    const col = new TextEncoder().encode(before.slice(before.lastIndexOf("\n") + 1)).length + 1;
    return `${message} (${line}:${col})`;
  }
}
