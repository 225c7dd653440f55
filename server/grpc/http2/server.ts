/**
 * An HTTP/2 server over `Deno.listen` (h2c with prior knowledge) or `Deno.listenTls` (ALPN
 * `h2`), running one {@linkcode Http2Connection} per accepted socket.
 *
 * @module
 */
import { type ConnectionOptions, Http2Connection } from "./connection.ts";
import type { StreamHandler } from "./types.ts";

/** PEM certificate and key for TLS. */
export interface TlsConfig {
  /** Server certificate chain, PEM. */
  cert: string;
  /** Private key, PEM. */
  key: string;
}

/** Options of {@linkcode serveHttp2}. */
export interface Http2ServerOptions extends Partial<ConnectionOptions> {
  /** TCP port; 0 picks a free one. */
  port: number;
  /** Interface to bind (default `0.0.0.0`). */
  hostname?: string;
  /** Serve TLS with ALPN `h2` instead of cleartext h2c. */
  tls?: TlsConfig;
}

/** A running server. */
export interface Http2Server {
  /** The bound address. */
  readonly addr: Deno.NetAddr;
  /** Number of open connections. */
  readonly connections: number;
  /**
   * Stops accepting, sends GOAWAY on every connection and waits up to `timeoutMs` for
   * in-flight streams; connections still open then are closed.
   */
  shutdown(timeoutMs: number): Promise<void>;
}

/** Starts serving `handler` on a new listener. */
export function serveHttp2(options: Http2ServerOptions, handler: StreamHandler): Http2Server {
  const hostname = options.hostname ?? "0.0.0.0";
  const listener: Deno.Listener = options.tls
    ? Deno.listenTls({
      port: options.port,
      hostname,
      cert: options.tls.cert,
      key: options.tls.key,
      alpnProtocols: ["h2"],
    })
    : Deno.listen({ port: options.port, hostname });
  const conns = new Set<Http2Connection>();
  let stopping = false;
  const onError = options.onError;

  async function handle(raw: Deno.Conn) {
    if (options.tls) {
      try {
        const info = await (raw as Deno.TlsConn).handshake();
        if (info.alpnProtocol !== "h2") {
          raw.close();
          return;
        }
      } catch {
        // A failed handshake concerns that client only.
        try {
          raw.close();
        } catch { /* already closed */ }
        return;
      }
    }
    if (stopping) {
      raw.close();
      return;
    }
    if (!options.tls) (raw as Deno.TcpConn).setNoDelay(true);
    const conn = new Http2Connection(raw, handler, options);
    conns.add(conn);
    try {
      await conn.serve();
    } catch (e) {
      onError?.(e);
    } finally {
      conns.delete(conn);
    }
  }

  const acceptLoop = (async () => {
    while (true) {
      let raw: Deno.Conn;
      try {
        raw = await listener.accept();
      } catch (e) {
        if (stopping || e instanceof Deno.errors.BadResource) return;
        onError?.(e);
        continue;
      }
      handle(raw);
    }
  })();

  return {
    addr: listener.addr as Deno.NetAddr,
    get connections() {
      return conns.size;
    },
    async shutdown(timeoutMs: number) {
      if (stopping) return;
      stopping = true;
      try {
        listener.close();
      } catch { /* already closed */ }
      await acceptLoop;
      for (const c of conns) c.shutdown();
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<void>((r) => timer = setTimeout(r, timeoutMs));
      await Promise.race([Promise.all([...conns].map((c) => c.closed)), timeout]);
      clearTimeout(timer);
      for (const c of conns) c.destroy();
      await Promise.all([...conns].map((c) => c.closed));
    },
  };
}
