/**
 * The `serve` subcommand's flags (every flag of the Go gateway's `cmd/serve.go`, with the
 * objstore flags named `--objstore.config(-file)` and accepted under the Go spelling
 * `--parquet.objstore-config(-file)` too) and its typed, immutable config.
 *
 * @module
 */
import {
  atLeast,
  deepFreeze,
  distinctPorts,
  GLOBAL_FLAGS,
  type ListenerConfig,
  listenerConfig,
  listenerFlags,
  type LogConfig,
  logConfig,
  memlimitRatio,
} from "./common.ts";
import { flagStrings } from "./flag_strings.ts";
import { type FlagDef, parseFlagsSpelled, UsageError } from "./flags.ts";
import { objstoreFlags, type ObjstoreSource, objstoreSource } from "./objstore.ts";
import {
  parseTimeOrDuration,
  resolveTimeOrDuration,
  type TimeOrDuration,
} from "./time_or_duration.ts";

/** Every flag of `serve`. */
export const SERVE_FLAGS: readonly FlagDef[] = [
  ...objstoreFlags(
    "objstore.config",
    "parquet.objstore-config",
    "the Parquet bucket",
    "./data/parquet",
  ),
  {
    name: "tracing.exporter.type",
    kind: "enum",
    values: ["JAEGER", "STDOUT", ""],
    default: "",
    help: "Tracing exporter; empty disables tracing.",
  },
  {
    name: "tracing.jaeger.endpoint",
    kind: "string",
    placeholder: "URL",
    help: "Endpoint to send traces to, e.g. https://example.com:4318/v1/traces.",
  },
  {
    name: "tracing.sampling.param",
    kind: "float",
    default: "0.1",
    help: "Ratio of traces to sample for PROBABILISTIC sampling.",
  },
  {
    name: "tracing.sampling.type",
    kind: "enum",
    values: ["PROBABILISTIC", "ALWAYS", "NEVER"],
    default: "PROBABILISTIC",
    help: "Type of trace sampling.",
  },
  {
    name: "block.discovery.interval",
    kind: "duration",
    default: "1m",
    help: "Interval to discover blocks.",
  },
  {
    name: "block.discovery.concurrency",
    kind: "int",
    default: "1",
    help: "Concurrency for loading block metadata.",
  },
  {
    name: "block.syncer.interval",
    kind: "duration",
    default: "1m",
    help: "Interval to sync blocks.",
  },
  {
    name: "block.syncer.concurrency",
    kind: "int",
    default: "1",
    help: "Concurrency for loading blocks.",
  },
  {
    name: "block.syncer.read-buffer-size",
    kind: "bytes",
    default: "2MiB",
    help: "Read buffer size for chunk files.",
  },
  {
    name: "block.filter.type",
    kind: "enum",
    values: ["thanos-backfill", "all-metas"],
    default: "all-metas",
    help: "Which blocks to serve: all, or only what a Thanos endpoint does not cover (backfill).",
  },
  {
    name: "block.filter.thanos-backfill.endpoint",
    kind: "string",
    placeholder: "HOST:PORT",
    help: "Thanos gRPC endpoint whose time range is left out in thanos-backfill mode.",
  },
  {
    name: "block.filter.thanos-backfill.interval",
    kind: "duration",
    default: "1m",
    help: "Interval to update the thanos-backfill time range.",
  },
  {
    name: "block.filter.thanos-backfill.overlap",
    kind: "duration",
    default: "24h",
    help: "Overlap to leave visible in thanos-backfill mode.",
  },
  {
    name: "min-time",
    kind: "string",
    default: "0000-01-01T00:00:00Z",
    placeholder: "TIME",
    help: "Start of the time range this gateway serves (Thanos store's flag): an RFC3339 time, " +
      "or a duration relative to now such as -2w or -36h (units ms, s, m, h, d, w, y; give a " +
      "negative one as --min-time=-2w). Days ending before it are not loaded; queries are " +
      "clamped to it and Info reports it.",
  },
  {
    name: "max-time",
    kind: "string",
    default: "9999-12-31T23:59:59Z",
    placeholder: "TIME",
    help: "End of the time range this gateway serves, as --min-time. Days starting after it " +
      "are not loaded; queries are clamped to it.",
  },
  {
    name: "selector.relabel-config-file",
    kind: "string",
    placeholder: "FILE",
    help: "YAML file with Prometheus relabel rules applied to each stream's external labels " +
      "(Thanos store's flag): streams they drop are not loaded. Actions keep, drop, hashmod, " +
      "replace, labelmap, labeldrop, labelkeep, keepequal, dropequal; $(VAR) is replaced by " +
      "the environment variable.",
  },
  {
    name: "selector.relabel-config",
    kind: "string",
    placeholder: "YAML",
    help: "Alternative to --selector.relabel-config-file: the YAML content itself.",
  },
  {
    name: "block.labelfilepath",
    kind: "string",
    default: "/tmp",
    placeholder: "DIR",
    help: "Directory where label files are kept locally.",
  },
  {
    name: "query.step",
    kind: "duration",
    default: "30s",
    help: "Accepted for compatibility with the Go gateway, whose range queries default to this " +
      "step; here, as in Prometheus, a range query without step is a 400 error.",
  },
  { name: "query.lookback", kind: "duration", default: "5m", help: "Lookback delta of queries." },
  {
    name: "query.timeout",
    kind: "duration",
    default: "30s",
    help: "Timeout of queries; a request's timeout can only shorten it.",
  },
  {
    name: "query.engine.timeout",
    kind: "duration",
    default: "5m",
    help: "Maximum timeout of the query engine.",
  },
  {
    name: "query.max-samples",
    kind: "int",
    default: "10000000",
    help: "Most samples one query may hold in memory at once (Prometheus' flag); a query that " +
      "needs more fails with 422 execution, so this also bounds the samples it returns. A " +
      "sample takes about 29 B of V8 heap here: Prometheus' default, 50000000, would need " +
      "1.5 GB; 10000000 (300 MB) leaves room on a 4 GB machine for the response and the rest.",
  },
  {
    name: "query.workers",
    kind: "int",
    default: "0",
    help: "Worker threads evaluating queries, apart from the thread serving HTTP, gRPC and " +
      "health (0 is one per CPU core).",
  },
  {
    name: "query.workers.max-memory",
    kind: "bytes",
    default: "1GiB",
    help: "Memory (V8 heap and buffers) one query may add to its worker, past which it fails; " +
      "a worker holding more after a query is replaced (0B is unlimited).",
  },
  {
    name: "query.external-label",
    kind: "keyValues",
    help: "External label to add to results, replacing the blocks' external labels.",
  },
  {
    name: "query.limits.max-shard-count",
    kind: "int",
    default: "0",
    help: "Shards one query may touch in all operations (0 is unlimited).",
  },
  {
    name: "query.limits.select.max-chunk-bytes",
    kind: "bytes",
    default: "0B",
    help:
      "Chunk page bytes (as stored) one query may fetch in Select, in all (0B is unlimited, the " +
      "Go gateway's default). Chunks are read a batch of series at a time, so memory does not " +
      "grow with this total.",
  },
  {
    name: "query.limits.select.max-row-count",
    kind: "int",
    default: "1000000",
    help: "Rows (series of one day and shard) one query may fetch in Select (0 is unlimited, " +
      "the Go gateway's default). A selection holds the label sets of its rows, 200-400 B of " +
      "heap each, while its chunks stream: 1000000 rows about 400 MB.",
  },
  {
    name: "query.limits.label-values.max-row-count",
    kind: "int",
    default: "0",
    help: "Rows one query may cover in LabelValues: those matching match[], or without it " +
      "every row of the shards touched (0 is unlimited; memory grows with the distinct values, " +
      "not the rows).",
  },
  {
    name: "query.limits.label-names.max-row-count",
    kind: "int",
    default: "0",
    help: "Rows one query may cover in LabelNames: those matching match[], or without it " +
      "every row of the shards touched (0 is unlimited; memory grows with the distinct names, " +
      "not the rows).",
  },
  {
    name: "query.limits.queries.max-concurrent",
    kind: "int",
    default: "100",
    help: "Requests reading data (queries, series, label names and values) executed at once " +
      "per API (HTTP and gRPC each); the others wait in a queue for up to their timeout, " +
      "then fail with 503 timeout (gRPC DEADLINE_EXCEEDED) (0 is unlimited).",
  },
  {
    name: "query.limits.queries.max-queued",
    kind: "int",
    default: "1000",
    help: "Requests waiting for a place per API; more are refused at once with 503 unavailable " +
      "(gRPC RESOURCE_EXHAUSTED) (0 is unlimited; not in the Go gateway).",
  },
  {
    name: "query.storage.select.chunk-partition.max-range-bytes",
    kind: "bytes",
    default: "64MiB",
    help: "Coalesce chunk reads into ranges of at most this length.",
  },
  {
    name: "query.storage.select.chunk-partition.max-gap-bytes",
    kind: "bytes",
    default: "64MiB",
    help: "Largest gap merged into one range when coalescing chunk reads.",
  },
  {
    name: "query.storage.select.chunk-partition.max-concurrency",
    kind: "int",
    default: "8",
    help: "Concurrent object storage reads per partition (the Go gateway's default is 2, for its " +
      "larger chunk pages).",
  },
  {
    name: "query.storage.select.max-concurrency",
    kind: "int",
    default: "16",
    help: "Object storage reads in flight per query, over all its selects: chunk ranges and " +
      "label pages (0 is unlimited; not in the Go gateway).",
  },
  {
    name: "query.storage.page-cache-size",
    kind: "bytes",
    default: "128MiB",
    help: "Decoded Parquet pages kept in memory across queries, most of them in V8's heap " +
      "(not in the Go gateway; 0B disables).",
  },
  {
    name: "query.storage.offset-index-cache-size",
    kind: "bytes",
    default: "192MiB",
    help: "Offset indexes of chunks files (where each page lies) kept in memory, shared out " +
      "among the query threads like the page cache: a day of 1M series takes about 25MiB per " +
      "thread. Those evicted are read again from the bucket when a query needs them.",
  },
  {
    name: "storage.remote.read-sample-limit",
    kind: "int",
    default: "50000000",
    help: "Most samples one query of a remote read request (POST /api/v1/read) may return in a " +
      "SAMPLES response, as in Prometheus (0 is unlimited); streamed responses are not bound " +
      "by it. A SAMPLES response is held in memory whole, so --query.max-samples bounds the " +
      "samples of all its queries too.",
  },
  {
    name: "storage.remote.read-concurrent-limit",
    kind: "int",
    default: "10",
    help: "Remote read requests served at once; the others wait, up to --query.timeout " +
      "(0 is unlimited).",
  },
  {
    name: "storage.remote.read-max-bytes-in-frame",
    kind: "int",
    default: "1048576",
    help: "Bytes of labels and chunks after which a frame of a streamed remote read response " +
      "is closed (a frame may pass it by one chunk), as in Prometheus.",
  },
  ...listenerFlags("prometheus", 9000, "the Prometheus HTTP API"),
  {
    name: "http.prometheus.max-header-bytes",
    kind: "bytes",
    default: "64KiB",
    help: "Largest request line and headers the Prometheus HTTP API accepts; larger ones are " +
      "answered 431 (Go's limit is 1MiB; Deno's HTTP server refuses more than 64KiB with 400 " +
      "before the gateway sees them).",
  },
  {
    name: "http.prometheus.max-request-body-bytes",
    kind: "bytes",
    default: "10MiB",
    help: "Largest url-encoded request body the Prometheus HTTP API reads, as Go's form " +
      "parsing in Prometheus; larger ones are a 400 error (0B is unlimited).",
  },
  {
    name: "http.prometheus.max-query-bytes",
    kind: "bytes",
    default: "1MiB",
    help: "Longest PromQL query the Prometheus HTTP API accepts; longer ones are a 400 error " +
      "(0B is unlimited).",
  },
  ...listenerFlags("thanos", 9001, "the Thanos gRPC API"),
  ...listenerFlags("internal", 6060, "metrics and health endpoints"),
  {
    name: "grpc-server-tls-cert",
    kind: "string",
    placeholder: "FILE",
    help: "TLS certificate for the gRPC server; without it gRPC is plaintext (h2c).",
  },
  {
    name: "grpc-server-tls-key",
    kind: "string",
    placeholder: "FILE",
    help: "TLS private key for the gRPC server.",
  },
  {
    name: "grpc-server-tls-client-ca",
    kind: "string",
    placeholder: "FILE",
    help: "CA to verify gRPC client certificates with (enables mTLS).",
  },
  {
    name: "grpc-server-max-recv-msg-size",
    kind: "bytes",
    default: "64MiB",
    help: "Largest gRPC request message accepted, after decompression; larger ones fail with " +
      "RESOURCE_EXHAUSTED (Thanos allows 2GiB, which one request could hold in memory).",
  },
  {
    name: "grpc-server-max-send-msg-size",
    kind: "bytes",
    default: "2147483647B",
    help: "Largest gRPC response message sent (Thanos' default); a larger one fails its call " +
      "with RESOURCE_EXHAUSTED.",
  },
  ...GLOBAL_FLAGS,
];

/** The typed configuration of `serve`. */
export interface ServeConfig {
  /** The Parquet bucket's objstore config source. */
  readonly objstore: ObjstoreSource;
  /** Tracing. */
  readonly tracing: {
    readonly exporterType: "" | "JAEGER" | "STDOUT";
    readonly jaegerEndpoint?: string;
    readonly samplingParam: number;
    readonly samplingType: "PROBABILISTIC" | "ALWAYS" | "NEVER";
  };
  /** Block discovery. */
  readonly discovery: { readonly interval: number; readonly concurrency: number };
  /** Block syncing. */
  readonly syncer: {
    readonly interval: number;
    readonly concurrency: number;
    readonly readBufferSize: number;
    readonly labelFilePath: string;
  };
  /** The slice of the bucket served (Thanos store's selection flags). */
  readonly slice: {
    /** `--min-time`. */
    readonly minTime: TimeOrDuration;
    /** `--max-time`. */
    readonly maxTime: TimeOrDuration;
    /** `--selector.relabel-config-file`. */
    readonly relabelConfigFile?: string;
    /** `--selector.relabel-config`. */
    readonly relabelConfig?: string;
  };
  /** Block filter. */
  readonly filter: {
    readonly type: "all-metas" | "thanos-backfill";
    readonly thanosBackfill: {
      readonly endpoint?: string;
      readonly interval: number;
      readonly overlap: number;
    };
  };
  /** Query settings; durations in ms. */
  readonly query: {
    readonly lookback: number;
    readonly timeout: number;
    readonly engineTimeout: number;
    readonly externalLabels: Readonly<Record<string, string>>;
    /** `--query.max-samples`: samples one query may hold at once. */
    readonly maxSamples: number;
    readonly limits: {
      readonly maxShardCount: number;
      readonly selectMaxChunkBytes: number;
      readonly selectMaxRowCount: number;
      readonly labelValuesMaxRowCount: number;
      readonly labelNamesMaxRowCount: number;
      readonly maxConcurrentQueries: number;
      readonly maxQueuedQueries: number;
    };
    readonly chunkPartition: {
      readonly maxRangeBytes: number;
      readonly maxGapBytes: number;
      readonly maxConcurrency: number;
      readonly maxQueryConcurrency: number;
    };
    /** Bytes of decoded pages cached across queries (0 disables). */
    readonly pageCacheBytes: number;
    /** Bytes of chunks-file offset indexes kept across queries. */
    readonly offsetIndexCacheBytes: number;
    /** Query worker threads (0: one per CPU core). */
    readonly workers: number;
    /** Memory one query may add to its worker, bytes (0: no limit). */
    readonly workerMaxMemory: number;
  };
  /** Remote read (`/api/v1/read`): Prometheus' `--storage.remote.read-*` flags. */
  readonly remoteRead: {
    /** Samples one query of a SAMPLES response may return (0: no limit). */
    readonly sampleLimit: number;
    /** Requests served at once (0: no limit). */
    readonly concurrentLimit: number;
    /** Bytes after which a frame of a streamed response is closed. */
    readonly maxBytesInFrame: number;
  };
  /** Listeners. */
  readonly http: {
    readonly prometheus: ListenerConfig & {
      /** Largest request line plus headers, bytes (0: Deno's own limit only). */
      readonly maxHeaderBytes: number;
      /** Largest url-encoded request body read, bytes (0: no limit). */
      readonly maxRequestBodyBytes: number;
      /** Longest query accepted, UTF-8 bytes (0: no limit). */
      readonly maxQueryBytes: number;
    };
    readonly thanos: ListenerConfig;
    readonly internal: ListenerConfig;
  };
  /** gRPC TLS files; all undefined for plaintext. */
  readonly grpcTls: { readonly cert?: string; readonly key?: string; readonly clientCa?: string };
  /** gRPC message size limits, bytes. */
  readonly grpcMessages: { readonly maxReceiveBytes: number; readonly maxSendBytes: number };
  /** Logging. */
  readonly log: LogConfig;
  /** Every flag with its effective value as text (secrets masked), for `/api/v1/status/flags`. */
  readonly flags: Readonly<Record<string, string>>;
  /** `--memlimit.ratio` if given: accepted for the Go gateway's scripts, without effect. */
  readonly memlimitRatio?: number;
}

/** Parses `serve`'s arguments into its config. Throws UsageError for bad input. */
export function parseServeConfig(args: readonly string[]): ServeConfig {
  const parsed = parseFlagsSpelled(SERVE_FLAGS, args);
  const v = parsed.values;
  const str = (name: string) => v[name] as string | undefined;
  const num = (name: string) => v[name] as number;
  for (
    const name of [
      "query.limits.max-shard-count",
      "query.limits.select.max-row-count",
      "query.limits.label-values.max-row-count",
      "query.limits.label-names.max-row-count",
      "query.limits.queries.max-concurrent",
      "query.limits.queries.max-queued",
      "query.max-samples",
      "storage.remote.read-sample-limit",
      "storage.remote.read-concurrent-limit",
      "query.workers",
    ]
  ) atLeast(v, name, 0);
  const filterType = str("block.filter.type") as "all-metas" | "thanos-backfill";
  if (filterType === "thanos-backfill" && !str("block.filter.thanos-backfill.endpoint")) {
    throw new UsageError(
      "--block.filter.thanos-backfill.endpoint: required when --block.filter.type=thanos-backfill",
    );
  }
  const tls = {
    cert: str("grpc-server-tls-cert"),
    key: str("grpc-server-tls-key"),
    clientCa: str("grpc-server-tls-client-ca"),
  };
  if ((tls.cert === undefined) !== (tls.key === undefined)) {
    throw new UsageError(
      "--grpc-server-tls-cert and --grpc-server-tls-key: both are needed for TLS",
    );
  }
  if (tls.clientCa && !tls.cert) {
    throw new UsageError("--grpc-server-tls-client-ca: needs --grpc-server-tls-cert and -key");
  }
  const samplingParam = num("tracing.sampling.param");
  if (samplingParam < 0 || samplingParam > 1) {
    throw new UsageError(`--tracing.sampling.param: must be within 0..1, got ${samplingParam}`);
  }
  if (num("query.lookback") <= 0) throw new UsageError("--query.lookback: must be positive");
  const slice = sliceConfig(str);
  const http = {
    prometheus: {
      ...listenerConfig(v, "prometheus"),
      maxHeaderBytes: num("http.prometheus.max-header-bytes"),
      maxRequestBodyBytes: num("http.prometheus.max-request-body-bytes"),
      maxQueryBytes: num("http.prometheus.max-query-bytes"),
    },
    thanos: listenerConfig(v, "thanos"),
    internal: listenerConfig(v, "internal"),
  };
  distinctPorts(http);
  return deepFreeze({
    objstore: objstoreSource(parsed, "objstore.config"),
    tracing: {
      exporterType: str("tracing.exporter.type") as "" | "JAEGER" | "STDOUT",
      jaegerEndpoint: str("tracing.jaeger.endpoint"),
      samplingParam,
      samplingType: str("tracing.sampling.type") as "PROBABILISTIC" | "ALWAYS" | "NEVER",
    },
    discovery: {
      interval: num("block.discovery.interval"),
      concurrency: atLeast(v, "block.discovery.concurrency", 1),
    },
    syncer: {
      interval: num("block.syncer.interval"),
      concurrency: atLeast(v, "block.syncer.concurrency", 1),
      readBufferSize: num("block.syncer.read-buffer-size"),
      labelFilePath: str("block.labelfilepath")!,
    },
    slice,
    filter: {
      type: filterType,
      thanosBackfill: {
        endpoint: str("block.filter.thanos-backfill.endpoint"),
        interval: num("block.filter.thanos-backfill.interval"),
        overlap: num("block.filter.thanos-backfill.overlap"),
      },
    },
    query: {
      lookback: num("query.lookback"),
      timeout: num("query.timeout"),
      engineTimeout: num("query.engine.timeout"),
      externalLabels: v["query.external-label"] as Record<string, string>,
      maxSamples: num("query.max-samples"),
      limits: {
        maxShardCount: num("query.limits.max-shard-count"),
        selectMaxChunkBytes: num("query.limits.select.max-chunk-bytes"),
        selectMaxRowCount: num("query.limits.select.max-row-count"),
        labelValuesMaxRowCount: num("query.limits.label-values.max-row-count"),
        labelNamesMaxRowCount: num("query.limits.label-names.max-row-count"),
        maxConcurrentQueries: num("query.limits.queries.max-concurrent"),
        maxQueuedQueries: num("query.limits.queries.max-queued"),
      },
      chunkPartition: {
        maxRangeBytes: num("query.storage.select.chunk-partition.max-range-bytes"),
        maxGapBytes: num("query.storage.select.chunk-partition.max-gap-bytes"),
        maxConcurrency: atLeast(v, "query.storage.select.chunk-partition.max-concurrency", 1),
        maxQueryConcurrency: atLeast(v, "query.storage.select.max-concurrency", 0),
      },
      pageCacheBytes: num("query.storage.page-cache-size"),
      offsetIndexCacheBytes: num("query.storage.offset-index-cache-size"),
      workers: num("query.workers"),
      workerMaxMemory: num("query.workers.max-memory"),
    },
    remoteRead: {
      sampleLimit: num("storage.remote.read-sample-limit"),
      concurrentLimit: num("storage.remote.read-concurrent-limit"),
      maxBytesInFrame: atLeast(v, "storage.remote.read-max-bytes-in-frame", 1),
    },
    http,
    grpcTls: tls,
    grpcMessages: {
      maxReceiveBytes: atLeast(v, "grpc-server-max-recv-msg-size", 1),
      maxSendBytes: atLeast(v, "grpc-server-max-send-msg-size", 1),
    },
    log: logConfig(v),
    flags: flagStrings(SERVE_FLAGS, v),
    memlimitRatio: memlimitRatio(v),
  });
}

/** Reads the slice flags; the relabel rules are read and checked when `serve` starts. */
function sliceConfig(str: (name: string) => string | undefined): ServeConfig["slice"] {
  const time = (name: string) => {
    try {
      return parseTimeOrDuration(str(name)!);
    } catch (e) {
      throw new UsageError(`--${name}: ${(e as Error).message}`);
    }
  };
  const minTime = time("min-time"), maxTime = time("max-time");
  const now = Date.now();
  if (resolveTimeOrDuration(minTime, now) > resolveTimeOrDuration(maxTime, now)) {
    throw new UsageError(
      `--min-time=${str("min-time")} is after --max-time=${str("max-time")}`,
    );
  }
  const relabelConfigFile = str("selector.relabel-config-file");
  const relabelConfig = str("selector.relabel-config");
  if (relabelConfigFile && relabelConfig) {
    throw new UsageError(
      "--selector.relabel-config-file and --selector.relabel-config: give only one",
    );
  }
  return { minTime, maxTime, relabelConfigFile, relabelConfig };
}
