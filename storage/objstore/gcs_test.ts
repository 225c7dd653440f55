// These tests run against a stand-in of the GCS JSON API written for them (testing/
// gcs_standin.ts), not against GCS or an emulator (none is packaged for npm or Debian): they show
// that the provider drives @google-cloud/storage correctly, and are no conformance claim for GCS.
import assert from "node:assert/strict";
import { ObjstoreConfigError, parseBucketConfig } from "./config.ts";
import { listAll } from "./bucket.ts";
import { patternBytes, runBucketConformance } from "./conformance.ts";
import { startFaultProxy } from "./testing/fault_proxy.ts";
import { createBucket } from "./mod.ts";
import { startGcsStandIn } from "./testing/gcs_standin.ts";

function yaml(url: string, extra = ""): string {
  return `type: GCS
config:
  bucket: standin
  endpoint: ${url}
  chunk_size_bytes: 4194304
${extra}`;
}

Deno.test("GCS provider runs the conformance steps against the JSON API stand-in", async (t) => {
  const server = startGcsStandIn(["standin"]);
  try {
    await runBucketConformance(t, () => createBucket(parseBucketConfig(yaml(server.url), "test")));
    // The large object went through one resumable upload in 4 MiB chunks.
    const resumable = server.log.filter((l) => l.startsWith("PUT ") && l.includes("upload_id"));
    assert.ok(resumable.length >= 3, server.log.filter((l) => l.includes("resumable")).join("\n"));
    assert.ok(server.log.some((l) => l.includes("uploadType=multipart")));
  } finally {
    await server.stop();
  }
});

Deno.test("GCS config errors name the field and never quote the key", async () => {
  const secret = '{"private_key": "-----BEGIN secret';
  const cfg = parseBucketConfig(
    yaml("http://127.0.0.1:1", `  service_account: '${secret}'\n`),
    "t",
  );
  const err = await createBucket(cfg).then(() => undefined, (e) => e);
  assert.ok(err instanceof ObjstoreConfigError, `${err}`);
  assert.match(err.message, /service_account is not valid JSON/);
  assert.ok(!err.message.includes("BEGIN"));
  const grpc = parseBucketConfig(yaml("http://127.0.0.1:1", "  use_grpc: true\n"), "t");
  await assert.rejects(createBucket(grpc), /use_grpc/);
  const odd = parseBucketConfig(yaml("x").replace("4194304", "1000"), "t");
  await assert.rejects(createBucket(odd), /chunk_size_bytes 1000/);
});

Deno.test("GCS uploads and reads recover from 503s (stand-in behind the fault proxy)", async () => {
  const server = startGcsStandIn(["standin"]);
  const proxy = startFaultProxy(server.url, { unavailable: (n) => n % 4 === 2 });
  try {
    const bucket = await createBucket(
      parseBucketConfig(yaml(`http://127.0.0.1:${proxy.port}`, "  max_retries: 8\n"), "test"),
    );
    const data = patternBytes(10 * 1024 * 1024 + 7, 12);
    const chunks = async function* () {
      for (let off = 0; off < data.length; off += 999_999) yield data.subarray(off, off + 999_999);
    };
    await bucket.upload("big", chunks());
    await bucket.upload("small", data.subarray(0, 1000));
    const got = await bucket.get("big");
    assert.ok(got.length === data.length && got.every((b, i) => b === data[i]));
    assert.deepEqual(await bucket.getRange("small", 10, 10), data.subarray(10, 20));
    assert.deepEqual(await listAll(bucket, ""), ["big", "small"]);
    assert.ok(proxy.counts.unavailable >= 2, JSON.stringify(proxy.counts));
    // Requests 2, 6, 10, ... were refused: the resumable session had to resend a chunk.
    const refused = proxy.log.filter((_, i) => (i + 1) % 4 === 2);
    assert.ok(
      refused.some((l) => l.startsWith("PUT ") && l.includes("upload_id")),
      refused.join("\n"),
    );
  } finally {
    await proxy.stop();
    await server.stop();
  }
});
