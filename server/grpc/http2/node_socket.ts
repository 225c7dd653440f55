/**
 * Adapts a `node:net`/`node:tls` socket to the {@linkcode ByteStream} a connection reads and
 * writes, with backpressure: the socket is paused while unread input exceeds a bound.
 *
 * @module
 */
import type { Socket } from "node:net";
import type { ByteStream } from "./types.ts";

const HIGH_WATER = 256 << 10;

/** Thrown by reads and writes after the socket failed or closed. */
export class SocketClosedError extends Error {
  /** Creates the error. */
  constructor(message = "socket closed", options?: ErrorOptions) {
    super(message, options);
    this.name = "SocketClosedError";
  }
}

/** A {@linkcode ByteStream} over a Node socket. */
export class NodeSocketStream implements ByteStream {
  readonly #sock: Socket;
  readonly #chunks: Uint8Array[] = [];
  #buffered = 0;
  #ended = false;
  #error: Error | null = null;
  #wake: (() => void) | null = null;

  /** Wraps `sock`, which must not be read by anyone else. */
  constructor(sock: Socket) {
    this.#sock = sock;
    sock.on("data", (d: Uint8Array) => {
      this.#chunks.push(d);
      this.#buffered += d.length;
      if (this.#buffered > HIGH_WATER) sock.pause();
      this.#notify();
    });
    sock.on("end", () => {
      this.#ended = true;
      this.#notify();
    });
    sock.on("close", () => {
      this.#ended = true;
      this.#notify();
    });
    sock.on("error", (e: Error) => {
      this.#error = e;
      this.#notify();
    });
  }

  #notify() {
    const w = this.#wake;
    this.#wake = null;
    w?.();
  }

  /** Reads buffered input into `p`. */
  async read(p: Uint8Array): Promise<number | null> {
    while (this.#chunks.length === 0) {
      if (this.#error) throw new SocketClosedError(this.#error.message, { cause: this.#error });
      if (this.#ended) return null;
      await new Promise<void>((r) => this.#wake = r);
    }
    let n = 0;
    while (n < p.length && this.#chunks.length > 0) {
      const c = this.#chunks[0];
      const take = Math.min(c.length, p.length - n);
      p.set(c.subarray(0, take), n);
      n += take;
      if (take === c.length) this.#chunks.shift();
      else this.#chunks[0] = c.subarray(take);
    }
    this.#buffered -= n;
    if (this.#buffered <= HIGH_WATER / 2 && this.#sock.isPaused()) this.#sock.resume();
    return n;
  }

  /** Writes all of `p`, resolving once the socket accepted it. */
  write(p: Uint8Array): Promise<number> {
    if (this.#error || this.#sock.destroyed) {
      return Promise.reject(new SocketClosedError());
    }
    return new Promise((resolve, reject) => {
      this.#sock.write(p, (err?: Error | null) => {
        if (err) reject(new SocketClosedError(err.message, { cause: err }));
        else resolve(p.length);
      });
    });
  }

  /** Destroys the socket. */
  close(): void {
    this.#sock.destroy();
    this.#ended = true;
    this.#notify();
  }
}
