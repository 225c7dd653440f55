import assert from "node:assert/strict";
import { BucketError, listAll } from "./bucket.ts";
import { parseBucketConfig } from "./config.ts";
import { runBucketConformance } from "./conformance.ts";
import { createLogger } from "../../internal/log.ts";
import { createBucket } from "./mod.ts";
import { S3Bucket, S3ConfigError, s3OptionsFromConfig } from "./s3.ts";
import { startS3rver } from "./testing/servers.ts";

function s3Yaml(port: number, extra = ""): string {
  return `type: S3
config:
  bucket: conformance
  endpoint: 127.0.0.1:${port}
  insecure: true
  access_key: S3RVER
  secret_key: S3RVER
  part_size: 5242880
${extra}`;
}

// s3rver 3.7.1 cannot continue a ListObjectsV2 listing: its continuation token uses a cipher
// that current OpenSSL builds refuse, so every truncated v2 page ends in InternalError.
const S3RVER_BUGS = {
  "listing shows a directory that holds only deeper objects":
    "s3rver only: with a delimiter it skips folders below a common prefix, so a prefix with " +
    "no object of its own (ls/a/deep/) is never reported",
};
const S3RVER_V2_BUGS = {
  ...S3RVER_BUGS,
  "listing many keys (pagination)":
    "s3rver only: its ListObjectsV2 continuation tokens fail (legacy OpenSSL cipher); " +
    "pagination is covered by the list_objects_version v1 run",
};

Deno.test("S3 passes the conformance suite against s3rver (ListObjects v1)", async (t) => {
  const server = await startS3rver(["conformance"]);
  try {
    const cfg = parseBucketConfig(s3Yaml(server.port, "  list_objects_version: v1\n"), "test");
    await runBucketConformance(t, () => createBucket(cfg), { knownServerBugs: S3RVER_BUGS });
  } finally {
    await server.stop();
  }
});

Deno.test("S3 passes the conformance suite against s3rver (ListObjectsV2)", async (t) => {
  const server = await startS3rver(["conformance"]);
  try {
    const cfg = parseBucketConfig(s3Yaml(server.port), "test");
    await runBucketConformance(t, () => createBucket(cfg), {
      knownServerBugs: S3RVER_V2_BUGS,
      largeObjectSize: 11 * 1024 * 1024 + 3,
    });
  } finally {
    await server.stop();
  }
});

Deno.test("S3 prefix config and a failed streamed multipart upload leaves no object", async () => {
  const server = await startS3rver(["conformance"]);
  try {
    const cfg = parseBucketConfig(s3Yaml(server.port, "prefix: tenant/x\n"), "test");
    const bucket = await createBucket(cfg);
    await bucket.upload("obj", new Uint8Array([1, 2]));
    const raw = new S3Bucket(s3OptionsFromConfig(cfg.config));
    assert.deepEqual(await listAll(raw, "", { recursive: true }), ["tenant/x/obj"]);
    const failing = async function* () {
      // Two whole parts go out before the body fails.
      yield new Uint8Array(6 * 1024 * 1024);
      yield new Uint8Array(6 * 1024 * 1024);
      throw new Error("body broke");
    };
    await assert.rejects(bucket.upload("big", failing()), /body broke/);
    assert.equal(await bucket.exists("big"), false);
    await bucket.close();
    await raw.close();
  } finally {
    await server.stop();
  }
});

Deno.test("S3 credentials appear neither in errors nor in retry logs", async () => {
  const server = await startS3rver(["conformance"]);
  // A port nobody listens on: every attempt is refused and retried.
  const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const closedPort = (closed.addr as Deno.NetAddr).port;
  closed.close();
  try {
    const secret = "very-secret-key-4242";
    const token = "very-secret-token-4343";
    const lines: string[] = [];
    const logger = createLogger({ level: "debug", write: (l) => lines.push(l) });
    const texts: string[] = [];
    for (
      const yaml of [
        s3Yaml(server.port).replace("bucket: conformance", "bucket: no-such-bucket"),
        s3Yaml(closedPort, "  max_retries: 3\n"),
      ]
    ) {
      const cfg = parseBucketConfig(
        yaml.replace("secret_key: S3RVER", `secret_key: ${secret}\n  session_token: ${token}`),
        "test",
      );
      const bucket = await createBucket(cfg, { logger });
      const err = await bucket.get("k").then(() => undefined, (e) => e);
      assert.ok(err instanceof BucketError, `${err}`);
      texts.push(err.message, String(err.cause), JSON.stringify(err.cause));
      await bucket.close();
    }
    assert.match(texts[0], /NoSuchBucket/);
    assert.equal(lines.length, 2, "two retries of the refused connection were logged");
    for (const text of [...texts, ...lines]) {
      assert.ok(!text.includes(secret) && !text.includes(token), text);
    }
  } finally {
    await server.stop();
  }
});

Deno.test("S3 config errors name the field", () => {
  const base = {
    ...parseBucketConfig(s3Yaml(1), "test").config,
  };
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [{ endpoint: "" }, /no s3 endpoint/],
    [{ endpoint: "http://x:9000" }, /without a scheme/],
    [{ aws_sdk_auth: true }, /mutually exclusive/],
    [{ secret_key: "" }, /access_key and secret_key/],
    [{ bucket_lookup_type: "dns" }, /bucket_lookup_type/],
    [{ list_objects_version: "v3" }, /list_objects_version/],
    [{ part_size: 1024 }, /part_size/],
    [{ signature_version2: true }, /signature_version2/],
    [{ sse_config: { type: "SSE-X" } }, /sse_config.type/],
    [{ sse_config: { type: "SSE-KMS", kms_key_id: "" } }, /kms_key_id/],
    [{ sse_config: { type: "SSE-C", encryption_key: "" } }, /encryption_key/],
  ];
  for (const [patch, want] of cases) {
    assert.throws(() => s3OptionsFromConfig({ ...base, ...patch }), (e) => {
      assert.ok(e instanceof S3ConfigError);
      assert.match(e.message, want);
      return true;
    });
  }
  const aws = s3OptionsFromConfig({ ...base, endpoint: "s3.eu-west-1.amazonaws.com" });
  assert.equal(aws.forcePathStyle, false, "auto uses virtual-host addressing on AWS");
  assert.equal(s3OptionsFromConfig(base).forcePathStyle, true, "auto uses path style elsewhere");
  assert.equal(
    s3OptionsFromConfig({ ...base, bucket_lookup_type: "virtual-hosted" }).forcePathStyle,
    false,
  );
  assert.equal(s3OptionsFromConfig({ ...base, insecure: false }).endpoint, "https://127.0.0.1:1");
});
