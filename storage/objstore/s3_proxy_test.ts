// S3 requests through a local proxy in front of s3rver: injected faults, and what goes on the wire.
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import { listAll } from "./bucket.ts";
import { parseBucketConfig } from "./config.ts";
import { patternBytes } from "./conformance.ts";
import { createBucket } from "./mod.ts";
import { startFaultProxy } from "./testing/fault_proxy.ts";
import { startS3rver } from "./testing/servers.ts";

function yaml(port: number): string {
  return `type: S3
config:
  bucket: faults
  endpoint: 127.0.0.1:${port}
  insecure: true
  access_key: S3RVER
  secret_key: S3RVER
  part_size: 5242880
  max_retries: 8
  http_config:
    response_header_timeout: 2s
`;
}

Deno.test("S3 bucket recovers from 503s, stalled requests and stalled bodies", async () => {
  const server = await startS3rver(["faults"]);
  // Every third request is refused with 503 SlowDown; the 5th and 17th never get an answer;
  // the 9th and 22nd (when they are reads) stall after the first body bytes.
  const proxy = startFaultProxy(server.url, {
    unavailable: (n) => n % 3 === 0,
    stallBeforeHeaders: (n) => n === 5 || n === 17,
    stallInBody: (n, req) => req.method === "GET" && (n === 10 || n === 22 || n === 25),
  });
  try {
    const bucket = await createBucket(parseBucketConfig(yaml(proxy.port), "test"));
    const small = patternBytes(70_000, 3);
    const large = patternBytes(11 * 1024 * 1024, 4);
    for (let i = 0; i < 4; i++) await bucket.upload(`dir/small-${i}`, small);
    await bucket.upload("dir/large", large);
    for (let i = 0; i < 4; i++) assert.deepEqual(await bucket.get(`dir/small-${i}`), small);
    assert.deepEqual(
      await bucket.getRange("dir/large", 6_000_000, 50_000),
      large.subarray(6_000_000, 6_050_000),
    );
    assert.equal((await bucket.attributes("dir/large")).size, large.length);
    assert.deepEqual(await listAll(bucket, "dir/"), [
      "dir/large",
      "dir/small-0",
      "dir/small-1",
      "dir/small-2",
      "dir/small-3",
    ]);
    const got = await bucket.get("dir/large");
    assert.ok(got.length === large.length && got.every((b, i) => b === large[i]));
    await bucket.delete("dir/small-0");
    assert.equal(await bucket.exists("dir/small-0"), false);
    await bucket.close();
    assert.ok(proxy.counts.unavailable >= 8, `503s: ${JSON.stringify(proxy.counts)}`);
    assert.equal(proxy.counts.stalled, 2, `stalls: ${JSON.stringify(proxy.counts)}`);
    assert.ok(proxy.counts.stalledBody >= 1, `body stalls: ${JSON.stringify(proxy.counts)}`);
  } finally {
    await proxy.stop();
    await server.stop();
  }
});

Deno.test("S3 does not retry a missing key, and stops at the attempt limit", async () => {
  const server = await startS3rver(["faults"]);
  const proxy = startFaultProxy(server.url, {
    unavailable: (_n, req) => new URL(req.url).pathname.endsWith("/always-503"),
  });
  try {
    const cfg = yaml(proxy.port).replace("max_retries: 8", "max_retries: 4");
    const bucket = await createBucket(parseBucketConfig(cfg, "test"));
    await assert.rejects(bucket.get("missing"), { name: "ObjectNotFoundError" });
    assert.equal(proxy.log.filter((l) => l.includes("/missing")).length, 1);
    await assert.rejects(bucket.get("always-503"), /SlowDown.*HTTP 503/);
    assert.equal(proxy.log.filter((l) => l.includes("/always-503")).length, 4);
    await bucket.close();
  } finally {
    await proxy.stop();
    await server.stop();
  }
});

Deno.test("S3 caller abort is not retried and ends a stalled request at once", async () => {
  const server = await startS3rver(["faults"]);
  const proxy = startFaultProxy(server.url, { stallBeforeHeaders: () => true });
  try {
    const bucket = await createBucket(parseBucketConfig(yaml(proxy.port), "test"));
    const controller = new AbortController();
    const started = performance.now();
    setTimeout(() => controller.abort(new Error("caller gave up")), 200);
    await assert.rejects(bucket.get("k", controller.signal), /caller gave up/);
    assert.ok(performance.now() - started < 1500, "abort ended the request before its timeout");
    assert.equal(proxy.counts.requests, 1);
    await bucket.close();
  } finally {
    await proxy.stop();
    await server.stop();
  }
});

Deno.test("S3 sse_config puts the server-side encryption headers on the wire", async () => {
  const server = await startS3rver(["faults"]);
  const proxy = startFaultProxy(server.url, {});
  const keyFile = await Deno.makeTempFile();
  const key = patternBytes(32, 77);
  await Deno.writeFile(keyFile, key);
  try {
    const cases: Array<[string, (h: Headers, method: string) => void]> = [
      ["{type: SSE-S3}", (h, m) => {
        if (m === "PUT") assert.equal(h.get("x-amz-server-side-encryption"), "AES256");
      }],
      ["{type: SSE-KMS, kms_key_id: k1, kms_encryption_context: {team: obs}}", (h, m) => {
        if (m !== "PUT") return;
        assert.equal(h.get("x-amz-server-side-encryption"), "aws:kms");
        assert.equal(h.get("x-amz-server-side-encryption-aws-kms-key-id"), "k1");
        assert.deepEqual(
          JSON.parse(atob(h.get("x-amz-server-side-encryption-context")!)),
          { team: "obs" },
        );
      }],
      [`{type: SSE-C, encryption_key: ${keyFile}}`, (h) => {
        // Sent on reads and writes alike: the key, base64, with its MD5.
        assert.equal(h.get("x-amz-server-side-encryption-customer-algorithm"), "AES256");
        assert.equal(
          h.get("x-amz-server-side-encryption-customer-key"),
          Buffer.from(key).toString("base64"),
        );
        assert.equal(
          h.get("x-amz-server-side-encryption-customer-key-md5"),
          createHash("md5").update(key).digest("base64"),
        );
      }],
    ];
    for (const [sse, check] of cases) {
      const from = proxy.log.length;
      const cfg = parseBucketConfig(yaml(proxy.port) + `  sse_config: ${sse}\n`, "test");
      const bucket = await createBucket(cfg);
      await bucket.upload("sse/obj", new Uint8Array([1, 2, 3]));
      await bucket.attributes("sse/obj").catch(() => {});
      await bucket.close();
      assert.ok(proxy.log.length > from);
      for (let i = from; i < proxy.log.length; i++) {
        check(proxy.headers[i], proxy.log[i].split(" ")[0]);
      }
    }
  } finally {
    await Deno.remove(keyFile);
    await proxy.stop();
    await server.stop();
  }
});
