/**
 * Benchmark script (`deno run -A bench/grpc_series.ts`): Store.Series throughput through our HTTP/2 + gRPC stack to a grpc-js client: 20k series of
 * about 230 bytes (6 labels and one 120-byte raw chunk), unbatched and in batches of 64.
 * grpc-libs.md measured 50k/152k series/s for a grpc-js server and 70k/172k for connect-node.
 */
import { create, toBinary } from "@bufbuild/protobuf";
import process from "node:process";
import { labelsFromRecord } from "../model/labels.ts";
import { SeriesRequestSchema, SeriesResponseSchema } from "../proto/gen/store/storepb/rpc_pb.ts";
import { serveNodeHttp2 } from "../server/grpc/http2/node_adapter.ts";
import { serveHttp2 } from "../server/grpc/http2/server.ts";
import { GrpcServer } from "../server/grpc/server.ts";
import { TestClient } from "../server/grpc/testing.ts";
import type { ChunkSeries, StoreSource } from "../server/grpc/thanos/source.ts";
import { registerStoreService } from "../server/grpc/thanos/store.ts";

const N = 20_000;
const MATCHERS = [{ name: "__name__", value: "http_requests_total" }];
const chunkData = new Uint8Array(120).map((_, i) => (i * 37) & 0xff);
const series: ChunkSeries[] = Array.from({ length: N }, (_, i) => ({
  labels: labelsFromRecord({
    __name__: "http_requests_total",
    instance: `10.0.${i >> 8}.${i & 0xff}:9090`,
    job: "api-server",
    method: "GET",
    pod: `api-${String(i).padStart(6, "0")}`,
    status: "200",
  }),
  chunks: [{ encoding: 1, minTime: 0, maxTime: 7_200_000, data: chunkData }],
}));

const source: StoreSource = {
  selectChunks: () => Promise.resolve({ series, warnings: [] }),
  labelNames: () => Promise.resolve({ values: [], warnings: [] }),
  labelValues: () => Promise.resolve({ values: [], warnings: [] }),
};

const grpc = new GrpcServer();
registerStoreService(grpc, { source: () => source, externalLabels: [] });
// GRPC_BENCH_TRANSPORT=node runs the same server on node:http2 for comparison (one stream at
// a time, far from the pattern that aborts it).
const serve = Deno.env.get("GRPC_BENCH_TRANSPORT") === "node" ? serveNodeHttp2 : serveHttp2;
console.log(`transport: ${serve === serveHttp2 ? "server/grpc/http2" : "node:http2"}`);
const server = await serve({ port: 0, hostname: "127.0.0.1" }, grpc.handle);
const client = new TestClient(`127.0.0.1:${server.addr.port}`, {
  "grpc.max_receive_message_length": -1,
});

async function fetchAll(batch: bigint) {
  const msgs = await client.stream(
    "/thanos.Store/Series",
    SeriesRequestSchema,
    SeriesResponseSchema,
    { minTime: 0n, maxTime: 10_000_000n, responseBatchSize: batch, matchers: MATCHERS },
  );
  if (msgs.length === 0) throw new Error("no series");
}

function report(who: string, name: string, ms: number, bytes?: number) {
  const mb = bytes === undefined ? "" : `, ${(bytes / 1e6 / (ms / 1000)).toFixed(1)} MB/s`;
  console.log(
    `${who}, ${N} series, ${name}: median ${ms.toFixed(0)} ms, ` +
      `${Math.round(N / (ms / 1000))} series/s${mb}`,
  );
}

const CASES = [["unbatched", 0n], ["batch 64", 64n]] as const;

// 1. In-process grpc-js client (client and server share one thread); skipped with
// GRPC_BENCH_NODE_ONLY=1, e.g. to profile the server alone.
const inProcess = Deno.env.get("GRPC_BENCH_NODE_ONLY") !== "1";
for (const [name, batch] of inProcess ? CASES : []) {
  await fetchAll(batch); // warm-up
  const runs: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    await fetchAll(batch);
    runs.push(performance.now() - t0);
  }
  runs.sort((a, b) => a - b);
  report("deno grpc-js client", name, runs[2]);
}
client.close();

// 2. Node grpc-js client in its own process, not decoding messages.
const hexReqs = CASES.map(([, batch]) =>
  Array.from(
    toBinary(
      SeriesRequestSchema,
      create(SeriesRequestSchema, {
        minTime: 0n,
        maxTime: 10_000_000n,
        responseBatchSize: batch,
        matchers: MATCHERS,
      }),
    ),
    (b) => b.toString(16).padStart(2, "0"),
  ).join("")
);
// Server CPU time (this process) while the Node client runs one case: 1 warm-up + 5 calls.
for (const [i, [name]] of CASES.entries()) {
  const cpu0 = process.cpuUsage();
  const out = await new Deno.Command("node", {
    args: [
      new URL("./grpc_series_client.mjs", import.meta.url).pathname,
      String(server.addr.port),
      hexReqs[i],
    ],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  const cpu = process.cpuUsage(cpu0);
  if (!out.success) {
    console.log("node client failed (is node installed?)");
    break;
  }
  const [res] = JSON.parse(new TextDecoder().decode(out.stdout));
  report("node grpc-js client", name, res.medianMs, res.bytes);
  const perSeries = (cpu.user + cpu.system) / (6 * N);
  console.log(`  server CPU: ${perSeries.toFixed(2)} µs per series`);
}
await server.shutdown(1000);
