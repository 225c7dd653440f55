import assert from "node:assert/strict";
import { formatPlanShard, ownsDay, parsePlanShard, shardOfDay } from "./shard.ts";

Deno.test("parsePlanShard: i/n with 0 <= i < n", () => {
  assert.deepEqual(parsePlanShard("0/1"), { index: 0, count: 1 });
  assert.deepEqual(parsePlanShard("2/3"), { index: 2, count: 3 });
  assert.deepEqual(parsePlanShard(" 1/2 "), { index: 1, count: 2 });
  assert.equal(formatPlanShard(parsePlanShard("4/16")), "4/16");
  assert.throws(() => parsePlanShard("3/3"), /shard 3 of 3 does not exist \(shards are 0 to 2\)/);
  assert.throws(() => parsePlanShard("0/0"), /shard count 0 is not a positive integer/);
  assert.throws(() => parsePlanShard("1/99999999999999999999"), /not a positive integer/);
  for (const bad of ["", "1", "1/", "/3", "-1/3", "1.5/3", "1/3/4", "a/b"]) {
    assert.throws(() => parsePlanShard(bad), /is not of the form i\/n/, bad);
  }
});

Deno.test("shardOfDay: xxHash64 of stream/date modulo n, as xxhsum computes it", () => {
  // `printf %s KEY | xxhsum -H64` gives 949f40f2a21dfb4f, 2ab467db445e09df, b4c1c982cee3df87;
  // their residues were taken with Python's integers.
  const keys: [string, string, number, number][] = [
    ["0", "2026-01-10", 0, 0],
    ["6453843914437466446", "2026-01-10", 2, 6],
    ["6453843914437466446", "2026-01-11", 1, 1],
  ];
  for (const [stream, date, mod3, mod7] of keys) {
    assert.equal(shardOfDay(stream, date, 3), mod3, `${stream}/${date} % 3`);
    assert.equal(shardOfDay(stream, date, 7), mod7, `${stream}/${date} % 7`);
    assert.equal(shardOfDay(stream, date, 1), 0);
  }
});

Deno.test("ownsDay: every day has exactly one owner, and the owners share the days evenly", () => {
  const n = 3;
  const shards = [0, 1, 2].map((index) => ({ index, count: n }));
  const counts = [0, 0, 0];
  const start = Date.UTC(2025, 0, 1);
  for (let stream = 0; stream < 10; stream++) {
    for (let d = 0; d < 365; d++) {
      const date = new Date(start + d * 86_400_000).toISOString().slice(0, 10);
      const owners = shards.filter((s) => ownsDay(s, String(1000003n * BigInt(stream)), date));
      assert.equal(owners.length, 1, `${stream}/${date}`);
      counts[owners[0].index]++;
    }
  }
  // 3650 days: a fair split gives each shard about 1217; a hash this uneven would be broken.
  for (const c of counts) assert.ok(c > 1100 && c < 1340, `${counts}`);
});
