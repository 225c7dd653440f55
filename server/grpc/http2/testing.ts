/**
 * Test helper: a hand-driven HTTP/2 client that writes exact frames, to exercise the server
 * with sequences no well-behaved client library produces.
 *
 * @module
 */
import { CLIENT_PREFACE, encodeFrame, Flag, FrameType, settingsFrame } from "./frame.ts";
import { encodeHeaders } from "./hpack.ts";

/** A frame as read off the wire. */
export interface Frame {
  type: number;
  flags: number;
  stream: number;
  payload: Uint8Array;
}

/** A hand-driven HTTP/2 client: writes exact frames and reads the server's frames back. */
export class RawClient {
  #buf = new Uint8Array(0);
  #eof = false;
  private constructor(readonly conn: Deno.TcpConn) {}

  /** Connects to 127.0.0.1:`port`, sending the preface and empty SETTINGS unless told not to. */
  static async connect(port: number, preface = true): Promise<RawClient> {
    const c = new RawClient(await Deno.connect({ hostname: "127.0.0.1", port }));
    if (preface) await c.write(CLIENT_PREFACE, settingsFrame([]));
    return c;
  }

  /** Writes raw bytes. */
  async write(...parts: Uint8Array[]) {
    for (const p of parts) {
      let off = 0;
      while (off < p.length) off += await this.conn.write(p.subarray(off));
    }
  }

  /** Sends one frame. */
  send(type: number, flags: number, stream: number, payload: Uint8Array = new Uint8Array(0)) {
    return this.write(encodeFrame(type, flags, stream, payload));
  }

  /** Opens a POST request on `stream` with optional extra headers. */
  request(
    stream: number,
    path: string,
    endStream: boolean,
    extra: [string, string][] = [],
  ) {
    const block = encodeHeaders([
      [":method", "POST"],
      [":scheme", "http"],
      [":path", path],
      [":authority", "localhost"],
      ...extra,
    ]);
    const flags = Flag.END_HEADERS | (endStream ? Flag.END_STREAM : 0);
    return this.send(FrameType.HEADERS, flags, stream, block);
  }

  /** Next frame, or null once the server closed the connection. */
  async next(timeoutMs = 3000): Promise<Frame | null> {
    const deadline = Date.now() + timeoutMs;
    while (true) {
      if (this.#buf.length >= 9) {
        const len = (this.#buf[0] << 16) | (this.#buf[1] << 8) | this.#buf[2];
        if (this.#buf.length >= 9 + len) {
          const b = this.#buf;
          const f = {
            type: b[3],
            flags: b[4],
            stream: new DataView(b.buffer, b.byteOffset + 5, 4).getUint32(0) & 0x7fffffff,
            payload: b.slice(9, 9 + len),
          };
          this.#buf = b.slice(9 + len);
          return f;
        }
      }
      if (this.#eof) return null;
      const chunk = new Uint8Array(65536);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error("timed out waiting for a frame");
      let timer: ReturnType<typeof setTimeout> | undefined;
      const n = await Promise.race([
        this.conn.read(chunk).catch(() => null),
        new Promise<"timeout">((r) => timer = setTimeout(() => r("timeout"), left)),
      ]);
      clearTimeout(timer);
      if (n === "timeout") throw new Error("timed out waiting for a frame");
      if (n === null) {
        this.#eof = true;
        continue;
      }
      const next = new Uint8Array(this.#buf.length + n);
      next.set(this.#buf);
      next.set(chunk.subarray(0, n), this.#buf.length);
      this.#buf = next;
    }
  }

  /** Reads frames until one satisfies `pred`; returns it (null if the connection closed). */
  async until(pred: (f: Frame) => boolean): Promise<Frame | null> {
    while (true) {
      const f = await this.next();
      if (f === null || pred(f)) return f;
    }
  }

  /** Closes the socket. */
  close() {
    try {
      this.conn.close();
    } catch { /* closed */ }
  }
}

/** Reads a big-endian uint32 from a frame payload. */
export function u32(payload: Uint8Array, off = 0): number {
  return new DataView(payload.buffer, payload.byteOffset + off, 4).getUint32(0);
}
