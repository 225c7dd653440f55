import assert from "node:assert/strict";
import { Registry } from "prom-client";
import { QueryError } from "../../engine/errors.ts";
import { NOP_LOGGER } from "../../internal/log.ts";
import type { MatrixValue } from "../../engine/value.ts";
import { FilesystemBucket } from "../../storage/objstore/filesystem.ts";
import { L, syncBucket, type TestSeries, writeDay } from "../db/_fixture_testutil.ts";
import { dayFiles, ParquetDB, type QueryLimits, type Syncer } from "../db/mod.ts";
import { UNLIMITED } from "../db/limits.ts";
import { Engine } from "../../engine/engine.ts";
import { QueryPool, type QueryPoolOptions } from "./pool.ts";
import { engineRunner, type QueryRunner, type QuerySpec } from "./runner.ts";

const DAY = Date.UTC(2025, 3, 1);
const H = 3_600_000;
const STEP = 30_000;
const SERIES = 100;

/** The fixture's value of series `i` at `t`. */
function value(i: number, t: number): number {
  return i * 10 + ((t - DAY) / STEP) % 7;
}

function series(): TestSeries[] {
  return Array.from({ length: SERIES }, (_, i) => {
    const ts: number[] = [];
    for (let t = DAY; t < DAY + 24 * H; t += STEP) ts.push(t);
    return { labels: L({ __name__: "m", i: String(i) }), ts, vs: ts.map((t) => value(i, t)) };
  });
}

/**
 * A query that takes seconds on this fixture, series after series (about 50 ms each): the
 * evaluation checks for its end between series.
 */
const HEAVY: QuerySpec = {
  query: "quantile_over_time(0.5, m[4h])",
  start: DAY + 6 * H,
  end: DAY + 24 * H,
  step: 60_000,
  lookbackDelta: 0,
};

/**
 * A query that holds its thread for seconds without checking for its end: one series, whose 1 s
 * subquery over a day has 86,400 points to sort at each of 1,081 steps.
 */
const HEAVY_ONE_SERIES: QuerySpec = {
  ...HEAVY,
  query: "quantile_over_time(0.5, vector(time() % 97)[1d:1s])",
};

/** Worker settings of {@linkcode withPool}. */
interface PoolFixtureConfig {
  memoryLimitBytes: number;
  maxSamples: number;
  limits: QueryLimits;
}

const DEFAULT_FIXTURE: PoolFixtureConfig = {
  memoryLimitBytes: 0,
  maxSamples: 50_000_000,
  limits: UNLIMITED,
};

async function withPool(
  fn: (pool: QueryPool, registry: Registry, syncer: Syncer) => Promise<void>,
  opts: Partial<QueryPoolOptions> = {},
  fixture: Partial<PoolFixtureConfig> = {},
): Promise<void> {
  const { memoryLimitBytes, maxSamples, limits } = { ...DEFAULT_FIXTURE, ...fixture };
  const dir = await Deno.makeTempDir({ prefix: "query-pool-test-" });
  const bucket = new FilesystemBucket(`${dir}/bucket`);
  await writeDay(bucket, { ext: {}, date: "2025-04-01", shards: [series()] });
  const syncer = await syncBucket(bucket, `${dir}/labels`);
  const registry = new Registry();
  const pool = new QueryPool({
    workers: 2,
    config: {
      bucket: { type: "FILESYSTEM", config: { directory: `${dir}/bucket` }, prefix: "" },
      labelFileDir: `${dir}/labels`,
      openConcurrency: 1,
      pageCacheBytes: 1 << 20,
      locationCacheBytes: 1 << 20,
      dictionaryCacheEntries: 1000,
      memoryLimitBytes,
      engine: { lookbackDelta: 5 * 60_000, timeout: 120_000, maxSamples, features: [] },
      db: { limits },
    },
    logger: NOP_LOGGER,
    registry,
    ...opts,
  });
  try {
    pool.start();
    pool.update(syncer.days.map(dayFiles), syncer.unavailable);
    await pool.whenReady();
    await fn(pool, registry, syncer);
  } finally {
    pool.close();
    await syncer.close();
    await bucket.close();
    await Deno.remove(dir, { recursive: true });
  }
}

/** The value of a metric line (`name{labels}`) in the text format, or undefined. */
function metric(text: string, line: string): number | undefined {
  const found = text.split("\n").find((l) => l.startsWith(line + " "));
  return found === undefined ? undefined : Number(found.slice(line.length + 1));
}

const instant = (query: string, t: number): QuerySpec => ({
  query,
  start: t,
  end: t,
  step: 0,
  lookbackDelta: 0,
});

Deno.test("QueryPool: evaluates on its workers what the fixture says", async () => {
  await withPool(async (pool) => {
    const t = DAY + 5 * H + 7 * STEP;
    const r = await pool.run(instant("sum(m)", t), { deadline: Date.now() + 30_000 });
    assert.equal(r.value.type, "vector");
    let expected = 0;
    for (let i = 0; i < SERIES; i++) expected += value(i, t);
    assert.deepEqual(r.value.type === "vector" && r.value.samples.map((s) => s.f), [expected]);

    const range = await pool.run(
      { query: 'm{i="2"}', start: DAY + H, end: DAY + H + 60_000, step: 30_000, lookbackDelta: 0 },
      { deadline: Date.now() + 30_000 },
    );
    const m = range.value as MatrixValue;
    assert.deepEqual(m.series.map((s) => s.floatValues), [
      [DAY + H, DAY + H + 30_000, DAY + H + 60_000].map((t) => value(2, t)),
    ]);

    await assert.rejects(
      pool.run(instant("sum(", t), { deadline: Date.now() + 30_000 }),
      (e: unknown) => e instanceof Error && /parse error/.test(e.message),
    );
  });
});

Deno.test("QueryPool: a query stops at its deadline and its worker within 100 ms; others still run", async () => {
  await withPool(async (pool, registry) => {
    const started = performance.now();
    const heavy = pool.run(HEAVY, { deadline: Date.now() + 600 });
    // While the heavy query holds one worker, the other answers.
    await new Promise((r) => setTimeout(r, 150));
    const cheapStart = performance.now();
    const cheap = await pool.run(instant("count(m)", DAY + H), { deadline: Date.now() + 30_000 });
    const cheapMs = performance.now() - cheapStart;
    assert.deepEqual(cheap.value.type === "vector" && cheap.value.samples.map((s) => s.f), [
      SERIES,
    ]);
    assert.ok(cheapMs < 1000, `cheap query took ${cheapMs} ms beside the heavy one`);

    await assert.rejects(heavy, (e: unknown) => {
      assert.ok(e instanceof QueryError && e.kind === "timeout", String(e));
      assert.equal(e.message, "query timed out in expression evaluation");
      return true;
    });
    const answeredMs = performance.now() - started;
    assert.ok(answeredMs >= 590 && answeredMs < 900, `answered after ${answeredMs} ms`);

    // The worker is free again soon after: the stop is counted and measured.
    let text = "";
    for (let i = 0; i < 50; i++) {
      text = await pool.metrics(registry);
      if (metric(text, "query_pool_abort_seconds_count") === 1) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(metric(text, 'query_pool_stopped_queries_total{reason="timeout"}'), 1);
    assert.equal(metric(text, 'query_pool_abort_seconds_bucket{le="0.1"}'), 1);
    assert.equal(metric(text, "query_pool_busy_workers"), 0);
    assert.equal(metric(text, 'query_pool_worker_restarts_total{reason="unresponsive"}'), 0);
  });
});

Deno.test("QueryPool: a caller's abort cancels the running query and frees its worker", async () => {
  await withPool(async (pool, registry) => {
    const client = new AbortController();
    const heavy = pool.run(HEAVY, { deadline: Date.now() + 60_000, signal: client.signal });
    await new Promise((r) => setTimeout(r, 300));
    const abortedAt = performance.now();
    client.abort();
    await assert.rejects(heavy, (e: unknown) => e instanceof QueryError && e.kind === "canceled");
    assert.ok(performance.now() - abortedAt < 50, "answered at once");
    let text = "";
    for (let i = 0; i < 50; i++) {
      text = await pool.metrics(registry);
      if (metric(text, "query_pool_busy_workers") === 0) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.equal(metric(text, "query_pool_busy_workers"), 0);
    assert.equal(metric(text, 'query_pool_stopped_queries_total{reason="canceled"}'), 1);
    assert.equal(metric(text, 'query_pool_abort_seconds_bucket{le="0.1"}'), 1);
  });
});

Deno.test("QueryPool: a worker still busy 100 ms after a stop is replaced; the pool keeps answering", async () => {
  await withPool(async (pool, registry) => {
    await assert.rejects(
      pool.run(HEAVY_ONE_SERIES, { deadline: Date.now() + 300 }),
      (e: unknown) => e instanceof QueryError && e.kind === "timeout",
    );
    await new Promise((r) => setTimeout(r, 150));
    const text = await pool.metrics(registry);
    assert.equal(metric(text, 'query_pool_worker_restarts_total{reason="unresponsive"}'), 1);
    // Both workers serve again (the new one once it has opened the days).
    const results = await Promise.all(
      [1, 2, 3, 4].map(() =>
        pool.run(instant("count(m)", DAY + H), { deadline: Date.now() + 30_000 })
      ),
    );
    for (const r of results) {
      assert.deepEqual(r.value.type === "vector" && r.value.samples.map((s) => s.f), [SERIES]);
    }
  });
});

Deno.test("QueryPool: the workers' metrics add to the main registry's by the time a query is answered; hidden days are not read", async () => {
  let hidden: { minT: number; maxT: number }[] = [];
  await withPool(async (pool, registry) => {
    await pool.run(instant("count(m)", DAY + H), { deadline: Date.now() + 30_000 });
    const text = await pool.metrics(registry);
    assert.equal(metric(text, 'db_queryable_operations_total{type="select",where="shard"}'), 1);
    assert.equal(metric(text, "query_pool_workers"), 2);
    assert.ok((metric(text, "parquet_page_cache_misses_total") ?? 0) > 0);

    hidden = [{ minT: DAY, maxT: DAY + 24 * H }];
    const r = await pool.run(instant("count(m)", DAY + H), { deadline: Date.now() + 30_000 });
    assert.deepEqual(r.value.type === "vector" && r.value.samples, []);
  }, { hidden: () => hidden });
});

Deno.test("QueryPool: a query over the worker memory limit fails, and its worker is replaced", async () => {
  await withPool(
    async (pool, registry) => {
      // A 1 s subquery over a day for every series: about 100 x 86,400 steps of arrays (250 MB).
      const big = instant("max_over_time((m * 1)[1d:1s])", DAY + 24 * H);
      await assert.rejects(pool.run(big, { deadline: Date.now() + 60_000 }), (e: unknown) => {
        assert.ok(e instanceof QueryError && e.kind === "too_many_samples", String(e));
        assert.equal(
          e.message,
          "query processing would use more memory than --query.workers.max-memory allows " +
            "(67108864 bytes); narrow the query or raise the limit",
        );
        return true;
      });
      const text = await pool.metrics(registry);
      assert.equal(metric(text, 'query_pool_worker_restarts_total{reason="memory"}'), 1);
      const small = await pool.run(instant("count(m)", DAY + H), { deadline: Date.now() + 30_000 });
      assert.deepEqual(small.value.type === "vector" && small.value.samples.map((s) => s.f), [
        SERIES,
      ]);
    },
    {},
    { memoryLimitBytes: 64 * 2 ** 20 },
  );
});

/** What `runner` answers for `spec`: the result's value and warnings, or the error's class and text. */
async function outcome(runner: QueryRunner, spec: QuerySpec): Promise<unknown> {
  try {
    const r = await runner.run(spec, { deadline: Date.now() + 60_000 });
    return { value: r.value, warnings: r.warnings };
  } catch (e) {
    return {
      error: (e as Error).constructor.name,
      kind: (e as QueryError).kind,
      message: String(e),
    };
  }
}

/** A range query over the hours 2 to 3 of the fixture's day at its step. */
const RANGE_2H_3H: QuerySpec = {
  query: "",
  start: DAY + 2 * H,
  end: DAY + 3 * H,
  step: STEP,
  lookbackDelta: 0,
};

Deno.test("QueryPool: max-samples, row limits and the slice's time range hold in workers as on the main thread", async () => {
  const limits: QueryLimits = { ...UNLIMITED, maxSelectRows: 50 };
  const maxSamples = 5_000;
  let range = { minT: DAY + 2 * H, maxT: DAY + 3 * H };
  await withPool(
    async (pool, _registry, syncer) => {
      const db = new ParquetDB({ days: () => syncer.days, limits, timeLimit: () => range });
      const engine = new Engine({
        lookbackDelta: 5 * 60_000,
        timeout: 120_000,
        maxSamples,
        features: [],
      });
      const main = engineRunner(engine, () => db.queryable());
      const specs: [QuerySpec, string][] = [
        // 100 series over the 50-row limit.
        [instant("count(m)", DAY + 2 * H + 60_000), "QuotaExceededError"],
        // 44 series of 121 points: 5,324 samples over max-samples.
        [{ ...RANGE_2H_3H, query: 'm{i=~"[1-4].?"}' }, "QueryError"],
        // Within the limits, inside and outside the time range served.
        [instant('m{i="3"}', DAY + 2 * H + 60_000), ""],
        [instant('m{i="3"}', DAY + 5 * H), ""],
        [{
          query: 'm{i="4"}',
          start: DAY + H,
          end: DAY + 4 * H,
          step: 15 * 60_000,
          lookbackDelta: 0,
        }, ""],
      ];
      for (const [spec, errorClass] of specs) {
        const want = await outcome(main, spec);
        assert.deepEqual(await outcome(pool, spec), want, spec.query);
        assert.equal((want as { error?: string }).error ?? "", errorClass, spec.query);
      }
      // The range moves (a relative --min-time): each query gets it as of its dispatch.
      range = { minT: DAY + 4 * H, maxT: DAY + 5 * H };
      const spec = instant('m{i="3"}', DAY + 5 * H);
      const got = await outcome(pool, spec);
      assert.deepEqual(got, await outcome(main, spec));
      assert.equal((got as { value: { samples: unknown[] } }).value.samples.length, 1);
    },
    {
      timeLimit: () => range,
    },
    { maxSamples, limits },
  );
});
