/**
 * The small interface between an HTTP/2 transport and the gRPC layer. Anything that can give a
 * handler a request's headers and body and send headers, data and trailers back satisfies it,
 * so our own transport can later be swapped for `node:http2`.
 *
 * @module
 */
import type { ErrorCode } from "./frame.ts";
import type { HeaderField } from "./hpack.ts";

export type { HeaderField };

/** One request/response exchange as the server sees it. */
export interface ServerStream {
  /** The HTTP/2 stream identifier. */
  readonly id: number;
  /** `:method` */
  readonly method: string;
  /** `:path` */
  readonly path: string;
  /** `:authority` (may be empty). */
  readonly authority: string;
  /** Request headers without pseudo-headers; repeated names are joined with `", "`. */
  readonly headers: ReadonlyMap<string, string>;
  /** The request body. Iterating it grants the peer flow-control credit as chunks are consumed. */
  readonly body: AsyncIterable<Uint8Array>;
  /** Aborted when the peer resets the stream or the connection goes away before the end. */
  readonly signal: AbortSignal;
  /** Whether response headers have been sent. */
  readonly headersSent: boolean;
  /** Whether the response is complete (ended or reset). */
  readonly closed: boolean;
  /**
   * Sends the response headers; with `endStream` they also end the response (a
   * "trailers-only" gRPC response).
   */
  respond(fields: readonly HeaderField[], endStream?: boolean): Promise<void>;
  /**
   * Sends body bytes. Resolves once the bytes fit the peer's flow-control windows and were
   * handed to the connection, so awaiting it paces a producer to the reader.
   * Rejects when the stream has been reset or the connection closed.
   */
  write(chunk: Uint8Array): Promise<void>;
  /** Ends the response, with trailers if given. */
  end(trailers?: readonly HeaderField[]): Promise<void>;
  /** Abandons the stream with RST_STREAM (default CANCEL). */
  reset(code?: ErrorCode): void;
}

/**
 * The byte stream a connection runs on: `Deno.Conn` satisfies it, and an adapter wraps
 * `node:tls` sockets (used for client-certificate verification, which `Deno.listenTls` lacks).
 */
export interface ByteStream {
  /** Reads into `p`; resolves to the byte count, or null at the end of the stream. */
  read(p: Uint8Array): Promise<number | null>;
  /** Writes (part of) `p`; resolves to the byte count written. */
  write(p: Uint8Array): Promise<number>;
  /** Closes the stream; pending reads end. */
  close(): void;
}

/** Serves one stream; it should end or reset the stream before its promise settles. */
export type StreamHandler = (stream: ServerStream) => void | Promise<void>;
