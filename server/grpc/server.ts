/**
 * A gRPC server over the {@linkcode ServerStream} transport interface: routes
 * `/package.Service/Method` paths to unary, server-streaming and bidirectional-streaming handlers
 * typed by protobuf-es service descriptors, with gzip or snappy message compression,
 * `grpc-timeout` deadlines as an AbortSignal, and status codes in trailers (trailers-only for
 * early errors).
 *
 * @module
 */
import {
  create,
  type DescMessage,
  type DescMethod,
  type DescService,
  fromBinary,
  type MessageInitShape,
  type MessageShape,
  toBinary,
} from "@bufbuild/protobuf";
import type { GenService, GenServiceMethods } from "@bufbuild/protobuf/codegenv2";
import {
  frameMessage,
  type MessageEncoding,
  readMessages,
  SUPPORTED_ENCODINGS,
} from "./framing.ts";
import type { HeaderField, ServerStream } from "./http2/types.ts";
import { ErrorCode } from "./http2/frame.ts";
import { StreamClosedError } from "./http2/stream.ts";
import { Code, encodeGrpcMessage, GrpcError } from "./status.ts";
import { parseGrpcTimeout } from "./timeout.ts";

/** What a handler learns about its call besides the request message. */
export interface CallContext {
  /** Aborted when the deadline passes or the client cancels; the reason says which. */
  readonly signal: AbortSignal;
  /** Request headers (metadata), lowercase names, without pseudo-headers. */
  readonly metadata: ReadonlyMap<string, string>;
  /** The full method path, e.g. `/thanos.Store/Series`. */
  readonly method: string;
  /** Absolute deadline (ms since the epoch), when the client set one. */
  readonly deadline?: number;
}

/** A unary method implementation. */
export type UnaryImpl<I extends DescMessage, O extends DescMessage> = (
  request: MessageShape<I>,
  ctx: CallContext,
) => Promise<MessageInitShape<O>> | MessageInitShape<O>;

/** A server-streaming method implementation: yields response messages one at a time. */
export type ServerStreamingImpl<I extends DescMessage, O extends DescMessage> = (
  request: MessageShape<I>,
  ctx: CallContext,
) => AsyncIterable<MessageInitShape<O>>;

/**
 * A bidirectional-streaming method implementation: reads request messages as the client sends
 * them and yields response messages. Iterating `requests` throws the call's error (a
 * {@linkcode GrpcError} for an oversized or malformed message, the abort reason once the
 * deadline passes or the client cancels); it ends when the client half-closes.
 */
export type BidiStreamingImpl<I extends DescMessage, O extends DescMessage> = (
  requests: AsyncIterable<MessageShape<I>>,
  ctx: CallContext,
) => AsyncIterable<MessageInitShape<O>>;

/** Implementations for (some of) a service's methods, keyed by their protobuf-es local name. */
export type ServiceImpl<S extends GenServiceMethods> = {
  [K in keyof S]?: S[K]["methodKind"] extends "unary" ? UnaryImpl<S[K]["input"], S[K]["output"]>
    : S[K]["methodKind"] extends "server_streaming"
      ? ServerStreamingImpl<S[K]["input"], S[K]["output"]>
    : S[K]["methodKind"] extends "bidi_streaming" ? BidiStreamingImpl<S[K]["input"], S[K]["output"]>
    : never;
};

/** Options of {@linkcode GrpcServer}. */
export interface GrpcServerOptions {
  /** Largest request message accepted (after decompression), bytes. Default 64 MiB. */
  maxReceiveMessageSize?: number;
  /** Largest response message sent (as framed, compressed or not), bytes. Default 2^31 - 1. */
  maxSendMessageSize?: number;
  /** Compress responses with gzip when the client accepts it, even if its request was not. */
  compressResponses?: boolean;
  /** Called with errors that are not {@linkcode GrpcError}s (answered as Unknown). */
  onError?: (err: unknown, method: string) => void;
  /** Told about every routed call, for metrics (grpc-ecosystem's `grpc_server_*` families). */
  observer?: CallObserver;
}

/** A method kind as go-grpc-middleware's `grpc_type` label spells it. */
export type CallKind = "unary" | "server_stream" | "bidi_stream";

/** Receives call events; `kind` is the method kind as in `grpc_type`. */
export interface CallObserver {
  /** A call to a known method started. */
  started(method: string, kind: CallKind): void;
  /** A request message was received (once per message on a bidirectional stream). */
  received(method: string, kind: CallKind): void;
  /** A message was sent on the call. */
  sent(method: string, kind: CallKind): void;
  /** The call ended with `code` (Canceled when the client went away) after `seconds`. */
  handled(method: string, kind: CallKind, code: Code, seconds: number): void;
}

type MethodKind = "unary" | "server_streaming" | "bidi_streaming";

interface Route {
  method: DescMethod;
  kind: MethodKind;
  impl: (req: unknown, ctx: CallContext) => unknown;
}

const CALL_KINDS: Record<MethodKind, CallKind> = {
  unary: "unary",
  server_streaming: "server_stream",
  bidi_streaming: "bidi_stream",
};

const DEFAULT_MAX_RECEIVE = 64 << 20;
// grpc-go's and Thanos' (math.MaxInt32).
const DEFAULT_MAX_SEND = 2 ** 31 - 1;
/** How long trailers may wait for flow control after a deadline before the stream is reset. */
const DEADLINE_GRACE_MS = 1000;
const ACCEPT_ENCODING = "identity,gzip,snappy";

/** Routes gRPC calls arriving on HTTP/2 streams to registered service implementations. */
export class GrpcServer {
  readonly #routes = new Map<string, Route>();
  readonly #services = new Map<string, DescService>();
  readonly #maxReceive: number;
  readonly #maxSend: number;
  readonly #compress: boolean;
  readonly #onError?: (err: unknown, method: string) => void;
  readonly #observer?: CallObserver;

  /** Creates a server with no services. */
  constructor(options: GrpcServerOptions = {}) {
    this.#maxReceive = options.maxReceiveMessageSize ?? DEFAULT_MAX_RECEIVE;
    this.#maxSend = options.maxSendMessageSize ?? DEFAULT_MAX_SEND;
    this.#compress = options.compressResponses ?? false;
    this.#onError = options.onError;
    this.#observer = options.observer;
  }

  /**
   * Registers a service; unary, server-streaming and bidirectional-streaming methods are
   * supported (client streaming is not).
   */
  addService<S extends GenServiceMethods>(service: GenService<S>, impl: ServiceImpl<S>): this {
    for (const [local, fn] of Object.entries(impl)) {
      const method = (service.method as Record<string, DescMethod>)[local];
      if (!method) throw new TypeError(`${service.typeName} has no method ${local}`);
      if (method.methodKind === "client_streaming") {
        throw new TypeError(`${method.methodKind} methods are not supported (${local})`);
      }
      this.#routes.set(`/${service.typeName}/${method.name}`, {
        method,
        kind: method.methodKind,
        impl: fn as Route["impl"],
      });
    }
    this.#services.set(service.typeName, service);
    return this;
  }

  /** The registered services, in registration order (what reflection lists). */
  services(): DescService[] {
    return [...this.#services.values()];
  }

  /** Serves one HTTP/2 stream as a gRPC call; never throws. */
  handle = async (stream: ServerStream): Promise<void> => {
    try {
      await this.#handle(stream);
    } catch (e) {
      if (!(e instanceof StreamClosedError)) this.#onError?.(e, stream.path);
      if (!stream.closed) stream.reset();
    }
  };

  async #handle(stream: ServerStream) {
    if (stream.method !== "POST") {
      await stream.respond([[":status", "405"], ["allow", "POST"]], true);
      return;
    }
    const ct = stream.headers.get("content-type") ?? "";
    if (!/^application\/grpc($|[+;])/.test(ct)) {
      await stream.respond([[":status", "415"], ["content-type", "text/plain"]], true);
      return;
    }
    const call = new Call(stream, this.#maxSend);
    const route = this.#routes.get(stream.path);
    if (!route) {
      const msg = stream.path.lastIndexOf("/") > 0
        ? `unknown method ${stream.path}`
        : `malformed method name: ${stream.path}`;
      return call.finish(Code.Unimplemented, msg);
    }
    const kind = CALL_KINDS[route.kind];
    const obs = this.#observer;
    if (!obs) return await this.#serveCall(stream, route, call);
    const t0 = performance.now();
    obs.started(stream.path, kind);
    call.onSent = () => obs.sent(stream.path, kind);
    call.onReceived = () => obs.received(stream.path, kind);
    try {
      await this.#serveCall(stream, route, call);
    } finally {
      obs.handled(stream.path, kind, call.status ?? Code.Canceled, (performance.now() - t0) / 1000);
    }
  }

  async #serveCall(stream: ServerStream, route: Route, call: Call) {
    const encodingHeader = stream.headers.get("grpc-encoding") ?? "identity";
    if (!(SUPPORTED_ENCODINGS as readonly string[]).includes(encodingHeader)) {
      return call.finish(
        Code.Unimplemented,
        `grpc: Decompressor is not installed for grpc-encoding "${encodingHeader}"`,
      );
    }
    const reqEncoding = encodingHeader as MessageEncoding;
    const accepts = (stream.headers.get("grpc-accept-encoding") ?? "").split(/\s*,\s*/);
    // Answer in the request's encoding, as grpc-go does; else gzip if configured and accepted.
    call.encoding = reqEncoding !== "identity"
      ? reqEncoding
      : this.#compress && accepts.includes("gzip")
      ? "gzip"
      : "identity";

    const timeoutHeader = stream.headers.get("grpc-timeout");
    let timeoutMs: number | undefined;
    if (timeoutHeader !== undefined) {
      timeoutMs = parseGrpcTimeout(timeoutHeader);
      if (timeoutMs === undefined) {
        return call.finish(Code.Internal, `malformed grpc-timeout: ${timeoutHeader}`);
      }
    }
    const ctrl = new AbortController();
    const onCancel = () => {
      ctrl.abort(new GrpcError(Code.Canceled, "call canceled by the client"));
      call.cancelled = true;
    };
    if (stream.signal.aborted) return;
    stream.signal.addEventListener("abort", onCancel, { once: true });
    let timer: ReturnType<typeof setTimeout> | undefined;
    if (timeoutMs !== undefined) {
      timer = setTimeout(() => {
        ctrl.abort(new GrpcError(Code.DeadlineExceeded, "context deadline exceeded"));
        // Trailers wait behind queued data; if a client that stopped reading keeps them from
        // going out, the stream is reset so its buffers and handler are released.
        const grace = setTimeout(() => {
          if (!stream.closed) stream.reset(ErrorCode.CANCEL);
        }, DEADLINE_GRACE_MS);
        call.finish(Code.DeadlineExceeded, "context deadline exceeded")
          .catch((e) => this.#onError?.(e, stream.path))
          .finally(() => clearTimeout(grace));
      }, timeoutMs);
    }
    const ctx: CallContext = {
      signal: ctrl.signal,
      metadata: stream.headers,
      method: stream.path,
      deadline: timeoutMs === undefined ? undefined : Date.now() + timeoutMs,
    };
    // A failure reading a bidirectional stream's requests decides the status even if the
    // handler caught it.
    let readError: unknown;
    try {
      if (route.kind === "bidi_streaming") {
        const requests = this.#readRequests(stream, route.method.input, reqEncoding, ctrl.signal, {
          received: () => call.onReceived?.(),
          failed: (e) => readError ??= e,
        });
        const it = route.impl(requests, ctx) as AsyncIterable<MessageInitShape<DescMessage>>;
        for await (const res of it) {
          ctrl.signal.throwIfAborted();
          await call.send(route.method.output, res);
        }
        if (readError !== undefined) throw readError;
      } else {
        const request = await this.#readRequest(
          stream,
          route.method.input,
          reqEncoding,
          ctrl.signal,
        );
        call.onReceived?.();
        if (route.kind === "unary") {
          const res = await route.impl(request, ctx) as MessageInitShape<DescMessage>;
          ctrl.signal.throwIfAborted();
          await call.send(route.method.output, res);
        } else {
          const it = route.impl(request, ctx) as AsyncIterable<MessageInitShape<DescMessage>>;
          for await (const res of it) {
            ctrl.signal.throwIfAborted();
            await call.send(route.method.output, res);
          }
        }
      }
      await call.finish(Code.OK, "");
    } catch (thrown) {
      const e = readError ?? thrown;
      if (call.cancelled || e instanceof StreamClosedError) return;
      if (e instanceof GrpcError) return await call.finish(e.code, e.message);
      this.#onError?.(e, stream.path);
      await call.finish(Code.Unknown, e instanceof Error ? e.message : String(e));
    } finally {
      clearTimeout(timer);
      stream.signal.removeEventListener("abort", onCancel);
    }
  }

  async #readRequest(
    stream: ServerStream,
    schema: DescMessage,
    encoding: MessageEncoding,
    signal: AbortSignal,
  ): Promise<unknown> {
    let request: Uint8Array | undefined;
    const read = (async () => {
      for await (const msg of readMessages(stream.body, encoding, this.#maxReceive)) {
        if (request !== undefined) {
          throw new GrpcError(Code.Unimplemented, "grpc: more than one request message");
        }
        request = msg;
      }
    })();
    // The client may never finish its half: the deadline or a cancel must still end the wait.
    await new Promise<void>((resolve, reject) => {
      const onAbort = () => reject(signal.reason);
      if (signal.aborted) return onAbort();
      signal.addEventListener("abort", onAbort, { once: true });
      read.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
    });
    if (request === undefined) {
      throw new GrpcError(Code.Unimplemented, "grpc: no request message");
    }
    return decodeRequest(schema, request);
  }

  /**
   * The request messages of a bidirectional stream, decoded as they arrive. A wait for the next
   * message ends with the abort reason when `signal` aborts (the client may never half-close).
   */
  async *#readRequests(
    stream: ServerStream,
    schema: DescMessage,
    encoding: MessageEncoding,
    signal: AbortSignal,
    events: { received: () => void; failed: (e: unknown) => void },
  ): AsyncGenerator<unknown> {
    const messages = readMessages(stream.body, encoding, this.#maxReceive)[Symbol.asyncIterator]();
    let done = false;
    try {
      while (true) {
        let next: IteratorResult<Uint8Array>;
        try {
          next = await untilAborted(messages.next(), signal);
          if (next.done) {
            done = true;
            return;
          }
        } catch (e) {
          done = true;
          if (!signal.aborted) events.failed(e);
          throw e;
        }
        let request: unknown;
        try {
          request = decodeRequest(schema, next.value);
        } catch (e) {
          events.failed(e);
          throw e;
        }
        // Counted once decoded, as for unary requests (grpc-go counts what it could unmarshal).
        events.received();
        yield request;
      }
    } finally {
      // A handler that stops reading early leaves the body to the stream's end (finishing the
      // call resets the client's half); a pending read is not awaited.
      if (!done) messages.return(undefined).catch(() => {});
    }
  }
}

/** Decodes one request message; a malformed one is Internal, as in grpc-go. */
function decodeRequest(schema: DescMessage, bytes: Uint8Array): unknown {
  try {
    return fromBinary(schema, bytes);
  } catch (e) {
    throw new GrpcError(
      Code.Internal,
      `grpc: error unmarshalling request: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
}

/** Settles like `p`, or rejects with the abort reason once `signal` aborts first. */
function untilAborted<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    if (signal.aborted) {
      p.catch(() => {});
      return onAbort();
    }
    signal.addEventListener("abort", onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

/** The response side of one call: headers once, messages, then exactly one status. */
class Call {
  encoding: MessageEncoding = "identity";
  cancelled = false;
  /** The status the call ended with, once it has ended. */
  status: Code | undefined;
  /** Called after each message sent. */
  onSent: (() => void) | undefined;
  /** Called once the request message is decoded. */
  onReceived: (() => void) | undefined;
  #finished = false;
  #headersQueued = false;
  readonly #stream: ServerStream;
  readonly #maxSend: number;

  constructor(stream: ServerStream, maxSend: number) {
    this.#stream = stream;
    this.#maxSend = maxSend;
  }

  #headers(): HeaderField[] {
    const h: HeaderField[] = [
      [":status", "200"],
      ["content-type", "application/grpc"],
      ["grpc-accept-encoding", ACCEPT_ENCODING],
    ];
    if (this.encoding !== "identity") h.push(["grpc-encoding", this.encoding]);
    return h;
  }

  async send(schema: DescMessage, init: MessageInitShape<DescMessage>) {
    if (this.#finished) throw new StreamClosedError("call already finished");
    const msg = isMessage(init, schema) ? init : create(schema, init);
    const frame = frameMessage(toBinary(schema, msg), this.encoding);
    if (frame.length - 5 > this.#maxSend) {
      // grpc-go's check and text: the payload as it would go on the wire.
      throw new GrpcError(
        Code.ResourceExhausted,
        `grpc: trying to send message larger than max (${frame.length - 5} vs. ${this.#maxSend})`,
      );
    }
    if (!this.#headersQueued) {
      this.#headersQueued = true;
      await this.#stream.respond(this.#headers());
    }
    await this.#stream.write(frame);
    this.onSent?.();
  }

  /** Sends the status; later calls are ignored. Trailers-only when no headers went out. */
  async finish(code: Code, message: string): Promise<void> {
    if (this.#finished || this.#stream.closed) return;
    this.#finished = true;
    // The code the call ended with, even if the trailers cannot be delivered (a client that
    // stopped reading past its deadline gets a reset, but the call still ended DeadlineExceeded).
    this.status = code;
    const status: HeaderField[] = [["grpc-status", String(code)]];
    if (message) status.push(["grpc-message", encodeGrpcMessage(message)]);
    try {
      // The flag is set when headers are queued, not sent: a deadline can fire while a message
      // (and its headers) still waits for flow control, and must then follow with trailers.
      if (!this.#headersQueued) {
        this.#headersQueued = true;
        await this.#stream.respond([...this.#headers(), ...status], true);
      } else await this.#stream.end(status);
    } catch (e) {
      if (!(e instanceof StreamClosedError)) throw e;
    }
  }
}

function isMessage(v: unknown, schema: DescMessage): v is MessageShape<DescMessage> {
  return typeof v === "object" && v !== null &&
    (v as { $typeName?: string }).$typeName === schema.typeName;
}
