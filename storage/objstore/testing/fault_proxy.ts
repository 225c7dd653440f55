/**
 * An HTTP proxy on 127.0.0.1 for fault tests: it forwards requests to a test server and, by a
 * fixed schedule, answers some with 503, stalls some before any answer, and stalls some in the
 * middle of the answer's body. Counts what it did, so tests can check that faults happened.
 *
 * @module
 */

/** Which requests fail; `n` counts requests from 1. */
export interface FaultSchedule {
  /** Answer 503 (an S3 SlowDown-style body) instead of forwarding. */
  unavailable?: (n: number, req: Request) => boolean;
  /** Never answer; the client must time out. */
  stallBeforeHeaders?: (n: number, req: Request) => boolean;
  /** Forward, send the headers and the first bytes of the body, then stall. */
  stallInBody?: (n: number, req: Request) => boolean;
}

/** A running proxy. */
export interface FaultProxy {
  /** The proxy's port. */
  port: number;
  /** Requests received, 503s sent, stalls before headers, stalls in bodies. */
  counts: { requests: number; unavailable: number; stalled: number; stalledBody: number };
  /** Requests seen, as `METHOD path`. */
  log: string[];
  /** The headers of each request in `log`. */
  headers: Headers[];
  /** Stops the proxy (stalled requests are released). */
  stop(): Promise<void>;
}

/** Starts the proxy in front of `target` (e.g. `http://127.0.0.1:40123`). */
export function startFaultProxy(target: string, schedule: FaultSchedule): FaultProxy {
  const counts = { requests: 0, unavailable: 0, stalled: 0, stalledBody: 0 };
  const log: string[] = [];
  const seenHeaders: Headers[] = [];
  const release = new AbortController();
  // Waits until the proxy stops; the client has given up long before and never reads this.
  const stall = () =>
    new Promise<Response>((resolve) => {
      const stop = () => resolve(new Response(null, { status: 504 }));
      release.signal.addEventListener("abort", stop, { once: true });
    });
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (req) => {
      const n = ++counts.requests;
      const url = new URL(req.url);
      log.push(`${req.method} ${url.pathname}${url.search}`);
      seenHeaders.push(new Headers(req.headers));
      if (schedule.unavailable?.(n, req)) {
        counts.unavailable++;
        await req.body?.cancel();
        return new Response(
          '<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code>' +
            "<Message>Please reduce your request rate.</Message></Error>",
          { status: 503, headers: { "content-type": "application/xml" } },
        );
      }
      if (schedule.stallBeforeHeaders?.(n, req)) {
        counts.stalled++;
        await req.body?.cancel();
        return await stall();
      }
      const body = req.body ? new Uint8Array(await req.arrayBuffer()) : undefined;
      const headers = new Headers(req.headers);
      // Lets servers that hand out URLs (resumable upload sessions) point them at the proxy.
      headers.set("x-forwarded-host", url.host);
      const upstream = await fetch(target + url.pathname + url.search, {
        method: req.method,
        headers,
        body,
        redirect: "manual",
      });
      if (!schedule.stallInBody?.(n, req) || !upstream.body) {
        return new Response(upstream.body, { status: upstream.status, headers: upstream.headers });
      }
      counts.stalledBody++;
      const reader = upstream.body.getReader();
      const first = await reader.read();
      await reader.cancel();
      const stalled = new ReadableStream<Uint8Array>({
        async start(controller) {
          if (!first.done) controller.enqueue(first.value.subarray(0, 100));
          await stall();
          controller.error(new Error("stalled"));
        },
      });
      return new Response(stalled, { status: upstream.status, headers: upstream.headers });
    },
  );
  return {
    port: server.addr.port,
    counts,
    log,
    headers: seenHeaders,
    async stop() {
      release.abort();
      await server.shutdown();
    },
  };
}
