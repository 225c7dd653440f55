/**
 * Engine throughput: 1000 counters (10 jobs x 100 instances) sampled every 15s for 6h
 * (1.44M samples), queried as Grafana dashboards do: range queries over the 6h at a 60s step.
 */
import { Engine } from "./engine.ts";
import { labelsFromRecord } from "../model/labels.ts";
import { MemoryQueryable } from "./memory_queryable.ts";

const HOUR = 3_600_000;
const store = new MemoryQueryable();
for (let job = 0; job < 10; job++) {
  for (let inst = 0; inst < 100; inst++) {
    const labels = labelsFromRecord({
      __name__: "http_requests_total",
      job: `job${job}`,
      instance: `i${inst}`,
    });
    const info = labelsFromRecord({ __name__: "up", job: `job${job}`, instance: `i${inst}` });
    let v = 0;
    for (let t = 0; t <= 6 * HOUR; t += 15_000) {
      v += (inst % 7) + 1;
      store.append(labels, t, v);
      if (t % 60_000 === 0) store.append(info, t, 1);
    }
  }
}
const engine = new Engine();

/** A range query over the 6h at a 60s step (361 steps); few iterations, each is large. */
function bench(name: string, query: string): void {
  Deno.bench({
    name,
    n: 10,
    warmup: 2,
    async fn() {
      const res = await engine.rangeQuery(store, query, 0, 6 * HOUR, 60_000);
      if (res.value.type !== "matrix" || res.value.series.length === 0) {
        throw new Error("no result");
      }
    },
  });
}

bench("selector, 1000 series x 361 steps", "http_requests_total");
bench("sum by (job) (rate(x[5m]))", "sum by (job) (rate(http_requests_total[5m]))");
bench("topk(5, rate(x[5m]))", "topk(5, rate(http_requests_total[5m]))");
bench(
  "x / on(job, instance) group_left up",
  "http_requests_total / on(job, instance) group_left up",
);
bench(
  "quantile by (job) (0.9, rate(x[5m]))",
  "quantile by (job) (0.9, rate(http_requests_total[5m]))",
);
bench("max_over_time subquery", "max_over_time(rate(http_requests_total[5m])[30m:1m])");
