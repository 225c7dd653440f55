/**
 * Tests of the Azure AD credentials. No real Azure AD, IMDS or App Service can be reached from
 * here, so a stand-in on 127.0.0.1 (testing/aad_standin.ts) plays them, and the tests assert the
 * exact requests the credentials send (method, path, query, headers, form fields: those Azure
 * documents and its SDKs send), and how tokens are cached, shared and refreshed. No test
 * contacts 169.254.169.254: every IMDS host given is the stand-in or a closed local port.
 */
import assert from "node:assert/strict";
import { isRetryableAzureError } from "./azure.ts";
import {
  AuthenticationError,
  ClientSecretCredential,
  CredentialUnavailableError,
  DefaultAzureCredential,
  ManagedIdentityCredential,
  STORAGE_SCOPE,
  WorkloadIdentityCredential,
} from "./azure_credential.ts";
import { jwtClaims, startAadStandIn } from "./testing/aad_standin.ts";

const TENANT = "11111111-2222-3333-4444-555555555555";
const CLIENT = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";
const SECRET = "s3cr3t~value.that-must-not-leak";
const T0 = 1_800_000_000_000;
const STORAGE = "https://storage.azure.com";

function closedPort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

function envOf(vars: Record<string, string>): (name: string) => string | undefined {
  return (name) => vars[name];
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  const e = await p.then(() => undefined, (e) => e);
  assert.ok(e instanceof Error, `expected a rejection, got ${e}`);
  return e;
}

Deno.test("ClientSecretCredential posts client credentials to the tenant's token endpoint and caches the token until 5 minutes before expiry", async () => {
  const aad = startAadStandIn({ secrets: { [CLIENT]: SECRET } });
  try {
    let t = T0;
    const cred = new ClientSecretCredential({
      tenantId: TENANT,
      clientId: CLIENT,
      clientSecret: SECRET,
      authorityHost: aad.url,
      now: () => t,
    });
    const first = await cred.getToken(STORAGE_SCOPE);
    assert.equal(aad.requests.length, 1);
    const r = aad.requests[0];
    assert.equal(r.method, "POST");
    assert.equal(r.path, `/${TENANT}/oauth2/v2.0/token`);
    assert.deepEqual(r.query, {});
    assert.equal(r.headers["content-type"], "application/x-www-form-urlencoded");
    assert.deepEqual(r.form, {
      grant_type: "client_credentials",
      client_id: CLIENT,
      client_secret: SECRET,
      scope: STORAGE_SCOPE,
    });
    assert.equal(jwtClaims(first.token).aud, STORAGE);
    assert.equal(first.tokenType, "Bearer");
    assert.equal(first.expiresOnTimestamp, T0 + 3_600_000);
    assert.equal(first.refreshAfterTimestamp, T0 + 3_300_000);

    t = T0 + 3_300_000 - 1;
    assert.equal((await cred.getToken([STORAGE_SCOPE])).token, first.token);
    assert.equal(aad.requests.length, 1);
    t = T0 + 3_300_000;
    const second = await cred.getToken(STORAGE_SCOPE);
    assert.equal(aad.requests.length, 2);
    assert.notEqual(second.token, first.token);
    assert.equal(second.expiresOnTimestamp, t + 3_600_000);
  } finally {
    await aad.stop();
  }
});

Deno.test("ClientSecretCredential refreshes a short-lived token halfway and reads AZURE_AUTHORITY_HOST", async () => {
  const aad = startAadStandIn({ secrets: { [CLIENT]: SECRET }, lifetimeSeconds: 120 });
  try {
    let t = T0;
    const cred = new ClientSecretCredential({
      tenantId: TENANT,
      clientId: CLIENT,
      clientSecret: SECRET,
      env: envOf({ AZURE_AUTHORITY_HOST: `${aad.url}/` }),
      now: () => t,
    });
    const first = await cred.getToken(STORAGE_SCOPE);
    assert.equal(aad.requests[0].path, `/${TENANT}/oauth2/v2.0/token`);
    assert.equal(first.refreshAfterTimestamp, T0 + 60_000);
    t = T0 + 59_999;
    await cred.getToken(STORAGE_SCOPE);
    assert.equal(aad.requests.length, 1);
    t = T0 + 60_000;
    assert.notEqual((await cred.getToken(STORAGE_SCOPE)).token, first.token);
    assert.equal(aad.requests.length, 2);
  } finally {
    await aad.stop();
  }
});

Deno.test("concurrent getToken calls share one request", async () => {
  const aad = startAadStandIn({ secrets: { [CLIENT]: SECRET }, delayMs: 100 });
  try {
    const cred = new ClientSecretCredential({
      tenantId: TENANT,
      clientId: CLIENT,
      clientSecret: SECRET,
      authorityHost: aad.url,
    });
    const tokens = await Promise.all(
      Array.from({ length: 5 }, () => cred.getToken(STORAGE_SCOPE)),
    );
    assert.equal(aad.requests.length, 1);
    assert.equal(new Set(tokens.map((x) => x.token)).size, 1);
  } finally {
    await aad.stop();
  }
});

Deno.test("a failed refresh hands out the cached token while it still lives, then fails", async () => {
  const aad = startAadStandIn({ secrets: { [CLIENT]: SECRET } });
  try {
    let t = T0;
    const cred = new ClientSecretCredential({
      tenantId: TENANT,
      clientId: CLIENT,
      clientSecret: SECRET,
      authorityHost: aad.url,
      now: () => t,
    });
    const first = await cred.getToken(STORAGE_SCOPE);
    t = T0 + 3_400_000;
    aad.queued.push(Response.json({ error: "temporarily_unavailable" }, { status: 503 }));
    assert.equal((await cred.getToken(STORAGE_SCOPE)).token, first.token);
    assert.equal(aad.requests.length, 2);
    // Within 30 s of expiry the old token is no longer handed out.
    t = T0 + 3_600_000 - 29_000;
    aad.queued.push(Response.json({ error: "temporarily_unavailable" }, { status: 503 }));
    const err = await rejection(cred.getToken(STORAGE_SCOPE));
    assert.ok(err instanceof AuthenticationError);
    assert.equal(err.statusCode, 503);
    assert.ok(isRetryableAzureError(err));
    const next = await cred.getToken(STORAGE_SCOPE);
    assert.notEqual(next.token, first.token);
    assert.equal(aad.requests.length, 4);
  } finally {
    await aad.stop();
  }
});

Deno.test("errors name the endpoint, the status and error_description, never the secret", async () => {
  const aad = startAadStandIn({ secrets: { [CLIENT]: "the-right-one" } });
  try {
    const cred = () =>
      new ClientSecretCredential({
        tenantId: TENANT,
        clientId: CLIENT,
        clientSecret: SECRET,
        authorityHost: aad.url,
      });
    const refused = await rejection(cred().getToken(STORAGE_SCOPE));
    assert.ok(refused instanceof AuthenticationError);
    assert.equal(
      refused.message.split(". Ensure")[0],
      `ClientSecretCredential: POST ${aad.url}/${TENANT}/oauth2/v2.0/token: HTTP 401: ` +
        "AADSTS7000215: Invalid client secret provided",
    );
    assert.equal(refused.statusCode, 401);
    assert.ok(!isRetryableAzureError(refused));
    // A proxy's page that echoes the request body.
    aad.queued.push(new Response(`<h1>Bad gateway</h1> client_secret=${SECRET}`, { status: 502 }));
    const echoed = await rejection(cred().getToken(STORAGE_SCOPE));
    assert.match(echoed.message, /HTTP 502: <h1>Bad gateway<\/h1> client_secret=\[redacted\]$/);
    assert.ok(isRetryableAzureError(echoed));
    aad.queued.push(Response.json({ token_type: "Bearer" }));
    const empty = await rejection(cred().getToken(STORAGE_SCOPE));
    assert.match(empty.message, /the answer has no access_token with an expiry$/);
    for (const e of [refused, echoed, empty]) {
      assert.ok(!`${e.message} ${e.stack} ${e.cause}`.includes(SECRET), e.message);
    }
  } finally {
    await aad.stop();
  }
});

Deno.test("a request without an answer times out; a closed port is a send error", async () => {
  const aad = startAadStandIn({ secrets: { [CLIENT]: SECRET } });
  try {
    aad.hold();
    const slow = new ClientSecretCredential({
      tenantId: TENANT,
      clientId: CLIENT,
      clientSecret: SECRET,
      authorityHost: aad.url,
      timeoutMs: 200,
    });
    const err = await rejection(slow.getToken(STORAGE_SCOPE)) as AuthenticationError;
    assert.equal(
      err.message,
      `ClientSecretCredential: POST ${aad.url}/${TENANT}/oauth2/v2.0/token: no answer in 200 ms`,
    );
    assert.equal(err.code, "REQUEST_SEND_ERROR");
    assert.ok(isRetryableAzureError(err));
  } finally {
    await aad.stop();
  }
  const closed = new ClientSecretCredential({
    tenantId: TENANT,
    clientId: CLIENT,
    clientSecret: SECRET,
    authorityHost: `http://127.0.0.1:${closedPort()}`,
  });
  const err = await rejection(closed.getToken(STORAGE_SCOPE)) as AuthenticationError;
  assert.equal(err.code, "REQUEST_SEND_ERROR");
  assert.match(err.message, /^ClientSecretCredential: POST http:\/\/127\.0\.0\.1:\d+\/.*: /);
});

Deno.test("a caller's abort ends its wait only; the shared request goes on for the others", async () => {
  const aad = startAadStandIn({ secrets: { [CLIENT]: SECRET } });
  try {
    const cred = new ClientSecretCredential({
      tenantId: TENANT,
      clientId: CLIENT,
      clientSecret: SECRET,
      authorityHost: aad.url,
    });
    aad.hold();
    const controller = new AbortController();
    const impatient = cred.getToken(STORAGE_SCOPE, { abortSignal: controller.signal });
    const patient = cred.getToken(STORAGE_SCOPE);
    controller.abort(new Error("caller gave up"));
    assert.equal((await rejection(impatient)).message, "caller gave up");
    aad.release();
    assert.equal(jwtClaims((await patient).token).aud, STORAGE);
    assert.equal(aad.requests.length, 1);

    // Nobody waits any more when the request fails: that must not be an unhandled rejection.
    const other = new ClientSecretCredential({
      tenantId: TENANT,
      clientId: CLIENT,
      clientSecret: SECRET,
      authorityHost: aad.url,
    });
    aad.hold();
    aad.queued.push(Response.json({ error: "temporarily_unavailable" }, { status: 503 }));
    const gone = new AbortController();
    const abandoned = other.getToken(STORAGE_SCOPE, { abortSignal: gone.signal });
    gone.abort(new Error("gone"));
    await rejection(abandoned);
    aad.release();
    while (aad.requests.length < 2) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(jwtClaims((await other.getToken(STORAGE_SCOPE)).token).aud, STORAGE);
    assert.equal(aad.requests.length, 3);
  } finally {
    await aad.stop();
  }
});

Deno.test("authority hosts must be https (plain http on loopback only) and tenants well-formed", async () => {
  const make = (authorityHost: string, tenantId = TENANT) =>
    new ClientSecretCredential({ tenantId, clientId: CLIENT, clientSecret: SECRET, authorityHost });
  const plain = await rejection(make("http://login.example.com").getToken(STORAGE_SCOPE));
  assert.match(plain.message, /authority host http:\/\/login\.example\.com must use https/);
  const tenant = await rejection(
    make("https://login.example.com", "a/../b").getToken(STORAGE_SCOPE),
  );
  assert.match(tenant.message, /tenant ID "a\/\.\.\/b" is invalid/);
  const scopes = await rejection(make("https://login.example.com").getToken([]));
  assert.match(scopes.message, /one scope expected/);
});

Deno.test("WorkloadIdentityCredential sends the federated token file as client assertion, read again on each refresh", async () => {
  const dir = await Deno.makeTempDir();
  const file = `${dir}/token`;
  const aad = startAadStandIn({ assertions: { [CLIENT]: "federated-1" } });
  try {
    let t = T0;
    const cred = new WorkloadIdentityCredential({
      tenantId: TENANT,
      clientId: CLIENT,
      tokenFilePath: file,
      authorityHost: aad.url,
      now: () => t,
    });
    const missing = await rejection(cred.getToken(STORAGE_SCOPE));
    assert.match(missing.message, /cannot read the federated token file .*\/token/);
    assert.equal(aad.requests.length, 0);
    await Deno.writeTextFile(file, "federated-1\n");
    await cred.getToken(STORAGE_SCOPE);
    assert.equal(aad.requests[0].path, `/${TENANT}/oauth2/v2.0/token`);
    assert.deepEqual(aad.requests[0].form, {
      grant_type: "client_credentials",
      client_id: CLIENT,
      client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
      client_assertion: "federated-1",
      scope: STORAGE_SCOPE,
    });
    // Kubernetes rotated the file; the next refresh sends the new one (which the stand-in
    // refuses, as Azure AD would a token it does not trust, without echoing it).
    await Deno.writeTextFile(file, "federated-2");
    t = T0 + 3_600_000;
    const err = await rejection(cred.getToken(STORAGE_SCOPE));
    assert.equal(aad.requests[1].form.client_assertion, "federated-2");
    assert.match(err.message, /HTTP 401: AADSTS700213/);
    assert.ok(!err.message.includes("federated-2"));
  } finally {
    await aad.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ManagedIdentityCredential asks IMDS with the Metadata header, system- or user-assigned", async () => {
  const aad = startAadStandIn();
  try {
    const env = envOf({ AZURE_POD_IDENTITY_AUTHORITY_HOST: aad.url });
    const system = new ManagedIdentityCredential({ env, now: () => T0 });
    const token = await system.getToken(STORAGE_SCOPE);
    const r = aad.requests[0];
    assert.equal(r.method, "GET");
    assert.equal(r.path, "/metadata/identity/oauth2/token");
    assert.deepEqual(r.query, { "api-version": "2018-02-01", resource: STORAGE });
    assert.equal(r.headers["metadata"], "true");
    assert.equal(token.expiresOnTimestamp, T0 + 3_600_000);
    assert.equal(jwtClaims(token.token).aud, STORAGE);
    await system.getToken(STORAGE_SCOPE);
    assert.equal(aad.requests.length, 1);

    const user = new ManagedIdentityCredential({ env, clientId: CLIENT });
    await user.getToken(STORAGE_SCOPE);
    assert.deepEqual(aad.requests[1].query, {
      "api-version": "2018-02-01",
      resource: STORAGE,
      client_id: CLIENT,
    });
    aad.queued.push(
      Response.json({ error: "invalid_request", error_description: "Identity not found" }, {
        status: 400,
      }),
    );
    const other = new ManagedIdentityCredential({ env, clientId: "no-such-identity" });
    const err = await rejection(other.getToken(STORAGE_SCOPE));
    assert.equal(
      err.message,
      `ManagedIdentityCredential: GET ${aad.url}/metadata/identity/oauth2/token: HTTP 400: ` +
        "Identity not found",
    );
  } finally {
    await aad.stop();
  }
});

Deno.test("ManagedIdentityCredential uses the App Service endpoint with X-IDENTITY-HEADER", async () => {
  const header = "identity-header-secret";
  const aad = startAadStandIn({ identityHeader: header });
  try {
    const env = envOf({ IDENTITY_ENDPOINT: aad.appServiceEndpoint, IDENTITY_HEADER: header });
    const before = Date.now();
    const token = await new ManagedIdentityCredential({ env, clientId: CLIENT })
      .getToken(STORAGE_SCOPE);
    const r = aad.requests[0];
    assert.equal(r.method, "GET");
    assert.equal(r.path, "/msi/token");
    assert.deepEqual(r.query, {
      "api-version": "2019-08-01",
      resource: STORAGE,
      client_id: CLIENT,
    });
    assert.equal(r.headers["x-identity-header"], header);
    assert.equal(r.headers["metadata"], undefined);
    // App Service gives expires_on in whole seconds.
    assert.ok(Math.abs(token.expiresOnTimestamp - (before + 3_600_000)) < 2_000);

    const wrong = envOf({ IDENTITY_ENDPOINT: aad.appServiceEndpoint, IDENTITY_HEADER: "stale" });
    const err = await rejection(
      new ManagedIdentityCredential({ env: wrong }).getToken(STORAGE_SCOPE),
    );
    assert.equal(
      err.message,
      `ManagedIdentityCredential: GET ${aad.appServiceEndpoint}: HTTP 401: ` +
        "Unauthorized: bad X-IDENTITY-HEADER",
    );
  } finally {
    await aad.stop();
  }
});

Deno.test("ManagedIdentityCredential reports the endpoints it does not support without sending", async () => {
  const aad = startAadStandIn();
  try {
    const cases: [Record<string, string>, string][] = [
      [{
        IDENTITY_ENDPOINT: aad.url,
        IDENTITY_HEADER: "h",
        IDENTITY_SERVER_THUMBPRINT: "t",
      }, "Service Fabric"],
      [{ MSI_ENDPOINT: aad.url }, "Cloud Shell / Azure ML"],
      [{ IDENTITY_ENDPOINT: aad.url, IMDS_ENDPOINT: aad.url }, "Azure Arc"],
    ];
    for (const [vars, what] of cases) {
      const cred = new ManagedIdentityCredential({ env: envOf(vars) });
      const err = await rejection(cred.getToken(STORAGE_SCOPE));
      assert.ok(err instanceof CredentialUnavailableError);
      assert.equal(
        err.message,
        `ManagedIdentityCredential: the ${what} managed identity endpoint is not supported`,
      );
    }
    assert.equal(aad.requests.length, 0);
  } finally {
    await aad.stop();
  }
});

Deno.test("DefaultAzureCredential with nothing set up names each credential and why", async () => {
  const port = closedPort();
  const cred = new DefaultAzureCredential({
    env: envOf({ AZURE_POD_IDENTITY_AUTHORITY_HOST: `http://127.0.0.1:${port}` }),
  });
  const started = Date.now();
  const err = await rejection(cred.getToken(STORAGE_SCOPE));
  assert.ok(Date.now() - started < 3_000);
  assert.ok(err instanceof CredentialUnavailableError);
  const [head, ...tried] = err.message.split("; ");
  assert.match(
    head,
    /^DefaultAzureCredential: no credential could be used .*: EnvironmentCredential: AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET not set$/,
  );
  assert.equal(
    tried[0],
    "WorkloadIdentityCredential: AZURE_FEDERATED_TOKEN_FILE, AZURE_CLIENT_ID, AZURE_TENANT_ID " +
      "not set",
  );
  assert.match(
    tried[1],
    new RegExp(
      `^ManagedIdentityCredential: IMDS at http://127\\.0\\.0\\.1:${port}` +
        "/metadata/identity/oauth2/token cannot be reached: ",
    ),
  );
  assert.equal(tried.length, 2);
});

Deno.test("DefaultAzureCredential takes the environment's client secret first and stops at its refusal", async () => {
  const aad = startAadStandIn({ secrets: { [CLIENT]: SECRET } });
  try {
    const vars = {
      AZURE_TENANT_ID: TENANT,
      AZURE_CLIENT_ID: CLIENT,
      AZURE_CLIENT_SECRET: SECRET,
      AZURE_AUTHORITY_HOST: aad.url,
      AZURE_POD_IDENTITY_AUTHORITY_HOST: aad.url,
    };
    const cred = new DefaultAzureCredential({ env: envOf(vars) });
    await cred.getToken(STORAGE_SCOPE);
    await cred.getToken(STORAGE_SCOPE);
    assert.deepEqual(aad.requests.map((r) => `${r.method} ${r.path}`), [
      `POST /${TENANT}/oauth2/v2.0/token`,
    ]);
    assert.equal(aad.requests[0].form.client_secret, SECRET);

    const wrong = new DefaultAzureCredential({
      env: envOf({ ...vars, AZURE_CLIENT_SECRET: "wrong" }),
    });
    const err = await rejection(wrong.getToken(STORAGE_SCOPE));
    assert.ok(err instanceof AuthenticationError);
    assert.equal(err.statusCode, 401);
    assert.match(
      err.message,
      /^DefaultAzureCredential: EnvironmentCredential: ClientSecretCredential: POST .* HTTP 401: AADSTS7000215/,
    );
    // Refused: managed identity is not tried.
    assert.equal(aad.requests.length, 2);
  } finally {
    await aad.stop();
  }
});

Deno.test("DefaultAzureCredential uses workload identity, else managed identity for AZURE_CLIENT_ID after probing IMDS", async () => {
  const dir = await Deno.makeTempDir();
  const aad = startAadStandIn({ assertions: { [CLIENT]: "federated" } });
  try {
    await Deno.writeTextFile(`${dir}/token`, "federated");
    const base = {
      AZURE_CLIENT_ID: CLIENT,
      AZURE_AUTHORITY_HOST: aad.url,
      AZURE_POD_IDENTITY_AUTHORITY_HOST: aad.url,
    };
    const workload = new DefaultAzureCredential({
      env: envOf({ ...base, AZURE_TENANT_ID: TENANT, AZURE_FEDERATED_TOKEN_FILE: `${dir}/token` }),
    });
    await workload.getToken(STORAGE_SCOPE);
    assert.equal(aad.requests.length, 1);
    assert.equal(aad.requests[0].form.client_assertion, "federated");

    aad.requests.length = 0;
    const managed = new DefaultAzureCredential({ env: envOf(base) });
    const token = await managed.getToken(STORAGE_SCOPE);
    await managed.getToken(STORAGE_SCOPE);
    assert.equal(jwtClaims(token.token).appid, CLIENT);
    assert.deepEqual(
      aad.requests.map((r) => [r.path, r.query, r.headers["metadata"]]),
      [
        ["/metadata/identity/oauth2/token", {}, undefined],
        [
          "/metadata/identity/oauth2/token",
          { "api-version": "2018-02-01", resource: STORAGE, client_id: CLIENT },
          "true",
        ],
      ],
    );
  } finally {
    await aad.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
