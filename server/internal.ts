/**
 * The internal HTTP server of both subcommands: `/metrics` (Prometheus text format),
 * `/-/healthy` (the process is up) and `/-/ready` (503 until the component reports ready).
 *
 * @module
 */
import type { Registry } from "prom-client";
import type { Logger } from "../internal/log.ts";

/** Options of {@linkcode startInternalServer}. */
export interface InternalServerOptions {
  /** TCP port; 0 picks a free one. */
  port: number;
  /** Interface to bind; default all interfaces. */
  hostname?: string;
  /** The registry `/metrics` exposes. */
  registry: Registry;
  /** Logger for start-up and errors. */
  logger: Logger;
}

/** A running internal server. */
export interface InternalServer {
  /** The port actually bound. */
  readonly port: number;
  /** Marks the component ready (or not); `/-/ready` answers 200 only when ready. */
  setReady(ready: boolean, reason?: string): void;
  /** Stops accepting connections and waits up to `timeoutMs` for in-flight requests. */
  shutdown(timeoutMs: number): Promise<void>;
}

/** Starts the internal server. */
export function startInternalServer(options: InternalServerOptions): InternalServer {
  let ready = false;
  let notReadyReason = "starting";
  const { registry, logger } = options;
  const server = Deno.serve({
    port: options.port,
    hostname: options.hostname ?? "0.0.0.0",
    onListen: () => {},
    onError: (err) => {
      logger.error("internal server request failed", { err });
      return new Response("internal error\n", { status: 500 });
    },
  }, async (req) => {
    const path = new URL(req.url).pathname;
    switch (path) {
      case "/metrics":
        return new Response(await registry.metrics(), {
          headers: { "content-type": registry.contentType },
        });
      case "/-/healthy":
        return new Response("OK\n");
      case "/-/ready":
        return ready
          ? new Response("OK\n")
          : new Response(`not ready: ${notReadyReason}\n`, { status: 503 });
      default:
        return new Response("404 page not found\n", { status: 404 });
    }
  });
  const port = server.addr.port;
  logger.info("internal server listening", { port, endpoints: "/metrics /-/healthy /-/ready" });
  return {
    port,
    setReady(value, reason) {
      ready = value;
      notReadyReason = reason ?? (value ? "" : "not ready");
    },
    async shutdown(timeoutMs) {
      await shutdownWithin(server, timeoutMs);
    },
  };
}

/** Shuts a `Deno.serve` server down gracefully, cutting connections after `timeoutMs`. */
export async function shutdownWithin(server: Deno.HttpServer, timeoutMs: number): Promise<void> {
  const timeout = new AbortController();
  const timer = setTimeout(() => timeout.abort(), timeoutMs);
  try {
    await Promise.race([
      server.shutdown(),
      new Promise<void>((resolve) => timeout.signal.addEventListener("abort", () => resolve())),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
