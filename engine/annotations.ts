/**
 * Query annotations: Prometheus' "PromQL warning" and "PromQL info" messages, rendered with the
 * position of the expression they are about, as the HTTP API returns them.
 *
 * @module
 */
import type { PositionRange } from "./ast.ts";
import { lineColumn } from "./_position.ts";

/** Collects the warnings and infos of one query, deduplicated, in first-seen order. */
export class Annotations {
  /** Rendered warnings. */
  readonly warnings: Set<string> = new Set();
  /** Rendered infos. */
  readonly infos: Set<string> = new Set();

  // Counted warnings by message: their rendered text in `warnings` and how often they came.
  readonly #counted = new Map<string, { rendered: string; pos?: PositionRange; count: number }>();

  /** @param query the query text positions refer to (`undefined` when given as an AST) */
  constructor(readonly query?: string) {}

  /**
   * Adds a warning that is merged with earlier ones of the same message (whatever their
   * position) into one counting them, rendered `message (N occurrences) (line:col)` from the
   * second on with the first one's position, as Prometheus merges its start time overlap
   * warnings.
   */
  warnCounted(message: string, pos?: PositionRange): void {
    const text = "PromQL warning: " + message;
    const prev = this.#counted.get(text);
    if (prev === undefined) {
      const rendered = this.#render(text, pos);
      this.#counted.set(text, { rendered, pos, count: 1 });
      this.warnings.add(rendered);
      return;
    }
    this.warnings.delete(prev.rendered);
    prev.count++;
    // Without the query text Prometheus leaves the count out, so the text stays the same.
    prev.rendered = this.query === undefined
      ? text
      : this.#render(`${text} (${prev.count} occurrences)`, prev.pos);
    this.warnings.add(prev.rendered);
  }

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
    return `${message} (${lineColumn(this.query, pos.start)})`;
  }
}
