import assert from "node:assert/strict";
import { expandEnv, loadBucketConfig, ObjstoreConfigError, parseBucketConfig } from "./config.ts";

const noEnv = () => undefined;

Deno.test("every example config parses", async () => {
  const dir = new URL("../../examples/", import.meta.url);
  const types: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (!entry.name.startsWith("objstore-")) continue;
    const text = await Deno.readTextFile(new URL(entry.name, dir));
    const env = (n: string) => `value-of-${n}`;
    types.push(parseBucketConfig(text, entry.name, env).type);
  }
  assert.deepEqual(types.sort(), ["AZURE", "FILESYSTEM", "GCS", "S3", "S3"]);
});

Deno.test("defaults are filled in and durations become milliseconds", () => {
  const cfg = parseBucketConfig("type: s3\nconfig:\n  bucket: b\n", "inline", noEnv);
  assert.equal(cfg.type, "S3");
  assert.equal(cfg.prefix, "");
  assert.equal(cfg.config.part_size, 67108864);
  assert.equal(cfg.config.bucket_lookup_type, "auto");
  assert.equal(cfg.config.send_content_md5, true);
  const http = cfg.config.http_config as Record<string, unknown>;
  assert.equal(http.idle_conn_timeout, 90_000);
  assert.equal(http.response_header_timeout, 120_000);
  assert.equal(http.max_idle_conns, 100);
});

Deno.test("ALIYUNOSS is accepted as OSS; prefix slashes are trimmed", () => {
  const cfg = parseBucketConfig(
    "type: ALIYUNOSS\nconfig: {endpoint: e, bucket: b, access_key_id: i, access_key_secret: s}\n" +
      "prefix: /a/b/\n",
    "inline",
    noEnv,
  );
  assert.equal(cfg.type, "OSS");
  assert.equal(cfg.prefix, "a/b");
});

Deno.test("$(ENV) is expanded before parsing; missing variables become empty", () => {
  assert.equal(expandEnv("a: $(X) b: $(MISSING)", (n) => n === "X" ? "1" : undefined), "a: 1 b: ");
  const cfg = parseBucketConfig(
    "type: FILESYSTEM\nconfig:\n  directory: $(DIR)/x\n",
    "inline",
    (n) => n === "DIR" ? "/tmp" : undefined,
  );
  assert.equal(cfg.config.directory, "/tmp/x");
});

function assertConfigError(yaml: string, pattern: RegExp) {
  assert.throws(() => parseBucketConfig(yaml, "test.yaml", noEnv), (e: Error) => {
    assert.ok(e instanceof ObjstoreConfigError, `${e}`);
    assert.match(e.message, /^test\.yaml: /);
    assert.match(e.message, pattern);
    return true;
  });
}

Deno.test("bad configs give errors naming the problem", () => {
  assertConfigError("type: NOPE\nconfig: {}\n", /type NOPE is not supported/);
  assertConfigError("config: {directory: x}\n", /missing "type"/);
  assertConfigError(
    "type: FILESYSTEM\nconfig: {directory: x, dir: y}\n",
    /unknown field "config\.dir"/,
  );
  assertConfigError(
    "type: FILESYSTEM\nconfig: {directory: x}\nbucket: y\n",
    /unknown field "bucket"/,
  );
  assertConfigError(
    "type: S3\nconfig: {bucket: b, insecure: maybe}\n",
    /config\.insecure.*true or false/,
  );
  assertConfigError("type: S3\nconfig: {bucket: b, part_size: -1}\n", /config\.part_size/);
  assertConfigError(
    "type: S3\nconfig:\n  bucket: b\n  http_config: {idle_conn_timeout: soon}\n",
    /config\.http_config\.idle_conn_timeout.*duration/,
  );
  assertConfigError(
    "type: S3\nconfig:\n  bucket: b\n  http_config: {tls_config: {ca: x}}\n",
    /unknown field "config\.http_config\.tls_config\.ca"/,
  );
  assertConfigError("type: FILESYSTEM\nconfig: {}\n", /missing directory/);
  assertConfigError("type: S3\nconfig: {endpoint: x}\n", /missing bucket/);
  assertConfigError("type: [\n", /invalid YAML/);
  assertConfigError("- a\n- b\n", /must be a YAML mapping/);
  assertConfigError("", /empty config/);
  assertConfigError("type: FILESYSTEM\ntype: S3\n", /invalid YAML/);
});

Deno.test("loadBucketConfig: file wins over inline, missing file is named, fallback used", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/bucket.yaml`;
    await Deno.writeTextFile(file, "type: FILESYSTEM\nconfig: {directory: from-file}\n");
    const cfg = await loadBucketConfig(file, "type: FILESYSTEM\nconfig: {directory: inline}", "x");
    assert.equal(cfg.config.directory, "from-file");
    await assert.rejects(
      loadBucketConfig(`${dir}/nope.yaml`, undefined, "objstore.config"),
      /--objstore\.config-file=.*nope\.yaml: cannot read file/,
    );
    await assert.rejects(loadBucketConfig(undefined, undefined, "objstore.config"), /no bucket/);
    const fallback = { type: "FILESYSTEM" as const, config: { directory: "d" }, prefix: "" };
    assert.equal(await loadBucketConfig(undefined, undefined, "x", fallback), fallback);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("AZURE defaults follow upstream: public endpoint, container created", () => {
  const cfg = parseBucketConfig(
    "type: AZURE\nconfig: {storage_account: a, storage_account_key: k, container: c}\n",
    "inline",
    noEnv,
  );
  assert.equal(cfg.config.endpoint, "blob.core.windows.net");
  assert.equal(cfg.config.storage_create_container, true);
});
