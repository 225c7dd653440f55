/**
 * The README's MinIO commands with `examples/objstore-minio.yaml`, unchanged, as the Parquet bucket:
 * `convert --convert.once` on the demo's blocks and then `serve`, as printed, against a local S3
 * server (npm `s3rver`, standing in for MinIO) with the README's environment (endpoint and keys
 * pointed at s3rver). Also checks that the port suggested for MinIO is none of the gateway's.
 */
import assert from "node:assert/strict";
import { CONVERT_FLAGS } from "../cli/convert_config.ts";
import { SERVE_FLAGS } from "../cli/serve_config.ts";
import { writeDemoBlocks } from "../examples/demo.ts";
import { listAll } from "../storage/objstore/bucket.ts";
import { parseBucketConfig } from "../storage/objstore/config.ts";
import { createBucket } from "../storage/objstore/mod.ts";
import { startS3rver } from "../storage/objstore/testing/servers.ts";
import { type GatewayProcess, ROOT, runGateway, startGateway } from "./gateway_process.ts";
import { gatewayLine, readReadme, shellBlocks, shellWords } from "./readme_examples.ts";

const EXAMPLE = `${ROOT}/examples/objstore-minio.yaml`;
const DAY = 86_400_000;

/** The README's MinIO block: the `minio server` line, the `export` line, the gateway lines. */
async function minioBlock(): Promise<string[]> {
  const block = shellBlocks(await readReadme(), "## Setups").find((b) =>
    b.some((l) => l.startsWith("minio server "))
  );
  assert.ok(block, "README's Setups has a minio server block");
  return block;
}

/** The variables of `export A=1 B=2`. */
function exported(line: string): Record<string, string> {
  const [command, ...assignments] = shellWords(line);
  assert.equal(command, "export");
  return Object.fromEntries(assignments.map((a) => a.split("=", 2) as [string, string]));
}

Deno.test("MinIO is put on a port the gateway does not use, the same in README and example", async () => {
  const gatewayPorts = [...SERVE_FLAGS, ...CONVERT_FLAGS]
    .filter((f) => /^http\.\w+\.port$/.test(f.name))
    .map((f) => f.default);
  assert.deepEqual([...new Set(gatewayPorts)].sort(), ["6060", "9000", "9001"]);
  const block = await minioBlock();
  for (const text of [await Deno.readTextFile(EXAMPLE), block.join("\n")]) {
    const endpointPort = /S3_ENDPOINT=[\w.-]+:(\d+)/.exec(text)?.[1];
    const minioPort = /minio server --address :(\d+)/.exec(text)?.[1];
    const consolePort = /--console-address :(\d+)/.exec(text)?.[1];
    assert.ok(endpointPort && minioPort && consolePort, text);
    assert.equal(endpointPort, minioPort);
    for (const p of [minioPort, consolePort]) {
      assert.ok(!gatewayPorts.includes(p), `${p} is a gateway default port`);
      assert.notEqual(p, "9100", "node_exporter's port");
    }
  }
});

Deno.test({
  name: "README's MinIO commands convert and serve with examples/objstore-minio.yaml on S3",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const block = await minioBlock();
    const env = exported(block.find((l) => l.startsWith("export "))!);
    const gateway = block.map(gatewayLine).filter((l) => l !== undefined);
    assert.deepEqual(gateway.map((l) => l.args[0]), ["convert", "serve"]);
    for (const l of gateway) assert.ok(l.line.includes("examples/objstore-minio.yaml"), l.line);

    const text = await Deno.readTextFile(EXAMPLE);
    const bucketName = parseBucketConfig(text, "example", (n) => env[n]).config.bucket as string;
    const s3 = await startS3rver([bucketName]);
    // The README's variables, pointed at s3rver (which signs with its own fixed key).
    assert.deepEqual(Object.keys(env).sort(), [
      "AWS_ACCESS_KEY_ID",
      "AWS_SECRET_ACCESS_KEY",
      "S3_ENDPOINT",
    ]);
    Object.assign(env, {
      S3_ENDPOINT: `127.0.0.1:${s3.port}`,
      AWS_ACCESS_KEY_ID: "S3RVER",
      AWS_SECRET_ACCESS_KEY: "S3RVER",
    });
    const cwd = await Deno.makeTempDir({ prefix: "minio-example-" });
    let serve: GatewayProcess | undefined;
    try {
      await Deno.mkdir(`${cwd}/data/tsdb`, { recursive: true });
      const now = Date.now();
      await writeDemoBlocks(`${cwd}/data/tsdb`, now);
      const [convert, serveLine] = gateway;
      const opts = { permissions: convert.permissions, env, cwd };
      const converted = await runGateway([...convert.args, "--http.internal.port=0"], opts);
      assert.equal(converted.code, 0, converted.stderr);

      const bucket = await createBucket(parseBucketConfig(text, "example", (n) => env[n]));
      try {
        const keys = await listAll(bucket, "", { recursive: true });
        assert.ok(keys.some((k) => k.endsWith("/meta.pb")), keys.join("\n"));
      } finally {
        await bucket.close();
      }

      serve = await startGateway(serveLine.args, { ...opts, permissions: serveLine.permissions });
      const clusters = await (await fetch(`${serve.url}/api/v1/label/cluster/values`)).json();
      assert.deepEqual(clusters, { status: "success", data: ["eu-1", "us-1"] });
      // Noon of the day before yesterday: in the newest day `convert` converted.
      const at = (Math.floor(now / DAY) * DAY - 1.5 * DAY) / 1000;
      const q = new URLSearchParams({ query: "count by (job) (up)", time: String(at) });
      const counted = await (await fetch(`${serve.url}/api/v1/query?${q}`)).json();
      assert.equal(counted.status, "success");
      assert.deepEqual(
        counted.data.result.map((s: { metric: { job: string } }) => s.metric.job).sort(),
        ["api", "batch", "web"],
      );
      assert.equal(await serve.stop(), 0);
      serve = undefined;
    } finally {
      await serve?.stop();
      await s3.stop();
      await Deno.remove(cwd, { recursive: true });
    }
  },
});
