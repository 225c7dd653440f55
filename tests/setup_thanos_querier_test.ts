/**
 * The Thanos Querier example (`examples/thanos-querier/README.md`): its gateway command lines
 * parse, their slices (relabel files and times, read as `serve` reads them) give every stream
 * and moment to exactly one gateway, and the querier and query-frontend lines point at the
 * gateways' gRPC ports and the querier's HTTP port. Thanos itself cannot be installed here;
 * tests/e2e_slices_test.ts runs real slices.
 */
import assert from "node:assert/strict";
import { parseServeConfig } from "../cli/serve_config.ts";
import { loadGatewaySlice } from "../cli/serve_slice.ts";
import { ROOT } from "./gateway_process.ts";
import { allShellBlocks, shellWords } from "./readme_examples.ts";

const DAY = 86_400_000;
const WEEK = 7 * DAY;

Deno.test("Thanos Querier example: the gateways partition the bucket; the querier lists them", async () => {
  const readme = await Deno.readTextFile(`${ROOT}/examples/thanos-querier/README.md`);
  const lines = allShellBlocks(readme).flat().map(shellWords);
  const serveLines = lines.filter((w) => w[0] === "./parquet-gateway" && w[1] === "serve");
  assert.equal(serveLines.length, 3);
  const gateways = await Promise.all(serveLines.map(async (words) => {
    // Paths are the checkout's, relative to its root.
    const args = words.slice(2).map((a) => a.replace(/^(--[\w.-]+=)(examples\/)/, `$1${ROOT}/$2`));
    const config = parseServeConfig(args);
    return { config, slice: await loadGatewaySlice(config.slice) };
  }));

  // Every stream and every moment (away from the moving -8w boundary, which each gateway reads
  // from its own clock) has exactly one gateway.
  const now = Date.now();
  const streams = [
    { cluster: "eu-1" },
    { cluster: "us-1" },
    ...Array.from({ length: 40 }, (_, i) => ({ cluster: `c-${i}`, replica: "a" })),
  ];
  const owners = new Set<number>();
  for (const ext of streams) {
    for (let t = now - 30 * WEEK + 37 * 60_000; t < now + DAY; t += DAY / 3) {
      if (Math.abs(t - (now - 8 * WEEK)) < 60_000) continue;
      const serving = gateways.flatMap(({ slice }, i) => {
        const { minT, maxT } = slice.range();
        return slice.keepsStream(ext) && minT <= t && t <= maxT ? [i] : [];
      });
      assert.equal(serving.length, 1, `${JSON.stringify(ext)} at ${new Date(t).toISOString()}`);
      owners.add(serving[0]);
    }
  }
  assert.deepEqual([...owners].sort(), [0, 1, 2], "every gateway serves something");

  // Distinct ports and label file directories, for one host.
  const ports = gateways.flatMap((
    { config },
  ) => [config.http.prometheus.port, config.http.thanos.port, config.http.internal.port]);
  assert.equal(new Set(ports).size, ports.length);
  const dirs = gateways.map(({ config }) => config.syncer.labelFilePath);
  assert.equal(new Set(dirs).size, dirs.length);

  const flagValues = (words: string[], name: string) =>
    words.filter((w) => w.startsWith(`--${name}=`)).map((w) => w.slice(name.length + 3));
  const query = lines.find((w) => w[0] === "thanos" && w[1] === "query")!;
  assert.deepEqual(
    flagValues(query, "endpoint").sort(),
    gateways.map(({ config }) => `127.0.0.1:${config.http.thanos.port}`).sort(),
  );
  const frontend = lines.find((w) => w[0] === "thanos" && w[1] === "query-frontend")!;
  const queryHttp = flagValues(query, "http-address")[0].split(":")[1];
  assert.deepEqual(flagValues(frontend, "query-frontend.downstream-url"), [
    `http://127.0.0.1:${queryHttp}`,
  ]);
  assert.ok(Number(flagValues(frontend, "query-frontend.vertical-shards")[0]) > 1);
});
