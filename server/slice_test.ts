import assert from "node:assert/strict";
import { hashmod, parseRelabelConfigs } from "../model/relabel.ts";
import { GatewaySlice } from "./slice.ts";

const DAY = 86_400_000;

Deno.test("GatewaySlice.keepsDay: days overlapping [minTime, maxTime], ends exclusive", () => {
  let now = 10 * DAY;
  const slice = new GatewaySlice({
    minTime: () => now - 2 * DAY,
    maxTime: () => 20 * DAY - 1,
    relabel: [],
  });
  const day = (n: number) => ({ start: n * DAY, end: (n + 1) * DAY });
  assert.equal(slice.keepsDay(day(7)), false, "ends exactly at minTime");
  assert.equal(slice.keepsDay(day(8)), true);
  assert.equal(slice.keepsDay(day(19)), true, "starts before maxTime");
  assert.equal(slice.keepsDay(day(20)), false, "starts after maxTime");
  assert.deepEqual(slice.range(), { minT: 8 * DAY, maxT: 20 * DAY - 1 });
  // A relative bound moves with the clock.
  now = 12 * DAY + 1;
  assert.equal(slice.keepsDay(day(9)), false);
  assert.equal(slice.keepsDay(day(10)), true);
});

Deno.test("GatewaySlice.keepsStream: the streams the relabel rules keep", () => {
  const all = new GatewaySlice({ minTime: () => 0, maxTime: () => 0, relabel: [] });
  assert.equal(all.keepsStream({}), true);
  assert.equal(all.keepsStream({ cluster: "eu-1" }), true);

  const eu = new GatewaySlice({
    minTime: () => 0,
    maxTime: () => 0,
    relabel: parseRelabelConfigs("- {source_labels: [cluster], regex: 'eu-.*', action: keep}"),
  });
  assert.equal(eu.keepsStream({ cluster: "eu-1", replica: "a" }), true);
  assert.equal(eu.keepsStream({ cluster: "us-1" }), false);
  assert.equal(eu.keepsStream({}), false);

  // Three gateways sharding streams by hashmod: every stream is served by exactly one.
  const shard = (i: number) =>
    new GatewaySlice({
      minTime: () => 0,
      maxTime: () => 0,
      relabel: parseRelabelConfigs(`
- {source_labels: [cluster, tenant], modulus: 3, target_label: __shard, action: hashmod}
- {source_labels: [__shard], regex: '${i}', action: keep}
`),
    });
  const shards = [shard(0), shard(1), shard(2)];
  for (const tenant of ["a", "b", "c", "d", "e", "f", "g"]) {
    const ext = { cluster: "eu-1", tenant };
    const owners = shards.flatMap((s, i) => s.keepsStream(ext) ? [i] : []);
    assert.deepEqual(owners, [hashmod(`eu-1;${tenant}`, 3)], tenant);
  }

  // Dropping every label is dropping the stream, as in Thanos.
  const none = new GatewaySlice({
    minTime: () => 0,
    maxTime: () => 0,
    relabel: parseRelabelConfigs("- {regex: '.*', action: labeldrop}"),
  });
  assert.equal(none.keepsStream({ cluster: "eu-1" }), false);
});
