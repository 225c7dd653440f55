import assert from "node:assert/strict";
import {
  HealthCheckRequestSchema,
  HealthCheckResponse_ServingStatus as ServingStatus,
  HealthCheckResponseSchema,
} from "../../proto/gen/grpc/health/v1/health_pb.ts";
import {
  type SeriesRequest,
  SeriesRequestSchema,
  SeriesResponseSchema,
  Store,
} from "../../proto/gen/store/storepb/rpc_pb.ts";
import { create, createFileRegistry, fromBinary, type Message, toBinary } from "@bufbuild/protobuf";
import type { GenMessage, GenService } from "@bufbuild/protobuf/codegenv2";
import {
  FieldDescriptorProto_Label,
  FieldDescriptorProto_Type,
  FileDescriptorProtoSchema,
} from "@bufbuild/protobuf/wkt";
import * as grpc from "@grpc/grpc-js";
import { Buffer } from "node:buffer";
import { ErrorCode, Flag, FrameType } from "./http2/frame.ts";
import { HpackDecoder } from "./http2/hpack.ts";
import { type Frame, RawClient, u32 } from "./http2/testing.ts";
import { snappyFrameDecode, snappyFrameEncode } from "./snappy.ts";
import { HealthService } from "./health.ts";
import { serveHttp2 } from "./http2/server.ts";
import { type CallContext, GrpcServer } from "./server.ts";
import { Code, GrpcError } from "./status.ts";
import { duplexReader, TestClient } from "./testing.ts";

/** Awaits `fn` and returns what it rejected with; fails if it resolved. */
async function rejection(fn: () => Promise<unknown>): Promise<unknown> {
  try {
    await fn();
  } catch (e) {
    return e;
  }
  assert.fail("expected a rejection");
}

const CHECK = "/grpc.health.v1.Health/Check";
const WATCH = "/grpc.health.v1.Health/Watch";
const SERIES = "/thanos.Store/Series";

interface Observed {
  encoding?: string;
  abortReason?: unknown;
}

/** A server whose Store.Series yields `max_time` messages carrying the index as a warning. */
async function startServer(observed: Observed = {}, grpcOpts = {}) {
  const health = new HealthService();
  const grpc = new GrpcServer(grpcOpts);
  health.register(grpc);
  grpc.addService(Store, {
    async *series(req: SeriesRequest, ctx: CallContext) {
      observed.encoding = ctx.metadata.get("grpc-encoding");
      if (req.matchers.some((m) => m.name === "fail")) {
        throw new GrpcError(Code.InvalidArgument, "bad matcher: \u00fc 100%\n");
      }
      if (req.matchers.some((m) => m.name === "hang")) {
        await new Promise<void>((resolve) => {
          ctx.signal.addEventListener("abort", () => resolve(), { once: true });
        });
        observed.abortReason = ctx.signal.reason;
        return;
      }
      const pad = "x".repeat(Number(req.minTime));
      for (let i = 0; i < Number(req.maxTime); i++) {
        yield { result: { case: "warning", value: `${i}${pad}` } };
      }
    },
  });
  const server = await serveHttp2({ port: 0, hostname: "127.0.0.1" }, grpc.handle);
  return { server, health, target: `127.0.0.1:${server.addr.port}` };
}

Deno.test("grpc: health Check answers SERVING, NOT_FOUND for unknown services", async () => {
  const { server, health, target } = await startServer();
  const client = new TestClient(target);
  try {
    const res = await client.unary(CHECK, HealthCheckRequestSchema, HealthCheckResponseSchema, {});
    assert.deepEqual(res.status, ServingStatus.SERVING);
    const err = await rejection(() =>
      client.unary(CHECK, HealthCheckRequestSchema, HealthCheckResponseSchema, {
        service: "nope",
      })
    );
    assert.deepEqual((err as { code: number }).code, Code.NotFound);
    health.setStatus("", ServingStatus.NOT_SERVING);
    const res2 = await client.unary(CHECK, HealthCheckRequestSchema, HealthCheckResponseSchema, {});
    assert.deepEqual(res2.status, ServingStatus.NOT_SERVING);
  } finally {
    client.close();
    await server.shutdown(1000);
  }
});

Deno.test("grpc: health Watch streams the status and its changes until cancelled", async () => {
  const { server, health, target } = await startServer();
  const client = new TestClient(target);
  try {
    const call = client.openStream(
      WATCH,
      HealthCheckRequestSchema,
      HealthCheckResponseSchema,
      {},
    );
    const seen: number[] = [];
    const done = new Promise<number>((resolve) => {
      call.on("data", (m) => {
        seen.push(m.status);
        if (seen.length === 1) health.setStatus("", ServingStatus.NOT_SERVING);
        if (seen.length === 2) call.cancel();
      });
      call.on("error", (e: { code: number }) => resolve(e.code));
    });
    assert.deepEqual(await done, Code.Canceled);
    assert.deepEqual(seen, [ServingStatus.SERVING, ServingStatus.NOT_SERVING]);
  } finally {
    client.close();
    await server.shutdown(1000);
  }
});

Deno.test("grpc: server streaming delivers every message in order, large ones too", async () => {
  const { server, target } = await startServer();
  const client = new TestClient(target);
  try {
    const small = await client.stream(SERIES, SeriesRequestSchema, SeriesResponseSchema, {
      minTime: 0n,
      maxTime: 1000n,
    });
    assert.deepEqual(small.length, 1000);
    assert.deepEqual(small.map((m) => m.result.value), [...Array(1000).keys()].map(String));
    // 40 messages of 200 kB: several times the 64 KiB default window of grpc-js streams.
    const big = await client.stream(SERIES, SeriesRequestSchema, SeriesResponseSchema, {
      minTime: 200_000n,
      maxTime: 40n,
    });
    assert.deepEqual(big.length, 40);
    assert.deepEqual(
      big.map((m) => m.result.value),
      [...Array(40).keys()].map((i) => `${i}${"x".repeat(200_000)}`),
    );
  } finally {
    client.close();
    await server.shutdown(1000);
  }
});

Deno.test("grpc: handler errors become status codes with percent-encoded messages", async () => {
  const { server, target } = await startServer();
  const client = new TestClient(target);
  try {
    const err = await rejection(() =>
      client.stream(SERIES, SeriesRequestSchema, SeriesResponseSchema, {
        matchers: [{ name: "fail", value: "x" }],
      })
    );
    assert.deepEqual(err, { code: Code.InvalidArgument, details: "bad matcher: \u00fc 100%\n" });
    const unknown = await rejection(() =>
      client.unary("/thanos.Store/Nope", SeriesRequestSchema, SeriesResponseSchema, {})
    );
    assert.deepEqual((unknown as { code: number }).code, Code.Unimplemented);
  } finally {
    client.close();
    await server.shutdown(1000);
  }
});

Deno.test("grpc: grpc-timeout becomes DEADLINE_EXCEEDED and aborts the handler", async () => {
  const observed: Observed = {};
  const { server, target } = await startServer(observed);
  const client = new TestClient(target);
  try {
    const t0 = performance.now();
    const err = await rejection(() =>
      client.stream(SERIES, SeriesRequestSchema, SeriesResponseSchema, {
        matchers: [{ name: "hang", value: "" }],
      }, { timeoutMs: 300 })
    );
    assert.deepEqual((err as { code: number }).code, Code.DeadlineExceeded);
    assert.ok(performance.now() - t0 < 5000);
    // The server's own timer fires too (the client's may win the race to report).
    for (let i = 0; i < 50 && observed.abortReason === undefined; i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(observed.abortReason instanceof GrpcError);
    assert.ok(
      [Code.DeadlineExceeded, Code.Canceled].includes(observed.abortReason.code as 1 | 4),
      `abort reason ${observed.abortReason.code}`,
    );
  } finally {
    client.close();
    await server.shutdown(1000);
  }
});

Deno.test("grpc: gzip-compressed requests and responses", async () => {
  const observed: Observed = {};
  const { server, target } = await startServer(observed);
  // grpc.default_compression_algorithm 2 = gzip in grpc-js.
  const client = new TestClient(target, { "grpc.default_compression_algorithm": 2 });
  try {
    const msgs = await client.stream(SERIES, SeriesRequestSchema, SeriesResponseSchema, {
      minTime: 1000n,
      maxTime: 5n,
      matchers: [{ name: "pad", value: "y".repeat(500) }],
    });
    assert.deepEqual(observed.encoding, "gzip");
    assert.deepEqual(msgs.length, 5);
    assert.deepEqual((msgs[4].result.value as string).length, 1001);
  } finally {
    client.close();
    await server.shutdown(1000);
  }
});

Deno.test("grpc: 20 rounds of 200 concurrent streams then close leave the server serving", async () => {
  const { server, target } = await startServer();
  try {
    for (let round = 0; round < 20; round++) {
      const client = new TestClient(target);
      const calls = [];
      for (let i = 0; i < 200; i++) {
        calls.push(client.stream(SERIES, SeriesRequestSchema, SeriesResponseSchema, {
          minTime: 10n,
          maxTime: 3n,
        }));
      }
      const results = await Promise.all(calls);
      assert.deepEqual(results.reduce((n, r) => n + r.length, 0), 600);
      // grpc-js sends GOAWAY as the last trailers arrive: the pattern that aborts node:http2.
      client.close();
    }
    const client = new TestClient(target);
    const res = await client.unary(CHECK, HealthCheckRequestSchema, HealthCheckResponseSchema, {});
    assert.deepEqual(res.status, ServingStatus.SERVING);
    client.close();
  } finally {
    await server.shutdown(1000);
  }
});

Deno.test("grpc: the call observer sees start, each message and the final code", async () => {
  const events: string[] = [];
  const observer = {
    started: (m: string, k: string) => events.push(`start ${m} ${k}`),
    received: (m: string) => events.push(`recv ${m}`),
    sent: (m: string) => events.push(`sent ${m}`),
    handled: (m: string, k: string, code: number, s: number) => {
      assert.ok(s >= 0 && s < 10);
      events.push(`done ${m} ${k} ${code}`);
    },
  };
  const { server, target } = await startServer({}, { observer });
  const client = new TestClient(target);
  try {
    await client.stream(SERIES, SeriesRequestSchema, SeriesResponseSchema, { maxTime: 2n });
    await rejection(() =>
      client.stream(SERIES, SeriesRequestSchema, SeriesResponseSchema, {
        matchers: [{ name: "fail", value: "x" }],
      })
    );
    await client.unary(CHECK, HealthCheckRequestSchema, HealthCheckResponseSchema, {});
    await rejection(() =>
      client.unary("/thanos.Store/Nope", SeriesRequestSchema, SeriesResponseSchema, {})
    );
    assert.deepEqual(events, [
      `start ${SERIES} server_stream`,
      `recv ${SERIES}`,
      `sent ${SERIES}`,
      `sent ${SERIES}`,
      `done ${SERIES} server_stream 0`,
      `start ${SERIES} server_stream`,
      `recv ${SERIES}`,
      `done ${SERIES} server_stream 3`,
      `start ${CHECK} unary`,
      `recv ${CHECK}`,
      `sent ${CHECK}`,
      `done ${CHECK} unary 0`,
    ]);
  } finally {
    client.close();
    await server.shutdown(1000);
  }
});

Deno.test("grpc: a deadline while the reader stalls resets the stream; the server carries on", async () => {
  const observed: Observed = {};
  const codes: number[] = [];
  const observer = {
    started: () => {},
    received: () => {},
    sent: () => {},
    handled: (_m: string, _k: string, code: number) => codes.push(code),
  };
  const { server, target } = await startServer(observed, { observer });
  const c = await RawClient.connect(server.addr.port);
  try {
    // Series with 1000 messages of 100 kB; the client never grants window beyond 64 KiB.
    const req = toBinary(
      SeriesRequestSchema,
      create(SeriesRequestSchema, { minTime: 100_000n, maxTime: 1000n }),
    );
    const framed = new Uint8Array(5 + req.length);
    new DataView(framed.buffer).setUint32(1, req.length);
    framed.set(req, 5);
    await c.request(1, SERIES, false, [
      ["content-type", "application/grpc"],
      ["te", "trailers"],
      ["grpc-timeout", "300m"],
    ]);
    await c.send(FrameType.DATA, Flag.END_STREAM, 1, framed);
    const t0 = performance.now();
    const rst = await c.until((f) => f.type === FrameType.RST_STREAM && f.stream === 1);
    assert.equal(u32(rst!.payload), ErrorCode.CANCEL);
    assert.ok(performance.now() - t0 < 2900, "reset within deadline + grace");
    // The call ended DeadlineExceeded although its trailers could not be delivered.
    for (let i = 0; i < 100 && codes.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(codes, [Code.DeadlineExceeded]);
    const client = new TestClient(target);
    const res = await client.unary(CHECK, HealthCheckRequestSchema, HealthCheckResponseSchema, {});
    assert.equal(res.status, ServingStatus.SERVING);
    client.close();
  } finally {
    c.close();
    await server.shutdown(1000);
  }
});

Deno.test("grpc: snappy-compressed request answered in snappy (Thanos' --grpc-compression)", async () => {
  const observed: Observed = {};
  const { server } = await startServer(observed);
  const c = await RawClient.connect(server.addr.port);
  const dec = new HpackDecoder();
  try {
    const pad = "p".repeat(300);
    const req = snappyFrameEncode(toBinary(
      SeriesRequestSchema,
      create(SeriesRequestSchema, {
        minTime: 200n,
        maxTime: 3n,
        matchers: [{ name: "pad", value: pad }],
      }),
    ));
    const framed = new Uint8Array(5 + req.length);
    framed[0] = 1;
    new DataView(framed.buffer).setUint32(1, req.length);
    framed.set(req, 5);
    await c.request(1, SERIES, false, [
      ["content-type", "application/grpc"],
      ["te", "trailers"],
      ["grpc-encoding", "snappy"],
      ["grpc-accept-encoding", "snappy"],
    ]);
    await c.send(FrameType.DATA, Flag.END_STREAM, 1, framed);
    const headers: (readonly (readonly [string, string])[])[] = [];
    let body = new Uint8Array(0);
    await c.until((f) => {
      if (f.stream !== 1) return false;
      if (f.type === FrameType.HEADERS) headers.push(dec.decode(f.payload));
      if (f.type === FrameType.DATA) body = Uint8Array.from([...body, ...f.payload]);
      return (f.flags & Flag.END_STREAM) !== 0;
    });
    assert.equal(observed.encoding, "snappy");
    assert.ok(headers[0].some(([n, v]) => n === "grpc-encoding" && v === "snappy"));
    assert.deepEqual(headers[1], [["grpc-status", "0"]]);
    const values: string[] = [];
    for (let off = 0; off < body.length;) {
      const len = new DataView(body.buffer, off + 1, 4).getUint32(0);
      assert.equal(body[off], 1, "messages of 200+ bytes are compressed");
      const msg = snappyFrameDecode(body.subarray(off + 5, off + 5 + len), 1 << 20);
      values.push(fromBinary(SeriesResponseSchema, msg).result.value as string);
      off += 5 + len;
    }
    assert.deepEqual(values, [0, 1, 2].map((i) => `${i}${"x".repeat(200)}`));
  } finally {
    c.close();
    await server.shutdown(1000);
  }
});

Deno.test("grpc: compressResponses gzips answers for clients that accept gzip", async () => {
  const { server } = await startServer({}, { compressResponses: true });
  const c = await RawClient.connect(server.addr.port);
  const dec = new HpackDecoder();
  try {
    const req = toBinary(
      SeriesRequestSchema,
      create(SeriesRequestSchema, { minTime: 100n, maxTime: 1n }),
    );
    const framed = new Uint8Array(5 + req.length);
    new DataView(framed.buffer).setUint32(1, req.length);
    framed.set(req, 5);
    await c.request(1, SERIES, false, [
      ["content-type", "application/grpc"],
      ["grpc-accept-encoding", "identity,gzip"],
    ]);
    await c.send(FrameType.DATA, Flag.END_STREAM, 1, framed);
    const frames: Frame[] = [];
    await c.until((f) => {
      if (f.stream === 1) frames.push(f);
      return f.stream === 1 && (f.flags & Flag.END_STREAM) !== 0;
    });
    assert.ok(
      dec.decode(frames[0].payload).some(([n, v]) => n === "grpc-encoding" && v === "gzip"),
    );
    const data = frames.find((f) => f.type === FrameType.DATA)!.payload;
    assert.equal(data[0], 1, "compressed flag");
    const gz = data.subarray(5, 5 + new DataView(data.buffer, data.byteOffset + 1, 4).getUint32(0));
    const plain = new Uint8Array(
      await new Response(
        new Blob([gz.slice()]).stream().pipeThrough(new DecompressionStream("gzip")),
      ).arrayBuffer(),
    );
    assert.equal(fromBinary(SeriesResponseSchema, plain).result.value, `0${"x".repeat(100)}`);
  } finally {
    c.close();
    await server.shutdown(1000);
  }
});

// A test-only service with a bidirectional method, described in code:
// `package test; message Text { string text = 1; }`
// `service Echo { rpc Chat(stream Text) returns (stream Text); }`
const echoRegistry = createFileRegistry(
  create(FileDescriptorProtoSchema, {
    name: "echo_test.proto",
    package: "test",
    syntax: "proto3",
    messageType: [{
      name: "Text",
      field: [{
        name: "text",
        jsonName: "text",
        number: 1,
        type: FieldDescriptorProto_Type.STRING,
        label: FieldDescriptorProto_Label.OPTIONAL,
      }],
    }],
    service: [{
      name: "Echo",
      method: [{
        name: "Chat",
        inputType: ".test.Text",
        outputType: ".test.Text",
        clientStreaming: true,
        serverStreaming: true,
      }],
    }],
  }),
  () => undefined,
);
const TextSchema = echoRegistry.getMessage("test.Text") as GenMessage<
  Message<"test.Text"> & { text: string }
>;
const EchoService = echoRegistry.getService("test.Echo") as GenService<{
  chat: { methodKind: "bidi_streaming"; input: typeof TextSchema; output: typeof TextSchema };
}>;
const CHAT = "/test.Echo/Chat";

/**
 * A server whose test.Echo/Chat answers `echo <text>` to each request as it arrives, `end` after
 * the client's half-close; `fail` is InvalidArgument, `stop` ends the call early (OK).
 */
async function startEchoServer(observed: Observed = {}, grpcOpts = {}) {
  const grpc = new GrpcServer(grpcOpts);
  grpc.addService(EchoService, {
    async *chat(requests, ctx) {
      observed.encoding = ctx.metadata.get("grpc-encoding");
      try {
        for await (const req of requests) {
          if (req.text === "fail") throw new GrpcError(Code.InvalidArgument, "no fail please");
          if (req.text === "stop") return;
          yield { text: `echo ${req.text}` };
        }
        yield { text: "end" };
      } catch (e) {
        observed.abortReason = ctx.signal.aborted ? ctx.signal.reason : e;
        throw e;
      }
    },
  });
  const server = await serveHttp2({ port: 0, hostname: "127.0.0.1" }, grpc.handle);
  return { server, target: `127.0.0.1:${server.addr.port}` };
}

Deno.test("grpc: bidirectional streams answer each request as it arrives, then end on half-close", async () => {
  const events: string[] = [];
  const observer = {
    started: (m: string, k: string) => events.push(`start ${m} ${k}`),
    received: (m: string, k: string) => events.push(`recv ${m} ${k}`),
    sent: (m: string, k: string) => events.push(`sent ${m} ${k}`),
    handled: (m: string, k: string, code: number) => events.push(`done ${m} ${k} ${code}`),
  };
  const observed: Observed = {};
  const { server, target } = await startEchoServer(observed, { observer });
  const client = new TestClient(target);
  // grpc.default_compression_algorithm 2 = gzip in grpc-js.
  const gzipClient = new TestClient(target, { "grpc.default_compression_algorithm": 2 });
  try {
    const call = client.openBidi(CHAT, TextSchema, TextSchema);
    const r = duplexReader(call);
    // Each answer arrives before the next request is written: requests are read as they come.
    call.write({ text: "a" });
    assert.equal((await r.next()).text, "echo a");
    // 300 kB: more than the 64 KiB stream windows both ways.
    const big = "b".repeat(300_000);
    call.write({ text: big });
    assert.equal((await r.next()).text, `echo ${big}`);
    call.end();
    assert.equal((await r.next()).text, "end");
    assert.equal((await r.status).code, Code.OK);
    assert.deepEqual(events, [
      `start ${CHAT} bidi_stream`,
      `recv ${CHAT} bidi_stream`,
      `sent ${CHAT} bidi_stream`,
      `recv ${CHAT} bidi_stream`,
      `sent ${CHAT} bidi_stream`,
      `sent ${CHAT} bidi_stream`,
      `done ${CHAT} bidi_stream 0`,
    ]);

    const gz = gzipClient.openBidi(CHAT, TextSchema, TextSchema);
    const gr = duplexReader(gz);
    gz.write({ text: "z".repeat(1000) });
    assert.equal((await gr.next()).text, `echo ${"z".repeat(1000)}`);
    gz.end();
    assert.equal((await gr.next()).text, "end");
    assert.equal((await gr.status).code, Code.OK);
    assert.equal(observed.encoding, "gzip");
  } finally {
    client.close();
    gzipClient.close();
    await server.shutdown(1000);
  }
});

Deno.test("grpc: a response message over maxSendMessageSize fails its call with grpc-go's ResourceExhausted", async () => {
  const { server, target } = await startEchoServer({}, { maxSendMessageSize: 100 });
  const client = new TestClient(target);
  try {
    const call = client.openBidi(CHAT, TextSchema, TextSchema);
    const r = duplexReader(call);
    call.write({ text: "x".repeat(90) });
    // "echo " + 90 bytes is a 97-byte message (tag and length): under the limit.
    assert.equal((await r.next()).text, `echo ${"x".repeat(90)}`);
    // "echo " + 94 bytes: 101.
    call.write({ text: "x".repeat(94) });
    assert.deepEqual(await r.status, {
      code: Code.ResourceExhausted,
      details: "grpc: trying to send message larger than max (101 vs. 100)",
    });
  } finally {
    client.close();
    await server.shutdown(1000);
  }
});

Deno.test("grpc: bidirectional stream errors: handler status, early end, malformed and oversized requests", async () => {
  const { server, target } = await startEchoServer({}, { maxReceiveMessageSize: 1000 });
  const client = new TestClient(target);
  try {
    const failing = client.openBidi(CHAT, TextSchema, TextSchema);
    const fr = duplexReader(failing);
    failing.write({ text: "x" });
    assert.equal((await fr.next()).text, "echo x");
    failing.write({ text: "fail" });
    assert.deepEqual(await fr.status, { code: Code.InvalidArgument, details: "no fail please" });

    // The handler returns while the client still has its half open: OK, and the client is told
    // to stop sending.
    const early = client.openBidi(CHAT, TextSchema, TextSchema);
    const er = duplexReader(early);
    early.write({ text: "stop" });
    assert.equal((await er.status).code, Code.OK);

    const oversized = client.openBidi(CHAT, TextSchema, TextSchema);
    const or = duplexReader(oversized);
    oversized.write({ text: "ok" });
    assert.equal((await or.next()).text, "echo ok");
    oversized.write({ text: "o".repeat(2000) });
    const os = await or.status;
    assert.equal(os.code, Code.ResourceExhausted, os.details);

    // Bytes that do not parse as test.Text (field 1 with wire type 7).
    const malformed = client.client.makeBidiStreamRequest(
      CHAT,
      (b: Uint8Array) => Buffer.from(b),
      (b: Buffer) => b,
      new grpc.Metadata(),
      {},
    );
    const mr = duplexReader(malformed);
    malformed.write(new Uint8Array([0x0f, 0x01]));
    const ms = await mr.status;
    assert.equal(ms.code, Code.Internal, ms.details);
    assert.match(ms.details, /error unmarshalling request/);
  } finally {
    client.close();
    await server.shutdown(1000);
  }
});

Deno.test("grpc: bidirectional streams end with the deadline or the client's cancel", async () => {
  const observed: Observed = {};
  const { server, target } = await startEchoServer(observed);
  const client = new TestClient(target);
  try {
    // The client sends nothing and keeps its half open: the deadline must still end the wait.
    const t0 = performance.now();
    const waiting = client.openBidi(CHAT, TextSchema, TextSchema, { timeoutMs: 300 });
    assert.equal((await duplexReader(waiting).status).code, Code.DeadlineExceeded);
    assert.ok(performance.now() - t0 < 5000);
    for (let i = 0; i < 50 && observed.abortReason === undefined; i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(observed.abortReason instanceof GrpcError);
    assert.ok(
      [Code.DeadlineExceeded, Code.Canceled].includes(observed.abortReason.code as 1 | 4),
      `abort reason ${observed.abortReason.code}`,
    );

    observed.abortReason = undefined;
    const cancelled = client.openBidi(CHAT, TextSchema, TextSchema);
    const cr = duplexReader(cancelled);
    cancelled.write({ text: "c" });
    assert.equal((await cr.next()).text, "echo c");
    cancelled.cancel();
    assert.equal((await cr.status).code, Code.Canceled);
    for (let i = 0; i < 50 && observed.abortReason === undefined; i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(observed.abortReason instanceof GrpcError);
    assert.equal(observed.abortReason.code, Code.Canceled);

    // The server carries on.
    const again = client.openBidi(CHAT, TextSchema, TextSchema);
    const ar = duplexReader(again);
    again.end();
    assert.equal((await ar.next()).text, "end");
    assert.equal((await ar.status).code, Code.OK);
  } finally {
    client.close();
    await server.shutdown(1000);
  }
});
