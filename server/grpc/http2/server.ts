/**
 * An HTTP/2 server over `Deno.listen` (h2c with prior knowledge) or `Deno.listenTls` (ALPN
 * `h2`), running one {@linkcode Http2Connection} per accepted socket. Client-certificate
 * verification (mTLS) uses a `node:tls` server instead, since `Deno.listenTls` cannot request
 * client certificates.
 *
 * @module
 */
import * as tls from "node:tls";
import type { AddressInfo } from "node:net";
import { type ConnectionOptions, Http2Connection } from "./connection.ts";
import { NodeSocketStream } from "./node_socket.ts";
import type { ByteStream, StreamHandler } from "./types.ts";

/** PEM certificate and key for TLS, and optionally the CA that client certificates need. */
export interface TlsConfig {
  /** Server certificate chain, PEM. */
  cert: string;
  /** Private key, PEM. */
  key: string;
  /** When set, clients must present a certificate signed by this CA (PEM). */
  clientCa?: string;
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
  readonly addr: { hostname: string; port: number };
  /** Number of open connections. */
  readonly connections: number;
  /**
   * Stops accepting, sends GOAWAY on every connection and waits up to `timeoutMs` for
   * in-flight streams; connections still open then are closed.
   */
  shutdown(timeoutMs: number): Promise<void>;
}

/** Pause after a failed accept. */
const ACCEPT_RETRY_MS = 100;

interface Acceptor {
  addr: { hostname: string; port: number };
  /** Stops accepting connections. */
  close(): Promise<void>;
  /** Resolves once the listener is fully released (after its connections ended). */
  released(): Promise<void>;
}

/** Starts serving `handler`; resolves once the listener is bound. */
export async function serveHttp2(
  options: Http2ServerOptions,
  handler: StreamHandler,
): Promise<Http2Server> {
  const hostname = options.hostname ?? "0.0.0.0";
  const conns = new Set<Http2Connection>();
  let stopping = false;
  const onError = options.onError;

  async function run(stream: ByteStream) {
    if (stopping) {
      stream.close();
      return;
    }
    const conn = new Http2Connection(stream, handler, options);
    conns.add(conn);
    try {
      await conn.serve();
    } catch (e) {
      onError?.(e);
    } finally {
      conns.delete(conn);
    }
  }

  const acceptor = options.tls?.clientCa
    ? await listenNodeTls(hostname, options.port, options.tls, run)
    : listenDeno(hostname, options, run, () => stopping, onError);

  return {
    addr: acceptor.addr,
    get connections() {
      return conns.size;
    },
    async shutdown(timeoutMs: number) {
      if (stopping) return;
      stopping = true;
      await acceptor.close();
      for (const c of conns) c.shutdown();
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<void>((r) => timer = setTimeout(r, timeoutMs));
      await Promise.race([Promise.all([...conns].map((c) => c.closed)), timeout]);
      clearTimeout(timer);
      for (const c of conns) c.destroy();
      await Promise.all([...conns].map((c) => c.closed));
      await acceptor.released();
    },
  };
}

function listenDeno(
  hostname: string,
  options: Http2ServerOptions,
  run: (s: ByteStream) => Promise<void>,
  stopping: () => boolean,
  onError?: (e: unknown) => void,
): Acceptor {
  const listener: Deno.Listener = options.tls
    ? Deno.listenTls({
      port: options.port,
      hostname,
      cert: options.tls.cert,
      key: options.tls.key,
      alpnProtocols: ["h2"],
    })
    : Deno.listen({ port: options.port, hostname });

  async function handle(raw: Deno.Conn) {
    if (options.tls) {
      try {
        const info = await (raw as Deno.TlsConn).handshake();
        // gRPC requires h2 by ALPN; anything else (or no ALPN) is not for us.
        if (info.alpnProtocol !== "h2") throw new Error("no h2");
      } catch {
        try {
          raw.close();
        } catch { /* already closed */ }
        return;
      }
    } else {
      try {
        (raw as Deno.TcpConn).setNoDelay(true);
      } catch {
        // The peer may already be gone; reading will tell.
      }
    }
    await run(raw);
  }

  const loop = (async () => {
    while (true) {
      let raw: Deno.Conn;
      try {
        raw = await listener.accept();
      } catch (e) {
        if (stopping() || e instanceof Deno.errors.BadResource) return;
        // The peer reset the connection before it was accepted: its loss, nothing to report.
        if (isPeerGone(e)) continue;
        onError?.(e);
        // E.g. out of file descriptors: pause instead of spinning on the failing accept.
        await new Promise((r) => setTimeout(r, ACCEPT_RETRY_MS));
        continue;
      }
      handle(raw);
    }
  })();
  const addr = listener.addr as Deno.NetAddr;
  return {
    addr: { hostname: addr.hostname, port: addr.port },
    async close() {
      try {
        listener.close();
      } catch { /* already closed */ }
      await loop;
    },
    released: () => Promise.resolve(),
  };
}

function isPeerGone(e: unknown): boolean {
  return e instanceof Deno.errors.NotConnected || e instanceof Deno.errors.ConnectionReset ||
    e instanceof Deno.errors.ConnectionAborted;
}

async function listenNodeTls(
  hostname: string,
  port: number,
  cfg: TlsConfig,
  run: (s: ByteStream) => Promise<void>,
): Promise<Acceptor> {
  const server = tls.createServer({
    key: cfg.key,
    cert: cfg.cert,
    ca: [cfg.clientCa!],
    requestCert: true,
    rejectUnauthorized: true,
    ALPNProtocols: ["h2"],
  }, (sock) => {
    if (!sock.authorized || sock.alpnProtocol !== "h2") {
      sock.destroy();
      return;
    }
    sock.setNoDelay(true);
    run(new NodeSocketStream(sock));
  });
  // Failed handshakes concern that client only.
  server.on("tlsClientError", () => {});
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, hostname, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const a = server.address() as AddressInfo;
  let released: Promise<void> | undefined;
  const close = () => {
    // node's close callback fires only after every connection ended, so it is awaited last.
    released ??= new Promise<void>((resolve) => server.close(() => resolve()));
    return Promise.resolve();
  };
  return {
    addr: { hostname: a.address, port: a.port },
    close,
    released: () => (close(), released!),
  };
}
