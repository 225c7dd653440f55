import assert from "node:assert/strict";
import { parse } from "yaml";
import {
  bucketConfigYaml,
  expandEnv,
  loadBucketConfig,
  ObjstoreConfigError,
  parseBucketConfig,
} from "./config.ts";

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

Deno.test("bucketConfigYaml shows the config in effect with credentials redacted", () => {
  const s3 = parseBucketConfig(
    `type: s3
config:
  bucket: b
  access_key: AKIDEXAMPLE
  secret_key: very-secret
  session_token: token-secret
  sse_config: {type: SSE-C, encryption_key: key-secret}
  http_config: {idle_conn_timeout: 45s}
prefix: p/
`,
    "inline",
    noEnv,
  );
  const text = bucketConfigYaml(s3);
  for (const secret of ["very-secret", "token-secret", "key-secret"]) {
    assert.ok(!text.includes(secret), `${secret} leaked:\n${text}`);
  }
  const shown = parse(text);
  assert.equal(shown.type, "S3");
  assert.equal(shown.prefix, "p");
  assert.equal(shown.config.access_key, "AKIDEXAMPLE");
  assert.equal(shown.config.secret_key, "<secret>");
  assert.equal(shown.config.session_token, "<secret>");
  assert.equal(shown.config.sse_config.encryption_key, "<secret>");
  // Durations in Go's notation, defaults included.
  assert.equal(shown.config.http_config.idle_conn_timeout, "45s");
  assert.equal(shown.config.http_config.response_header_timeout, "2m");
  assert.equal(shown.config.part_size, 67108864);
  // What is shown parses back to the same config, but for the redacted values.
  const reparsed = parseBucketConfig(text, "shown", noEnv);
  assert.deepEqual(reparsed, {
    ...s3,
    config: {
      ...s3.config,
      secret_key: "<secret>",
      session_token: "<secret>",
      sse_config: { ...(s3.config.sse_config as object), encryption_key: "<secret>" },
    },
  });
});

Deno.test("bucketConfigYaml leaves unset credentials empty and redacts each provider's", () => {
  const unset = parse(
    bucketConfigYaml(parseBucketConfig("type: S3\nconfig: {bucket: b}", "i", noEnv)),
  );
  assert.equal(unset.config.secret_key, "");
  const cases: [string, string[]][] = [
    [
      "type: AZURE\nconfig: {container: c, storage_account: a, storage_account_key: K1, " +
      "client_secret: K2, storage_connection_string: K3}",
      ["storage_account_key", "client_secret", "storage_connection_string"],
    ],
    ["type: GCS\nconfig: {bucket: b, service_account: K1}", ["service_account"]],
    [
      "type: SWIFT\nconfig: {container_name: c, auth_url: u, password: K1, " +
      "application_credential_secret: K2}",
      ["password", "application_credential_secret"],
    ],
    [
      "type: COS\nconfig: {bucket: b, region: r, app_id: a, secret_id: ID, secret_key: K1}",
      ["secret_key"],
    ],
    [
      "type: OSS\nconfig: {endpoint: e, bucket: b, access_key_id: ID, access_key_secret: K1}",
      ["access_key_secret"],
    ],
  ];
  for (const [yaml, fields] of cases) {
    const text = bucketConfigYaml(parseBucketConfig(yaml, "inline", noEnv));
    assert.doesNotMatch(text, /K\d/, text);
    const shown = parse(text).config;
    for (const field of fields) assert.equal(shown[field], "<secret>", `${yaml}: ${field}`);
    if ("secret_id" in shown) assert.equal(shown.secret_id, "ID");
    if ("access_key_id" in shown) assert.equal(shown.access_key_id, "ID");
  }
});
