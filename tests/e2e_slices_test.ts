/**
 * End to end over slices and shards: demo blocks of two streams (`cluster="eu-1"`, `"us-1"`,
 * two days) are converted by the real `convert`, then served by four real `serve` processes: one
 * over everything, and three slices as a Thanos querier would be given them (eu-1; us-1 up to
 * the middle of the second day; us-1 from there on). Checks that each slice's Info announces
 * exactly its streams and time range, that the union of the slices' Store.Series answers (chunks
 * merged per series, samples deduplicated by timestamp, as a querier merges) equals the full
 * gateway's, that no slice sends a chunk outside its range, that PromQL on a slice answers for
 * its range only, and that an independent grpc-go client finds Series shards disjoint, covering
 * the unsharded answer and placed by Thanos' hash.
 */
import assert from "node:assert/strict";
import { writeDemoBlocks } from "../examples/demo.ts";
import { ValueType } from "../model/series.ts";
import { InfoRequestSchema, InfoResponseSchema } from "../proto/gen/info/infopb/rpc_pb.ts";
import { SeriesRequestSchema, SeriesResponseSchema } from "../proto/gen/store/storepb/rpc_pb.ts";
import { LabelMatcher_Type } from "../proto/gen/store/storepb/types_pb.ts";
import { goShardAnswers, goShardClient } from "../server/grpc/thanos/testing.ts";
import { TestClient } from "../server/grpc/testing.ts";
import { XorIterator } from "../storage/tsdb/xor.ts";
import { convertOnce, type GatewayServer, startServe } from "./oracle/gateway.ts";

const DAY = 86_400_000;
const HOUR = 3_600_000;

const keep = (cluster: string) =>
  `--selector.relabel-config=- {source_labels: [cluster], regex: ${cluster}, action: keep}`;

/** Series (labels as text) -> samples `[t, v]` by time, from one or more gateways' answers. */
type Samples = Map<string, Map<number, number>>;

async function seriesSamples(
  client: TestClient,
  from: number,
  to: number,
  into: Samples = new Map(),
  chunkRange?: { minT: number; maxT: number },
): Promise<Samples> {
  const msgs = await client.stream(
    "/thanos.Store/Series",
    SeriesRequestSchema,
    SeriesResponseSchema,
    {
      minTime: BigInt(from),
      maxTime: BigInt(to),
      matchers: [{ type: LabelMatcher_Type.RE, name: "instance", value: "host-(1|2):9100" }],
    },
  );
  for (const m of msgs) {
    if (m.result.case !== "series") continue;
    const key = m.result.value.labels.map((l) => `${l.name}=${l.value}`).join(",");
    let samples = into.get(key);
    if (!samples) into.set(key, samples = new Map());
    for (const c of m.result.value.chunks) {
      if (chunkRange) {
        assert.ok(
          Number(c.maxTime) >= chunkRange.minT && Number(c.minTime) <= chunkRange.maxT,
          `chunk [${c.minTime}, ${c.maxTime}] of ${key} outside the slice`,
        );
      }
      const it = new XorIterator(c.raw!.data);
      while (it.next() !== ValueType.None) {
        if (it.atT() >= from && it.atT() <= to) samples.set(it.atT(), it.atFloat());
      }
    }
  }
  return into;
}

function sameSamples(got: Samples, want: Samples): void {
  assert.deepEqual([...got.keys()].sort(), [...want.keys()].sort());
  for (const [key, w] of want) {
    const g = got.get(key)!;
    const sorted = (m: Map<number, number>) => [...m].sort((a, b) => a[0] - b[0]);
    assert.deepEqual(sorted(g), sorted(w), key);
  }
}

Deno.test({
  name: "slices: Info announces each slice; the union of slices answers as one gateway; shards",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const root = await Deno.makeTempDir({ prefix: "e2e-slices-" });
    const gateways: GatewayServer[] = [];
    const clients: TestClient[] = [];
    try {
      await Deno.mkdir(`${root}/tsdb`);
      const now = Date.now();
      await writeDemoBlocks(`${root}/tsdb`, now);
      await convertOnce(root, ["--convert.max-plan-days=4"]);
      const firstDay = Math.floor(now / DAY) * DAY - 3 * DAY;
      const end = firstDay + 2 * DAY;
      const split = firstDay + DAY + 12 * HOUR;
      const iso = (ms: number) => new Date(ms).toISOString();
      // Each gateway keeps its own label file directory, as separate machines would.
      const start = (name: string, flags: string[]) =>
        startServe(root, [`--block.labelfilepath=${root}/labels-${name}`, ...flags]);
      const [full, eu, usOld, usNew] = await Promise.all([
        start("full", []),
        start("eu", [keep("eu-1")]),
        start("us-old", [keep("us-1"), `--max-time=${iso(split - 1)}`]),
        start("us-new", [keep("us-1"), `--min-time=${iso(split)}`]),
      ]);
      gateways.push(full, eu, usOld, usNew);
      const client = (g: GatewayServer) => {
        const c = new TestClient(`127.0.0.1:${g.grpcPort}`);
        clients.push(c);
        return c;
      };
      const [cFull, cEu, cUsOld, cUsNew] = gateways.map(client);

      await t.step("Info announces exactly each slice's streams and time range", async () => {
        const info = async (c: TestClient) => {
          const r = await c.unary(
            "/thanos.info.Info/Info",
            InfoRequestSchema,
            InfoResponseSchema,
            {},
          );
          return {
            labelSets: r.labelSets.map((s) => s.labels.map((l) => `${l.name}=${l.value}`)),
            range: [Number(r.store!.minTime) - firstDay, Number(r.store!.maxTime) - firstDay],
            tsdbs: r.store!.tsdbInfos.map((i) => [
              i.labels!.labels.map((l) => `${l.name}=${l.value}`).join(","),
              Number(i.minTime) - firstDay,
              Number(i.maxTime) - firstDay,
            ]),
            sharding: r.store!.supportsSharding,
          };
        };
        assert.deepEqual(await info(cFull), {
          labelSets: [["cluster=eu-1"], ["cluster=us-1"]],
          range: [0, 2 * DAY],
          tsdbs: [["cluster=eu-1", 0, 2 * DAY], ["cluster=us-1", 0, 2 * DAY]],
          sharding: true,
        });
        assert.deepEqual(await info(cEu), {
          labelSets: [["cluster=eu-1"]],
          range: [0, 2 * DAY],
          tsdbs: [["cluster=eu-1", 0, 2 * DAY]],
          sharding: true,
        });
        const old = split - 1 - firstDay;
        assert.deepEqual(await info(cUsOld), {
          labelSets: [["cluster=us-1"]],
          range: [0, old],
          tsdbs: [["cluster=us-1", 0, old]],
          sharding: true,
        });
        assert.deepEqual(await info(cUsNew), {
          labelSets: [["cluster=us-1"]],
          range: [split - firstDay, 2 * DAY],
          tsdbs: [["cluster=us-1", split - firstDay, 2 * DAY]],
          sharding: true,
        });
        // The newer us-1 slice loaded only the day its range reaches.
        const blocks = await (await fetch(`${usNew.url}/api/v1/gateway/blocks`)).json();
        assert.deepEqual(
          blocks.data.streams.map((s: { externalLabels: unknown; days: { state: string }[] }) => [
            s.externalLabels,
            s.days.map((d) => d.state),
          ]),
          [[{ cluster: "us-1" }, ["loaded"]]],
        );
      });

      await t.step("the union of the slices' Series equals the full gateway's", async () => {
        const [from, to] = [firstDay + 6 * HOUR, end - 6 * HOUR];
        const want = await seriesSamples(cFull, from, to);
        assert.ok(want.size >= 50, `${want.size} series`);
        const union: Samples = new Map();
        await seriesSamples(cEu, from, to, union);
        await seriesSamples(cUsOld, from, to, union, { minT: firstDay, maxT: split - 1 });
        await seriesSamples(cUsNew, from, to, union, { minT: split, maxT: end });
        sameSamples(union, want);
      });

      await t.step("PromQL on a slice answers for its range and streams only", async () => {
        const query = async (g: GatewayServer, q: string, at: number) => {
          const params = new URLSearchParams({ query: q, time: String(at / 1000) });
          const body = await (await fetch(`${g.url}/api/v1/query?${params}`)).json();
          assert.equal(body.status, "success", JSON.stringify(body));
          return body.data.result as { metric: Record<string, string>; value: unknown }[];
        };
        const q = 'sum by (cluster) (count_over_time(up{instance=~"host-1.*"}[1h]))';
        const before = split - 2 * HOUR, after = split + 2 * HOUR;
        const us = (r: { metric: Record<string, string> }[]) =>
          r.filter((s) => s.metric.cluster === "us-1");
        assert.deepEqual(await query(usOld, q, before), us(await query(full, q, before)));
        assert.deepEqual(await query(usNew, q, after), us(await query(full, q, after)));
        assert.deepEqual(await query(usNew, q, before), []);
        assert.deepEqual(await query(usOld, q, after), []);
        assert.equal((await query(eu, q, before)).length, 1);
      });

      await t.step({
        name: "grpc-go: shards are disjoint, cover the unsharded answer, follow Thanos' hash",
        ignore: (await goShardClient()) === null,
        fn: async () => {
          const request = {
            minTime: BigInt(firstDay),
            maxTime: BigInt(end),
            skipChunks: true,
            matchers: [{
              type: LabelMatcher_Type.RE,
              name: "instance",
              value: "host-1[0-9]?:9100",
            }],
          };
          for (const shardBy of [{ by: false, labels: [] }, { by: true, labels: ["job"] }]) {
            const r = (await goShardAnswers(eu.grpcPort, request, shardBy, 3))!;
            assert.ok(r.unsharded.length >= 100, `${r.unsharded.length} series`);
            assert.deepEqual(r.misplaced, []);
            assert.deepEqual(r.shards.flat().sort(), [...r.unsharded].sort());
            // Hashed over all their labels, the many series spread over every shard.
            if (!shardBy.by) assert.ok(r.shards.every((s) => s.length > 0));
          }
        },
      });
    } finally {
      for (const c of clients) c.close();
      await Promise.all(gateways.map((g) => g.stop()));
      await Deno.remove(root, { recursive: true });
    }
  },
});
