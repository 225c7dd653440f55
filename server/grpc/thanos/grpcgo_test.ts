import assert from "node:assert/strict";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import {
  HealthCheckResponse_ServingStatus as ServingStatus,
  HealthCheckResponseSchema,
} from "../../../proto/gen/grpc/health/v1/health_pb.ts";
import { InfoResponseSchema } from "../../../proto/gen/info/infopb/rpc_pb.ts";
import {
  SeriesRequestSchema,
  SeriesResponseSchema,
} from "../../../proto/gen/store/storepb/rpc_pb.ts";
import { LabelMatcher_Type } from "../../../proto/gen/store/storepb/types_pb.ts";
import { buildGoProgram } from "../testing_go.ts";
import { UNLIMITED } from "../../db/limits.ts";
import { DATA, goShardAnswers, goShardClient, start } from "./testing.ts";

const PROGRAM = new URL("../testdata/grpcgo_client.go", import.meta.url).pathname;
// testdata/grpcgo_client.go with Thanos' snappy library (golang-github-klauspost-compress-dev).
const client = await buildGoProgram(PROGRAM, [
  "google.golang.org/grpc",
  "github.com/klauspost/compress/snappy",
]);
const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
const unhex = (s: string) => Uint8Array.from(s.match(/../g) ?? [], (h) => parseInt(h, 16));

Deno.test({
  name: "grpc-go client: health, Info, snappy Series, InvalidArgument, ResourceExhausted, " +
    "10x200 streams then close",
  ignore: client === null,
  async fn() {
    // The four series of m|up may be selected, not all five.
    const server = await start(DATA, undefined, { ...UNLIMITED, maxSelectRows: 4 });
    try {
      const series = hex(toBinary(
        SeriesRequestSchema,
        create(SeriesRequestSchema, {
          minTime: 0n,
          maxTime: 10_000n,
          matchers: [{ type: LabelMatcher_Type.RE, name: "__name__", value: "m|up" }],
        }),
      ));
      const bad = hex(toBinary(
        SeriesRequestSchema,
        create(SeriesRequestSchema, {
          matchers: [{ type: LabelMatcher_Type.RE, name: "job", value: "(x" }],
        }),
      ));
      const all = hex(toBinary(
        SeriesRequestSchema,
        create(SeriesRequestSchema, {
          minTime: 0n,
          maxTime: 10_000n,
          matchers: [{ type: LabelMatcher_Type.RE, name: "__name__", value: ".+" }],
        }),
      ));
      const out = await new Deno.Command(client!, {
        args: [String(server.port), series, bad, all],
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.ok(out.success, new TextDecoder().decode(out.stderr));
      const r = JSON.parse(new TextDecoder().decode(out.stdout));
      assert.equal(
        fromBinary(HealthCheckResponseSchema, unhex(r.health)).status,
        ServingStatus.SERVING,
      );
      const info = fromBinary(InfoResponseSchema, unhex(r.info));
      assert.ok(info.store && info.query);
      const msgs = (r.series_snappy as string[]).map((h) =>
        fromBinary(SeriesResponseSchema, unhex(h))
      );
      const names = msgs.flatMap((m) =>
        m.result.case === "series" ? [m.result.value.labels.map((l) => l.value).join(",")] : []
      );
      assert.deepEqual(names, ["m,1,1,x,A", "m,1,x,A", "up,x,x,api,A", "up,x,web,A"]);
      assert.equal(r.bad_code, "InvalidArgument");
      assert.deepEqual(r.limited, [
        "ResourceExhausted",
        "would use too many rows: select rows limit 4 exceeded (resource exhausted, needed 5)",
      ]);
      // 4 series + 1 warning per call, 200 calls per round, 10 rounds.
      assert.equal(r.rounds_messages, 10 * 200 * 5);
      assert.equal(
        fromBinary(HealthCheckResponseSchema, unhex(r.health_after)).status,
        ServingStatus.SERVING,
      );
    } finally {
      await server.stop();
    }
  },
});

Deno.test({
  name: "grpc-go client: shard_info shards are disjoint, cover the unsharded answer, and follow " +
    "Thanos' hash",
  ignore: (await goShardClient()) === null,
  async fn() {
    const server = await start();
    try {
      const request = {
        minTime: 0n,
        maxTime: 10_000n,
        matchers: [{ type: LabelMatcher_Type.RE, name: "__name__", value: ".+" }],
      };
      for (const shardBy of [{ by: false, labels: [] }, { by: true, labels: ["job", "a"] }]) {
        for (const total of [1, 2, 3, 5]) {
          const r = (await goShardAnswers(server.port, request, shardBy, total))!;
          assert.equal(r.unsharded.length, 5);
          assert.deepEqual(r.misplaced, []);
          assert.deepEqual(r.shards.flat().sort(), [...r.unsharded].sort());
        }
      }
    } finally {
      await server.stop();
    }
  },
});
