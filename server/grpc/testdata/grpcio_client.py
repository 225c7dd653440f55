"""An independent gRPC client (Python grpcio, C-core HTTP/2; upb protobuf) for the server tests.

Usage: grpcio_client.py PORT DESCRIPTOR_SET_FILE
The server is expected to refuse Series and LabelValues calls over `up` and every series with
RESOURCE_EXHAUSTED (row limits).
Message classes are built at run time from the FileDescriptorSet the test writes, so no
generated Python code is needed. Prints one JSON object with what it observed.
"""
import json
import sys

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

port, fds_path = sys.argv[1], sys.argv[2]
with open(fds_path, "rb") as f:
    fds = descriptor_pb2.FileDescriptorSet.FromString(f.read())
pool = descriptor_pool.DescriptorPool()
for fdp in fds.file:
    pool.Add(fdp)
factory = message_factory.MessageFactory(pool)


def cls(name):
    return factory.GetPrototype(pool.FindMessageTypeByName(name))


def unary(ch, path, req, res):
    return ch.unary_unary(path, request_serializer=req.SerializeToString,
                          response_deserializer=res.FromString)


def stream(ch, path, req, res):
    return ch.unary_stream(path, request_serializer=req.SerializeToString,
                           response_deserializer=res.FromString)


HealthReq = cls("grpc.health.v1.HealthCheckRequest")
HealthRes = cls("grpc.health.v1.HealthCheckResponse")
InfoReq = cls("thanos.info.InfoRequest")
InfoRes = cls("thanos.info.InfoResponse")
SeriesReq = cls("thanos.SeriesRequest")
SeriesRes = cls("thanos.SeriesResponse")
Matcher = cls("thanos.LabelMatcher")
NamesReq = cls("thanos.LabelNamesRequest")
NamesRes = cls("thanos.LabelNamesResponse")
ValuesReq = cls("thanos.LabelValuesRequest")
ValuesRes = cls("thanos.LabelValuesResponse")

target = f"127.0.0.1:{port}"
out = {}
with grpc.insecure_channel(target) as ch:
    out["health"] = unary(ch, "/grpc.health.v1.Health/Check", HealthReq, HealthRes)(
        HealthReq(), timeout=5).status

    info = unary(ch, "/thanos.info.Info/Info", InfoReq, InfoRes)(InfoReq(), timeout=5)
    out["info"] = {
        "component": info.ComponentType,
        "has_store": info.HasField("store"),
        "has_query": info.HasField("query"),
        "has_rules": info.HasField("rules"),
        "min_time": str(info.store.min_time),
        "max_time": str(info.store.max_time),
        "label_sets": [[[l.name, l.value] for l in s.labels] for s in info.label_sets],
    }

    series = stream(ch, "/thanos.Store/Series", SeriesReq, SeriesRes)
    req = SeriesReq(min_time=0, max_time=10000,
                    matchers=[Matcher(type=2, name="__name__", value="m|up")])
    msgs = list(series(req, timeout=10, compression=grpc.Compression.Gzip))
    out["series"] = [{
        "labels": [[l.name, l.value] for l in m.series.labels],
        "chunks": [[c.raw.type, c.min_time, c.max_time, c.raw.data.hex()] for c in m.series.chunks],
    } for m in msgs if m.WhichOneof("result") == "series"]
    out["warnings"] = [m.warning for m in msgs if m.WhichOneof("result") == "warning"]

    try:
        list(series(SeriesReq(matchers=[Matcher(type=2, name="job", value="(x")]), timeout=5))
        out["bad_regex"] = None
    except grpc.RpcError as e:
        out["bad_regex"] = [e.code().name, e.details()]

    out["limited"] = []
    values = unary(ch, "/thanos.Store/LabelValues", ValuesReq, ValuesRes)
    for call in [
        lambda: list(series(SeriesReq(min_time=0, max_time=10000,
                                      matchers=[Matcher(type=2, name="__name__", value=".+")]),
                            timeout=5)),
        lambda: values(ValuesReq(label="job", start=0, end=10000,
                                 matchers=[Matcher(name="__name__", value="up")]), timeout=5),
    ]:
        try:
            call()
            out["limited"].append(None)
        except grpc.RpcError as e:
            out["limited"].append([e.code().name, e.details()])

# Many concurrent calls on one connection, then close, several times.
names_total = 0
for _ in range(10):
    with grpc.insecure_channel(target) as ch:
        names = unary(ch, "/thanos.Store/LabelNames", NamesReq, NamesRes)
        futures = [names.future(NamesReq(start=0, end=10000), timeout=10) for _ in range(100)]
        names_total += sum(len(f.result().names) for f in futures)
out["names_total"] = names_total

with grpc.insecure_channel(target) as ch:
    out["health_after"] = unary(ch, "/grpc.health.v1.Health/Check", HealthReq, HealthRes)(
        HealthReq(), timeout=5).status

print(json.dumps(out))
