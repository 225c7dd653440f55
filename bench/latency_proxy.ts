/**
 * An HTTP proxy on 127.0.0.1 that makes a local object store (s3rver) look like a remote one:
 * every request waits a fixed latency before it is forwarded. It records when each request
 * started and when its answer's body was fully sent, from which {@linkcode sequentialRoundTrips}
 * and {@linkcode peakConcurrency} describe how a client overlapped its reads.
 *
 * @module
 */

/** One proxied request. */
export interface ProxiedRequest {
  /** `GET`, `HEAD`, ... */
  method: string;
  /** Path and query. */
  path: string;
  /** When the proxy received it (`performance.now()`, ms). */
  start: number;
  /** When the answer's body was sent or abandoned (ms); `NaN` while in flight. */
  end: number;
  /** Bytes of the answer's body sent. */
  bytes: number;
}

/** A running proxy. */
export interface LatencyProxy {
  /** `127.0.0.1:<port>`, for an S3 `endpoint`. */
  host: string;
  /** Every request so far, in arrival order. */
  requests: ProxiedRequest[];
  /** Stops the proxy. */
  stop(): Promise<void>;
}

/** Starts a proxy to `target` (e.g. `http://127.0.0.1:40123`) adding `latencyMs` per request. */
export function startLatencyProxy(target: string, latencyMs: number): LatencyProxy {
  const requests: ProxiedRequest[] = [];
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (req) => {
      const url = new URL(req.url);
      const rec: ProxiedRequest = {
        method: req.method,
        path: url.pathname + url.search,
        start: performance.now(),
        end: NaN,
        bytes: 0,
      };
      requests.push(rec);
      const body = req.body ? new Uint8Array(await req.arrayBuffer()) : undefined;
      await new Promise((r) => setTimeout(r, latencyMs));
      let upstream: Response;
      try {
        upstream = await fetch(target + rec.path, {
          method: req.method,
          headers: req.headers,
          body,
          redirect: "manual",
        });
      } catch (e) {
        rec.end = performance.now();
        throw e;
      }
      if (!upstream.body) {
        rec.end = performance.now();
        return new Response(null, { status: upstream.status, headers: upstream.headers });
      }
      const counted = upstream.body.pipeThrough(
        new TransformStream<Uint8Array, Uint8Array>({
          transform(chunk, controller) {
            rec.bytes += chunk.length;
            controller.enqueue(chunk);
          },
          flush() {
            rec.end = performance.now();
          },
          cancel() {
            rec.end = performance.now();
          },
        }),
      );
      return new Response(counted, { status: upstream.status, headers: upstream.headers });
    },
  );
  return {
    host: `127.0.0.1:${server.addr.port}`,
    requests,
    async stop() {
      await server.shutdown();
    },
  };
}

/** A request's span in time. */
export interface Span {
  /** Start, ms. */
  start: number;
  /** End, ms. */
  end: number;
}

/**
 * The length of the longest chain of requests in which each started after the previous one had
 * ended: the number of round trips the client waited for one after another. Requests in flight
 * together count once, a read that had to wait for an earlier answer (a footer, then pages)
 * counts again. With a latency `L` per request, the query spent at least this many times `L`
 * waiting on the store.
 */
export function sequentialRoundTrips(spans: readonly Span[]): number {
  const byStart = [...spans].sort((a, b) => a.start - b.start);
  const byEnd = [...byStart.keys()].sort((a, b) => byStart[a].end - byStart[b].end);
  const depth = new Array<number>(byStart.length).fill(0);
  let ended = 0, deepestEnded = 0, longest = 0;
  for (let i = 0; i < byStart.length; i++) {
    // Requests that ended before this one started started before it too: their depth is known.
    while (ended < byEnd.length && byStart[byEnd[ended]].end <= byStart[i].start) {
      deepestEnded = Math.max(deepestEnded, depth[byEnd[ended]]);
      ended++;
    }
    depth[i] = deepestEnded + 1;
    longest = Math.max(longest, depth[i]);
  }
  return longest;
}

/** The largest number of requests in flight at once. */
export function peakConcurrency(spans: readonly Span[]): number {
  const events: [number, number][] = [];
  for (const s of spans) events.push([s.start, 1], [s.end, -1]);
  // At equal times an end comes before a start: touching requests do not overlap.
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let now = 0, peak = 0;
  for (const [, d] of events) peak = Math.max(peak, now += d);
  return peak;
}
