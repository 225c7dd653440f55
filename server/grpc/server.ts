/**
 * A gRPC server over the {@linkcode ServerStream} transport interface: routes
 * `/package.Service/Method` paths to unary and server-streaming handlers typed by
 * protobuf-es service descriptors, with gzip or snappy message compression, `grpc-timeout` deadlines as
 * an AbortSignal, and status codes in trailers (trailers-only for early errors).
 *
 * @module
 */
import {
  create,
  type DescMessage,
  type DescMethod,
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

/** Implementations for (some of) a service's methods, keyed by their protobuf-es local name. */
export type ServiceImpl<S extends GenServiceMethods> = {
  [K in keyof S]?: S[K]["methodKind"] extends "unary" ? UnaryImpl<S[K]["input"], S[K]["output"]>
    : S[K]["methodKind"] extends "server_streaming"
      ? ServerStreamingImpl<S[K]["input"], S[K]["output"]>
    : never;
};

/** Options of {@linkcode GrpcServer}. */
export interface GrpcServerOptions {
  /** Largest request message accepted (after decompression), bytes. */
  maxReceiveMessageSize?: number;
  /** Compress responses with gzip when the client accepts it, even if its request was not. */
  compressResponses?: boolean;
  /** Called with errors that are not {@linkcode GrpcError}s (answered as Unknown). */
  onError?: (err: unknown, method: string) => void;
  /** Told about every routed call, for metrics (grpc-ecosystem's `grpc_server_*` families). */
  observer?: CallObserver;
}

/** Receives call events; `kind` is the method kind as in `grpc_type` ("unary", "server_stream"). */
export interface CallObserver {
  /** A call to a known method started. */
  started(method: string, kind: "unary" | "server_stream"): void;
  /** The request message was received and decoded. */
  received(method: string, kind: "unary" | "server_stream"): void;
  /** A message was sent on the call. */
  sent(method: string, kind: "unary" | "server_stream"): void;
  /** The call ended with `code` (Canceled when the client went away) after `seconds`. */
  handled(method: string, kind: "unary" | "server_stream", code: Code, seconds: number): void;
}

interface Route {
  method: DescMethod;
  kind: "unary" | "server_streaming";
  impl: (req: unknown, ctx: CallContext) => unknown;
}

const DEFAULT_MAX_RECEIVE = 64 << 20;
/** How long trailers may wait for flow control after a deadline before the stream is reset. */
const DEADLINE_GRACE_MS = 1000;
const ACCEPT_ENCODING = "identity,gzip,snappy";

/** Routes gRPC calls arriving on HTTP/2 streams to registered service implementations. */
export class GrpcServer {
  readonly #routes = new Map<string, Route>();
  readonly #maxReceive: number;
  readonly #compress: boolean;
  readonly #onError?: (err: unknown, method: string) => void;
  readonly #observer?: CallObserver;

  /** Creates a server with no services. */
  constructor(options: GrpcServerOptions = {}) {
    this.#maxReceive = options.maxReceiveMessageSize ?? DEFAULT_MAX_RECEIVE;
    this.#compress = options.compressResponses ?? false;
    this.#onError = options.onError;
    this.#observer = options.observer;
  }

  /** Registers a service; only unary and server-streaming methods are supported. */
  addService<S extends GenServiceMethods>(service: GenService<S>, impl: ServiceImpl<S>): this {
    for (const [local, fn] of Object.entries(impl)) {
      const method = (service.method as Record<string, DescMethod>)[local];
      if (!method) throw new TypeError(`${service.typeName} has no method ${local}`);
      if (method.methodKind !== "unary" && method.methodKind !== "server_streaming") {
        throw new TypeError(`${method.methodKind} methods are not supported (${local})`);
      }
      this.#routes.set(`/${service.typeName}/${method.name}`, {
        method,
        kind: method.methodKind,
        impl: fn as Route["impl"],
      });
    }
    return this;
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
    const call = new Call(stream);
    const route = this.#routes.get(stream.path);
    if (!route) {
      const msg = stream.path.lastIndexOf("/") > 0
        ? `unknown method ${stream.path}`
        : `malformed method name: ${stream.path}`;
      return call.finish(Code.Unimplemented, msg);
    }
    const kind = route.kind === "unary" ? "unary" : "server_stream";
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
    try {
      const request = await this.#readRequest(stream, route.method.input, reqEncoding, ctrl.signal);
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
      await call.finish(Code.OK, "");
    } catch (e) {
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
    try {
      return fromBinary(schema, request);
    } catch (e) {
      throw new GrpcError(
        Code.Internal,
        `grpc: error unmarshalling request: ${e instanceof Error ? e.message : String(e)}`,
      );
    }
  }
}

/** The response side of one call: headers once, messages, then exactly one status. */
class Call {
  encoding: MessageEncoding = "identity";
  cancelled = false;
  /** The status sent, once sent. */
  status: Code | undefined;
  /** Called after each message sent. */
  onSent: (() => void) | undefined;
  /** Called once the request message is decoded. */
  onReceived: (() => void) | undefined;
  #finished = false;
  #headersQueued = false;
  readonly #stream: ServerStream;

  constructor(stream: ServerStream) {
    this.#stream = stream;
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
    const status: HeaderField[] = [["grpc-status", String(code)]];
    if (message) status.push(["grpc-message", encodeGrpcMessage(message)]);
    try {
      // The flag is set when headers are queued, not sent: a deadline can fire while a message
      // (and its headers) still waits for flow control, and must then follow with trailers.
      if (!this.#headersQueued) {
        this.#headersQueued = true;
        await this.#stream.respond([...this.#headers(), ...status], true);
      } else await this.#stream.end(status);
      this.status = code;
    } catch (e) {
      if (!(e instanceof StreamClosedError)) throw e;
    }
  }
}

function isMessage(v: unknown, schema: DescMessage): v is MessageShape<DescMessage> {
  return typeof v === "object" && v !== null &&
    (v as { $typeName?: string }).$typeName === schema.typeName;
}
