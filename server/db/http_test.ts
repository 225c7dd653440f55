import assert from "node:assert/strict";
import { NOP_LOGGER } from "../../internal/log.ts";
import { FilesystemBucket } from "../../storage/objstore/filesystem.ts";
import type { QueryEngine } from "../../engine/engine.ts";
import { createPrometheusApi } from "../http/api.ts";
import { L, syncBucket, type TestSeries, writeDay } from "./_fixture_testutil.ts";
import { ParquetDB } from "./db.ts";

const DAY = Date.UTC(2025, 3, 1);

// The metadata endpoints never evaluate PromQL; an engine call would be a test failure.
const noEngine: QueryEngine = {
  instantQuery: () => Promise.reject(new Error("unexpected instant query")),
  rangeQuery: () => Promise.reject(new Error("unexpected range query")),
};

Deno.test("HTTP metadata endpoints over ParquetDB: results, and quota errors as 422", async () => {
  const dir = await Deno.makeTempDir({ prefix: "serve-db-http-" });
  const bucket = new FilesystemBucket(`${dir}/bucket`);
  try {
    const series: TestSeries[] = [];
    for (let i = 0; i < 5; i++) {
      series.push({
        labels: L({ __name__: "up", job: "a", instance: `h${i}` }),
        ts: [DAY],
        vs: [1],
      });
    }
    await writeDay(bucket, { ext: { site: "x" }, date: "2025-04-01", shards: [series] });
    const syncer = await syncBucket(bucket, `${dir}/labels`);
    const api = (maxSelectRows: number) =>
      createPrometheusApi({
        engine: noEngine,
        queryable: () =>
          new ParquetDB({
            days: () => syncer.days,
            limits: {
              maxShards: 0,
              maxSelectRows,
              maxChunkBytes: 0,
              maxLabelNamesRows: 0,
              maxLabelValuesRows: 0,
            },
          }).queryable(),
        defaultTimeout: 30_000,
        maxTimeout: 60_000,
        lookbackDelta: 300_000,
        maxConcurrentQueries: 10,
        version: "test",
        logger: NOP_LOGGER,
      });
    const url = `http://x/api/v1/series?match[]=up{instance=~"h[12]"}&start=${DAY / 1000}&end=${
      DAY / 1000 + 60
    }`;
    const ok = await api(0)(new Request(url));
    assert.equal(ok.status, 200);
    assert.deepEqual((await ok.json()).data, [
      { __name__: "up", instance: "h1", job: "a", site: "x" },
      { __name__: "up", instance: "h2", job: "a", site: "x" },
    ]);
    const limited = await api(1)(new Request(url));
    assert.equal(limited.status, 422);
    const body = await limited.json();
    assert.equal(body.errorType, "execution");
    assert.match(body.error, /too many rows/);
    const values = await api(0)(new Request(`http://x/api/v1/label/site/values`));
    assert.deepEqual((await values.json()).data, ["x"]);
    await syncer.close();
  } finally {
    await bucket.close();
    await Deno.remove(dir, { recursive: true });
  }
});
