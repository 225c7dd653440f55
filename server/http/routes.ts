/**
 * One listener, several route sets: the Prometheus port serves the query UI, the gateway's own
 * endpoints and the Prometheus API.
 *
 * @module
 */
import type { RoutedHandler } from "./server.ts";

/**
 * Routes each request to the first handler whose `route` claims its path, and every other path
 * to the last handler (which answers them, e.g. with a 404).
 */
export function combineHandlers(...handlers: RoutedHandler[]): RoutedHandler {
  if (handlers.length === 0) throw new RangeError("combineHandlers needs a handler");
  const fallback = handlers[handlers.length - 1];
  const pick = (path: string) => handlers.find((h) => h.route(path) !== "other") ?? fallback;
  return Object.assign((req: Request) => pick(new URL(req.url).pathname)(req), {
    route: (path: string) => pick(path).route(path),
  });
}
