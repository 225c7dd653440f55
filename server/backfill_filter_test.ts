import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import {
  InfoRequestSchema,
  type InfoResponse,
  InfoResponseSchema,
  StoreInfoSchema,
} from "../proto/gen/info/infopb/rpc_pb.ts";
import { createLogger } from "../internal/log.ts";
import { fetchThanosInfo, hiddenByBackfill, ThanosBackfillFilter } from "./backfill_filter.ts";

const H = 3600_000;
const DAY = 24 * H;

Deno.test("hiddenByBackfill hides only days inside the Thanos range minus the overlap", () => {
  const thanos = { minT: 10 * DAY, maxT: 20 * DAY };
  const day = (d: number) => ({ minT: d * DAY, maxT: (d + 1) * DAY - 1 });
  // Before Thanos' data: served.
  assert.equal(hiddenByBackfill(day(5), thanos, DAY), false);
  // The overlap day right at Thanos' start: still served.
  assert.equal(hiddenByBackfill(day(10), thanos, DAY), false);
  // Fully inside [minT + overlap, maxT]: hidden.
  assert.equal(hiddenByBackfill(day(11), thanos, DAY), true);
  assert.equal(hiddenByBackfill(day(19), thanos, DAY), true);
  // Reaching past Thanos' max: served.
  assert.equal(hiddenByBackfill(day(20), thanos, DAY), false);
  // An overlap longer than the Thanos range clamps to its max: nothing inside is hidden.
  assert.equal(hiddenByBackfill(day(12), thanos, 30 * DAY), false);
});

/** A Thanos store endpoint stand-in: a grpc-js server answering Info with a fixed range. */
async function startInfoServer(
  response: InfoResponse,
): Promise<{ endpoint: string; calls: () => number; stop: () => Promise<void> }> {
  const server = new grpc.Server();
  let calls = 0;
  server.addService({
    info: {
      path: "/thanos.info.Info/Info",
      requestStream: false,
      responseStream: false,
      requestSerialize: (m: unknown) => Buffer.from(m as Uint8Array),
      requestDeserialize: (b: Buffer) => fromBinary(InfoRequestSchema, b),
      responseSerialize: (m: InfoResponse) => Buffer.from(toBinary(InfoResponseSchema, m)),
      responseDeserialize: (b: Buffer) => b,
    },
  }, {
    info: (_call: unknown, cb: (err: null, res: InfoResponse) => void) => {
      calls++;
      cb(null, response);
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(
      "127.0.0.1:0",
      grpc.ServerCredentials.createInsecure(),
      (err, p) => err ? reject(err) : resolve(p),
    )
  );
  return {
    endpoint: `127.0.0.1:${port}`,
    calls: () => calls,
    stop: () => new Promise((resolve) => server.tryShutdown(() => resolve())),
  };
}

Deno.test("ThanosBackfillFilter reads the store range over gRPC Info and filters days", async () => {
  const info = create(InfoResponseSchema, {
    ComponentType: "store",
    store: create(StoreInfoSchema, { minTime: BigInt(10 * DAY), maxTime: BigInt(20 * DAY) }),
  });
  const server = await startInfoServer(info);
  const filter = new ThanosBackfillFilter({
    endpoint: server.endpoint,
    intervalMs: 60_000,
    overlapMs: DAY,
    logger: createLogger({ level: "error", format: "logfmt" }),
  });
  try {
    await filter.start();
    assert.deepEqual(filter.range, { minT: 10 * DAY, maxT: 20 * DAY });
    assert.equal(filter.keep({ minT: 9 * DAY, maxT: 10 * DAY - 1 }), true);
    assert.equal(filter.keep({ minT: 15 * DAY, maxT: 16 * DAY - 1 }), false);
    assert.equal(server.calls(), 1);
  } finally {
    filter.stop();
    await server.stop();
  }
});

Deno.test("an unreachable endpoint or one without a Store API fails start with a clear error", async () => {
  await assert.rejects(fetchThanosInfo("127.0.0.1:1", 2000), /127\.0\.0\.1:1: Info failed/);
  const server = await startInfoServer(create(InfoResponseSchema, { ComponentType: "rule" }));
  const filter = new ThanosBackfillFilter({
    endpoint: server.endpoint,
    intervalMs: 60_000,
    overlapMs: DAY,
    logger: createLogger({ level: "error", format: "logfmt" }),
  });
  try {
    await assert.rejects(filter.start(), /exposes no Store API/);
  } finally {
    filter.stop();
    await server.stop();
  }
});
