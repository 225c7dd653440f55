/**
 * A minimal HTTP/2 server transport for gRPC (Deno's `node:http2` server can abort the process,
 * denoland/deno#36788, and `Deno.serve` cannot send trailers).
 *
 * @module
 */
export { ErrorCode } from "./frame.ts";
export type { HeaderField, ServerStream, StreamHandler } from "./types.ts";
export { type Http2Server, type Http2ServerOptions, serveHttp2, type TlsConfig } from "./server.ts";
export { type ConnectionOptions, DEFAULT_CONNECTION_OPTIONS } from "./connection.ts";
export { StreamClosedError } from "./stream.ts";
export { serveNodeHttp2 } from "./node_adapter.ts";
