import assert from "node:assert/strict";
import { tmpdir } from "node:os";
import { parseConvertConfig } from "./convert_config.ts";
import { UsageError } from "./flags.ts";
import { parseServeConfig } from "./serve_config.ts";

const MIN = 60_000;
const H = 3_600_000;
const MiB = 1024 * 1024;

Deno.test("serve defaults are the Go gateway's, but for the memory bounds", () => {
  const c = parseServeConfig([]);
  assert.deepEqual(c.objstore, { file: undefined, inline: undefined, flag: "objstore.config" });
  assert.deepEqual(c.tracing, {
    exporterType: "",
    jaegerEndpoint: undefined,
    samplingParam: 0.1,
    samplingType: "PROBABILISTIC",
  });
  assert.deepEqual(c.discovery, { interval: MIN, concurrency: 1 });
  assert.deepEqual(c.syncer, {
    interval: MIN,
    concurrency: 1,
    readBufferSize: 2 * MiB,
    labelFilePath: "/tmp",
  });
  assert.deepEqual(c.filter, {
    type: "all-metas",
    thanosBackfill: { endpoint: undefined, interval: MIN, overlap: 24 * H },
  });
  // Thanos store's defaults: the years 0000 to 9999, every stream.
  assert.deepEqual(c.slice, {
    // 0000-01-01T00:00:00Z as Go's time.Parse reads it (testdata/rfc3339.json).
    minTime: { time: -62167219200000 },
    maxTime: { time: Date.UTC(9999, 11, 31, 23, 59, 59) },
    relabelConfigFile: undefined,
    relabelConfig: undefined,
  });
  assert.deepEqual(c.query, {
    lookback: 5 * MIN,
    timeout: 30_000,
    engineTimeout: 5 * MIN,
    externalLabels: {},
    // Bounds for a 4 GB machine (the Go gateway has none: 0, and no max-samples flag).
    maxSamples: 10_000_000,
    limits: {
      maxShardCount: 0,
      selectMaxChunkBytes: 0,
      selectMaxRowCount: 1_000_000,
      labelValuesMaxRowCount: 0,
      labelNamesMaxRowCount: 0,
      maxConcurrentQueries: 100,
      maxQueuedQueries: 1000,
    },
    chunkPartition: {
      maxRangeBytes: 64 * MiB,
      maxGapBytes: 64 * MiB,
      // Go: 2, for its 2 MiB chunk pages (chunk_reader.ts).
      maxConcurrency: 8,
      // Not in the Go gateway, which has no cap per query.
      maxQueryConcurrency: 16,
    },
    pageCacheBytes: 128 * MiB,
    offsetIndexCacheBytes: 192 * MiB,
    workers: 0,
    workerMaxMemory: 1024 * MiB,
  });
  assert.deepEqual(c.http, {
    prometheus: {
      port: 9000,
      shutdownTimeout: 10_000,
      maxHeaderBytes: 64 * 1024,
      maxRequestBodyBytes: 10 * MiB,
      maxQueryBytes: MiB,
    },
    thanos: { port: 9001, shutdownTimeout: 10_000 },
    internal: { port: 6060, shutdownTimeout: 10_000 },
  });
  assert.deepEqual(c.log, { level: "info", format: "logfmt" });
  assert.ok(Object.isFrozen(c) && Object.isFrozen(c.query.limits), "config is immutable");
});

Deno.test("convert defaults are the Go gateway's", () => {
  const c = parseConvertConfig([]);
  assert.deepEqual(c.parquetDiscovery, { interval: 30 * MIN, concurrency: 1 });
  assert.deepEqual(c.tsdbDiscovery, {
    interval: 30 * MIN,
    concurrency: 1,
    minBlockAge: 0,
    selectExternalLabels: [],
  });
  assert.deepEqual(c.convert, {
    runInterval: H,
    progressInterval: 5 * MIN,
    runTimeout: 24 * H,
    retryInterval: MIN,
    tempDir: tmpdir(),
    recompress: true,
    gracePeriod: 48 * H,
    maxPlanDays: 2,
    shard: { index: 0, count: 1 },
    rowGroupSize: 1_000_000,
    rowGroupCount: 6,
    rowGroupMaxBytes: 64 * 2 ** 20,
    sortingLabels: ["__name__"],
    sortBufferSize: 64 * 2 ** 20,
    // Go's library default for labels; 16 KiB chunk pages instead of Go's 2 MiB (writer.ts).
    labelPageBytes: 256 * 1024,
    chunkPageBytes: 16 * 1024,
    // Go compresses chunks with zstd; they are compressed already (writer.ts).
    chunksCodec: "UNCOMPRESSED",
    downloadConcurrency: 4,
    blockDownloadConcurrency: 1,
    encodingConcurrency: 4,
    writeConcurrency: 4,
    retentionDays: 0,
    once: false,
    dryRun: false,
  });
  assert.deepEqual(c.http.internal, { port: 6060, shutdownTimeout: 10_000 });
});

Deno.test("serve flags are parsed into the config", () => {
  const c = parseServeConfig([
    "--objstore.config-file=/etc/bucket.yaml",
    "--query.external-label=cluster=eu",
    "--query.external-label",
    "replica=b",
    "--query.lookback=10m",
    "--query.limits.select.max-chunk-bytes=1GiB",
    "--query.max-samples=50000000",
    "--query.limits.queries.max-queued=0",
    "--block.filter.type=thanos-backfill",
    "--block.filter.thanos-backfill.endpoint=thanos:10901",
    "--http.prometheus.port=0",
    "--grpc-server-tls-cert=c.pem",
    "--grpc-server-tls-key=k.pem",
    "--logger.level=DEBUG",
    "--log.format=json",
  ]);
  assert.equal(c.objstore.file, "/etc/bucket.yaml");
  assert.deepEqual(c.query.externalLabels, { cluster: "eu", replica: "b" });
  assert.equal(c.query.lookback, 10 * MIN);
  assert.equal(c.query.limits.selectMaxChunkBytes, 1024 * MiB);
  assert.equal(c.query.maxSamples, 50_000_000);
  assert.equal(c.query.limits.maxQueuedQueries, 0);
  assert.throws(() => parseServeConfig(["--query.max-samples=-1"]), UsageError);
  assert.equal(c.filter.thanosBackfill.endpoint, "thanos:10901");
  assert.equal(c.http.prometheus.port, 0);
  // Port 0 (a free port each) may repeat.
  assert.equal(
    parseServeConfig(["--http.thanos.port=0", "--http.internal.port=0"]).http.thanos.port,
    0,
  );
  assert.deepEqual(c.grpcTls, { cert: "c.pem", key: "k.pem", clientCa: undefined });
  assert.deepEqual(c.log, { level: "debug", format: "json" });
  // Every flag, as text, for /api/v1/status/flags.
  assert.equal(c.flags["objstore.config-file"], "/etc/bucket.yaml");
  assert.equal(c.flags["query.external-label"], "cluster=eu,replica=b");
  assert.equal(c.flags["query.lookback"], "10m");
  assert.equal(c.flags["query.step"], "30s");
  assert.equal(c.flags["logger.level"], "DEBUG");
  assert.ok(Object.isFrozen(c.flags));
});

Deno.test("serve's inline objstore config is not echoed in the flags", () => {
  const yaml = "type: S3\nconfig: {bucket: b, secret_key: hunter2}";
  const c = parseServeConfig([`--objstore.config=${yaml}`]);
  assert.equal(c.objstore.inline, yaml);
  assert.equal(c.flags["objstore.config"], "<secret>");
});

Deno.test("convert flags are parsed into the config", () => {
  const c = parseConvertConfig([
    "--tsdb.objstore.config=type: FILESYSTEM",
    "--parquet.objstore.config-file=p.yaml",
    "--convert.sorting.label=job",
    "--convert.sorting.label=__name__",
    "--no-convert.recompress",
    "--convert.once",
    "--convert.rowgroup.size=250",
    "--convert.shard=2/3",
    "--convert.chunk-compression=zstd",
    '--tsdb.discovery.select-external-labels={cluster="a"}',
  ]);
  assert.equal(c.tsdbObjstore.inline, "type: FILESYSTEM");
  assert.equal(c.parquetObjstore.file, "p.yaml");
  assert.deepEqual(c.convert.sortingLabels, ["job", "__name__"]);
  assert.equal(c.convert.recompress, false);
  assert.equal(c.convert.once, true);
  assert.equal(c.convert.rowGroupSize, 250);
  assert.deepEqual(c.convert.shard, { index: 2, count: 3 });
  assert.equal(c.convert.chunksCodec, "ZSTD");
  assert.deepEqual(c.tsdbDiscovery.selectExternalLabels, ['{cluster="a"}']);
});

Deno.test("the Go gateway's objstore flag spellings are accepted", () => {
  const serve = parseServeConfig(["--parquet.objstore-config-file=/etc/pq.yaml"]);
  assert.deepEqual(serve.objstore, {
    file: "/etc/pq.yaml",
    inline: undefined,
    flag: "parquet.objstore-config",
  });
  assert.equal(
    parseServeConfig(["--parquet.objstore-config=type: GCS"]).objstore.inline,
    "type: GCS",
  );
  const convert = parseConvertConfig([
    "--tsdb.objstore-config-file=/etc/tsdb.yaml",
    "--parquet.objstore-config=type: FILESYSTEM",
  ]);
  assert.deepEqual(convert.tsdbObjstore, {
    file: "/etc/tsdb.yaml",
    inline: undefined,
    flag: "tsdb.objstore-config",
  });
  assert.deepEqual(convert.parquetObjstore, {
    file: undefined,
    inline: "type: FILESYSTEM",
    flag: "parquet.objstore-config",
  });
  assert.equal(
    parseConvertConfig(["--tsdb.objstore-config=type: S3"]).tsdbObjstore.inline,
    "type: S3",
  );
  assert.equal(
    parseConvertConfig(["--parquet.objstore-config-file=p.yaml"]).parquetObjstore.file,
    "p.yaml",
  );
});

Deno.test("--memlimit.ratio is accepted as in the Go gateway, and only within (0, 1]", () => {
  assert.equal(parseServeConfig([]).memlimitRatio, undefined);
  assert.equal(parseServeConfig(["--memlimit.ratio=0.9"]).memlimitRatio, 0.9);
  assert.equal(parseConvertConfig(["--memlimit.ratio", "1"]).memlimitRatio, 1);
  for (const bad of ["0", "1.5", "-0.1"]) {
    assert.throws(
      () => parseServeConfig([`--memlimit.ratio=${bad}`]),
      (e: Error) => e instanceof UsageError && /^--memlimit\.ratio: must be within/.test(e.message),
    );
  }
});

Deno.test("serve slice flags: times, relative durations, relabel config", () => {
  const c = parseServeConfig([
    "--min-time=-2w",
    "--max-time=2030-01-01T00:00:00+01:00",
    "--selector.relabel-config-file=/etc/slice.yaml",
  ]);
  assert.deepEqual(c.slice, {
    minTime: { offset: -14 * 24 * H },
    maxTime: { time: Date.UTC(2029, 11, 31, 23) },
    relabelConfigFile: "/etc/slice.yaml",
    relabelConfig: undefined,
  });
  assert.equal(c.flags["min-time"], "-2w");
  const inline = parseServeConfig(["--selector.relabel-config=- {action: keep}"]);
  assert.equal(inline.slice.relabelConfig, "- {action: keep}");
});

Deno.test("cross-flag validation names the flags", () => {
  const cases: Array<[() => unknown, RegExp]> = [
    [() => parseServeConfig(["--block.filter.type=thanos-backfill"]), /thanos-backfill\.endpoint/],
    [() => parseServeConfig(["--grpc-server-tls-cert=c"]), /--grpc-server-tls-key/],
    [() => parseServeConfig(["--http.thanos.port=70000"]), /--http\.thanos\.port: port 70000/],
    [
      () => parseServeConfig(["--http.thanos.port=9000"]),
      /^--http\.thanos\.port=9000: the same port as --http\.prometheus\.port/,
    ],
    [
      () => parseServeConfig(["--http.internal.port=9001"]),
      /^--http\.internal\.port=9001: the same port as --http\.thanos\.port/,
    ],
    [() => parseServeConfig(["--tracing.sampling.param=2"]), /--tracing\.sampling\.param/],
    [() => parseServeConfig(["--block.syncer.concurrency=0"]), /at least 1/],
    [() => parseServeConfig(["--min-time=yesterday"]), /^--min-time: "yesterday" is neither/],
    [() => parseServeConfig(["--max-time=-1.5h"]), /^--max-time: "-1.5h" is neither/],
    [
      () =>
        parseServeConfig(["--min-time=2025-01-02T00:00:00Z", "--max-time=2025-01-01T00:00:00Z"]),
      /^--min-time=2025-01-02T00:00:00Z is after --max-time=2025-01-01T00:00:00Z/,
    ],
    [() => parseServeConfig(["--min-time=1h", "--max-time=0"]), /is after --max-time=0/],
    [
      () => parseServeConfig(["--selector.relabel-config-file=f", "--selector.relabel-config=[]"]),
      /give only one/,
    ],
    [() => parseConvertConfig(["--convert.retention-days=40000"]), /at most 36500/],
    [() => parseConvertConfig(["--convert.rowgroup.count=0"]), /--convert\.rowgroup\.count/],
    [() => parseConvertConfig(["--convert.shard=3/3"]), /^--convert\.shard: shard 3 of 3 does/],
    [() => parseConvertConfig(["--convert.shard=1"]), /^--convert\.shard: "1" is not of the/],
    [() => parseConvertConfig(["--convert.chunk-compression=gzip"]), /chunk-compression/],
    [
      () => parseConvertConfig(["--tsdb.discovery.select-external-labels=cluster"]),
      /not a selector/,
    ],
  ];
  for (const [fn, pattern] of cases) {
    assert.throws(fn, (e: Error) => e instanceof UsageError && pattern.test(e.message));
  }
});
