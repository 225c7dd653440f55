/**
 * The internal HTTP server of both subcommands: `/metrics` (Prometheus text format),
 * `/-/healthy` (the process is up), `/-/ready` (503 until the component reports ready), and
 * profiling in place of Go's pprof (see `profiler.ts`): `/debug/pprof/profile?seconds=N` (a V8
 * `.cpuprofile` of the next N seconds, default 30, at most 300) and `/debug/pprof/heap` (a V8
 * `.heapsnapshot`). A profile already running answers 409, a process without `--allow-sys`
 * 501; shutting down ends a running CPU profile early (a client going away does not).
 *
 * @module
 */
import type { Registry } from "prom-client";
import type { Logger } from "../internal/log.ts";
import { Profiler, ProfilerBusyError, ProfilerUnavailableError } from "./profiler.ts";

/** Default and largest `seconds` of `/debug/pprof/profile`. */
export const CPU_PROFILE_SECONDS = { default: 30, max: 300 } as const;

/** Options of {@linkcode startInternalServer}. */
export interface InternalServerOptions {
  /** TCP port; 0 picks a free one. */
  port: number;
  /** Interface to bind; default all interfaces. */
  hostname?: string;
  /** The registry `/metrics` exposes. */
  registry: Registry;
  /**
   * Renders `/metrics` instead of `registry` alone (e.g. with the query workers' metrics
   * added), in `registry`'s content type. Default: `registry.metrics()`.
   */
  metrics?: () => Promise<string>;
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
  const profiler = new Profiler();
  const stopping = new AbortController();
  const server = Deno.serve({
    port: options.port,
    hostname: options.hostname ?? "0.0.0.0",
    onListen: () => {},
    onError: (err) => {
      logger.error("internal server request failed", { err });
      return new Response("internal error\n", { status: 500 });
    },
  }, async (req) => {
    const url = new URL(req.url);
    switch (url.pathname) {
      case "/metrics":
        return new Response(await (options.metrics?.() ?? registry.metrics()), {
          headers: { "content-type": registry.contentType },
        });
      case "/-/healthy":
        return new Response("OK\n");
      case "/-/ready":
        return ready
          ? new Response("OK\n")
          : new Response(`not ready: ${notReadyReason}\n`, { status: 503 });
      case "/debug/pprof/profile":
        return await profileResponse(async () => {
          const seconds = parseSeconds(url.searchParams.get("seconds"));
          if (seconds === undefined) {
            return new Response(
              `seconds must be an integer from 1 to ${CPU_PROFILE_SECONDS.max}\n`,
              { status: 400 },
            );
          }
          // Not req.signal: in Deno's legacy mode it also fires on every response.
          // So a client that leaves does not end the profile early; shutting down does.
          const profile = await profiler.cpuProfile(seconds * 1000, stopping.signal);
          logger.info("CPU profile taken", { seconds, samples: profile.samples.length });
          return new Response(JSON.stringify(profile), {
            headers: {
              "content-type": "application/json",
              "content-disposition": 'attachment; filename="cpu.cpuprofile"',
            },
          });
        });
      case "/debug/pprof/heap":
        return await profileResponse(() => {
          const snapshot = profiler.heapSnapshot();
          logger.info("taking a heap snapshot");
          return new Response(snapshot, {
            headers: {
              "content-type": "application/json",
              "content-disposition": 'attachment; filename="heap.heapsnapshot"',
            },
          });
        });
      default:
        return new Response("404 page not found\n", { status: 404 });
    }
  });
  const port = server.addr.port;
  logger.info("internal server listening", {
    port,
    endpoints: "/metrics /-/healthy /-/ready /debug/pprof/profile /debug/pprof/heap",
  });
  return {
    port,
    setReady(value, reason) {
      ready = value;
      notReadyReason = reason ?? (value ? "" : "not ready");
    },
    async shutdown(timeoutMs) {
      stopping.abort();
      await shutdownWithin(server, timeoutMs);
    },
  };
}

/** `seconds` of a CPU profile request, or `undefined` when it is not valid. */
function parseSeconds(value: string | null): number | undefined {
  if (value === null || value === "") return CPU_PROFILE_SECONDS.default;
  if (!/^[0-9]+$/.test(value)) return undefined;
  const n = Number(value);
  return n >= 1 && n <= CPU_PROFILE_SECONDS.max ? n : undefined;
}

/** Runs a profiling request, answering 409 when one is running and 501 without the inspector. */
async function profileResponse(run: () => Response | Promise<Response>): Promise<Response> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof ProfilerBusyError) {
      return new Response(`${err.message}\n`, { status: 409 });
    }
    if (err instanceof ProfilerUnavailableError) {
      return new Response(`${err.message}\n`, { status: 501 });
    }
    throw err;
  }
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
