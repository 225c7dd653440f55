/**
 * Positions in messages, counted the way Prometheus counts them: in bytes of the UTF-8 query
 * text. The lexer's positions are string indices (UTF-16 units), which differ after non-ASCII
 * text.
 *
 * @module
 */
import type { PositionRange } from "./ast.ts";

const utf8 = new TextEncoder();

/** `line:column` (both 1-based, the column in bytes from the line start) of string index `at`. */
export function lineColumn(query: string, at: number): string {
  const before = query.slice(0, at);
  const line = before.split("\n").length;
  const col = utf8.encode(before.slice(before.lastIndexOf("\n") + 1)).length + 1;
  return `${line}:${col}`;
}

/** `start:end` byte offsets of `pos` in `query`. */
export function byteRange(query: string, pos: PositionRange): string {
  const start = utf8.encode(query.slice(0, pos.start)).length;
  return `${start}:${start + utf8.encode(query.slice(pos.start, pos.end)).length}`;
}
