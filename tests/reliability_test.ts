/**
 * The reliability findings, end to end on the real `serve` process:
 *
 * 1. A CPU-heavy query must not freeze the process: while it runs, `/-/ready`, a cheap query and
 *    the gRPC health check answer at once; it stops at the smallest of `--query.timeout`, the
 *    request's `timeout` and the gRPC deadline with Prometheus' 503 `timeout` error or
 *    DEADLINE_EXCEEDED; a client that disconnects stops it (seen in the pool's metrics).
 *    A query over the worker memory limit fails with 422 `execution` naming the flag, and the
 *    process lives on.
 * 5. Readiness reflects loaded data, and a query over a day that failed to load, whose files
 *    vanished or are corrupt answers with a warning or an error naming the day, never a silent
 *    empty result.
 *
 * Timing bounds are generous (the machine is shared): they separate "answers at once" from
 * "waits for the heavy query", which takes seconds.
 */
import assert from "node:assert/strict";
import { FilesystemBucket } from "../storage/objstore/filesystem.ts";
import { chunksFileKey, labelsFileKey } from "../storage/parquet/layout.ts";
import { externalLabelsHash } from "../storage/parquet/hash.ts";
import { L, type TestSeries, writeDay } from "../server/db/_fixture_testutil.ts";
import {
  HealthCheckRequestSchema,
  HealthCheckResponseSchema,
} from "../proto/gen/grpc/health/v1/health_pb.ts";
import {
  QueryRangeRequestSchema,
  QueryRangeResponseSchema,
} from "../proto/gen/api/query/querypb/query_pb.ts";
import { TestClient } from "../server/grpc/testing.ts";
import { type GatewayProcess, startGateway } from "./gateway_process.ts";
import { parseBucketConfig } from "../storage/objstore/config.ts";
import { createBucket } from "../storage/objstore/mod.ts";
import { startFaultProxy } from "../storage/objstore/testing/fault_proxy.ts";
import { startS3rver } from "../storage/objstore/testing/servers.ts";

const H = 3_600_000;
const DAY1 = Date.UTC(2025, 3, 1);
const DAY2 = DAY1 + 24 * H;
const STEP = 30_000;
const SERIES = 100;
/** gRPC status codes. */
const DEADLINE_EXCEEDED = 4;
const CANCELLED = 1;

function series(day: number): TestSeries[] {
  return Array.from({ length: SERIES }, (_, i) => {
    const ts: number[] = [];
    for (let t = day; t < day + 24 * H; t += STEP) ts.push(t);
    return {
      labels: L({ __name__: "m", i: String(i) }),
      ts,
      vs: ts.map((t) => i + (t / STEP) % 7),
    };
  });
}

/** A query taking seconds here (series after series) over day one, 6h to 24h, step 60 s. */
function heavyPath(extra = ""): string {
  const q = encodeURIComponent("quantile_over_time(0.5, m[4h])");
  return `/api/v1/query_range?query=${q}&start=${(DAY1 + 6 * H) / 1000}&end=${DAY2 / 1000}` +
    `&step=60${extra}`;
}

function cheapPath(t: number): string {
  return `/api/v1/query?query=${encodeURIComponent("count(m)")}&time=${t / 1000}`;
}

async function timed<T>(f: () => Promise<T>): Promise<[T, number]> {
  const start = performance.now();
  const v = await f();
  return [v, performance.now() - start];
}

async function getJson(url: string, init?: RequestInit) {
  const res = await fetch(url, init);
  return { status: res.status, body: await res.json() };
}

/** The value of a metric line (`name{labels}`) in the text format, or undefined. */
function metric(text: string, line: string): number | undefined {
  const found = text.split("\n").find((l) => l.startsWith(line + " "));
  return found === undefined ? undefined : Number(found.slice(line.length + 1));
}

async function withBucket(
  fn: (dir: string, bucket: FilesystemBucket) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "reliability-test-" });
  const bucket = new FilesystemBucket(`${dir}/bucket`);
  try {
    await fn(dir, bucket);
  } finally {
    await bucket.close();
    await Deno.remove(dir, { recursive: true });
  }
}

function serveArgs(dir: string, ...flags: string[]): string[] {
  return [
    "serve",
    `--objstore.config=type: FILESYSTEM\nconfig: {directory: ${dir}/bucket}`,
    `--block.labelfilepath=${dir}/labels`,
    "--query.workers=2",
    "--log.level=warn",
    ...flags,
  ];
}

async function stop(gw: GatewayProcess): Promise<void> {
  const code = await gw.stop();
  assert.equal(code, 0, gw.stderr());
}

Deno.test("finding 1: a heavy query holds up neither /-/ready, cheap queries nor gRPC health; timeouts stop it", async () => {
  await withBucket(async (dir, bucket) => {
    await writeDay(bucket, { ext: {}, date: "2025-04-01", shards: [series(DAY1)] });
    const gw = await startGateway(serveArgs(dir, "--query.timeout=2s"));
    const grpc = new TestClient(`127.0.0.1:${gw.grpcPort}`);
    try {
      // Warm up: the cheap query's pages and the gRPC connection.
      const warm = await getJson(gw.url + cheapPath(DAY1 + 12 * H));
      assert.deepEqual(warm.body.data.result[0].value[1], String(SERIES));
      const health = () =>
        grpc.unary(
          "/grpc.health.v1.Health/Check",
          HealthCheckRequestSchema,
          HealthCheckResponseSchema,
          {},
          { timeoutMs: 5000 },
        );
      await health();

      const started = performance.now();
      const heavy = timed(() => getJson(gw.url + heavyPath()));
      await new Promise((r) => setTimeout(r, 300));
      const latencies = { ready: [] as number[], cheap: [] as number[], health: [] as number[] };
      while (performance.now() - started < 1700) {
        const [ready, readyMs] = await timed(() => fetch(`${gw.internalUrl}/-/ready`));
        await ready.body?.cancel();
        assert.equal(ready.status, 200);
        latencies.ready.push(readyMs);
        const [cheap, cheapMs] = await timed(() => getJson(gw.url + cheapPath(DAY1 + 12 * H)));
        assert.equal(cheap.body.data.result[0].value[1], String(SERIES));
        latencies.cheap.push(cheapMs);
        latencies.health.push((await timed(health))[1]);
      }
      const [answer, heavyMs] = await heavy;
      // It ran the whole time (it takes seconds) and stopped at --query.timeout.
      assert.equal(answer.status, 503, JSON.stringify(answer.body).slice(0, 300));
      assert.equal(answer.body.errorType, "timeout");
      assert.ok(heavyMs >= 1990 && heavyMs < 2600, `answered after ${heavyMs} ms`);
      const worst = (xs: number[]) => Math.max(...xs);
      assert.ok(latencies.ready.length >= 3, JSON.stringify(latencies));
      assert.ok(worst(latencies.ready) < 200, `/-/ready: ${latencies.ready}`);
      assert.ok(worst(latencies.health) < 200, `gRPC health: ${latencies.health}`);
      assert.ok(worst(latencies.cheap) < 1000, `cheap query: ${latencies.cheap}`);

      // The request's timeout, smaller than --query.timeout, wins.
      const [short, shortMs] = await timed(() => getJson(gw.url + heavyPath("&timeout=0.5s")));
      assert.equal(short.status, 503);
      assert.equal(short.body.errorType, "timeout");
      assert.ok(shortMs >= 490 && shortMs < 1100, `timeout=0.5s answered after ${shortMs} ms`);

      // gRPC: the request's timeout_seconds and the call's deadline.
      const rangeRequest = {
        query: "quantile_over_time(0.5, m[4h])",
        startTimeSeconds: BigInt((DAY1 + 6 * H) / 1000),
        endTimeSeconds: BigInt(DAY2 / 1000),
        intervalSeconds: 60n,
      };
      for (
        const [request, opts, bound] of [
          [{ ...rangeRequest, timeoutSeconds: 1n }, {}, 1000],
          [rangeRequest, { timeoutMs: 700 }, 700],
        ] as const
      ) {
        const [err, ms] = await timed(() =>
          grpc.stream(
            "/thanos.Query/QueryRange",
            QueryRangeRequestSchema,
            QueryRangeResponseSchema,
            request,
            opts,
          ).then(() => undefined, (e) => e)
        );
        assert.equal(err?.code, DEADLINE_EXCEEDED, String(err?.details));
        assert.ok(ms >= bound - 10 && ms < bound + 600, `gRPC answered after ${ms} ms`);
      }
    } finally {
      grpc.close();
      await stop(gw);
    }
  });
});

Deno.test("finding 1: a client that goes away stops its query (HTTP and gRPC)", async () => {
  await withBucket(async (dir, bucket) => {
    await writeDay(bucket, { ext: {}, date: "2025-04-01", shards: [series(DAY1)] });
    const gw = await startGateway(serveArgs(dir, "--query.timeout=1m"));
    const grpc = new TestClient(`127.0.0.1:${gw.grpcPort}`);
    const canceled = async (n: number) => {
      let text = "";
      const until = performance.now() + 2000;
      while (performance.now() < until) {
        text = await (await fetch(`${gw.internalUrl}/metrics`)).text();
        if (
          metric(text, 'query_pool_stopped_queries_total{reason="canceled"}') === n &&
          metric(text, "query_pool_busy_workers") === 0
        ) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      return text;
    };
    try {
      const client = new AbortController();
      const req = fetch(gw.url + heavyPath(), { signal: client.signal }).catch((e) => e);
      await new Promise((r) => setTimeout(r, 500));
      client.abort();
      assert.equal((await req).name, "AbortError");
      const [text, ms] = await timed(() => canceled(1));
      assert.equal(metric(text, 'query_pool_stopped_queries_total{reason="canceled"}'), 1);
      assert.equal(metric(text, "query_pool_busy_workers"), 0);
      assert.ok(ms < 1000, `workers free again after ${ms} ms`);
      // The worker stopped by itself (not replaced), within 100 ms of the cancel.
      assert.equal(metric(text, 'query_pool_abort_seconds_bucket{le="0.1"}'), 1);
      assert.equal(metric(text, 'query_pool_worker_restarts_total{reason="unresponsive"}'), 0);

      const call = grpc.openStream(
        "/thanos.Query/QueryRange",
        QueryRangeRequestSchema,
        QueryRangeResponseSchema,
        {
          query: "quantile_over_time(0.5, m[4h])",
          startTimeSeconds: BigInt((DAY1 + 6 * H) / 1000),
          endTimeSeconds: BigInt(DAY2 / 1000),
          intervalSeconds: 60n,
        },
      );
      const ended = new Promise<number>((resolve) => call.on("error", (e) => resolve(e.code)));
      call.on("data", () => {});
      await new Promise((r) => setTimeout(r, 500));
      call.cancel();
      assert.equal(await ended, CANCELLED);
      const after = await canceled(2);
      assert.equal(metric(after, 'query_pool_stopped_queries_total{reason="canceled"}'), 2);
      assert.equal(metric(after, "query_pool_busy_workers"), 0);
    } finally {
      grpc.close();
      await stop(gw);
    }
  });
});

Deno.test("finding 5: not ready while no day loads; queries name the days they lack", async () => {
  await withBucket(async (dir, bucket) => {
    const hash = externalLabelsHash({});
    await writeDay(bucket, { ext: {}, date: "2025-04-01", shards: [series(DAY1)] });
    // The only day's labels file is corrupt.
    await bucket.upload(labelsFileKey(hash, "2025-04-01", 0), new Uint8Array(200).fill(1));
    const gw = await startGateway(
      serveArgs(dir, "--block.syncer.interval=500ms", "--block.discovery.interval=500ms"),
      { waitReady: false },
    );
    try {
      // The API answers (its listener opens after the first sync), but the server is not ready.
      let answer: { status: number; body: { warnings?: string[]; data: { result: [] } } };
      for (let i = 0;; i++) {
        try {
          answer = await getJson(gw.url + cheapPath(DAY1 + 12 * H));
          break;
        } catch (err) {
          if (i > 200) throw err;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      assert.equal(answer.status, 200);
      assert.deepEqual(answer.body.data.result, []);
      assert.equal(answer.body.warnings?.length, 1, JSON.stringify(answer.body).slice(0, 300));
      assert.match(
        answer.body.warnings![0],
        /^day 2025-04-01 is not loaded, its data is missing from this result: .*corrupted labels/,
      );
      // Once started (the query workers up), it stays not ready, and says why.
      let ready = { status: 0, text: "" };
      for (let i = 0; i < 100; i++) {
        const res = await fetch(`${gw.internalUrl}/-/ready`);
        ready = { status: res.status, text: await res.text() };
        if (ready.text !== "not ready: starting\n") break;
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.equal(ready.status, 503);
      assert.match(ready.text, /^not ready: none of the 1 day\(s\) found loaded; .*2025-04-01/);

      // A good labels file: the next sync loads the day and the server turns ready.
      await writeDay(bucket, { ext: {}, date: "2025-04-01", shards: [series(DAY1)] });
      for (let i = 0; i < 100; i++) {
        const res = await fetch(`${gw.internalUrl}/-/ready`);
        await res.body?.cancel();
        if (res.ok) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      const loaded = await getJson(gw.url + cheapPath(DAY1 + 12 * H));
      assert.equal(loaded.body.data.result[0].value[1], String(SERIES));
      assert.equal(loaded.body.warnings, undefined);
    } finally {
      await stop(gw);
    }
  });
});

Deno.test("finding 5: a day whose chunks file vanished under its live meta.pb fails its queries by name", async () => {
  await withBucket(async (dir, bucket) => {
    const hash = externalLabelsHash({});
    await writeDay(bucket, { ext: {}, date: "2025-04-01", shards: [series(DAY1)] });
    await writeDay(bucket, { ext: {}, date: "2025-04-02", shards: [series(DAY2)] });
    const gw = await startGateway(serveArgs(dir));
    try {
      await bucket.delete(chunksFileKey(hash, "2025-04-02", 0));
      const lost = await getJson(gw.url + cheapPath(DAY2 + 12 * H));
      assert.equal(lost.status, 500, JSON.stringify(lost.body).slice(0, 300));
      assert.equal(lost.body.status, "error");
      assert.match(lost.body.error, /2025-04-02\/0\.chunks\.parquet/);
      // The other day still answers.
      const kept = await getJson(gw.url + cheapPath(DAY1 + 12 * H));
      assert.equal(kept.body.data.result[0].value[1], String(SERIES));
    } finally {
      await stop(gw);
    }
  });
});

Deno.test("finding 1: a query over the worker memory limit is a 422 naming the flag; by default max-samples stops it first; serve lives on", async () => {
  await withBucket(async (dir, bucket) => {
    await writeDay(bucket, { ext: {}, date: "2025-04-01", shards: [series(DAY1)] });
    // A 250 ms subquery over a day for every series, as the result: 100 x 345,600 points held at
    // once (over 500 MB).
    const big = `/api/v1/query?query=${encodeURIComponent("(m * 1)[1d:250ms]")}` +
      `&time=${DAY2 / 1000}`;
    for (
      const [flags, error] of [
        [
          ["--query.workers.max-memory=64MiB", "--query.max-samples=1000000000"],
          "query processing would use more memory than --query.workers.max-memory allows " +
          "(67108864 bytes); narrow the query or raise the limit",
        ],
        // The defaults: max-samples (10000000, about 300 MB of heap) stops it before the worker
        // memory limit (1GiB) would.
        [
          [],
          "query processing would load too many samples into memory in query execution",
        ],
      ] as const
    ) {
      const gw = await startGateway(serveArgs(dir, ...flags));
      try {
        const answer = await getJson(gw.url + big);
        assert.equal(answer.status, 422, JSON.stringify(answer.body).slice(0, 300));
        assert.equal(answer.body.errorType, "execution");
        assert.equal(answer.body.error, error);
        const cheap = await getJson(gw.url + cheapPath(DAY1 + 12 * H));
        assert.equal(cheap.body.data.result[0].value[1], String(SERIES));
      } finally {
        await stop(gw);
      }
    }
  });
});

Deno.test("finding 5: a day whose chunks file is corrupt fails its queries by name, live or at load", async () => {
  await withBucket(async (dir, bucket) => {
    const hash = externalLabelsHash({});
    await writeDay(bucket, { ext: {}, date: "2025-04-01", shards: [series(DAY1)] });
    await writeDay(bucket, { ext: {}, date: "2025-04-02", shards: [series(DAY2)] });
    const key = chunksFileKey(hash, "2025-04-02", 0);
    const size = (await bucket.attributes(key)).size;
    // Same size and footer, so that the day's file still looks in place; its pages are garbage.
    const tail = await bucket.getRange(key, size - 8, 8);
    const footerSize = new DataView(tail.buffer, tail.byteOffset).getUint32(0, true) + 8;
    const garbage = new Uint8Array(size).fill(0x5a);
    garbage.set(await bucket.getRange(key, size - footerSize, footerSize), size - footerSize);
    const live = await startGateway(serveArgs(dir));
    try {
      await bucket.upload(key, garbage);
      const lost = await getJson(live.url + cheapPath(DAY2 + 12 * H));
      assert.equal(lost.body.status, "error", JSON.stringify(lost.body).slice(0, 300));
      assert.match(lost.body.error, /2025-04-02\/0\.chunks\.parquet/);
      const kept = await getJson(live.url + cheapPath(DAY1 + 12 * H));
      assert.equal(kept.body.data.result[0].value[1], String(SERIES));
    } finally {
      await stop(live);
    }
    // Started over a file whose footer is garbage too: the day does not load, and queries over
    // it say so.
    await bucket.upload(key, new Uint8Array(size).fill(0x5a));
    const restarted = await startGateway(serveArgs(dir));
    try {
      const answer = await getJson(restarted.url + cheapPath(DAY2 + 12 * H));
      assert.equal(answer.status, 200);
      assert.deepEqual(answer.body.data.result, []);
      assert.equal(answer.body.warnings?.length, 1, JSON.stringify(answer.body).slice(0, 300));
      assert.match(
        answer.body.warnings[0],
        /^day 2025-04-02 is not loaded, its data is missing from this result: .*2025-04-02\/0\.chunks\.parquet/,
      );
      const kept = await getJson(restarted.url + cheapPath(DAY1 + 12 * H));
      assert.equal(kept.body.data.result[0].value[1], String(SERIES));
      assert.equal(kept.body.warnings, undefined);
    } finally {
      await stop(restarted);
    }
  });
});

Deno.test({
  name: "finding 1: a timeout aborts the storage reads under the query, and its worker is free",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "reliability-s3-" });
    const s3 = await startS3rver(["parquet"]);
    const yaml = (port: number) =>
      `type: S3\nconfig: {bucket: parquet, endpoint: "127.0.0.1:${port}", insecure: true, ` +
      `access_key: S3RVER, secret_key: S3RVER, list_objects_version: v1}`;
    const bucket = await createBucket(parseBucketConfig(yaml(s3.port), "test"));
    await writeDay(bucket, { ext: {}, date: "2025-04-01", shards: [series(DAY1)] });
    await bucket.close();
    // Once armed, the proxy holds every read of a chunks file without answering.
    let stalling = false;
    const held: Request[] = [];
    const abortedAt: number[] = [];
    const proxy = startFaultProxy(s3.url, {
      stallBeforeHeaders: (_, req) => {
        if (!stalling || req.method !== "GET" || !req.url.includes("chunks.parquet")) return false;
        held.push(req);
        req.signal.addEventListener("abort", () => abortedAt.push(performance.now()));
        return true;
      },
    });
    const gw = await startGateway([
      "serve",
      `--objstore.config=${yaml(proxy.port)}`,
      `--block.labelfilepath=${dir}/labels`,
      "--query.workers=2",
      "--log.level=error",
    ]);
    try {
      stalling = true;
      const sent = performance.now();
      const [answer, ms] = await timed(() =>
        getJson(gw.url + cheapPath(DAY1 + 12 * H) + "&timeout=1s")
      );
      assert.equal(answer.status, 503, JSON.stringify(answer.body));
      assert.equal(answer.body.errorType, "timeout");
      assert.ok(ms >= 990 && ms < 1500, `answered after ${ms} ms`);
      assert.ok(held.length >= 1, "a chunks read was held");
      // The held read is given up at the deadline (its connection closes), and the worker is free
      // again by itself, not replaced. (Deno 2.9's node:http then sends an aborted request again
      // on a fresh connection when its socket was a reused keep-alive one, denoland/deno#36786:
      // that copy is nobody's, and the test does not count it.)
      let text = "";
      for (let i = 0; i < 50; i++) {
        text = await (await fetch(`${gw.internalUrl}/metrics`)).text();
        if (held[0].signal.aborted && metric(text, "query_pool_busy_workers") === 0) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.ok(held[0].signal.aborted, "the held read was aborted");
      const late = abortedAt[0] - (sent + 1000);
      assert.ok(late < 100, `the read was aborted ${late} ms after the deadline`);
      assert.equal(metric(text, "query_pool_busy_workers"), 0);
      assert.equal(metric(text, 'query_pool_stopped_queries_total{reason="timeout"}'), 1);
      assert.equal(metric(text, 'query_pool_abort_seconds_bucket{le="0.1"}'), 1);
      assert.equal(metric(text, 'query_pool_worker_restarts_total{reason="unresponsive"}'), 0);
    } finally {
      await stop(gw);
      await proxy.stop();
      await s3.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
