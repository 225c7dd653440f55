/**
 * The Prometheus API listener: `Deno.serve` with request metrics (`http_requests_total`,
 * `http_requests_seconds` labelled by code, method and route, as the Go gateway exposes them).
 *
 * @module
 */
import { Counter, Histogram, type Registry } from "prom-client";
import type { Logger } from "../../internal/log.ts";
import { shutdownWithin } from "../internal.ts";

/** Options of {@linkcode startHttpServer}. */
export interface HttpServerOptions {
  /** TCP port; 0 picks a free one. */
  port: number;
  /** Interface to bind; default all. */
  hostname?: string;
  /** The request handler. */
  handler: (req: Request) => Promise<Response>;
  /** Where request metrics go. */
  registry: Registry;
  /** Logger. */
  logger: Logger;
  /** Name for logs, e.g. `prometheus`. */
  name: string;
}

/** A running listener. */
export interface HttpServer {
  /** The bound port. */
  readonly port: number;
  /** Stops accepting and waits up to `timeoutMs` for in-flight requests. */
  shutdown(timeoutMs: number): Promise<void>;
}

// Route label values must stay low-cardinality: collapse the label name in the values path.
function routeOf(path: string): string {
  if (/^\/api\/v1\/label\/[^/]+\/values$/.test(path)) return "/api/v1/label/:name/values";
  return path.startsWith("/api/v1/") ? path : "other";
}

/** Starts a listener serving `handler`, counting and timing every request. */
export function startHttpServer(options: HttpServerOptions): HttpServer {
  const labelNames = ["code", "method", "path"] as const;
  const registers = [options.registry];
  const requests = (options.registry.getSingleMetric("http_requests_total") as
    | Counter<"code" | "method" | "path">
    | undefined) ??
    new Counter({
      name: "http_requests_total",
      help: "Requests served, by status code, method and route.",
      labelNames,
      registers,
    });
  const durations = (options.registry.getSingleMetric("http_requests_seconds") as
    | Histogram<"code" | "method" | "path">
    | undefined) ??
    new Histogram({
      name: "http_requests_seconds",
      help: "Request durations, by status code, method and route.",
      labelNames,
      buckets: Array.from({ length: 20 }, (_, i) => 0.1 * (300 ** (i / 19))),
      registers,
    });
  const server = Deno.serve({
    port: options.port,
    hostname: options.hostname ?? "0.0.0.0",
    onListen: () => {},
    onError: (err) => {
      options.logger.error("request failed", { err });
      return new Response("internal error\n", { status: 500 });
    },
  }, async (req) => {
    const started = performance.now();
    const res = await options.handler(req);
    const labels = {
      code: String(res.status),
      method: req.method,
      path: routeOf(new URL(req.url).pathname),
    };
    requests.inc(labels);
    durations.observe(labels, (performance.now() - started) / 1000);
    return res;
  });
  const port = server.addr.port;
  options.logger.info(`${options.name} server listening`, { port });
  return {
    port,
    shutdown: (timeoutMs) => shutdownWithin(server, timeoutMs),
  };
}
