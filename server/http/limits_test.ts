import assert from "node:assert/strict";
import { Engine } from "../../engine/engine.ts";
import { MemoryQueryable } from "../../engine/memory_queryable.ts";
import { NOP_LOGGER } from "../../internal/log.ts";
import { labelsFromRecord } from "../../model/labels.ts";
import type { Matcher } from "../../model/matchers.ts";
import type { LabelHints, Queryable, SelectHints, SeriesSet } from "../../model/queryable.ts";
import { createPrometheusApi, type PrometheusApiOptions } from "./api.ts";

/** `up{job="api"} 1` at t=0, whose reads wait until `open()` once `close()` was called. */
class GatedQueryable implements Queryable {
  readonly #store = new MemoryQueryable();
  #gate: Promise<void> | undefined;
  #open = () => {};
  /** Reads started so far. */
  reads = 0;

  constructor() {
    this.#store.append(labelsFromRecord({ __name__: "up", job: "api" }), 0, 1);
  }

  close() {
    this.#gate = new Promise((resolve) => this.#open = resolve);
  }

  open() {
    this.#open();
    this.#gate = undefined;
  }

  select(matchers: readonly Matcher[], hints: SelectHints, signal?: AbortSignal): SeriesSet {
    this.reads++;
    const gate = this.#gate;
    const set = this.#store.select(matchers, hints, signal);
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

  async labelNames(matchers: readonly Matcher[], hints: LabelHints, signal?: AbortSignal) {
    this.reads++;
    await this.#gate;
    return this.#store.labelNames(matchers, hints, signal);
  }

  async labelValues(
    name: string,
    matchers: readonly Matcher[],
    hints: LabelHints,
    signal?: AbortSignal,
  ) {
    this.reads++;
    await this.#gate;
    return this.#store.labelValues(name, matchers, hints, signal);
  }
}

function api(queryable: Queryable, options: Partial<PrometheusApiOptions> = {}) {
  const handler = createPrometheusApi({
    engine: new Engine({ features: [] }),
    queryable: () => queryable,
    defaultTimeout: 30_000,
    maxTimeout: 60_000,
    lookbackDelta: 300_000,
    maxConcurrentQueries: 1,
    version: "test",
    logger: NOP_LOGGER,
    ...options,
  });
  return async (path: string) => {
    const res = await handler(new Request(`http://x${path}`));
    return { status: res.status, body: await res.text() };
  };
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 10));

Deno.test("too many samples: 422 execution, Prometheus 2.42's body byte for byte", async () => {
  // Prometheus 2.42 with --query.max-samples=10 answers this range query (101 steps) so.
  const get = api(new MemoryQueryable(), { engine: new Engine({ features: [], maxSamples: 10 }) });
  assert.deepEqual(await get("/api/v1/query_range?query=vector(1)&start=0&end=100&step=1"), {
    status: 422,
    body: '{"status":"error","errorType":"execution","error":"query processing would load too ' +
      'many samples into memory in query execution"}',
  });
  assert.equal((await get("/api/v1/query?query=vector(1)&time=0")).status, 200);
});

Deno.test("series, labels and label values wait for a place like queries do", async () => {
  const store = new GatedQueryable();
  const get = api(store, { maxConcurrentQueries: 1 });
  store.close();
  const first = get("/api/v1/query?query=up&time=0");
  await tick();
  assert.equal(store.reads, 1);
  const waiting = [
    get("/api/v1/series?match[]=up"),
    get("/api/v1/labels"),
    get("/api/v1/label/job/values?match[]=up"),
  ];
  await tick();
  assert.equal(store.reads, 1, "the others wait for the one place");
  store.open();
  assert.equal((await first).status, 200);
  const bodies = (await Promise.all(waiting)).map((r) => JSON.parse(r.body).data);
  assert.deepEqual(bodies, [[{ __name__: "up", job: "api" }], ["__name__", "job"], ["api"]]);
  assert.equal(store.reads, 4);
});

Deno.test("a full queue is refused at once with 503 unavailable", async () => {
  const store = new GatedQueryable();
  const get = api(store, { maxConcurrentQueries: 1, maxQueuedQueries: 2 });
  store.close();
  const admitted = get("/api/v1/labels");
  const queued = [get("/api/v1/query?query=up&time=0"), get("/api/v1/series?match[]=up")];
  await tick();
  for (const path of ["/api/v1/query?query=up&time=0", "/api/v1/label/job/values"]) {
    assert.deepEqual(await get(path), {
      status: 503,
      body: '{"status":"error","errorType":"unavailable",' +
        '"error":"too many queries waiting: the queue of 2 is full"}',
    });
  }
  store.open();
  for (const r of await Promise.all([admitted, ...queued])) assert.equal(r.status, 200);
});

Deno.test("a request that times out while queued is 503 timeout, as in Prometheus", async () => {
  const store = new GatedQueryable();
  const get = api(store, { maxConcurrentQueries: 1, defaultTimeout: 50 });
  store.close();
  const holder = get("/api/v1/labels?match[]=up");
  const timedOut = '{"status":"error","errorType":"timeout",' +
    '"error":"query timed out in query queue"}';
  // The query's own timeout parameter bounds its wait; the others wait the default timeout.
  assert.deepEqual(await get("/api/v1/query?query=up&time=0&timeout=20ms"), {
    status: 503,
    body: timedOut,
  });
  assert.deepEqual(await get("/api/v1/series?match[]=up"), { status: 503, body: timedOut });
  assert.equal(store.reads, 1, "nothing read for requests that never got a place");
  store.open();
  await holder;
});
