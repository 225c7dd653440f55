import assert from "node:assert/strict";
import { Registry } from "prom-client";
import { FilesystemBucket } from "./filesystem.ts";
import { instrumentBucket } from "./instrumented.ts";

function sample(text: string, metric: string, labels: string): number {
  const line = text.split("\n").find((l) => l.startsWith(`${metric}{${labels}}`));
  assert.ok(line, `no sample ${metric}{${labels}} in\n${text}`);
  return Number(line.split(" ").at(-1));
}

Deno.test("instrumented bucket counts operations, failures and bytes like Thanos", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const registry = new Registry();
    const bucket = instrumentBucket(new FilesystemBucket(dir), registry, "parquet");
    // A second bucket on the same registry must not clash.
    instrumentBucket(new FilesystemBucket(dir), registry, "tsdb");
    await bucket.upload("k", new Uint8Array(100));
    await bucket.get("k");
    await bucket.getRange("k", 10, 20);
    await bucket.exists("nope");
    await bucket.get("nope").catch(() => {});
    await bucket.upload("../escape", new Uint8Array(1)).catch(() => {});
    for await (const _ of bucket.list("")) { /* drain */ }
    const text = await registry.metrics();
    const l = (op: string) => `bucket="parquet",operation="${op}"`;
    assert.equal(sample(text, "objstore_bucket_operations_total", l("get")), 2);
    assert.equal(sample(text, "objstore_bucket_operations_total", l("upload")), 2);
    assert.equal(sample(text, "objstore_bucket_operations_total", l("iter")), 1);
    // not-found is expected, an invalid key is a real failure
    assert.equal(sample(text, "objstore_bucket_operation_failures_total", l("get")), 0);
    assert.equal(sample(text, "objstore_bucket_operation_failures_total", l("upload")), 1);
    assert.equal(sample(text, "objstore_bucket_operation_fetched_bytes_total", l("get")), 100);
    assert.equal(sample(text, "objstore_bucket_operation_fetched_bytes_total", l("get_range")), 20);
    assert.equal(
      sample(text, "objstore_bucket_operations_total", `bucket="tsdb",operation="get"`),
      0,
    );
    assert.ok(text.includes('objstore_bucket_last_successful_upload_time{bucket="parquet"}'));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
