import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import * as grpcjs from "@grpc/grpc-js";
import {
  HealthCheckRequestSchema,
  HealthCheckResponse_ServingStatus as ServingStatus,
  HealthCheckResponseSchema,
} from "../../proto/gen/grpc/health/v1/health_pb.ts";
import { HealthService } from "./health.ts";
import { serveHttp2, type TlsConfig } from "./http2/server.ts";
import { GrpcServer } from "./server.ts";
import { Code } from "./status.ts";
import { TestClient } from "./testing.ts";

const CHECK = "/grpc.health.v1.Health/Check";
/** Deno's node:tls refuses an IP address as SNI server name, so name the certificate's DNS SAN. */
const NAME = {
  "grpc.ssl_target_name_override": "localhost",
  "grpc.default_authority": "localhost",
};

function hasOpenssl(): boolean {
  try {
    return new Deno.Command("openssl", { args: ["version"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
}

interface Pki {
  ca: string;
  server: { cert: string; key: string };
  client: { cert: string; key: string };
  rogue: { cert: string; key: string };
}

/** Makes a CA, a server certificate for 127.0.0.1, a client certificate and a rogue one. */
async function makePki(): Promise<Pki> {
  const dir = await Deno.makeTempDir();
  const run = async (...args: string[]) => {
    const out = await new Deno.Command("openssl", {
      args,
      cwd: dir,
      stdout: "null",
      stderr: "piped",
    })
      .output();
    if (!out.success) {
      throw new Error(`openssl ${args[0]}: ${new TextDecoder().decode(out.stderr)}`);
    }
  };
  const selfSigned = (name: string) =>
    run(
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      `${name}.key`,
      "-out",
      `${name}.crt`,
      "-days",
      "1",
      "-subj",
      `/CN=${name}`,
    );
  const signed = async (name: string, ca: string, ext: string) => {
    await run(
      "req",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      `${name}.key`,
      "-out",
      `${name}.csr`,
      "-subj",
      `/CN=${name}`,
    );
    await Deno.writeTextFile(`${dir}/${name}.ext`, ext);
    await run(
      "x509",
      "-req",
      "-in",
      `${name}.csr`,
      "-CA",
      `${ca}.crt`,
      "-CAkey",
      `${ca}.key`,
      "-CAcreateserial",
      "-out",
      `${name}.crt`,
      "-days",
      "1",
      "-extfile",
      `${name}.ext`,
    );
  };
  try {
    await selfSigned("ca");
    await selfSigned("rogueca");
    await signed("server", "ca", "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
    await signed("client", "ca", "extendedKeyUsage=clientAuth\n");
    await signed("rogue", "rogueca", "extendedKeyUsage=clientAuth\n");
    const read = (f: string) => Deno.readTextFile(`${dir}/${f}`);
    const pair = async (n: string) => ({
      cert: await read(`${n}.crt`),
      key: await read(`${n}.key`),
    });
    return {
      ca: await read("ca.crt"),
      server: await pair("server"),
      client: await pair("client"),
      rogue: await pair("rogue"),
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function startTls(tls: TlsConfig) {
  const grpc = new GrpcServer();
  new HealthService().register(grpc);
  return await serveHttp2({ port: 0, hostname: "127.0.0.1", tls }, grpc.handle);
}

function check(client: TestClient) {
  return client.unary(CHECK, HealthCheckRequestSchema, HealthCheckResponseSchema, {}, {
    timeoutMs: 5000,
  });
}

const pki = hasOpenssl() ? await makePki() : null;

Deno.test({
  name: "grpc TLS: grpc-js over TLS with ALPN h2 (Deno.listenTls)",
  ignore: pki === null,
  async fn() {
    const server = await startTls(pki!.server);
    const creds = grpcjs.credentials.createSsl(Buffer.from(pki!.ca));
    const client = new TestClient(`127.0.0.1:${server.addr.port}`, NAME, creds);
    try {
      assert.equal((await check(client)).status, ServingStatus.SERVING);
      const plain = new TestClient(`127.0.0.1:${server.addr.port}`);
      try {
        const code = await check(plain).then(() => -1, (e) => e.code);
        assert.equal(code, Code.Unavailable, "a cleartext client cannot talk to the TLS port");
      } finally {
        plain.close();
      }
    } finally {
      client.close();
      await server.shutdown(1000);
    }
  },
});

Deno.test({
  name: "grpc mTLS: only clients with a certificate from the configured CA are served",
  ignore: pki === null,
  async fn() {
    const server = await startTls({ ...pki!.server, clientCa: pki!.ca });
    const target = `127.0.0.1:${server.addr.port}`;
    const ca = Buffer.from(pki!.ca);
    const good = new TestClient(
      target,
      NAME,
      grpcjs.credentials.createSsl(ca, Buffer.from(pki!.client.key), Buffer.from(pki!.client.cert)),
    );
    const none = new TestClient(target, NAME, grpcjs.credentials.createSsl(ca));
    const rogue = new TestClient(
      target,
      NAME,
      grpcjs.credentials.createSsl(ca, Buffer.from(pki!.rogue.key), Buffer.from(pki!.rogue.cert)),
    );
    try {
      assert.equal((await check(good)).status, ServingStatus.SERVING);
      assert.equal(await check(none).then(() => -1, (e) => e.code), Code.Unavailable);
      assert.equal(await check(rogue).then(() => -1, (e) => e.code), Code.Unavailable);
      // The verified client still works after the rejected ones.
      assert.equal((await check(good)).status, ServingStatus.SERVING);
    } finally {
      good.close();
      none.close();
      rogue.close();
      await server.shutdown(1000);
    }
  },
});
