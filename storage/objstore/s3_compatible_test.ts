import assert from "node:assert/strict";
import { parseBucketConfig } from "./config.ts";
import { runBucketConformance } from "./conformance.ts";
import { createBucket } from "./mod.ts";
import { cosOptionsFromConfig, ossOptionsFromConfig } from "./s3_compatible.ts";
import { startS3rver } from "./testing/servers.ts";

const S3RVER_BUGS = {
  "listing shows a directory that holds only deeper objects":
    "s3rver only: with a delimiter it skips folders below a common prefix",
};

Deno.test("COS config through its S3 API passes the conformance suite against s3rver", async (t) => {
  const server = await startS3rver(["thanos-1250000000"]);
  try {
    const cfg = parseBucketConfig(
      `type: COS
config:
  bucket: thanos
  app_id: "1250000000"
  region: ap-beijing
  endpoint: ${server.url}
  secret_id: S3RVER
  secret_key: S3RVER
`,
      "test",
    );
    await runBucketConformance(t, () => createBucket(cfg), { knownServerBugs: S3RVER_BUGS });
  } finally {
    await server.stop();
  }
});

Deno.test("OSS config through its S3 API passes the conformance suite against s3rver", async (t) => {
  const server = await startS3rver(["thanos-oss"]);
  try {
    const cfg = parseBucketConfig(
      `type: ALIYUNOSS
config:
  endpoint: ${server.url}
  bucket: thanos-oss
  access_key_id: S3RVER
  access_key_secret: S3RVER
`,
      "test",
    );
    await runBucketConformance(t, () => createBucket(cfg), { knownServerBugs: S3RVER_BUGS });
  } finally {
    await server.stop();
  }
});

function config(yaml: string): Record<string, unknown> {
  return parseBucketConfig(yaml, "test").config;
}

Deno.test("COS fields map onto the COS S3 endpoint", () => {
  const plain = cosOptionsFromConfig(config(
    "type: COS\nconfig: {bucket: b, app_id: '1250000000', region: ap-beijing, " +
      "secret_id: id, secret_key: key}\n",
  ));
  assert.equal(plain.bucket, "b-1250000000");
  assert.equal(plain.endpoint, "https://cos.ap-beijing.myqcloud.com");
  assert.equal(plain.region, "ap-beijing");
  assert.equal(plain.forcePathStyle, false);
  assert.deepEqual(plain.credentials, { accessKeyId: "id", secretAccessKey: "key" });
  const byUrl = cosOptionsFromConfig(config(
    "type: COS\nconfig: {endpoint: 'https://logs-1250000000.cos.ap-guangzhou.myqcloud.com', " +
      "secret_id: id, secret_key: key}\n",
  ));
  assert.equal(byUrl.bucket, "logs-1250000000");
  assert.equal(byUrl.endpoint, "https://cos.ap-guangzhou.myqcloud.com");
  assert.equal(byUrl.region, "ap-guangzhou");
  assert.throws(
    () =>
      cosOptionsFromConfig(config(
        "type: COS\nconfig: {endpoint: 'https://cos.example.com', secret_id: i, secret_key: k}\n",
      )),
    /names no bucket/,
  );
});

Deno.test("OSS fields map onto the OSS S3 endpoint", () => {
  const o = ossOptionsFromConfig(config(
    "type: OSS\nconfig: {endpoint: oss-cn-hangzhou.aliyuncs.com, bucket: b, " +
      "access_key_id: i, access_key_secret: s}\n",
  ));
  assert.equal(o.endpoint, "https://oss-cn-hangzhou.aliyuncs.com");
  assert.equal(o.region, "cn-hangzhou");
  assert.equal(o.forcePathStyle, false);
  assert.equal(o.bucket, "b");
  const internal = ossOptionsFromConfig(config(
    "type: OSS\nconfig: {endpoint: 'http://oss-eu-central-1-internal.aliyuncs.com', bucket: b, " +
      "access_key_id: i, access_key_secret: s}\n",
  ));
  assert.equal(internal.endpoint, "http://oss-eu-central-1-internal.aliyuncs.com");
  assert.equal(internal.region, "eu-central-1");
});
