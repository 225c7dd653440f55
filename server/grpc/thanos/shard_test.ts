import assert from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import { labelsFromRecord } from "../../../model/labels.ts";
import { ShardInfoSchema } from "../../../proto/gen/store/storepb/rpc_pb.ts";
import { shardFilter, shardHash } from "./shard.ts";
import expected from "./testdata/shard_hash.json" with { type: "json" };

// testdata/shard_hash.json comes from testdata/shard_hash.go: Thanos' ShardMatcher hash computed
// with github.com/cespare/xxhash, the library Thanos uses.

Deno.test("shardHash and shardFilter agree with Thanos' ShardMatcher computed in Go", () => {
  for (const c of expected) {
    const labels = c.labels;
    const what = `${JSON.stringify(labels)} by=${c.by} ${c.names}`;
    assert.equal(shardHash(labels, new Set(c.names), c.by), BigInt(c.hash), what);
    for (const [total, shard] of Object.entries(c.shards)) {
      for (let index = 0; index < Number(total); index++) {
        const info = create(ShardInfoSchema, {
          shardIndex: BigInt(index),
          totalShards: BigInt(total),
          by: c.by,
          labels: c.names,
        });
        assert.equal(shardFilter(info)!(labels), index === shard, `${what} ${index}/${total}`);
      }
    }
  }
});

Deno.test("shardFilter: no shard_info or total_shards < 1 is no sharding", () => {
  assert.equal(shardFilter(undefined), undefined);
  assert.equal(shardFilter(create(ShardInfoSchema, { totalShards: 0n })), undefined);
  assert.equal(shardFilter(create(ShardInfoSchema, { totalShards: -1n })), undefined);
  // A negative index is a huge unsigned one in Go: no series is in it.
  const none = shardFilter(create(ShardInfoSchema, { shardIndex: -1n, totalShards: 2n }))!;
  assert.equal(none(labelsFromRecord({ a: "1" })), false);
  assert.equal(none(labelsFromRecord({ a: "2" })), false);
});
