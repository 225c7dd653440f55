import assert from "node:assert/strict";
import { BucketError, listAll } from "./bucket.ts";
import { parseBucketConfig } from "./config.ts";
import { patternBytes, runBucketConformance } from "./conformance.ts";
import { startFaultProxy } from "./testing/fault_proxy.ts";
import { type AzureAuth, AzureBucket, type AzureOptions, azureOptionsFromConfig } from "./azure.ts";
import {
  ClientSecretCredential,
  DefaultAzureCredential,
  ManagedIdentityCredential,
} from "./azure_credential.ts";
import { createBucket } from "./mod.ts";
import { startAadStandIn } from "./testing/aad_standin.ts";
import {
  AZURITE_ACCOUNT,
  AZURITE_KEY,
  hasOpenssl,
  selfSignedCertificate,
  startAzurite,
} from "./testing/servers.ts";

function azuriteYaml(port: number, container: string, extra = ""): string {
  const cs =
    `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_KEY};` +
    `BlobEndpoint=http://127.0.0.1:${port}/${AZURITE_ACCOUNT};`;
  return `type: AZURE
config:
  storage_connection_string: "${cs}"
  container: ${container}
${extra}`;
}

Deno.test("AZURE passes the conformance suite against azurite", async (t) => {
  const server = await startAzurite();
  try {
    const cfg = parseBucketConfig(azuriteYaml(server.port, "conformance"), "test");
    await runBucketConformance(t, () => createBucket(cfg));
  } finally {
    await server.stop();
  }
});

Deno.test("AZURE staged upload that fails leaves no blob; prefix is applied", async () => {
  const server = await startAzurite();
  try {
    const cfg = parseBucketConfig(azuriteYaml(server.port, "second", "prefix: p/q\n"), "test");
    const bucket = await createBucket(cfg);
    await bucket.upload("day/meta", new TextEncoder().encode("old"));
    const failing = async function* () {
      yield new Uint8Array(9 * 1024 * 1024);
      yield new Uint8Array(9 * 1024 * 1024);
      throw new Error("body broke");
    };
    await assert.rejects(bucket.upload("day/meta", failing()), /body broke/);
    assert.equal(new TextDecoder().decode(await bucket.get("day/meta")), "old");
    const raw = await AzureBucket.create(azureOptionsFromConfig(cfg.config));
    assert.deepEqual(await listAll(raw, "", { recursive: true }), ["p/q/day/meta"]);
    await bucket.close();
  } finally {
    await server.stop();
  }
});

Deno.test("AZURE without storage_create_container reports the missing container", async () => {
  const server = await startAzurite();
  try {
    const cfg = parseBucketConfig(
      azuriteYaml(server.port, "absent", "  storage_create_container: false\n"),
      "test",
    );
    const bucket = await createBucket(cfg);
    const err = await bucket.get("k").then(() => undefined, (e) => e);
    assert.ok(err instanceof BucketError && err.name === "BucketError", `${err}`);
    assert.match(err.message, /ContainerNotFound/);
  } finally {
    await server.stop();
  }
});

Deno.test("AZURE options follow upstream: URL, retries, auth choice", () => {
  const base = parseBucketConfig(
    "type: AZURE\nconfig: {storage_account: acct, storage_account_key: a2V5, container: c, " +
      "max_retries: 3, pipeline_config: {try_timeout: 5s}}\n",
    "test",
  ).config;
  const o = azureOptionsFromConfig(base);
  assert.deepEqual(o.auth, {
    kind: "shared-key",
    url: "https://acct.blob.core.windows.net",
    account: "acct",
    key: "a2V5",
  });
  assert.equal(o.retry.maxAttempts, 3);
  assert.equal(o.retry.attemptTimeoutMs, 5000);
  assert.equal(o.createContainer, true);
  const sovereign = azureOptionsFromConfig({ ...base, endpoint: "blob.core.chinacloudapi.cn" });
  assert.equal((sovereign.auth as { url: string }).url, "https://acct.blob.core.chinacloudapi.cn");
  // Upstream's choice: a complete client secret, else the user-assigned identity, else the chain.
  const credential = (fields: Record<string, string>) => {
    const o = azureOptionsFromConfig({ ...base, storage_account_key: "", ...fields });
    assert.equal(o.auth.kind, "token");
    return (o.auth as { credential: unknown }).credential;
  };
  const sp = { az_tenant_id: "t", client_id: "c", client_secret: "s" };
  assert.ok(credential(sp) instanceof ClientSecretCredential);
  assert.ok(credential({ ...sp, user_assigned_id: "u" }) instanceof ClientSecretCredential);
  assert.ok(credential({ user_assigned_id: "u" }) instanceof ManagedIdentityCredential);
  assert.ok(credential({ client_id: "c", client_secret: "s" }) instanceof DefaultAzureCredential);
  assert.ok(credential({}) instanceof DefaultAzureCredential);
});

Deno.test("AZURE bucket recovers from 503s and a stalled request", async () => {
  const server = await startAzurite();
  const proxy = startFaultProxy(server.url, {
    unavailable: (n) => n % 3 === 0,
    stallBeforeHeaders: (n) => n === 7,
  });
  try {
    const cfg = parseBucketConfig(
      azuriteYaml(proxy.port, "faults", "  max_retries: 8\n  pipeline_config: {try_timeout: 3s}\n"),
      "test",
    );
    const bucket = await createBucket(cfg);
    const data = patternBytes(9 * 1024 * 1024, 8);
    await bucket.upload("a/large", data);
    for (let i = 0; i < 3; i++) await bucket.upload(`a/s${i}`, data.subarray(0, 1000));
    assert.deepEqual(await listAll(bucket, "a/"), ["a/large", "a/s0", "a/s1", "a/s2"]);
    assert.deepEqual(
      await bucket.getRange("a/large", 8_000_000, 10),
      data.subarray(8_000_000, 8_000_010),
    );
    assert.deepEqual(await bucket.get("a/s1"), data.subarray(0, 1000));
    await bucket.delete("a/s2");
    assert.equal(await bucket.exists("a/s2"), false);
    assert.ok(
      proxy.counts.unavailable >= 4 && proxy.counts.stalled === 1,
      JSON.stringify(proxy.counts),
    );
  } finally {
    await proxy.stop();
    await server.stop();
  }
});

Deno.test("AZURE with a wrong client secret reports Azure AD's refusal, keeping the secret out of errors", async () => {
  const aad = startAadStandIn({ secrets: { "00000000-0000-0000-0000-000000000002": "right" } });
  // The credential reads the authority from the environment; this test file runs in its own
  // process, so the change stays here.
  Deno.env.set("AZURE_AUTHORITY_HOST", aad.url);
  try {
    const secret = "client-secret-7373";
    const cfg = parseBucketConfig(
      `type: AZURE
config:
  storage_account: acct
  container: thanos
  az_tenant_id: 00000000-0000-0000-0000-000000000001
  client_id: 00000000-0000-0000-0000-000000000002
  client_secret: ${secret}
  max_retries: 2
`,
      "test",
    );
    const err = await createBucket(cfg).then(() => undefined, (e) => e);
    assert.ok(err instanceof BucketError, `${err}`);
    assert.match(
      err.message,
      /create_container.*ClientSecretCredential: POST http:\/\/127\.0\.0\.1:\d+\/00000000-0000-0000-0000-000000000001\/oauth2\/v2\.0\/token: HTTP 401: AADSTS7000215/,
    );
    // A refusal is not retried.
    assert.equal(aad.requests.length, 1);
    const text = `${err.message} ${err.cause} ${JSON.stringify(err.cause)}`;
    assert.ok(!text.includes(secret), text);
  } finally {
    Deno.env.delete("AZURE_AUTHORITY_HOST");
    await aad.stop();
  }
});

Deno.test({
  name:
    "AZURE with an Azure AD token uploads, lists and reads on azurite over https (--oauth basic)",
  ignore: !hasOpenssl(),
  fn: async () => {
    const tenant = "00000000-0000-0000-0000-00000000000a";
    const client = "00000000-0000-0000-0000-00000000000b";
    const secret = "oauth-secret-4242";
    const tls = await selfSignedCertificate();
    const server = await startAzurite({ oauth: tls });
    const aad = startAadStandIn({ secrets: { [client]: secret } });
    // Mints tokens for another resource, which Azure Storage (and azurite) refuse.
    const elsewhere = startAadStandIn({
      secrets: { [client]: secret },
      audience: "https://vault.azure.net",
    });
    try {
      // The bucket's options from YAML; azurite serves the account under a path rather than as
      // a host name, so only the URL is replaced.
      const options = (authority: string, extra = "") => {
        Deno.env.set("AZURE_AUTHORITY_HOST", authority);
        const cfg = parseBucketConfig(
          `type: AZURE
config:
  storage_account: ${AZURITE_ACCOUNT}
  container: oauth
  az_tenant_id: ${tenant}
  client_id: ${client}
  client_secret: ${secret}
  max_retries: 1
${extra}`,
          "test",
        );
        const o = azureOptionsFromConfig(cfg.config);
        return {
          ...o,
          auth: { ...o.auth, url: `${server.url}/${AZURITE_ACCOUNT}` } as AzureAuth,
        } as AzureOptions;
      };
      const trusted = `  http_config:\n    tls_config:\n      ca_file: ${tls.certFile}\n`;

      const bucket = await AzureBucket.create(options(aad.url, trusted));
      const enc = new TextEncoder();
      await bucket.upload("dir/a", enc.encode("alpha"));
      await bucket.upload("dir/b", patternBytes(9 * 1024 * 1024, 3));
      assert.deepEqual(await listAll(bucket, "dir/"), ["dir/a", "dir/b"]);
      assert.equal(new TextDecoder().decode(await bucket.get("dir/a")), "alpha");
      assert.deepEqual(await bucket.get("dir/b"), patternBytes(9 * 1024 * 1024, 3));
      // One token served the container's creation and every request since.
      assert.equal(aad.requests.length, 1);
      assert.equal(aad.requests[0].form.client_secret, secret);

      // azurite checks the token: one for another audience is refused.
      const refused = await AzureBucket.create(options(elsewhere.url, trusted))
        .then(() => undefined, (e) => e);
      assert.ok(refused instanceof BucketError, `${refused}`);
      assert.match(refused.message, /create_container.*AuthenticationFailed.*\(HTTP 403\)/s);
      assert.equal(elsewhere.requests.length, 1);

      // Without http_config's CA the self-signed certificate is not trusted.
      const untrusted = await AzureBucket.create(options(aad.url))
        .then(() => undefined, (e) => e);
      assert.ok(untrusted instanceof BucketError, `${untrusted}`);
      assert.match(untrusted.message, /self-signed certificate/);
    } finally {
      Deno.env.delete("AZURE_AUTHORITY_HOST");
      await elsewhere.stop();
      await aad.stop();
      await server.stop();
      await tls.remove();
    }
  },
});
