// Runs against a one-node OpenStack Swift from Debian's packages (.ci/install_test_servers.sh),
// started once for this file: the SWIFT provider with tempauth (SLO and DLO), with Keystone v2
// and v3 through a small token service written here that hands out real tempauth tokens, and
// the S3 provider through Swift's s3api middleware.
import assert from "node:assert/strict";
import { BucketError, listAll } from "./bucket.ts";
import { parseBucketConfig } from "./config.ts";
import { patternBytes, runBucketConformance } from "./conformance.ts";
import { createBucket } from "./mod.ts";
import { SwiftBucket, swiftOptionsFromConfig } from "./swift.ts";
import {
  startSwift,
  SWIFT_USER,
  swiftInstalled,
  type SwiftServer,
} from "./testing/swift_server.ts";

async function tempauth(server: SwiftServer): Promise<{ storageUrl: string; token: string }> {
  const res = await fetch(`${server.url}/auth/v1.0`, {
    headers: {
      "X-Auth-User": `${SWIFT_USER.account}:${SWIFT_USER.user}`,
      "X-Auth-Key": SWIFT_USER.key,
    },
  });
  await res.body?.cancel();
  assert.equal(res.status, 200);
  return { storageUrl: res.headers.get("x-storage-url")!, token: res.headers.get("x-auth-token")! };
}

async function createContainer(server: SwiftServer, name: string): Promise<void> {
  const { storageUrl, token } = await tempauth(server);
  const res = await fetch(`${storageUrl}/${name}`, {
    method: "PUT",
    headers: { "X-Auth-Token": token },
  });
  await res.body?.cancel();
  assert.ok(res.status === 201 || res.status === 202, `PUT container ${name}: ${res.status}`);
}

function tempauthYaml(server: SwiftServer, container: string, extra = ""): string {
  return `type: SWIFT
config:
  auth_url: ${server.url}/auth/v1.0
  username: ${SWIFT_USER.account}:${SWIFT_USER.user}
  password: ${SWIFT_USER.key}
  container_name: ${container}
  large_object_chunk_size: 5242880
  timeout: 30s
${extra}`;
}

/**
 * A Keystone v2/v3 token service: checks the credentials our client sends, and answers with a
 * real tempauth token and Swift's storage URL in the catalog. The first token it issues is a
 * bogus one, so that the client must handle Swift's 401 by authenticating again.
 */
function startKeystone(server: SwiftServer) {
  const requests: unknown[] = [];
  let issued = 0;
  const token = async () => {
    const t = await tempauth(server);
    return { ...t, token: issued++ === 0 ? "AUTH_tk-expired" : t.token };
  };
  const http = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const path = new URL(req.url).pathname;
    const body = await req.json();
    requests.push(body);
    if (path === "/v3/auth/tokens") {
      const user = body?.auth?.identity?.password?.user;
      const project = body?.auth?.scope?.project;
      if (
        user?.name !== "kuser" || user?.password !== "kpass" || user?.domain?.name !== "Default" ||
        project?.name !== "kproject" || project?.domain?.name !== "Default"
      ) return new Response(null, { status: 401 });
      const t = await token();
      return Response.json({
        token: {
          catalog: [
            { type: "identity", endpoints: [{ interface: "public", url: "http://nowhere" }] },
            {
              type: "object-store",
              endpoints: [
                { interface: "internal", region: "RegionOne", url: "http://127.0.0.1:1/" },
                { interface: "public", region: "RegionTwo", url: "http://127.0.0.1:1/" },
                { interface: "public", region: "RegionOne", url: t.storageUrl },
              ],
            },
          ],
        },
      }, { status: 201, headers: { "X-Subject-Token": t.token } });
    }
    if (path === "/v2.0/tokens") {
      const cred = body?.auth?.passwordCredentials;
      if (
        cred?.username !== "kuser" || cred?.password !== "kpass" ||
        body.auth.tenantName !== "kproject"
      ) {
        return new Response(null, { status: 401 });
      }
      const t = await token();
      return Response.json({
        access: {
          token: { id: t.token },
          serviceCatalog: [{
            type: "object-store",
            endpoints: [{ region: "RegionOne", publicURL: t.storageUrl }],
          }],
        },
      });
    }
    return new Response(null, { status: 404 });
  });
  return { url: `http://127.0.0.1:${http.addr.port}`, requests, stop: () => http.shutdown() };
}

Deno.test({
  name: "SWIFT and S3 (s3api) against Debian's OpenStack Swift",
  ignore: !swiftInstalled(),
  async fn(t) {
    const server = await startSwift();
    try {
      for (const c of ["slo", "dlo", "keystone", "s3api", "segs"]) {
        await createContainer(server, c);
      }

      await t.step("SWIFT tempauth v1 with SLO passes the conformance suite", async (t) => {
        const cfg = parseBucketConfig(tempauthYaml(server, "slo"), "test");
        await runBucketConformance(t, () => createBucket(cfg));
      });

      await t.step(
        "SWIFT large objects are SLO manifests, deleted with their segments",
        async () => {
          const cfg = parseBucketConfig(tempauthYaml(server, "slo"), "test");
          const bucket = await createBucket(cfg);
          const data = patternBytes(11 * 1024 * 1024, 2);
          const { storageUrl, token } = await tempauth(server);
          const segments = async () =>
            (await fetch(`${storageUrl}/slo?format=json&prefix=segments/`, {
              headers: { "X-Auth-Token": token },
            }).then((r) => r.json())).length;
          const before = await segments();
          await bucket.upload("big/obj", data);
          const head = await fetch(`${storageUrl}/slo/big/obj`, {
            method: "HEAD",
            headers: { "X-Auth-Token": token },
          });
          assert.equal(head.headers.get("x-static-large-object"), "True");
          assert.equal(await segments(), before + 3, "three 5 MiB segments written");
          assert.deepEqual(
            await bucket.getRange("big/obj", 5_242_870, 20),
            data.subarray(5_242_870, 5_242_890),
          );
          await bucket.delete("big/obj");
          assert.equal(await segments(), before, "segments deleted with the manifest");
          assert.ok(!(await listAll(bucket, "")).includes("segments/"));
        },
      );

      await t.step("SWIFT with DLO and a separate segments container", async () => {
        const cfg = parseBucketConfig(
          tempauthYaml(
            server,
            "dlo",
            "  use_dynamic_large_objects: true\n  large_object_segments_container_name: segs\n",
          ),
          "test",
        );
        const bucket = await createBucket(cfg);
        const data = patternBytes(12 * 1024 * 1024 + 5, 6);
        const chunks = async function* () {
          for (let off = 0; off < data.length; off += 1_000_003) {
            yield data.subarray(off, off + 1_000_003);
          }
        };
        await bucket.upload("d/obj", chunks());
        assert.equal((await bucket.attributes("d/obj")).size, data.length);
        const got = await bucket.get("d/obj");
        assert.ok(got.length === data.length && got.every((b, i) => b === data[i]));
        // Seen through a bucket whose segments live elsewhere, so that segments/ is not hidden.
        const segs = await SwiftBucket.create(
          swiftOptionsFromConfig({
            ...cfg.config,
            container_name: "segs",
            large_object_segments_container_name: "dlo",
          }),
        );
        assert.equal((await listAll(segs, "segments/", { recursive: true })).length, 3);
        await bucket.delete("d/obj");
        assert.equal((await listAll(segs, "segments/", { recursive: true })).length, 0);
        assert.equal(await bucket.exists("d/obj"), false);
      });

      await t.step("SWIFT bad credentials fail at start without showing the password", async () => {
        const secret = "wrong-password-6161";
        const cfg = parseBucketConfig(
          tempauthYaml(server, "slo").replace(`password: ${SWIFT_USER.key}`, `password: ${secret}`),
          "test",
        );
        const err = await createBucket(cfg).then(() => undefined, (e) => e);
        assert.ok(err instanceof BucketError, `${err}`);
        assert.match(err.message, /tempauth v1: HTTP 401/);
        assert.ok(!err.message.includes(secret) && !String(err.cause).includes(secret));
      });

      const keystone = startKeystone(server);
      try {
        for (const version of [3, 2]) {
          await t.step(
            `SWIFT Keystone v${version} auth, re-authenticating after a 401`,
            async () => {
              const cfg = parseBucketConfig(
                `type: SWIFT
config:
  auth_url: ${keystone.url}/${version === 3 ? "v3" : "v2.0"}
  username: kuser
  password: kpass
  user_domain_name: Default
  project_name: kproject
  project_domain_name: Default
  region_name: RegionOne
  container_name: keystone
`,
                "test",
              );
              const before = keystone.requests.length;
              const bucket = await createBucket(cfg);
              await bucket.upload(`v${version}/obj`, new TextEncoder().encode("hi"));
              assert.equal(new TextDecoder().decode(await bucket.get(`v${version}/obj`)), "hi");
              assert.deepEqual(await listAll(bucket, `v${version}/`), [`v${version}/obj`]);
              // The first token of the service is refused by Swift: one extra authentication.
              assert.equal(keystone.requests.length - before, version === 3 ? 2 : 1);
            },
          );
        }
      } finally {
        await keystone.stop();
      }

      await t.step("S3 through Swift's s3api passes the conformance suite", async (t) => {
        const cfg = parseBucketConfig(
          `type: S3
config:
  bucket: s3api
  endpoint: 127.0.0.1:${server.port}
  insecure: true
  region: us-east-1
  access_key: ${SWIFT_USER.account}:${SWIFT_USER.user}
  secret_key: ${SWIFT_USER.key}
  part_size: 5242880
`,
          "test",
        );
        await runBucketConformance(t, () => createBucket(cfg));
      });
    } finally {
      await server.stop();
    }
  },
});
