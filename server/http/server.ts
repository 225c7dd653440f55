/**
 * The Prometheus API listener: `Deno.serve` with request metrics (`http_requests_total`,
 * `http_requests_seconds` labelled by code, method and route, as the Go gateway exposes them).
 * The route label is the handler's route pattern; paths no route serves share the value `other`
 * (Prometheus and the Go gateway do not count them at all), so clients cannot grow the metrics.
 *
 * @module
 */
import { Counter, Histogram, type Registry } from "prom-client";
import type { Logger } from "../../internal/log.ts";
import { shutdownWithin } from "../internal.ts";

/** A request handler that also names the route serving a path, for metric labels. */
export interface RoutedHandler {
  /** Answers a request. */
  (req: Request): Promise<Response>;
  /**
   * The route pattern serving `path` (e.g. `/api/v1/label/:name/values`), or `other` for a
   * path no route serves: one value per route, whatever paths clients send.
   */
  route(path: string): string;
}

/** Options of {@linkcode startHttpServer}. */
export interface HttpServerOptions {
  /** TCP port; 0 picks a free one. */
  port: number;
  /** Interface to bind; default all. */
  hostname?: string;
  /** The request handler. */
  handler: RoutedHandler;
  /** Where request metrics go. */
  registry: Registry;
  /** Logger. */
  logger: Logger;
  /** Name for logs, e.g. `prometheus`. */
  name: string;
  /**
   * Largest request line plus headers, bytes, answered 431 as Go's net/http does (0: no limit of
   * ours; Deno itself answers 400 above 64 KiB).
   */
  maxHeaderBytes?: number;
}

/**
 * The size of `req`'s request line and headers as sent (`name: value` and CRLF each), which
 * Go's net/http compares with `MaxHeaderBytes`.
 */
export function headerBytes(req: Request): number {
  const url = new URL(req.url);
  let n = req.method.length + url.pathname.length + url.search.length + "  HTTP/1.1\r\n".length;
  for (const [name, value] of req.headers) n += name.length + value.length + 4;
  return n;
}

/** A running listener. */
export interface HttpServer {
  /** The bound port. */
  readonly port: number;
  /** Stops accepting and waits up to `timeoutMs` for in-flight requests. */
  shutdown(timeoutMs: number): Promise<void>;
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
    const maxHeaderBytes = options.maxHeaderBytes ?? 0;
    const res = maxHeaderBytes > 0 && headerBytes(req) > maxHeaderBytes
      ? new Response("431 Request Header Fields Too Large", {
        status: 431,
        headers: { "content-type": "text/plain; charset=utf-8", connection: "close" },
      })
      : await options.handler(req);
    const labels = {
      code: String(res.status),
      method: req.method,
      path: options.handler.route(new URL(req.url).pathname),
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
