/**
 * The {@linkcode ServerStream} interface over `node:http2`, for the day Deno's built-in HTTP/2
 * server no longer aborts the process on a GOAWAY after many streams (denoland/deno#36788).
 * Not used by default; it exists so the transport can be swapped by changing one call, and its
 * test keeps the interface honest.
 *
 * @module
 */
import * as http2 from "node:http2";
import type { AddressInfo } from "node:net";
import type { ErrorCode } from "./frame.ts";
import type { Http2Server, Http2ServerOptions } from "./server.ts";
import { StreamClosedError } from "./stream.ts";
import type { HeaderField, ServerStream, StreamHandler } from "./types.ts";

function toNodeHeaders(fields: readonly HeaderField[]): http2.OutgoingHttpHeaders {
  const out: http2.OutgoingHttpHeaders = {};
  for (const [name, value] of fields) out[name] = name === ":status" ? Number(value) : value;
  return out;
}

class NodeServerStream implements ServerStream {
  readonly id: number;
  readonly method: string;
  readonly path: string;
  readonly authority: string;
  readonly headers: ReadonlyMap<string, string>;
  readonly #stream: http2.ServerHttp2Stream;
  readonly #abort = new AbortController();
  #ended = false;
  #trailers: http2.OutgoingHttpHeaders | null = null;

  constructor(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) {
    this.#stream = stream;
    this.id = stream.id ?? 0;
    this.method = String(headers[":method"] ?? "");
    this.path = String(headers[":path"] ?? "");
    this.authority = String(headers[":authority"] ?? "");
    const map = new Map<string, string>();
    for (const [k, v] of Object.entries(headers)) {
      if (k.startsWith(":") || v === undefined) continue;
      map.set(k, Array.isArray(v) ? v.join(", ") : String(v));
    }
    this.headers = map;
    const fail = () => {
      if (!this.#ended && !this.#abort.signal.aborted) {
        this.#abort.abort(new StreamClosedError("stream closed by peer"));
      }
    };
    stream.on("aborted", fail);
    stream.on("close", fail);
    stream.on("error", fail);
    stream.on("wantTrailers", () => {
      if (this.#trailers) stream.sendTrailers(this.#trailers);
      else stream.close();
    });
  }

  get body(): AsyncIterable<Uint8Array> {
    const stream = this.#stream;
    return {
      async *[Symbol.asyncIterator]() {
        for await (const chunk of stream) yield chunk as Uint8Array;
      },
    };
  }

  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  get headersSent(): boolean {
    return this.#stream.headersSent;
  }

  get closed(): boolean {
    return this.#ended || this.#stream.closed || this.#abort.signal.aborted;
  }

  #check() {
    if (this.closed) throw new StreamClosedError();
  }

  respond(fields: readonly HeaderField[], endStream = false): Promise<void> {
    this.#check();
    this.#stream.respond(toNodeHeaders(fields), { endStream, waitForTrailers: !endStream });
    if (endStream) this.#ended = true;
    return Promise.resolve();
  }

  write(chunk: Uint8Array): Promise<void> {
    this.#check();
    return new Promise((resolve, reject) => {
      const ok = this.#stream.write(chunk, (err) => {
        if (err) reject(new StreamClosedError(err.message));
        else if (ok) resolve();
      });
      // Node buffers without limit; wait for 'drain' to pace the producer to the reader.
      if (!ok) this.#stream.once("drain", () => resolve());
    });
  }

  end(trailers?: readonly HeaderField[]): Promise<void> {
    this.#check();
    this.#ended = true;
    this.#trailers = trailers && trailers.length > 0 ? toNodeHeaders(trailers) : null;
    return new Promise((resolve) => this.#stream.end(() => resolve()));
  }

  reset(code: ErrorCode = 0x8): void {
    if (this.#stream.closed) return;
    this.#ended = true;
    this.#stream.close(code);
  }
}

/**
 * Serves `handler` with `node:http2` (cleartext, or TLS without client certificates).
 * Mirrors {@linkcode serveHttp2}.
 */
export async function serveNodeHttp2(
  options: Http2ServerOptions,
  handler: StreamHandler,
): Promise<Http2Server> {
  const settings = { maxConcurrentStreams: options.maxConcurrentStreams ?? 1000 };
  const server = options.tls
    ? http2.createSecureServer({ cert: options.tls.cert, key: options.tls.key, settings })
    : http2.createServer({ settings });
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on("session", (s: http2.ServerHttp2Session) => {
    sessions.add(s);
    s.on("close", () => sessions.delete(s));
  });
  server.on("stream", (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => {
    const s = new NodeServerStream(stream, headers);
    Promise.resolve()
      .then(() => handler(s))
      .catch((e) => options.onError?.(e))
      .finally(() => {
        // A handler that neither ended nor reset its stream has failed.
        if (!s.closed) s.reset(0x2);
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.hostname ?? "0.0.0.0", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const a = server.address() as AddressInfo;
  return {
    addr: { hostname: a.address, port: a.port },
    get connections() {
      return sessions.size;
    },
    async shutdown(timeoutMs: number) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of sessions) s.close();
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([closed, new Promise((r) => timer = setTimeout(r, timeoutMs))]);
      clearTimeout(timer);
      for (const s of sessions) s.destroy();
      await closed;
    },
  };
}
