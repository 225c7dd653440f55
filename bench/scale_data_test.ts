import assert from "node:assert/strict";
import { labelsToRecord } from "../model/labels.ts";
import { ValueType } from "../model/series.ts";
import { Block } from "../storage/tsdb/mod.ts";
import { BLOCK_MS, DAY_MS, LE, SERIES_PER_HOST, writeDay } from "./scale_data.ts";

Deno.test("writeDay writes a day of plausible scrapes as twelve 2h blocks", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const dayStart = Date.UTC(2025, 0, 10);
    const hosts = 4;
    const samples = await writeDay({ hosts, dayStart, dir });
    // Each series' samples over the day, read back with our block reader.
    const day = new Map<string, { labels: Record<string, string>; ts: number[]; v: number[] }>();
    const ranges: number[] = [];
    let read = 0;
    const blocks: Block[] = [];
    for await (const e of Deno.readDir(dir)) blocks.push(await Block.open(`${dir}/${e.name}`));
    for (const block of blocks.sort((a, b) => a.meta.minTime - b.meta.minTime)) {
      ranges.push(block.meta.minTime);
      assert.equal(block.meta.maxTime - block.meta.minTime, BLOCK_MS);
      assert.equal(block.meta.stats.numSeries, hosts * SERIES_PER_HOST);
      for (const s of block.series()) {
        const labels = labelsToRecord(s.labels);
        const key = JSON.stringify(labels);
        let got = day.get(key);
        if (!got) day.set(key, got = { labels, ts: [], v: [] });
        const it = s.iterator();
        while (it.next() === ValueType.Float) {
          const t = it.atT();
          assert.ok(t >= block.meta.minTime && t < block.meta.maxTime);
          got.ts.push(t);
          got.v.push(it.atFloat());
          read++;
        }
      }
      await block.close();
    }
    assert.deepEqual(
      ranges.sort((a, b) => a - b),
      Array.from({ length: DAY_MS / BLOCK_MS }, (_, i) => dayStart + i * BLOCK_MS),
    );
    assert.equal(read, samples);
    assert.equal(day.size, hosts * SERIES_PER_HOST);

    const byInstance = new Map<string, string>();
    let resets = 0;
    for (const { labels, ts, v } of day.values()) {
      // The series of one target share its scrape times: 15, 30 or 60 s apart, ±300 ms each.
      const times = JSON.stringify(ts);
      const seen = byInstance.get(labels.instance);
      if (seen === undefined) byInstance.set(labels.instance, times);
      else assert.equal(times, seen, labels.instance);
      const interval = Math.round((ts[1] - ts[0]) / 15_000) * 15_000;
      assert.ok([15_000, 30_000, 60_000].includes(interval));
      for (let i = 1; i < ts.length; i++) {
        assert.ok(Math.abs(ts[i] - ts[i - 1] - interval) <= 600, `${ts[i]} after ${ts[i - 1]}`);
      }
      assert.ok(ts.every((t) => t % 1000 !== 0), "a sample on a whole second");
      // Counters only grow, but for the one restart of host 3's service.
      if (/_total$|_bucket$|_sum$|_count$/.test(labels.__name__)) {
        const drops = v.filter((x, i) => i > 0 && x < v[i - 1]).length;
        const restarts = labels.instance === "host-00003:8080";
        assert.ok(drops <= (restarts ? 1 : 0), JSON.stringify(labels));
        if (restarts) resets += drops;
      }
    }
    assert.equal(byInstance.size, 2 * hosts);
    assert.ok(resets > 30, `${resets} counters reset`);

    // Histogram buckets are cumulative in `le` at every scrape; +Inf equals the count.
    for (let host = 0; host < hosts; host++) {
      const instance = `host-0000${host}:8080`;
      for (const handler of ["/api/orders", "/api/users", "/healthz"]) {
        const series = (name: string, le?: string) =>
          day.get(JSON.stringify({
            __name__: name,
            handler,
            instance,
            job: "app",
            ...(le ? { le } : {}),
          }))!.v;
        const buckets = LE.map((le) => series("http_request_duration_seconds_bucket", le));
        const count = series("http_request_duration_seconds_count");
        for (let k = 0; k < count.length; k++) {
          for (let b = 1; b < buckets.length; b++) assert.ok(buckets[b][k] >= buckets[b - 1][k]);
          assert.equal(buckets.at(-1)![k], count[k]);
        }
        assert.ok(count.at(-1)! > 0);
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
