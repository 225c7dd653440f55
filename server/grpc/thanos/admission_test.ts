import assert from "node:assert/strict";
import { Semaphore } from "../../../internal/concurrency.ts";
import type { Matcher } from "../../../model/matchers.ts";
import type { LabelHints, SelectHints, SeriesSet } from "../../../model/queryable.ts";
import {
  QueryRequestSchema,
  QueryResponseSchema,
} from "../../../proto/gen/api/query/querypb/query_pb.ts";
import {
  LabelNamesRequestSchema,
  LabelNamesResponseSchema,
  LabelValuesRequestSchema,
  LabelValuesResponseSchema,
  SeriesRequestSchema,
  SeriesResponseSchema,
} from "../../../proto/gen/store/storepb/rpc_pb.ts";
import { serveHttp2 } from "../http2/server.ts";
import { GrpcServer } from "../server.ts";
import { Code } from "../status.ts";
import { type CallError, TestClient } from "../testing.ts";
import type { Admission } from "./admission.ts";
import { registerQueryService } from "./query.ts";
import { queryableSource } from "./source.ts";
import { registerStoreService } from "./store.ts";
import { DATA, engine, MemQueryable } from "./testing.ts";

/** The fixture data, whose reads wait while the gate is closed. */
class GatedQueryable extends MemQueryable {
  gate: Promise<void> | undefined;
  reads = 0;

  override select(matchers: readonly Matcher[], hints: SelectHints): SeriesSet {
    this.reads++;
    const gate = this.gate;
    const set = super.select(matchers, hints);
    // Storage is lazy: the gate holds the first batch.
    return {
      next: async () => {
        await gate;
        return set.next();
      },
      warnings: () => set.warnings(),
      close: () => set.close(),
    };
  }

  override async labelNames(matchers: readonly Matcher[], hints: LabelHints) {
    this.reads++;
    await this.gate;
    return await super.labelNames(matchers, hints);
  }

  override async labelValues(name: string, matchers: readonly Matcher[], hints: LabelHints) {
    this.reads++;
    await this.gate;
    return await super.labelValues(name, matchers, hints);
  }
}

/**
 * Marks a call's promise handled, so that a call still in flight when a failed test closes the
 * client does not surface as an uncaught rejection; the caller still awaits the promise itself.
 */
function tracked<T>(call: Promise<T>): Promise<T> {
  call.catch(() => {});
  return call;
}

async function start(admission: Admission) {
  const mem = new GatedQueryable(DATA);
  let open = () => {};
  mem.gate = new Promise((resolve) => open = resolve);
  const grpc = new GrpcServer();
  registerStoreService(grpc, { source: () => queryableSource(mem), externalLabels: [], admission });
  registerQueryService(grpc, { engine, queryable: () => mem, lookbackDelta: 300_000, admission });
  const server = await serveHttp2({ port: 0, hostname: "127.0.0.1" }, grpc.handle);
  const client = new TestClient(`127.0.0.1:${server.addr.port}`);
  const calls = {
    series: () =>
      tracked(client.stream("/thanos.Store/Series", SeriesRequestSchema, SeriesResponseSchema, {
        minTime: 0n,
        maxTime: 10_000n,
        matchers: [{ name: "__name__", value: "m" }],
      })),
    labelNames: () =>
      tracked(client.unary(
        "/thanos.Store/LabelNames",
        LabelNamesRequestSchema,
        LabelNamesResponseSchema,
        { start: 0n, end: 10_000n },
      )),
    labelValues: () =>
      tracked(client.unary(
        "/thanos.Store/LabelValues",
        LabelValuesRequestSchema,
        LabelValuesResponseSchema,
        { label: "a", start: 0n, end: 10_000n },
      )),
    query: () =>
      tracked(client.stream("/thanos.Query/Query", QueryRequestSchema, QueryResponseSchema, {
        query: "m",
        timeSeconds: 2n,
      })),
  };
  return {
    mem,
    admission,
    calls,
    open,
    async stop() {
      client.close();
      await server.shutdown(1000);
    },
  };
}

/** Waits until `condition` holds (calls travel through HTTP/2, so give them time on a busy host). */
async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

async function callError(p: Promise<unknown>): Promise<CallError> {
  try {
    await p;
  } catch (e) {
    return e as CallError;
  }
  assert.fail("expected an error");
}

Deno.test("gRPC Series, LabelNames, LabelValues and Query wait for a place", async () => {
  const s = await start({ semaphore: new Semaphore(1), maxWaitMs: 10_000 });
  try {
    const holder = s.calls.series();
    await until(() => s.mem.reads === 1, "the first call reads");
    const names = s.calls.labelNames();
    const values = s.calls.labelValues();
    const query = s.calls.query();
    await until(() => s.admission.semaphore.waiting === 3, "three calls wait");
    assert.equal(s.mem.reads, 1, "the others wait for the one place");
    s.open();
    assert.equal((await holder).length, 3, "two series and a warning");
    assert.deepEqual((await names).names, ["__name__", "a", "b", "instance", "job", "replica"]);
    assert.deepEqual((await values).values, ["1"]);
    assert.equal((await query).filter((m) => m.result.case === "timeseries").length, 2);
    assert.equal(s.mem.reads, 4);
  } finally {
    await s.stop();
  }
});

Deno.test("gRPC: a full queue is RESOURCE_EXHAUSTED at once", async () => {
  const s = await start({ semaphore: new Semaphore(1, 1), maxWaitMs: 10_000 });
  try {
    const holder = s.calls.labelNames();
    await until(() => s.mem.reads === 1, "the first call reads");
    const queued = s.calls.query();
    await until(() => s.admission.semaphore.waiting === 1, "a call waits");
    for (const call of [s.calls.series, s.calls.labelValues]) {
      const err = await callError(call());
      assert.deepEqual([err.code, err.details], [
        Code.ResourceExhausted,
        "too many queries waiting: the queue of 1 is full",
      ]);
    }
    s.open();
    await holder;
    await queued;
  } finally {
    await s.stop();
  }
});

Deno.test("gRPC: a call that waits past the bound is DEADLINE_EXCEEDED", async () => {
  const s = await start({ semaphore: new Semaphore(1), maxWaitMs: 50 });
  try {
    const holder = s.calls.series();
    await until(() => s.mem.reads === 1, "the first call reads");
    for (const call of [s.calls.labelNames, s.calls.query]) {
      const err = await callError(call());
      assert.deepEqual([err.code, err.details], [
        Code.DeadlineExceeded,
        "query timed out in query queue",
      ]);
    }
    assert.equal(s.mem.reads, 1);
    s.open();
    await holder;
  } finally {
    await s.stop();
  }
});
