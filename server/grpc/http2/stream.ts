/**
 * The server side of one HTTP/2 stream: an inbound body queue with consumption-based flow
 * control and an outbound side whose operations run strictly in call order.
 *
 * @module
 */
import { ErrorCode } from "./frame.ts";
import type { HeaderField } from "./hpack.ts";
import type { ServerStream } from "./types.ts";

/** What a stream needs from its connection. */
export interface StreamOwner {
  /** Sends a header block (HEADERS + CONTINUATION). */
  sendHeaders(stream: Http2ServerStream, fields: readonly HeaderField[], endStream: boolean): void;
  /** Sends data within the flow-control windows; resolves when all of it was queued. */
  sendData(stream: Http2ServerStream, data: Uint8Array, endStream: boolean): Promise<void>;
  /** Sends RST_STREAM and forgets the stream. */
  resetStream(stream: Http2ServerStream, code: ErrorCode): void;
  /** Grants the peer `n` more octets of stream-level window. */
  consumed(stream: Http2ServerStream, n: number): void;
  /** Called once both directions of the stream are finished. */
  streamClosed(stream: Http2ServerStream): void;
}

/** Thrown by writes on a stream that was reset or whose connection closed. */
export class StreamClosedError extends Error {
  /** Creates the error. */
  constructor(message = "stream closed") {
    super(message);
    this.name = "StreamClosedError";
  }
}

/** One server stream. Created by the connection when a request's headers arrive. */
export class Http2ServerStream implements ServerStream {
  /** Octets the peer may still send us on this stream. */
  recvWindow: number;
  /** Octets we may still send on this stream (may go negative after a SETTINGS change). */
  sendWindow: number;
  /** Consumed octets not yet returned to the peer with WINDOW_UPDATE. */
  creditOwed = 0;
  /** Whether the peer has finished its side (END_STREAM or reset). */
  remoteEnded = false;
  /** Whether we have finished our side (END_STREAM or reset). */
  localEnded = false;
  #headersSent = false;
  #closedNotified = false;
  readonly #owner: StreamOwner;
  readonly #abort = new AbortController();
  readonly #chunks: Uint8Array[] = [];
  #bodyError: Error | null = null;
  #wake: (() => void) | null = null;
  #windowWaiters: (() => void)[] = [];
  #tail: Promise<void> = Promise.resolve();

  /** Creates a stream; `headers` excludes pseudo-headers. */
  constructor(
    owner: StreamOwner,
    readonly id: number,
    readonly method: string,
    readonly path: string,
    readonly authority: string,
    readonly headers: ReadonlyMap<string, string>,
    recvWindow: number,
    sendWindow: number,
  ) {
    this.#owner = owner;
    this.recvWindow = recvWindow;
    this.sendWindow = sendWindow;
  }

  /** Aborted when the stream ends abnormally. */
  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  /** Whether response headers have been sent. */
  get headersSent(): boolean {
    return this.#headersSent;
  }

  /** Whether our side is finished. */
  get closed(): boolean {
    return this.localEnded;
  }

  /** The request body. */
  get body(): AsyncIterable<Uint8Array> {
    return { [Symbol.asyncIterator]: () => this.#bodyIterator() };
  }

  async *#bodyIterator(): AsyncGenerator<Uint8Array> {
    while (true) {
      const chunk = this.#chunks.shift();
      if (chunk !== undefined) {
        this.#owner.consumed(this, chunk.length);
        yield chunk;
        continue;
      }
      if (this.#bodyError) throw this.#bodyError;
      if (this.remoteEnded) return;
      await new Promise<void>((resolve) => this.#wake = resolve);
    }
  }

  /** Connection side: a DATA payload arrived. */
  pushData(chunk: Uint8Array, endStream: boolean): void {
    if (chunk.length > 0) this.#chunks.push(chunk);
    if (endStream) this.remoteEnded = true;
    this.#notifyReader();
    if (endStream) this.#maybeClosed();
  }

  /** Connection side: the peer ended its half without data. */
  endRemote(): void {
    this.remoteEnded = true;
    this.#notifyReader();
    this.#maybeClosed();
  }

  /** Connection side: the stream died (peer reset, connection lost, or our reset). */
  fail(reason: Error): void {
    this.remoteEnded = true;
    this.localEnded = true;
    this.#bodyError ??= reason;
    if (!this.#abort.signal.aborted) this.#abort.abort(reason);
    this.#notifyReader();
    this.windowChanged();
    this.#maybeClosed();
  }

  /** Connection side: a window grew (or the stream died); wakes waiting writers. */
  windowChanged(): void {
    const waiters = this.#windowWaiters;
    this.#windowWaiters = [];
    for (const w of waiters) w();
  }

  /** Connection side: waits until {@linkcode windowChanged} is called. */
  waitWindow(): Promise<void> {
    return new Promise((resolve) => this.#windowWaiters.push(resolve));
  }

  #notifyReader() {
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }

  #maybeClosed() {
    if (this.remoteEnded && this.localEnded && !this.#closedNotified) {
      this.#closedNotified = true;
      this.#owner.streamClosed(this);
    }
  }

  #enqueue(op: () => void | Promise<void>): Promise<void> {
    const next = this.#tail.then(() => {
      if (this.localEnded) {
        throw this.#bodyError ?? new StreamClosedError();
      }
      return op();
    });
    // Later operations run even if this one failed; they fail on their own check.
    this.#tail = next.catch(() => {});
    return next;
  }

  /** Sends the response headers. */
  respond(fields: readonly HeaderField[], endStream = false): Promise<void> {
    return this.#enqueue(() => {
      if (this.#headersSent) throw new Error("response headers already sent");
      this.#headersSent = true;
      this.#owner.sendHeaders(this, fields, endStream);
      if (endStream) this.#localEnd();
    });
  }

  /** Sends body bytes within the flow-control windows. */
  write(chunk: Uint8Array): Promise<void> {
    return this.#enqueue(async () => {
      if (!this.#headersSent) throw new Error("write before response headers");
      await this.#owner.sendData(this, chunk, false);
    });
  }

  /** Ends the response, with trailers if given. */
  end(trailers?: readonly HeaderField[]): Promise<void> {
    return this.#enqueue(async () => {
      if (!this.#headersSent) throw new Error("end before response headers");
      if (trailers && trailers.length > 0) this.#owner.sendHeaders(this, trailers, true);
      else await this.#owner.sendData(this, new Uint8Array(0), true);
      this.#localEnd();
    });
  }

  #localEnd() {
    this.localEnded = true;
    // A server that finishes before the client has finished sending tells the client to
    // stop with RST_STREAM(NO_ERROR) (RFC 9113 §8.1).
    if (!this.remoteEnded) {
      this.#owner.resetStream(this, ErrorCode.NO_ERROR);
      this.remoteEnded = true;
      this.#chunks.length = 0;
      this.#notifyReader();
    }
    this.#maybeClosed();
  }

  /** Abandons the stream with RST_STREAM. */
  reset(code: ErrorCode = ErrorCode.CANCEL): void {
    if (this.localEnded && this.remoteEnded) return;
    this.#owner.resetStream(this, code);
    this.fail(new StreamClosedError(`stream reset by server (code ${code})`));
  }
}
