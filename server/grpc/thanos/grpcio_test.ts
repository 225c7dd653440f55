import assert from "node:assert/strict";
import { create, type DescFile, toBinary } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { file_api_query_querypb_query } from "../../../proto/gen/api/query/querypb/query_pb.ts";
import { file_grpc_health_v1_health } from "../../../proto/gen/grpc/health/v1/health_pb.ts";
import { file_info_infopb_rpc } from "../../../proto/gen/info/infopb/rpc_pb.ts";
import { file_store_storepb_rpc } from "../../../proto/gen/store/storepb/rpc_pb.ts";
import { UNLIMITED } from "../../db/limits.ts";
import { DATA, start } from "./testing.ts";

const PYTHON = "/usr/bin/python3";
const CLIENT = new URL("../testdata/grpcio_client.py", import.meta.url).pathname;

function hasGrpcio(): boolean {
  try {
    return new Deno.Command(PYTHON, {
      args: ["-c", "import grpc, google.protobuf"],
      stdout: "null",
      stderr: "null",
    }).outputSync().success;
  } catch {
    return false;
  }
}

/** The .proto files as a FileDescriptorSet, dependencies first, for Python's descriptor pool. */
function descriptorSet(): Uint8Array {
  const ordered: DescFile[] = [];
  const seen = new Set<string>();
  const visit = (f: DescFile) => {
    if (seen.has(f.name)) return;
    seen.add(f.name);
    for (const d of f.dependencies) visit(d);
    ordered.push(f);
  };
  [
    file_grpc_health_v1_health,
    file_info_infopb_rpc,
    file_store_storepb_rpc,
    file_api_query_querypb_query,
  ]
    .forEach(visit);
  return toBinary(
    FileDescriptorSetSchema,
    create(FileDescriptorSetSchema, {
      file: ordered.map((f) => f.proto),
    }),
  );
}

Deno.test({
  name: "grpcio (Python, C-core): health, Info, gzip Series, errors, row limits, 10x100 calls",
  ignore: !hasGrpcio(),
  async fn() {
    // Four series of m|up may be selected, not all five; one series' label values.
    const server = await start(DATA, undefined, {
      ...UNLIMITED,
      maxSelectRows: 4,
      maxLabelValuesRows: 1,
    });
    const fds = await Deno.makeTempFile({ suffix: ".pb" });
    try {
      await Deno.writeFile(fds, descriptorSet());
      const out = await new Deno.Command(PYTHON, {
        args: [CLIENT, String(server.port), fds],
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.ok(out.success, new TextDecoder().decode(out.stderr));
      const r = JSON.parse(new TextDecoder().decode(out.stdout));
      assert.equal(r.health, 1);
      assert.deepEqual(r.info, {
        component: "store",
        has_store: true,
        has_query: true,
        has_rules: false,
        min_time: "-9223372036854775808",
        max_time: "9223372036854775807",
        label_sets: [[["c", "x"], ["replica", "A"]]],
      });
      assert.deepEqual(r.series.map((s: { labels: string[][] }) => Object.fromEntries(s.labels)), [
        { __name__: "m", a: "1", b: "1", c: "x", replica: "A" },
        { __name__: "m", a: "1", c: "x", replica: "A" },
        { __name__: "up", c: "x", instance: "x", job: "api", replica: "A" },
        { __name__: "up", c: "x", job: "web", replica: "A" },
      ]);
      // Series m{a="1"}: one XOR chunk with samples (1000, 1) and (2000, 2). The bytes are
      // Prometheus' XOR layout: count 2, varint t0, raw float 1.0, uvarint delta, xor value.
      const [type, minT, maxT, hex] = r.series[1].chunks[0];
      assert.deepEqual([type, minT, maxT], [0, 1000, 2000]);
      assert.equal(hex.slice(0, 4), "0002");
      assert.equal(hex.slice(4, 8), "d00f", "zigzag varint of 1000");
      assert.equal(hex.slice(8, 24), "3ff0000000000000", "1.0 as IEEE 754");
      assert.deepEqual(r.warnings, ["mem warning"]);
      assert.equal(r.bad_regex[0], "INVALID_ARGUMENT");
      assert.deepEqual(r.limited, [
        [
          "RESOURCE_EXHAUSTED",
          "would use too many rows: select rows limit 4 exceeded (resource exhausted, needed 5)",
        ],
        [
          "RESOURCE_EXHAUSTED",
          "would use too many rows: label values rows limit 1 exceeded " +
          "(resource exhausted, needed 2)",
        ],
      ]);
      // 10 rounds x 100 calls; each answer holds 7 names: __name__ a b c instance job replica.
      assert.equal(r.names_total, 10 * 100 * 7);
      assert.equal(r.health_after, 1);
    } finally {
      await Deno.remove(fds);
      await server.stop();
    }
  },
});
