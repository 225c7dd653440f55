import assert from "node:assert/strict";
import { create, createFileRegistry, fromBinary, type MessageInitShape } from "@bufbuild/protobuf";
import {
  type FileDescriptorProto,
  FileDescriptorProtoSchema,
  FileDescriptorSetSchema,
} from "@bufbuild/protobuf/wkt";
import {
  ServerReflectionRequestSchema,
  type ServerReflectionResponse,
  ServerReflectionResponseSchema,
} from "../../proto/gen/grpc/reflection/v1/reflection_pb.ts";
import {
  ServerReflectionRequestSchema as AlphaRequestSchema,
  ServerReflectionResponseSchema as AlphaResponseSchema,
} from "../../proto/gen/grpc/reflection/v1alpha/reflection_pb.ts";
import { labelsFromRecord } from "../../model/labels.ts";
import { Code } from "./status.ts";
import { duplexReader, TestClient } from "./testing.ts";
import { startThanosGrpcServer, type ThanosGrpcServer } from "./thanos/serve.ts";
import { queryableSource } from "./thanos/source.ts";
import { DATA, engine, EXTERNAL, MemQueryable } from "./thanos/testing.ts";

const V1 = "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo";
const V1ALPHA = "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo";

const SERVICES = [
  "grpc.health.v1.Health",
  "grpc.reflection.v1.ServerReflection",
  "grpc.reflection.v1alpha.ServerReflection",
  "thanos.Query",
  "thanos.Store",
  "thanos.info.Info",
];

/** The Thanos endpoint as `serve` assembles it, with the Query API. */
async function startEndpoint(): Promise<{ srv: ThanosGrpcServer; client: TestClient }> {
  const mem = new MemQueryable(DATA);
  const srv = await startThanosGrpcServer({
    port: 0,
    hostname: "127.0.0.1",
    externalLabels: EXTERNAL,
    source: () => queryableSource(mem),
    info: () => ({
      minTime: 0,
      maxTime: 299_000,
      tsdbInfos: [],
      labelSets: [labelsFromRecord({})],
    }),
    query: { engine, queryable: () => mem, lookbackDelta: 300_000 },
  });
  return { srv, client: new TestClient(`127.0.0.1:${srv.addr.port}`) };
}

/** One v1 reflection stream: `ask` sends a request and resolves to its answer. */
function conversation(client: TestClient) {
  const call = client.openBidi(V1, ServerReflectionRequestSchema, ServerReflectionResponseSchema);
  const r = duplexReader(call);
  return {
    ask(
      req: MessageInitShape<typeof ServerReflectionRequestSchema>["messageRequest"],
    ): Promise<ServerReflectionResponse> {
      call.write({ host: "h", messageRequest: req });
      return r.next();
    },
    write(req: MessageInitShape<typeof ServerReflectionRequestSchema>["messageRequest"]) {
      call.write({ host: "h", messageRequest: req });
    },
    async end() {
      call.end();
      return await r.status;
    },
    status: r.status,
  };
}

function descriptors(res: ServerReflectionResponse): FileDescriptorProto[] {
  assert.equal(res.messageResponse.case, "fileDescriptorResponse", JSON.stringify(res));
  return res.messageResponse.value.fileDescriptorProto.map((b) =>
    fromBinary(FileDescriptorProtoSchema, b)
  );
}

function errorCode(res: ServerReflectionResponse): number | undefined {
  return res.messageResponse.case === "errorResponse"
    ? res.messageResponse.value.errorCode
    : undefined;
}

Deno.test("reflection: list_services names every registered service, v1 and v1alpha", async () => {
  const { srv, client } = await startEndpoint();
  try {
    const c = conversation(client);
    const res = await c.ask({ case: "listServices", value: "*" });
    assert.equal(res.validHost, "h");
    assert.deepEqual(res.originalRequest?.messageRequest, { case: "listServices", value: "*" });
    assert.equal(res.messageResponse.case, "listServicesResponse");
    assert.deepEqual(res.messageResponse.value.service.map((s) => s.name), SERVICES);
    assert.equal((await c.end()).code, Code.OK);

    const alpha = client.openBidi(V1ALPHA, AlphaRequestSchema, AlphaResponseSchema);
    const ar = duplexReader(alpha);
    alpha.write({ messageRequest: { case: "listServices", value: "" } });
    const a = await ar.next();
    assert.equal(a.$typeName, "grpc.reflection.v1alpha.ServerReflectionResponse");
    if (a.messageResponse.case !== "listServicesResponse") assert.fail(JSON.stringify(a));
    assert.deepEqual(a.messageResponse.value.service.map((s) => s.name), SERVICES);
    alpha.end();
    assert.equal((await ar.status).code, Code.OK);
  } finally {
    client.close();
    await srv.shutdown(1000);
  }
});

Deno.test("reflection: file_containing_symbol sends a file and the dependencies not sent yet", async () => {
  const { srv, client } = await startEndpoint();
  try {
    const c = conversation(client);
    const store = descriptors(await c.ask({ case: "fileContainingSymbol", value: "thanos.Store" }));
    assert.deepEqual(store.map((f) => f.name), [
      "store/storepb/rpc.proto",
      "google/protobuf/any.proto",
      "store/storepb/types.proto",
      "store/labelpb/types.proto",
    ]);
    const series = store[0].service.find((s) => s.name === "Store")!.method
      .find((m) => m.name === "Series")!;
    assert.equal(series.inputType, ".thanos.SeriesRequest");
    assert.equal(series.serverStreaming, true);
    // Complete enough for a client to build a registry and find the service in it (protobuf-es
    // wants dependencies first).
    const set = create(FileDescriptorSetSchema, { file: [...store].reverse() });
    const reg = createFileRegistry(set);
    assert.deepEqual(reg.getService("thanos.Store")?.methods.map((m) => m.name), [
      "Series",
      "LabelNames",
      "LabelValues",
    ]);

    // On the same stream the asked file comes again, its dependencies do not.
    const again = await c.ask({ case: "fileContainingSymbol", value: "thanos.SeriesRequest" });
    assert.deepEqual(descriptors(again).map((f) => f.name), ["store/storepb/rpc.proto"]);
    const query = await c.ask({ case: "fileContainingSymbol", value: "thanos.Query.QueryRange" });
    assert.deepEqual(descriptors(query).map((f) => f.name), [
      "api/query/querypb/query.proto",
      "store/storepb/prompb/types.proto",
    ]);
    for (
      const symbol of [
        "thanos.LabelMatcher.Type",
        "thanos.LabelMatcher.name",
        "thanos.LabelMatcher.NRE",
        "thanos.PartialResponseStrategy",
      ]
    ) {
      const res = await c.ask({ case: "fileContainingSymbol", value: symbol });
      assert.deepEqual(descriptors(res).map((f) => f.name), ["store/storepb/types.proto"], symbol);
    }
    const info = await c.ask({ case: "fileByFilename", value: "info/infopb/rpc.proto" });
    assert.deepEqual(descriptors(info).map((f) => f.name), ["info/infopb/rpc.proto"]);
    assert.equal(descriptors(info)[0].package, "thanos.info");
    const health = await c.ask({ case: "fileContainingSymbol", value: "grpc.health.v1.Health" });
    assert.deepEqual(descriptors(health).map((f) => f.name), ["grpc/health/v1/health.proto"]);
    assert.equal((await c.end()).code, Code.OK);
  } finally {
    client.close();
    await srv.shutdown(1000);
  }
});

Deno.test("reflection: unknown names and extensions are NOT_FOUND error responses", async () => {
  const { srv, client } = await startEndpoint();
  try {
    const c = conversation(client);
    const unknown = await c.ask({ case: "fileContainingSymbol", value: "thanos.Nope" });
    assert.equal(errorCode(unknown), Code.NotFound);
    assert.match(
      unknown.messageResponse.case === "errorResponse"
        ? unknown.messageResponse.value.errorMessage
        : "",
      /thanos\.Nope/,
    );
    assert.equal(errorCode(await c.ask({ case: "fileByFilename", value: "x.proto" })), 5);
    const ext = await c.ask({
      case: "fileContainingExtension",
      value: { containingType: "thanos.SeriesRequest", extensionNumber: 100 },
    });
    assert.equal(errorCode(ext), Code.NotFound);
    const nums = await c.ask({ case: "allExtensionNumbersOfType", value: "thanos.SeriesRequest" });
    assert.equal(nums.messageResponse.case, "allExtensionNumbersResponse");
    assert.equal(nums.messageResponse.value.baseTypeName, "thanos.SeriesRequest");
    assert.deepEqual(nums.messageResponse.value.extensionNumber, []);
    const badType = await c.ask({ case: "allExtensionNumbersOfType", value: "thanos.Nope" });
    assert.equal(errorCode(badType), Code.NotFound);
    // The stream carries on after errors; a request without a kind ends it, as in grpc-go.
    const list = await c.ask({ case: "listServices", value: "" });
    assert.equal(list.messageResponse.case, "listServicesResponse");
    c.write({ case: undefined });
    assert.equal((await c.status).code, Code.InvalidArgument);
  } finally {
    client.close();
    await srv.shutdown(1000);
  }
});
