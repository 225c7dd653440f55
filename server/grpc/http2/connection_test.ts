import assert from "node:assert/strict";
import {
  encodeFrame,
  ErrorCode,
  Flag,
  FrameType,
  Setting,
  settingsFrame,
  windowUpdateFrame,
} from "./frame.ts";
import { encodeHeaders, HpackDecoder } from "./hpack.ts";
import { serveHttp2 } from "./server.ts";
import { type Frame, RawClient, u32 } from "./testing.ts";
import type { ServerStream, StreamHandler } from "./types.ts";

function start(handler: StreamHandler, opts = {}) {
  return serveHttp2({ port: 0, hostname: "127.0.0.1", ...opts }, handler);
}

const echoHandler: StreamHandler = async (s) => {
  await s.respond([[":status", "200"]]);
  for await (const chunk of s.body) await s.write(chunk);
  await s.end([["x-done", "1"]]);
};

Deno.test("http2: server SETTINGS first, SETTINGS ACK, PING echoed with ACK", async () => {
  const server = await start(echoHandler, { maxConcurrentStreams: 7 });
  const c = await RawClient.connect(server.addr.port);
  try {
    const first = await c.next();
    assert.equal(first?.type, FrameType.SETTINGS);
    assert.equal(first?.flags, 0);
    const settings = new Map<number, number>();
    for (let i = 0; i < first!.payload.length; i += 6) {
      settings.set(
        new DataView(first!.payload.buffer, i, 2).getUint16(0),
        u32(first!.payload, i + 2),
      );
    }
    assert.equal(settings.get(Setting.MAX_CONCURRENT_STREAMS), 7);
    assert.ok(await c.until((f) => f.type === FrameType.SETTINGS && f.flags === Flag.ACK));
    const data = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]);
    await c.send(FrameType.PING, 0, 0, data);
    const pong = await c.until((f) => f.type === FrameType.PING);
    assert.equal(pong?.flags, Flag.ACK);
    assert.deepEqual(pong?.payload, data);
  } finally {
    c.close();
    await server.shutdown(500);
  }
});

Deno.test("http2: CONTINUATION-split request, body echoed, headers and trailers", async () => {
  const server = await start(echoHandler);
  const c = await RawClient.connect(server.addr.port);
  const dec = new HpackDecoder();
  try {
    const block = encodeHeaders([
      [":method", "POST"],
      [":scheme", "http"],
      [":path", "/echo"],
      ["x-long", "v".repeat(300)],
    ]);
    await c.send(FrameType.HEADERS, 0, 1, block.subarray(0, 7));
    await c.send(FrameType.CONTINUATION, 0, 1, block.subarray(7, 100));
    await c.send(FrameType.CONTINUATION, Flag.END_HEADERS, 1, block.subarray(100));
    await c.send(FrameType.DATA, 0, 1, new TextEncoder().encode("hello "));
    await c.send(FrameType.DATA, Flag.END_STREAM, 1, new TextEncoder().encode("world"));
    const frames: Frame[] = [];
    await c.until((f) => {
      if (f.stream === 1) frames.push(f);
      return f.stream === 1 && (f.flags & Flag.END_STREAM) !== 0;
    });
    assert.equal(frames[0].type, FrameType.HEADERS);
    assert.deepEqual(dec.decode(frames[0].payload), [[":status", "200"]]);
    const body = frames.filter((f) => f.type === FrameType.DATA).map((f) =>
      new TextDecoder().decode(f.payload)
    ).join("");
    assert.equal(body, "hello world");
    const last = frames[frames.length - 1];
    assert.equal(last.type, FrameType.HEADERS);
    assert.deepEqual(dec.decode(last.payload), [["x-done", "1"]]);
  } finally {
    c.close();
    await server.shutdown(500);
  }
});

Deno.test("http2: sending respects the peer's windows; the handler waits, not buffers", async () => {
  let written = 0;
  let finished = false;
  const server = await start(async (s: ServerStream) => {
    await s.respond([[":status", "200"]]);
    const chunk = new Uint8Array(10_000);
    for (let i = 0; i < 100; i++) {
      await s.write(chunk);
      written += chunk.length;
    }
    await s.end();
    finished = true;
  });
  const c = await RawClient.connect(server.addr.port);
  try {
    await c.request(1, "/big", true);
    let received = 0;
    const take = async (limit: number) => {
      while (received < limit) {
        const f = await c.until((f) => f.type === FrameType.DATA);
        received += f!.payload.length;
      }
    };
    // The default windows are 65535 octets: exactly that much arrives, then nothing.
    await take(65_535);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(received, 65_535);
    assert.ok(written <= 70_000, `handler wrote ${written} bytes ahead of the reader`);
    assert.equal(finished, false);
    // Opening only the stream window is not enough: the connection window is exhausted too.
    await c.write(windowUpdateFrame(1, 100_000));
    await new Promise((r) => setTimeout(r, 100));
    await c.write(windowUpdateFrame(0, 2_000_000), windowUpdateFrame(1, 2_000_000));
    await c.until((f) => f.stream === 1 && (f.flags & Flag.END_STREAM) !== 0);
    assert.equal(finished, true);
    assert.equal(written, 1_000_000);
  } finally {
    c.close();
    await server.shutdown(500);
  }
});

Deno.test("http2: protocol errors end in GOAWAY with the right code, server keeps serving", async () => {
  const server = await start(echoHandler);
  const cases: [string, (c: RawClient) => Promise<void>, number][] = [
    [
      "zero connection window increment",
      (c) => c.send(FrameType.WINDOW_UPDATE, 0, 0, new Uint8Array(4)),
      ErrorCode.PROTOCOL_ERROR,
    ],
    [
      "oversized frame",
      (c) => c.send(FrameType.DATA, 0, 1, new Uint8Array(16_385)),
      ErrorCode.FRAME_SIZE_ERROR,
    ],
    [
      "DATA on an idle stream",
      (c) => c.send(FrameType.DATA, 0, 5, new Uint8Array(3)),
      ErrorCode.PROTOCOL_ERROR,
    ],
    [
      "even stream id",
      (c) => c.send(FrameType.HEADERS, Flag.END_HEADERS, 2, encodeHeaders([])),
      ErrorCode.PROTOCOL_ERROR,
    ],
    [
      "frame between HEADERS and CONTINUATION",
      async (c) => {
        await c.send(FrameType.HEADERS, 0, 1, encodeHeaders([[":method", "POST"]]));
        await c.send(FrameType.PING, 0, 0, new Uint8Array(8));
      },
      ErrorCode.PROTOCOL_ERROR,
    ],
    [
      "garbage HPACK",
      (c) => c.send(FrameType.HEADERS, Flag.END_HEADERS, 1, Uint8Array.from([0xff, 0xff, 0xff])),
      ErrorCode.COMPRESSION_ERROR,
    ],
    [
      "PUSH_PROMISE from a client",
      (c) => c.send(FrameType.PUSH_PROMISE, Flag.END_HEADERS, 1, new Uint8Array(4)),
      ErrorCode.PROTOCOL_ERROR,
    ],
    [
      "SETTINGS with a bad MAX_FRAME_SIZE",
      (c) => c.write(settingsFrame([[Setting.MAX_FRAME_SIZE, 100]])),
      ErrorCode.PROTOCOL_ERROR,
    ],
  ];
  try {
    for (const [name, act, code] of cases) {
      const c = await RawClient.connect(server.addr.port);
      await act(c);
      const g = await c.until((f) => f.type === FrameType.GOAWAY);
      assert.ok(g, `${name}: no GOAWAY`);
      assert.equal(u32(g.payload, 4), code, name);
      assert.equal(await c.until(() => false), null, `${name}: connection not closed`);
      c.close();
    }
    // A bad preface is answered with GOAWAY too.
    const bad = await RawClient.connect(server.addr.port, false);
    await bad.write(new TextEncoder().encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    const g = await bad.until((f) => f.type === FrameType.GOAWAY);
    assert.equal(u32(g!.payload, 4), ErrorCode.PROTOCOL_ERROR);
    bad.close();
    // And a well-behaved client is still served.
    const ok = await RawClient.connect(server.addr.port);
    await ok.request(1, "/x", true);
    const end = await ok.until((f) => f.stream === 1 && (f.flags & Flag.END_STREAM) !== 0);
    assert.equal(end?.type, FrameType.HEADERS);
    ok.close();
  } finally {
    await server.shutdown(500);
  }
});

Deno.test("http2: streams above the limit are refused; malformed requests reset", async () => {
  const gate = Promise.withResolvers<void>();
  const server = await start(async (s) => {
    await gate.promise;
    await s.respond([[":status", "200"]], true);
  }, { maxConcurrentStreams: 2 });
  const c = await RawClient.connect(server.addr.port);
  try {
    // Missing :path: a stream error, not a connection error.
    await c.send(
      FrameType.HEADERS,
      Flag.END_HEADERS | Flag.END_STREAM,
      1,
      encodeHeaders([[":method", "GET"], [":scheme", "http"]]),
    );
    const rst1 = await c.until((f) => f.type === FrameType.RST_STREAM);
    assert.equal(rst1?.stream, 1);
    assert.equal(u32(rst1!.payload), ErrorCode.PROTOCOL_ERROR);
    await c.request(3, "/a", true);
    await c.request(5, "/b", true);
    await c.request(7, "/c", true);
    const rst = await c.until((f) => f.type === FrameType.RST_STREAM);
    assert.equal(rst?.stream, 7);
    assert.equal(u32(rst!.payload), ErrorCode.REFUSED_STREAM);
    gate.resolve();
    const done = new Set<number>();
    await c.until((f) => {
      if (f.type === FrameType.HEADERS && (f.flags & Flag.END_STREAM)) done.add(f.stream);
      return done.size === 2;
    });
    assert.deepEqual([...done].sort(), [3, 5]);
  } finally {
    c.close();
    await server.shutdown(500);
  }
});

Deno.test("http2: peer RST_STREAM aborts the handler's signal and fails its writes", async () => {
  const aborted = Promise.withResolvers<string>();
  const server = await start(async (s) => {
    await s.respond([[":status", "200"]]);
    s.signal.addEventListener("abort", async () => {
      try {
        await s.write(new Uint8Array(1));
        aborted.resolve("write succeeded");
      } catch (e) {
        aborted.resolve((e as Error).name);
      }
    });
    await new Promise((r) => setTimeout(r, 2000));
  });
  const c = await RawClient.connect(server.addr.port);
  try {
    await c.request(1, "/slow", true);
    await c.until((f) => f.type === FrameType.HEADERS && f.stream === 1);
    const rst = new Uint8Array(4);
    new DataView(rst.buffer).setUint32(0, ErrorCode.CANCEL);
    await c.send(FrameType.RST_STREAM, 0, 1, rst);
    assert.equal(await aborted.promise, "StreamClosedError");
  } finally {
    c.close();
    await server.shutdown(3000);
  }
});

Deno.test("http2: graceful shutdown sends GOAWAY, finishes in-flight streams, then closes", async () => {
  const gate = Promise.withResolvers<void>();
  const started = Promise.withResolvers<void>();
  const server = await start(async (s) => {
    started.resolve();
    await gate.promise;
    await s.respond([[":status", "200"]]);
    await s.end([["x-late", "yes"]]);
  });
  const c = await RawClient.connect(server.addr.port);
  try {
    await c.request(1, "/inflight", true);
    await started.promise;
    const stopping = server.shutdown(3000);
    const g = await c.until((f) => f.type === FrameType.GOAWAY);
    assert.equal(u32(g!.payload), 1, "last stream id");
    assert.equal(u32(g!.payload, 4), ErrorCode.NO_ERROR);
    // A stream opened after GOAWAY is refused.
    await c.request(3, "/late", true);
    const refused = await c.until((f) => f.type === FrameType.RST_STREAM);
    assert.equal(refused?.stream, 3);
    assert.equal(u32(refused!.payload), ErrorCode.REFUSED_STREAM);
    gate.resolve();
    const frames: Frame[] = [];
    assert.equal(await c.until((f) => (frames.push(f), false)), null);
    assert.ok(frames.some((f) => f.stream === 1 && (f.flags & Flag.END_STREAM) !== 0));
    await stopping;
    assert.equal(server.connections, 0);
  } finally {
    c.close();
  }
});

Deno.test("http2: GOAWAY right after the last of 120 streams, 50 times, with resets in flight", async () => {
  // What modern grpc-go does on ClientConn.Close, the pattern that aborts Deno's node:http2.
  let served = 0;
  const server = await start(async (s) => {
    await s.respond([[":status", "200"]]);
    await s.write(new Uint8Array(100));
    await s.end([["grpc-status", "0"]]);
    served++;
  });
  try {
    for (let round = 0; round < 50; round++) {
      const c = await RawClient.connect(server.addr.port);
      const ids = Array.from({ length: 120 }, (_, i) => 2 * i + 1);
      for (const id of ids) await c.request(id, "/s", true);
      // Every 10th round also cancels a few streams and closes before they all finish.
      const early = round % 10 === 9;
      if (early) {
        const rst = new Uint8Array(4);
        new DataView(rst.buffer).setUint32(0, ErrorCode.CANCEL);
        for (const id of ids.slice(0, 5)) await c.send(FrameType.RST_STREAM, 0, id, rst);
      }
      const done = new Set<number>();
      const goal = early ? 60 : ids.length;
      await c.until((f) => {
        if (f.type === FrameType.HEADERS && (f.flags & Flag.END_STREAM)) done.add(f.stream);
        return done.size >= goal;
      });
      const goaway = new Uint8Array(8);
      await c.send(FrameType.GOAWAY, 0, 0, goaway);
      c.close();
    }
    // Still serving.
    const c = await RawClient.connect(server.addr.port);
    await c.request(1, "/after", true);
    const end = await c.until((f) => f.stream === 1 && (f.flags & Flag.END_STREAM) !== 0);
    assert.equal(end?.type, FrameType.HEADERS);
    c.close();
    assert.ok(served >= 45 * 120, `served ${served}`);
  } finally {
    await server.shutdown(1000);
  }
});

Deno.test("http2: rapid reset (open and reset streams in a loop) ends in ENHANCE_YOUR_CALM", async () => {
  let started = 0;
  const server = await start(async (s) => {
    started++;
    await new Promise((r) => setTimeout(r, 50));
    if (!s.closed) await s.respond([[":status", "200"]], true);
  }, { maxResetsPerWindow: 100 });
  const c = await RawClient.connect(server.addr.port);
  try {
    const rst = new Uint8Array(4);
    new DataView(rst.buffer).setUint32(0, ErrorCode.CANCEL);
    for (let id = 1; id < 2 * 150; id += 2) {
      await c.request(id, "/x", true);
      await c.send(FrameType.RST_STREAM, 0, id, rst);
    }
    const g = await c.until((f) => f.type === FrameType.GOAWAY);
    assert.equal(u32(g!.payload, 4), ErrorCode.ENHANCE_YOUR_CALM);
    assert.ok(started <= 150);
  } finally {
    c.close();
    await server.shutdown(1000);
  }
});

Deno.test("http2: 300 connections of seeded random frames never crash the server", async () => {
  const errors: unknown[] = [];
  const server = await start(echoHandler, { onError: (e: unknown) => errors.push(e) });
  let seed = 42;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return (seed >>> 8) % n;
  };
  const validBlock = encodeHeaders([[":method", "POST"], [":scheme", "http"], [":path", "/f"]]);
  try {
    for (let conn = 0; conn < 300; conn++) {
      const c = await RawClient.connect(server.addr.port);
      const frames: Uint8Array[] = [];
      for (let i = 0; i < 8; i++) {
        const type = rand(12); // 10 and 11 are unknown types
        const flags = rand(256);
        const stream = rand(4) === 0 ? 0 : rand(8);
        const len = rand(3) === 0 ? rand(40) : [0, 4, 5, 8][rand(4)];
        let payload: Uint8Array = Uint8Array.from({ length: len }, () => rand(256));
        if (type === FrameType.HEADERS && rand(2) === 0) payload = validBlock;
        frames.push(encodeFrame(type, flags, stream, payload));
      }
      try {
        await c.write(...frames);
        // Drain whatever comes back until the server closes or goes quiet.
        while (await c.next(200).catch(() => null) !== null) { /* keep reading */ }
      } catch {
        // The server may close first; writes then fail, which is fine.
      }
      c.close();
    }
    const ok = await RawClient.connect(server.addr.port);
    await ok.request(1, "/alive", true);
    const end = await ok.until((f) => f.stream === 1 && (f.flags & Flag.END_STREAM) !== 0);
    assert.equal(end?.type, FrameType.HEADERS);
    ok.close();
    assert.deepEqual(errors, [], "no internal errors, only protocol errors");
  } finally {
    await server.shutdown(1000);
  }
});

Deno.test("http2: header blocks above the peer's frame size go out as HEADERS + CONTINUATION", async () => {
  const big = "m".repeat(40_000);
  const server = await start(async (s) => {
    await s.respond([[":status", "200"]]);
    await s.end([["grpc-status", "13"], ["grpc-message", big]]);
  });
  const c = await RawClient.connect(server.addr.port);
  const dec = new HpackDecoder();
  try {
    await c.request(1, "/big-trailers", true);
    const frames: Frame[] = [];
    await c.until((f) => {
      if (f.stream === 1) frames.push(f);
      return f.type === FrameType.CONTINUATION && (f.flags & Flag.END_HEADERS) !== 0;
    });
    const kinds = frames.map((f) => f.type);
    assert.deepEqual(kinds, [
      FrameType.HEADERS,
      FrameType.HEADERS,
      FrameType.CONTINUATION,
      FrameType.CONTINUATION,
    ]);
    assert.ok(frames.every((f) => f.payload.length <= 16_384));
    const trailers = frames.slice(1);
    assert.equal(trailers[0].flags & Flag.END_STREAM, Flag.END_STREAM);
    assert.equal(trailers[0].flags & Flag.END_HEADERS, 0);
    const block = Uint8Array.from(trailers.flatMap((f) => [...f.payload]));
    dec.decode(frames[0].payload);
    assert.deepEqual(dec.decode(block), [["grpc-status", "13"], ["grpc-message", big]]);
  } finally {
    c.close();
    await server.shutdown(1000);
  }
});
