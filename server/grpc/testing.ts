/**
 * Test helpers: a real @grpc/grpc-js client calling unary, server-streaming and bidirectional
 * methods by path with protobuf-es (de)serialization, so tests exercise an independent HTTP/2 +
 * gRPC implementation.
 *
 * @module
 */
import * as grpc from "@grpc/grpc-js";
import { Buffer } from "node:buffer";
import {
  create,
  type DescMessage,
  fromBinary,
  type MessageInitShape,
  type MessageShape,
  toBinary,
} from "@bufbuild/protobuf";

/** A gRPC failure as grpc-js reports it. */
export interface CallError {
  /** The gRPC status code. */
  code: number;
  /** The decoded `grpc-message`. */
  details: string;
}

/** Per-call options. */
export interface TestCallOptions {
  /** Deadline relative to now, ms. */
  timeoutMs?: number;
  /** Extra metadata. */
  metadata?: Record<string, string>;
}

/** A grpc-js client for one target. */
export class TestClient {
  /** The underlying grpc-js client. */
  readonly client: grpc.Client;

  /** Connects (lazily) to `target`, e.g. `127.0.0.1:1234`. */
  constructor(
    target: string,
    options: grpc.ChannelOptions = {},
    credentials: grpc.ChannelCredentials = grpc.credentials.createInsecure(),
  ) {
    this.client = new grpc.Client(target, credentials, options);
  }

  #meta(opts: TestCallOptions): [grpc.Metadata, grpc.CallOptions] {
    const md = new grpc.Metadata();
    for (const [k, v] of Object.entries(opts.metadata ?? {})) md.set(k, v);
    const co: grpc.CallOptions = {};
    if (opts.timeoutMs !== undefined) co.deadline = Date.now() + opts.timeoutMs;
    return [md, co];
  }

  /** Makes a unary call; rejects with a {@linkcode CallError}. */
  unary<I extends DescMessage, O extends DescMessage>(
    path: string,
    input: I,
    output: O,
    request: MessageInitShape<I>,
    opts: TestCallOptions = {},
  ): Promise<MessageShape<O>> {
    const [md, co] = this.#meta(opts);
    return new Promise((resolve, reject) => {
      this.client.makeUnaryRequest(
        path,
        ...codec(input, output),
        request,
        md,
        co,
        (err, value) => err ? reject(toCallError(err)) : resolve(value!),
      );
    });
  }

  /** Opens a server-streaming call and returns the raw grpc-js stream. */
  openStream<I extends DescMessage, O extends DescMessage>(
    path: string,
    input: I,
    output: O,
    request: MessageInitShape<I>,
    opts: TestCallOptions = {},
  ): grpc.ClientReadableStream<MessageShape<O>> {
    const [md, co] = this.#meta(opts);
    return this.client.makeServerStreamRequest(
      path,
      ...codec(input, output),
      request,
      md,
      co,
    );
  }

  /** Collects all messages of a server-streaming call; rejects with a {@linkcode CallError}. */
  stream<I extends DescMessage, O extends DescMessage>(
    path: string,
    input: I,
    output: O,
    request: MessageInitShape<I>,
    opts: TestCallOptions = {},
  ): Promise<MessageShape<O>[]> {
    const call = this.openStream(path, input, output, request, opts);
    const out: MessageShape<O>[] = [];
    return new Promise((resolve, reject) => {
      call.on("data", (m: MessageShape<O>) => out.push(m));
      call.on("error", (e: grpc.ServiceError) => reject(toCallError(e)));
      call.on("end", () => resolve(out));
    });
  }

  /** Opens a bidirectional-streaming call and returns the raw grpc-js duplex stream. */
  openBidi<I extends DescMessage, O extends DescMessage>(
    path: string,
    input: I,
    output: O,
    opts: TestCallOptions = {},
  ): grpc.ClientDuplexStream<MessageInitShape<I>, MessageShape<O>> {
    const [md, co] = this.#meta(opts);
    return this.client.makeBidiStreamRequest(
      path,
      ...codec(input, output),
      md,
      co,
    );
  }

  /** Closes the channel (grpc-js sends GOAWAY). */
  close(): void {
    this.client.close();
  }
}

/** grpc-js serializer and deserializer for protobuf-es message schemas. */
function codec<I extends DescMessage, O extends DescMessage>(
  input: I,
  output: O,
): [(v: MessageInitShape<I>) => Buffer, (b: Buffer) => MessageShape<O>] {
  return [
    (v) => Buffer.from(toBinary(input, create(input, v))),
    (b) => fromBinary(output, b),
  ];
}

/** What {@linkcode duplexReader} gives. */
export interface DuplexReader<T> {
  /** Resolves to the next message received (in order). */
  next(): Promise<T>;
  /** Resolves to the call's final status. */
  readonly status: Promise<CallError>;
}

/** Reads a bidirectional call's messages one at a time, and its final status. */
export function duplexReader<T>(call: grpc.ClientDuplexStream<never, T>): DuplexReader<T> {
  const queue: T[] = [];
  const waiting: ((m: T) => void)[] = [];
  call.on("data", (m: T) => {
    const w = waiting.shift();
    if (w) w(m);
    else queue.push(m);
  });
  const status = new Promise<CallError>((resolve) => {
    call.on("status", (s: grpc.StatusObject) => resolve({ code: s.code, details: s.details }));
  });
  // Failures are reported through `status`.
  call.on("error", () => {});
  return {
    next: () =>
      queue.length > 0
        ? Promise.resolve(queue.shift()!)
        : new Promise<T>((resolve) => waiting.push(resolve)),
    status,
  };
}

function toCallError(e: grpc.ServiceError): CallError {
  return { code: e.code, details: e.details };
}
