import assert from "node:assert/strict";
import { labelsFromRecord } from "../../model/labels.ts";
import { Code } from "./status.ts";
import { buildGoProgram } from "./testing_go.ts";
import { startThanosGrpcServer } from "./thanos/serve.ts";
import { queryableSource } from "./thanos/source.ts";
import { DATA, engine, EXTERNAL, MemQueryable } from "./thanos/testing.ts";

const PROGRAM = new URL("./testdata/grpcgo_reflection_client.go", import.meta.url).pathname;
// grpc-go 1.33's reflection stubs and golang/protobuf's descriptor package (both come with
// golang-google-grpc-dev).
const client = await buildGoProgram(PROGRAM, [
  "google.golang.org/grpc/reflection/grpc_reflection_v1alpha",
  "github.com/golang/protobuf/protoc-gen-go/descriptor",
]);

Deno.test({
  name: "grpc-go reflection client (v1alpha): list services, resolve thanos.Store, NOT_FOUND",
  ignore: client === null,
  async fn() {
    const mem = new MemQueryable(DATA);
    const srv = await startThanosGrpcServer({
      port: 0,
      hostname: "127.0.0.1",
      externalLabels: EXTERNAL,
      source: () => queryableSource(mem),
      info: () => ({ minTime: 0, maxTime: 1, tsdbInfos: [], labelSets: [labelsFromRecord({})] }),
      query: { engine, queryable: () => mem, lookbackDelta: 300_000 },
    });
    try {
      const out = await new Deno.Command(client!, {
        args: [String(srv.addr.port)],
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.ok(out.success, new TextDecoder().decode(out.stderr));
      const r = JSON.parse(new TextDecoder().decode(out.stdout));
      assert.deepEqual(r.services, [
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
        "grpc.reflection.v1alpha.ServerReflection",
        "thanos.Query",
        "thanos.Store",
        "thanos.info.Info",
      ]);
      assert.deepEqual(r.store_files, [
        "store/storepb/rpc.proto",
        "google/protobuf/any.proto",
        "store/storepb/types.proto",
        "store/labelpb/types.proto",
      ]);
      assert.deepEqual(r.store_methods, ["Series", "LabelNames", "LabelValues"]);
      assert.equal(r.series_server_streaming, true);
      assert.deepEqual(r.again_files, ["store/storepb/rpc.proto"]);
      assert.equal(r.unknown_code, Code.NotFound);
      assert.match(r.unknown_message, /thanos\.Nope/);
      assert.equal(r.end_of_stream_clean, true);
    } finally {
      await srv.shutdown(1000);
    }
  },
});
