/**
 * One server-side HTTP/2 connection (RFC 9113) over a Deno byte stream: preface and SETTINGS,
 * header blocks with CONTINUATION, flow control in both directions, stream limits, PING,
 * RST_STREAM and graceful GOAWAY. Every protocol violation ends in RST_STREAM or GOAWAY;
 * nothing the peer sends can throw out of the connection.
 *
 * @module
 */
import {
  CLIENT_PREFACE,
  ConnectionError,
  DEFAULT_WINDOW,
  encodeFrame,
  ErrorCode,
  Flag,
  FRAME_HEADER_SIZE,
  FrameType,
  goawayFrame,
  MAX_MAX_FRAME_SIZE,
  MAX_WINDOW,
  MIN_MAX_FRAME_SIZE,
  pingFrame,
  rstStreamFrame,
  Setting,
  settingsFrame,
  StreamError,
  windowUpdateFrame,
} from "./frame.ts";
import { encodeHeaders, type HeaderField, HpackDecoder } from "./hpack.ts";
import { setImmediate } from "node:timers";
import { SocketClosedError } from "./node_socket.ts";
import { Http2ServerStream, StreamClosedError, type StreamOwner } from "./stream.ts";
import type { ByteStream, StreamHandler } from "./types.ts";

/** Tunables of a connection. */
export interface ConnectionOptions {
  /** SETTINGS_MAX_CONCURRENT_STREAMS we announce and enforce. */
  maxConcurrentStreams: number;
  /** SETTINGS_INITIAL_WINDOW_SIZE we announce: how much each stream may send unread. */
  initialWindowSize: number;
  /** Connection-level receive window we grant. */
  connectionWindowSize: number;
  /** SETTINGS_MAX_HEADER_LIST_SIZE we announce and enforce. */
  maxHeaderListSize: number;
  /** Streams the peer may reset per 10 s before the connection is closed (rapid-reset guard). */
  maxResetsPerWindow: number;
  /** Called for unexpected internal failures (protocol errors by peers are not reported). */
  onError?: (err: unknown) => void;
}

/** Defaults of {@linkcode ConnectionOptions}. */
export const DEFAULT_CONNECTION_OPTIONS: ConnectionOptions = {
  maxConcurrentStreams: 1000,
  initialWindowSize: 1 << 20,
  connectionWindowSize: 16 << 20,
  maxHeaderListSize: 64 << 10,
  maxResetsPerWindow: 10_000,
};

/** Queued output above which producers wait for the socket. */
const OUTPUT_HIGH_WATER = 1 << 20;
/** Largest single socket write we assemble from queued frames. */
const WRITE_BATCH = 256 << 10;
/** Largest header block (all HEADERS/CONTINUATION fragments) we buffer before decoding. */
const MAX_HEADER_BLOCK = 256 << 10;
const READ_SIZE = 64 << 10;
/** The window of the peer reset budget. */
const RESET_WINDOW_MS = 10_000;
/** How long a failing or finished connection may take to flush before it is cut. */
const CLOSE_GRACE_MS = 2000;

const CONNECTION_SPECIFIC = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
]);

interface PendingHeaders {
  streamId: number;
  endStream: boolean;
  parts: Uint8Array[];
  size: number;
}

/** Serves HTTP/2 on one accepted connection until it closes. */
export class Http2Connection implements StreamOwner {
  readonly #conn: ByteStream;
  readonly #handler: StreamHandler;
  readonly #opts: ConnectionOptions;
  readonly #decoder: HpackDecoder;
  readonly #streams = new Map<number, Http2ServerStream>();
  #lastClientStream = 0;
  /** Highest stream id we promise to process (set when we send GOAWAY). */
  #goawayLastStream = -1;
  #peerGoaway = false;
  #closed = false;
  #closedResolve!: () => void;
  /** Resolves when the socket is closed. */
  readonly closed: Promise<void> = new Promise((r) => this.#closedResolve = r);

  // Peer settings.
  #peerInitialWindow = DEFAULT_WINDOW;
  #peerMaxFrameSize = MIN_MAX_FRAME_SIZE;
  #sendWindow = DEFAULT_WINDOW;
  #connWindowWaiters = new Set<Http2ServerStream>();

  // Our receive side.
  #recvWindow = DEFAULT_WINDOW;
  #recvUncredited = 0;
  #pendingHeaders: PendingHeaders | null = null;
  #resets = 0;
  #resetWindowStart = 0;
  #sawSettings = false;

  // Output.
  #out: Uint8Array[] = [];
  #outBytes = 0;
  #flushing = false;
  #drainWaiters: (() => void)[] = [];
  #flushWaiters: (() => void)[] = [];
  #closeTimer: ReturnType<typeof setTimeout> | undefined;

  /** Wraps an accepted connection; call {@linkcode serve} to run it. */
  constructor(conn: ByteStream, handler: StreamHandler, opts: Partial<ConnectionOptions> = {}) {
    this.#conn = conn;
    this.#handler = handler;
    // Options left undefined keep their defaults.
    const o: Record<string, unknown> = { ...DEFAULT_CONNECTION_OPTIONS };
    for (const [k, v] of Object.entries(opts)) if (v !== undefined) o[k] = v;
    this.#opts = o as unknown as ConnectionOptions;
    this.#decoder = new HpackDecoder(4096);
  }

  /** Number of streams not yet fully closed. */
  get activeStreams(): number {
    return this.#streams.size;
  }

  /** Runs the connection: sends our SETTINGS, then reads frames until the end. */
  async serve(): Promise<void> {
    const o = this.#opts;
    this.#enqueue(settingsFrame([
      [Setting.MAX_CONCURRENT_STREAMS, o.maxConcurrentStreams],
      [Setting.INITIAL_WINDOW_SIZE, o.initialWindowSize],
      [Setting.MAX_HEADER_LIST_SIZE, o.maxHeaderListSize],
    ]));
    if (o.connectionWindowSize > DEFAULT_WINDOW) {
      this.#enqueue(windowUpdateFrame(0, o.connectionWindowSize - DEFAULT_WINDOW));
      this.#recvWindow = o.connectionWindowSize;
    }
    try {
      await this.#readLoop();
    } catch (e) {
      if (e instanceof ConnectionError) this.#fatal(e.code, e.message);
      else if (!this.#closed) {
        if (!isDisconnect(e)) this.#opts.onError?.(e);
        this.#fatal(ErrorCode.INTERNAL_ERROR, "internal error");
      }
    }
    await this.closed;
  }

  /**
   * Starts a graceful shutdown: GOAWAY(NO_ERROR) naming the last stream we accepted; the
   * connection closes once those streams finish.
   */
  shutdown(): void {
    if (this.#closed || this.#goawayLastStream >= 0) return;
    this.#goawayLastStream = this.#lastClientStream;
    this.#enqueue(goawayFrame(this.#lastClientStream, ErrorCode.NO_ERROR, "server shutting down"));
    this.#closeIfIdle();
  }

  /** Closes the connection now, failing every open stream. */
  destroy(): void {
    this.#close(new StreamClosedError("connection closed by server"));
  }

  // ---- reading ----

  async #readLoop() {
    let buf = new Uint8Array(READ_SIZE * 2);
    let start = 0;
    let end = 0;
    let prefaceDone = false;
    while (!this.#closed) {
      if (buf.length - end < READ_SIZE) {
        const live = end - start;
        const need = live + READ_SIZE;
        if (need <= buf.length) buf.copyWithin(0, start, end);
        else {
          const next = new Uint8Array(Math.max(need, buf.length * 2));
          next.set(buf.subarray(start, end), 0);
          buf = next;
        }
        start = 0;
        end = live;
      }
      // Don't read more requests while the peer doesn't read our answers.
      if (this.#outBytes > OUTPUT_HIGH_WATER) await this.#belowHighWater();
      const n = await this.#conn.read(buf.subarray(end));
      if (n === null) {
        this.#close(new StreamClosedError("connection closed by peer"));
        return;
      }
      end += n;
      if (!prefaceDone) {
        const have = Math.min(end - start, CLIENT_PREFACE.length);
        for (let i = 0; i < have; i++) {
          if (buf[start + i] !== CLIENT_PREFACE[i]) {
            throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "invalid connection preface");
          }
        }
        if (have < CLIENT_PREFACE.length) continue;
        start += CLIENT_PREFACE.length;
        prefaceDone = true;
      }
      while (end - start >= FRAME_HEADER_SIZE && !this.#closed) {
        const len = (buf[start] << 16) | (buf[start + 1] << 8) | buf[start + 2];
        if (len > MIN_MAX_FRAME_SIZE) {
          throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, `frame of ${len} octets`);
        }
        if (end - start < FRAME_HEADER_SIZE + len) break;
        const type = buf[start + 3];
        const flags = buf[start + 4];
        const streamId = ((buf[start + 5] & 0x7f) << 24) | (buf[start + 6] << 16) |
          (buf[start + 7] << 8) | buf[start + 8];
        // Copy: the payload may outlive the read buffer (DATA goes to a body queue).
        const payload = buf.slice(start + FRAME_HEADER_SIZE, start + FRAME_HEADER_SIZE + len);
        start += FRAME_HEADER_SIZE + len;
        try {
          this.#onFrame(type, flags, streamId, payload);
        } catch (e) {
          if (!(e instanceof StreamError)) throw e;
          this.#enqueue(rstStreamFrame(e.streamId, e.code));
          const s = this.#streams.get(e.streamId);
          if (s) s.fail(new StreamClosedError(e.message));
        }
      }
      if (start === end) start = end = 0;
    }
  }

  #onFrame(type: number, flags: number, streamId: number, payload: Uint8Array) {
    if (!this.#sawSettings && type !== FrameType.SETTINGS) {
      throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "first frame is not SETTINGS");
    }
    if (this.#pendingHeaders && type !== FrameType.CONTINUATION) {
      throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "expected CONTINUATION");
    }
    switch (type) {
      case FrameType.DATA:
        return this.#onData(flags, streamId, payload);
      case FrameType.HEADERS:
        return this.#onHeaders(flags, streamId, payload);
      case FrameType.PRIORITY:
        if (streamId === 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "PRIORITY on 0");
        if (payload.length !== 5) {
          throw new StreamError(streamId, ErrorCode.FRAME_SIZE_ERROR, "PRIORITY size");
        }
        return;
      case FrameType.RST_STREAM:
        return this.#onRstStream(streamId, payload);
      case FrameType.SETTINGS:
        return this.#onSettings(flags, streamId, payload);
      case FrameType.PUSH_PROMISE:
        throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "PUSH_PROMISE from client");
      case FrameType.PING:
        if (streamId !== 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "PING on stream");
        if (payload.length !== 8) {
          throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, "PING size");
        }
        if (!(flags & Flag.ACK)) this.#enqueue(pingFrame(payload, true));
        return;
      case FrameType.GOAWAY:
        if (streamId !== 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "GOAWAY on stream");
        if (payload.length < 8) {
          throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, "GOAWAY size");
        }
        this.#peerGoaway = true;
        this.#closeIfIdle();
        return;
      case FrameType.WINDOW_UPDATE:
        return this.#onWindowUpdate(streamId, payload);
      case FrameType.CONTINUATION:
        return this.#onContinuation(flags, streamId, payload);
      default:
        return; // Unknown frame types are ignored (RFC 9113 §4.1).
    }
  }

  #unpad(flags: number, payload: Uint8Array, streamId: number): Uint8Array {
    if (!(flags & Flag.PADDED)) return payload;
    if (payload.length < 1) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, "no pad length");
    const pad = payload[0];
    if (pad >= payload.length) {
      throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, `padding too long on ${streamId}`);
    }
    return payload.subarray(1, payload.length - pad);
  }

  #onData(flags: number, streamId: number, payload: Uint8Array) {
    if (streamId === 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "DATA on stream 0");
    if (streamId > this.#lastClientStream) {
      throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "DATA on idle stream");
    }
    // The whole frame, padding included, counts against flow control.
    const size = payload.length;
    if (size > this.#recvWindow) {
      throw new ConnectionError(ErrorCode.FLOW_CONTROL_ERROR, "connection window exceeded");
    }
    this.#recvWindow -= size;
    this.#creditConnection(size);
    const data = this.#unpad(flags, payload, streamId);
    const s = this.#streams.get(streamId);
    // Frames may still arrive for a stream we have reset: ignore them (RFC 9113 §5.4.2).
    if (!s) return;
    if (s.remoteEnded) {
      throw new StreamError(streamId, ErrorCode.STREAM_CLOSED, "DATA on half-closed stream");
    }
    if (size > s.recvWindow) {
      throw new StreamError(streamId, ErrorCode.FLOW_CONTROL_ERROR, "stream window exceeded");
    }
    s.recvWindow -= size;
    // Padding is consumed at once; the data part is credited when the handler reads it.
    if (size > data.length) this.consumed(s, size - data.length);
    s.pushData(data, (flags & Flag.END_STREAM) !== 0);
  }

  #creditConnection(n: number) {
    this.#recvUncredited += n;
    if (this.#recvUncredited >= this.#opts.connectionWindowSize / 2 || this.#recvWindow < 65536) {
      this.#enqueue(windowUpdateFrame(0, this.#recvUncredited));
      this.#recvWindow += this.#recvUncredited;
      this.#recvUncredited = 0;
    }
  }

  /** Grants the peer stream credit for `n` consumed octets (batched to half a window). */
  consumed(stream: Http2ServerStream, n: number): void {
    stream.creditOwed += n;
    if (stream.remoteEnded || this.#closed) return;
    if (stream.creditOwed >= this.#opts.initialWindowSize / 2) {
      this.#enqueue(windowUpdateFrame(stream.id, stream.creditOwed));
      stream.recvWindow += stream.creditOwed;
      stream.creditOwed = 0;
    }
  }

  #onHeaders(flags: number, streamId: number, payload: Uint8Array) {
    if (streamId === 0 || streamId % 2 === 0) {
      throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, `HEADERS on stream ${streamId}`);
    }
    let block = this.#unpad(flags, payload, streamId);
    if (flags & Flag.PRIORITY) {
      if (block.length < 5) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, "HEADERS size");
      const dep = ((block[0] & 0x7f) << 24) | (block[1] << 16) | (block[2] << 8) | block[3];
      if (dep === streamId) {
        throw new StreamError(streamId, ErrorCode.PROTOCOL_ERROR, "stream depends on itself");
      }
      block = block.subarray(5);
    }
    const pending: PendingHeaders = {
      streamId,
      endStream: (flags & Flag.END_STREAM) !== 0,
      parts: [block],
      size: block.length,
    };
    if (flags & Flag.END_HEADERS) this.#headerBlock(pending);
    else this.#pendingHeaders = pending;
  }

  #onContinuation(flags: number, streamId: number, payload: Uint8Array) {
    const p = this.#pendingHeaders;
    if (!p || p.streamId !== streamId) {
      throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "unexpected CONTINUATION");
    }
    p.parts.push(payload);
    p.size += payload.length;
    if (p.size > MAX_HEADER_BLOCK) {
      throw new ConnectionError(ErrorCode.ENHANCE_YOUR_CALM, "header block too large");
    }
    if (flags & Flag.END_HEADERS) {
      this.#pendingHeaders = null;
      this.#headerBlock(p);
    }
  }

  #headerBlock(p: PendingHeaders) {
    let block: Uint8Array;
    if (p.parts.length === 1) block = p.parts[0];
    else {
      block = new Uint8Array(p.size);
      let off = 0;
      for (const part of p.parts) {
        block.set(part, off);
        off += part.length;
      }
    }
    // Decode before any other check: the HPACK table must see every block.
    const fields = this.#decoder.decode(block);
    const id = p.streamId;
    const existing = this.#streams.get(id);
    if (existing) {
      // Request trailers: must end the stream.
      if (existing.remoteEnded) {
        throw new StreamError(id, ErrorCode.STREAM_CLOSED, "HEADERS on half-closed stream");
      }
      if (!p.endStream) {
        throw new StreamError(id, ErrorCode.PROTOCOL_ERROR, "trailers without END_STREAM");
      }
      existing.endRemote();
      return;
    }
    if (id <= this.#lastClientStream) {
      throw new ConnectionError(ErrorCode.STREAM_CLOSED, `HEADERS on closed stream ${id}`);
    }
    this.#lastClientStream = id;
    if (this.#goawayLastStream >= 0 || this.#peerGoaway) {
      // After GOAWAY new streams are ignored; the client retries them elsewhere.
      if (this.#goawayLastStream < 0) return;
      this.#enqueue(rstStreamFrame(id, ErrorCode.REFUSED_STREAM));
      return;
    }
    if (this.#streams.size >= this.#opts.maxConcurrentStreams) {
      this.#enqueue(rstStreamFrame(id, ErrorCode.REFUSED_STREAM));
      return;
    }
    const req = parseRequest(id, fields, this.#opts.maxHeaderListSize);
    const stream = new Http2ServerStream(
      this,
      id,
      req.method,
      req.path,
      req.authority,
      req.headers,
      this.#opts.initialWindowSize,
      this.#peerInitialWindow,
    );
    this.#streams.set(id, stream);
    if (p.endStream) stream.endRemote();
    queueMicrotask(() => this.#run(stream));
  }

  async #run(stream: Http2ServerStream) {
    try {
      await this.#handler(stream);
    } catch (e) {
      if (!(e instanceof StreamClosedError)) this.#opts.onError?.(e);
    }
    if (!stream.localEnded) stream.reset(ErrorCode.INTERNAL_ERROR);
  }

  #onRstStream(streamId: number, payload: Uint8Array) {
    if (streamId === 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "RST_STREAM on 0");
    if (payload.length !== 4) {
      throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, "RST_STREAM size");
    }
    if (streamId > this.#lastClientStream) {
      throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "RST_STREAM on idle stream");
    }
    const code = new DataView(payload.buffer, payload.byteOffset, 4).getUint32(0);
    const s = this.#streams.get(streamId);
    if (!s) return;
    // Opening streams and resetting them at once makes handlers start for nothing (the
    // "rapid reset" attack, CVE-2023-44487): past a budget per window, drop the connection.
    const now = Date.now();
    if (now - this.#resetWindowStart > RESET_WINDOW_MS) {
      this.#resetWindowStart = now;
      this.#resets = 0;
    }
    if (++this.#resets > this.#opts.maxResetsPerWindow) {
      throw new ConnectionError(ErrorCode.ENHANCE_YOUR_CALM, "too many stream resets");
    }
    s.fail(new StreamClosedError(`stream reset by peer (code ${code})`));
  }

  #onSettings(flags: number, streamId: number, payload: Uint8Array) {
    if (streamId !== 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "SETTINGS on stream");
    if (flags & Flag.ACK) {
      if (payload.length !== 0) {
        throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, "SETTINGS ACK with payload");
      }
      return;
    }
    if (payload.length % 6 !== 0) {
      throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, "SETTINGS size");
    }
    this.#sawSettings = true;
    const view = new DataView(payload.buffer, payload.byteOffset, payload.length);
    for (let off = 0; off < payload.length; off += 6) {
      const id = view.getUint16(off);
      const value = view.getUint32(off + 2);
      switch (id) {
        case Setting.ENABLE_PUSH:
          if (value > 1) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "ENABLE_PUSH value");
          break;
        case Setting.INITIAL_WINDOW_SIZE: {
          if (value > MAX_WINDOW) {
            throw new ConnectionError(ErrorCode.FLOW_CONTROL_ERROR, "INITIAL_WINDOW_SIZE value");
          }
          const delta = value - this.#peerInitialWindow;
          this.#peerInitialWindow = value;
          for (const s of this.#streams.values()) {
            s.sendWindow += delta;
            if (s.sendWindow > MAX_WINDOW) {
              throw new ConnectionError(ErrorCode.FLOW_CONTROL_ERROR, "stream window overflow");
            }
            s.windowChanged();
          }
          break;
        }
        case Setting.MAX_FRAME_SIZE:
          if (value < MIN_MAX_FRAME_SIZE || value > MAX_MAX_FRAME_SIZE) {
            throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "MAX_FRAME_SIZE value");
          }
          this.#peerMaxFrameSize = value;
          break;
          // HEADER_TABLE_SIZE only limits an encoder's dynamic table; ours has none.
          // MAX_CONCURRENT_STREAMS limits server pushes, which we never make.
      }
    }
    this.#enqueue(settingsFrame([], true));
  }

  #onWindowUpdate(streamId: number, payload: Uint8Array) {
    if (payload.length !== 4) {
      throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, "WINDOW_UPDATE size");
    }
    const inc = new DataView(payload.buffer, payload.byteOffset, 4).getUint32(0) & 0x7fff_ffff;
    if (streamId === 0) {
      if (inc === 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "zero window increment");
      this.#sendWindow += inc;
      if (this.#sendWindow > MAX_WINDOW) {
        throw new ConnectionError(ErrorCode.FLOW_CONTROL_ERROR, "connection window overflow");
      }
      const waiters = [...this.#connWindowWaiters];
      this.#connWindowWaiters.clear();
      for (const s of waiters) s.windowChanged();
      return;
    }
    if (streamId > this.#lastClientStream) {
      throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "WINDOW_UPDATE on idle stream");
    }
    const s = this.#streams.get(streamId);
    if (inc === 0) throw new StreamError(streamId, ErrorCode.PROTOCOL_ERROR, "zero increment");
    if (!s) return; // Closed streams may still receive updates in flight.
    s.sendWindow += inc;
    if (s.sendWindow > MAX_WINDOW) {
      throw new StreamError(streamId, ErrorCode.FLOW_CONTROL_ERROR, "stream window overflow");
    }
    s.windowChanged();
  }

  // ---- writing (StreamOwner) ----

  /** Sends a header block, split into HEADERS + CONTINUATION at the peer's frame size. */
  sendHeaders(stream: Http2ServerStream, fields: readonly HeaderField[], endStream: boolean) {
    if (this.#closed) throw new StreamClosedError("connection closed");
    const block = encodeHeaders(fields);
    const max = this.#peerMaxFrameSize;
    const es = endStream ? Flag.END_STREAM : 0;
    if (block.length <= max) {
      this.#enqueue(
        encodeFrame(FrameType.HEADERS, es | Flag.END_HEADERS, stream.id, block),
      );
      return;
    }
    this.#enqueue(encodeFrame(FrameType.HEADERS, es, stream.id, block.subarray(0, max)));
    for (let off = max; off < block.length; off += max) {
      const last = off + max >= block.length;
      this.#enqueue(encodeFrame(
        FrameType.CONTINUATION,
        last ? Flag.END_HEADERS : 0,
        stream.id,
        block.subarray(off, off + max),
      ));
    }
  }

  /** Sends DATA frames as the windows allow. */
  async sendData(stream: Http2ServerStream, data: Uint8Array, endStream: boolean) {
    let off = 0;
    do {
      let n = 0;
      const left = data.length - off;
      while (true) {
        if (this.#closed || stream.localEnded) throw new StreamClosedError();
        if (left === 0) break;
        n = Math.min(left, this.#sendWindow, stream.sendWindow, this.#peerMaxFrameSize);
        if (n > 0) break;
        if (this.#sendWindow <= 0) this.#connWindowWaiters.add(stream);
        await stream.waitWindow();
      }
      const last = off + n >= data.length;
      this.#enqueue(encodeFrame(
        FrameType.DATA,
        last && endStream ? Flag.END_STREAM : 0,
        stream.id,
        data.subarray(off, off + n),
      ));
      this.#sendWindow -= n;
      stream.sendWindow -= n;
      off += n;
      if (this.#outBytes > OUTPUT_HIGH_WATER) await this.#belowHighWater();
    } while (off < data.length);
  }

  /** Sends RST_STREAM for a stream we abandon. */
  resetStream(stream: Http2ServerStream, code: ErrorCode): void {
    if (!this.#closed) this.#enqueue(rstStreamFrame(stream.id, code));
  }

  /** Forgets a finished stream. */
  streamClosed(stream: Http2ServerStream): void {
    this.#streams.delete(stream.id);
    this.#connWindowWaiters.delete(stream);
    this.#closeIfIdle();
  }

  #closeIfIdle() {
    if (this.#streams.size > 0 || this.#closed) return;
    if (this.#peerGoaway || this.#goawayLastStream >= 0) {
      // Let queued frames (trailers, GOAWAY) reach the peer first.
      this.#closeAfterFlush(new StreamClosedError("connection closed"));
    }
  }

  #fatal(code: ErrorCode, message: string) {
    if (this.#closed) return;
    this.#goawayLastStream = this.#lastClientStream;
    this.#enqueue(goawayFrame(this.#lastClientStream, code, message));
    const err = new StreamClosedError(`connection error: ${message}`);
    for (const s of [...this.#streams.values()]) s.fail(err);
    this.#closeAfterFlush(err);
  }

  /** Closes once queued frames are written, or after a grace period if the peer stalls. */
  #closeAfterFlush(reason: Error) {
    if (this.#closeTimer !== undefined) return;
    this.#closeTimer = setTimeout(() => this.#close(reason), CLOSE_GRACE_MS);
    this.#flushed().then(() => this.#close(reason));
  }

  #close(reason: Error) {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#closeTimer);
    for (const s of [...this.#streams.values()]) s.fail(reason);
    this.#streams.clear();
    this.#out = [];
    this.#outBytes = 0;
    for (const w of this.#drainWaiters.splice(0)) w();
    for (const w of this.#flushWaiters.splice(0)) w();
    try {
      this.#conn.close();
    } catch {
      // Already closed by the peer.
    }
    this.#closedResolve();
  }

  #enqueue(frame: Uint8Array) {
    if (this.#closed) return;
    this.#out.push(frame);
    this.#outBytes += frame.length;
    if (!this.#flushing) {
      // Start writing after the current burst of work: frames queued meanwhile (the rest of
      // a response, other streams' messages) go out in the same write.
      this.#flushing = true;
      setImmediate(() => this.#flush());
    }
  }

  /** Resolves when queued output is at most the high-water mark (or the connection closed). */
  #belowHighWater(): Promise<void> {
    if (this.#outBytes <= OUTPUT_HIGH_WATER || this.#closed) return Promise.resolve();
    return new Promise((r) => this.#drainWaiters.push(r));
  }

  /** Resolves when all queued output is written (or the connection closed). */
  #flushed(): Promise<void> {
    if ((this.#outBytes === 0 && !this.#flushing) || this.#closed) return Promise.resolve();
    return new Promise((r) => this.#flushWaiters.push(r));
  }

  async #flush() {
    try {
      while (this.#out.length > 0 && !this.#closed) {
        let size = 0;
        let count = 0;
        while (count < this.#out.length && (count === 0 || size < WRITE_BATCH)) {
          size += this.#out[count++].length;
        }
        const frames = this.#out.splice(0, count);
        this.#outBytes -= size;
        let buf: Uint8Array;
        if (count === 1) buf = frames[0];
        else {
          buf = new Uint8Array(size);
          let off = 0;
          for (const f of frames) {
            buf.set(f, off);
            off += f.length;
          }
        }
        let off = 0;
        while (off < buf.length) off += await this.#conn.write(buf.subarray(off));
        if (this.#outBytes <= OUTPUT_HIGH_WATER) {
          for (const w of this.#drainWaiters.splice(0)) w();
        }
      }
    } catch (e) {
      if (!isDisconnect(e)) this.#opts.onError?.(e);
      this.#close(new StreamClosedError("connection lost"));
    } finally {
      this.#flushing = false;
      for (const w of this.#drainWaiters.splice(0)) w();
      for (const w of this.#flushWaiters.splice(0)) w();
    }
  }
}

function isDisconnect(e: unknown): boolean {
  return e instanceof SocketClosedError || e instanceof Deno.errors.BrokenPipe ||
    e instanceof Deno.errors.ConnectionReset ||
    e instanceof Deno.errors.BadResource || e instanceof Deno.errors.Interrupted ||
    e instanceof Deno.errors.NotConnected || e instanceof Deno.errors.UnexpectedEof;
}

interface ParsedRequest {
  method: string;
  path: string;
  authority: string;
  headers: Map<string, string>;
}

/** Validates a request header list (RFC 9113 §8.2-8.3); a malformed one is a stream error. */
function parseRequest(id: number, fields: readonly HeaderField[], maxSize: number): ParsedRequest {
  const bad = (why: string) => new StreamError(id, ErrorCode.PROTOCOL_ERROR, why);
  let method = "";
  let path = "";
  let scheme = "";
  let authority = "";
  let regular = false;
  let size = 0;
  const headers = new Map<string, string>();
  for (const [name, value] of fields) {
    size += name.length + value.length + 32;
    if (name !== name.toLowerCase()) throw bad(`uppercase header name ${name}`);
    if (name.startsWith(":")) {
      if (regular) throw bad("pseudo-header after regular header");
      switch (name) {
        case ":method":
          if (method) throw bad("duplicate :method");
          method = value;
          break;
        case ":path":
          if (path) throw bad("duplicate :path");
          path = value;
          break;
        case ":scheme":
          if (scheme) throw bad("duplicate :scheme");
          scheme = value;
          break;
        case ":authority":
          authority = value;
          break;
        default:
          throw bad(`unknown pseudo-header ${name}`);
      }
      continue;
    }
    regular = true;
    if (CONNECTION_SPECIFIC.has(name)) throw bad(`connection-specific header ${name}`);
    if (name === "te" && value !== "trailers") throw bad("te other than trailers");
    const prev = headers.get(name);
    headers.set(name, prev === undefined ? value : `${prev}, ${value}`);
  }
  if (size > maxSize) {
    throw new StreamError(id, ErrorCode.REFUSED_STREAM, "header list too large");
  }
  if (!method || !path || !scheme) throw bad("missing :method, :path or :scheme");
  return { method, path, authority, headers };
}
