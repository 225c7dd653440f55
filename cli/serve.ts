/**
 * The `serve` subcommand: discovers and loads the Parquet days of the bucket, or of the slice of
 * it that `--min-time`, `--max-time` and `--selector.relabel-config` select, then answers PromQL
 * over the Prometheus HTTP API and the Thanos gRPC APIs until a shutdown signal.
 *
 * Start-up order follows the Go gateway: the first discovery and sync run before any listener
 * opens (so the first answer already sees the data), then `/-/ready` turns 200 and discovery and
 * sync repeat on their intervals. A failing later pass keeps the previous state.
 *
 * Queries are evaluated by a pool of worker threads (`--query.workers`), which open the days
 * each sync pass leaves loaded; `/-/ready` waits for them too. It stays 503 while days are
 * discovered but none of them loads, since the server would only answer with empty results.
 * Without read access to its own code (scoped `--allow-read` under `deno run`) no worker can
 * start: queries are then evaluated on the serving thread, which start-up says in a warning.
 *
 * @module
 */
import denoJson from "../deno.json" with { type: "json" };
import { repeat } from "../convert/loop.ts";
import { Semaphore } from "../internal/concurrency.ts";
import { Engine } from "../engine/engine.ts";
import { MAX_EXPRESSION_DEPTH } from "../engine/parser.ts";
import { compareLabels, labelsFromRecord } from "../model/labels.ts";
import { type Logger, rateLimitedWarn } from "../internal/log.ts";
import { permissionDenial } from "../internal/permission.ts";
import { createRegistry } from "../internal/metrics.ts";
import { ThanosBackfillFilter } from "../server/backfill_filter.ts";
import type { GatewaySlice } from "../server/slice.ts";
import { dayFiles, LocalLabelFileStore, ParquetDB, Syncer, SyncError } from "../server/db/mod.ts";
import { QueryPool, unreadableWorkerCode } from "../server/query/mod.ts";
import { parquetStoreSource } from "../server/db/store_source.ts";
import { grpcMetricsObserver } from "../server/grpc/metrics.ts";
import { startThanosGrpcServer, type ThanosGrpcOptions } from "../server/grpc/thanos/serve.ts";
import { createPrometheusApi, MAX_POINTS } from "../server/http/api.ts";
import { createGatewayApi, type LimitInForce } from "../server/http/gateway_api.ts";
import { createRemoteReadHandler } from "../server/http/remote_read.ts";
import { combineHandlers } from "../server/http/routes.ts";
import { type HttpServerOptions, startHttpServer } from "../server/http/server.ts";
import { createUiHandler } from "../server/http/ui.ts";
import { startInternalServer } from "../server/internal.ts";
import {
  type BucketConfig,
  bucketConfigYaml,
  createBucket,
  instrumentBucket,
} from "../storage/objstore/mod.ts";
import { ParquetDiscoverer } from "../storage/parquet/discovery.ts";
import { loadObjstore } from "./objstore.ts";
import { listenOn } from "./common.ts";
import { SERVE_FLAGS, type ServeConfig } from "./serve_config.ts";
import { loadGatewaySlice } from "./serve_slice.ts";
import {
  bucketScopes,
  checkPermissions,
  configFileScopes,
  explainDenial,
  listenScope,
  objstoreFlag,
  pathScopes,
  type PermissionScope,
} from "./permissions.ts";

/** The bucket `serve` uses when no objstore flag is given: the demo's local data. */
export const DEFAULT_SERVE_BUCKET = {
  type: "FILESYSTEM" as const,
  config: { directory: "./data/parquet" },
  prefix: "",
};

const SERVE_CONFIG_HEADER =
  "# parquet-gateway serve has no Prometheus configuration. This is the object storage\n" +
  "# configuration in effect (defaults filled in, credentials redacted).\n";

/** gRPC connection and handler errors are logged at most once per this interval, ms. */
const GRPC_ERROR_LOG_INTERVAL_MS = 10_000;

/** Decoded label dictionary values cached in all, shared out like the page cache. */
const DICTIONARY_CACHE_ENTRIES = 1_000_000;

/**
 * Runs `serve` until `signal` aborts; resolves to the process exit code. Rejects with a
 * `PermissionDeniedError` when a permission it needs is refused: checked before anything listens
 * (the bucket's directory, `--block.labelfilepath`, the TLS files, the ports) and reported
 * whenever Deno refuses one later, the first discovery and sync included, so that it never turns
 * ready without the days it may not load.
 */
export async function runServe(
  config: ServeConfig,
  logger: Logger,
  signal: AbortSignal,
): Promise<number> {
  const scopes: PermissionScope[] = configFileScopes(config.objstore);
  const relabelFile = config.slice.relabelConfigFile;
  if (relabelFile) scopes.push(...pathScopes(relabelFile, "--selector.relabel-config-file", false));
  try {
    // Configuration errors surface before anything listens.
    const slice = await loadGatewaySlice(config.slice);
    const bucketConfig = await loadObjstore(config.objstore, DEFAULT_SERVE_BUCKET, logger);
    scopes.push(...serveScopes(config, bucketConfig));
    checkPermissions(scopes);
    return await serve(config, bucketConfig, slice, logger, signal);
  } catch (err) {
    throw explainDenial(err, scopes) ?? err;
  }
}

/** What `serve`'s flags make it touch, besides the objstore YAML file. */
function serveScopes(config: ServeConfig, bucketConfig: BucketConfig): PermissionScope[] {
  const tls = config.grpcTls;
  const files: [string | undefined, string][] = [
    [tls.cert, "--grpc-server-tls-cert"],
    [tls.key, "--grpc-server-tls-key"],
    [tls.clientCa, "--grpc-server-tls-client-ca"],
  ];
  const backfill = config.filter.type === "thanos-backfill"
    ? config.filter.thanosBackfill.endpoint
    : undefined;
  return [
    ...bucketScopes(bucketConfig, objstoreFlag(config.objstore), false),
    ...pathScopes(
      config.syncer.labelFilePath,
      "the label file directory of --block.labelfilepath",
      true,
    ),
    ...files.flatMap(([file, flag]) => file ? pathScopes(file, flag, false) : []),
    listenScope(config.http.internal.port, "http.internal.port"),
    listenScope(config.http.prometheus.port, "http.prometheus.port"),
    listenScope(config.http.thanos.port, "http.thanos.port"),
    ...(backfill
      ? [{
        permission: "net" as const,
        resource: backfill,
        origin: "--block.filter.thanos-backfill.endpoint",
      }]
      : []),
  ];
}

async function serve(
  config: ServeConfig,
  bucketConfig: BucketConfig,
  slice: GatewaySlice,
  logger: Logger,
  signal: AbortSignal,
): Promise<number> {
  const configLoadedAt = Date.now();
  const tls = config.grpcTls.cert
    ? {
      cert: await Deno.readTextFile(config.grpcTls.cert),
      key: await Deno.readTextFile(config.grpcTls.key!),
      clientCa: config.grpcTls.clientCa
        ? await Deno.readTextFile(config.grpcTls.clientCa)
        : undefined,
    }
    : undefined;
  const registry = createRegistry();
  const unreadableCode = unreadableWorkerCode();
  const workers = unreadableCode.length > 0
    ? 0
    : config.query.workers || navigator.hardwareConcurrency;
  if (unreadableCode.length > 0) {
    logger.warn(
      "query workers cannot load their code, so queries are evaluated on the serving thread " +
        "(a long query delays every other request); grant read access to the gateway's code",
      { grant: `--allow-read=${unreadableCode.join(",")}` },
    );
  }
  // The caches are shared out equally between the main thread (series, labels and the Store
  // API) and each query worker, so that together they stay within the configured size.
  const cacheShares = workers + 1;
  let pool: QueryPool | undefined;
  const internalOptions = {
    port: config.http.internal.port,
    registry,
    metrics: () => pool?.metrics(registry) ?? registry.metrics(),
    logger: logger.with({ component: "internal" }),
  };
  const internal = await listenOn(
    "http.internal.port",
    internalOptions.port,
    () => startInternalServer(internalOptions),
  );
  const stopLoops = new AbortController();
  const loops: Promise<void>[] = [];
  let filter: ThanosBackfillFilter | undefined;
  let syncer: Syncer | undefined;
  try {
    const bucket = instrumentBucket(await createBucket(bucketConfig), registry, "parquet");
    try {
      if (config.filter.type === "thanos-backfill") {
        filter = new ThanosBackfillFilter({
          endpoint: config.filter.thanosBackfill.endpoint!,
          intervalMs: config.filter.thanosBackfill.interval,
          overlapMs: config.filter.thanosBackfill.overlap,
          logger: logger.with({ component: "backfill-filter" }),
        });
        await filter.start();
      }
      const keep = filter ? (d: { minT: number; maxT: number }) => filter!.keep(d) : undefined;
      // Only this gateway's slice is discovered, so only it is loaded and announced.
      const discoverer = new ParquetDiscoverer(bucket, {
        concurrency: config.discovery.concurrency,
        logger: logger.with({ component: "discoverer" }),
        registry,
        selectStream: (externalLabels) => slice.keepsStream(externalLabels),
        selectDay: (day) => slice.keepsDay(day),
      });
      const sync = syncer = new Syncer({
        bucket,
        streams: () => discoverer.streams,
        labelFiles: new LocalLabelFileStore(bucket, config.syncer.labelFilePath),
        concurrency: config.syncer.concurrency,
        pageCacheBytes: Math.floor(config.query.pageCacheBytes / cacheShares),
        locationCacheBytes: Math.floor(config.query.offsetIndexCacheBytes / cacheShares),
        dictionaryCacheEntries: Math.floor(DICTIONARY_CACHE_ENTRIES / cacheShares),
        keep,
        logger: logger.with({ component: "syncer" }),
        registry,
      });
      const limits = {
        maxShards: config.query.limits.maxShardCount,
        maxSelectRows: config.query.limits.selectMaxRowCount,
        maxChunkBytes: config.query.limits.selectMaxChunkBytes,
        maxLabelNamesRows: config.query.limits.labelNamesMaxRowCount,
        maxLabelValuesRows: config.query.limits.labelValuesMaxRowCount,
      };
      // Prometheus' defaults: experimental PromQL features and delayed name removal off.
      const engineOptions = {
        lookbackDelta: config.query.lookback,
        timeout: config.query.engineTimeout,
        maxSamples: config.query.maxSamples,
        features: [],
      };
      // Started before the first sync, so that the workers load their code meanwhile.
      const queryPool = pool = workers === 0 ? undefined : new QueryPool({
        workers,
        config: {
          bucket: bucketConfig,
          labelFileDir: config.syncer.labelFilePath,
          openConcurrency: config.syncer.concurrency,
          pageCacheBytes: Math.floor(config.query.pageCacheBytes / cacheShares),
          locationCacheBytes: Math.floor(config.query.offsetIndexCacheBytes / cacheShares),
          dictionaryCacheEntries: Math.floor(DICTIONARY_CACHE_ENTRIES / cacheShares),
          memoryLimitBytes: config.query.workerMaxMemory,
          engine: engineOptions,
          db: {
            externalLabels: config.query.externalLabels,
            limits,
            chunkPartition: config.query.chunkPartition,
          },
        },
        hidden: () =>
          keep
            ? sync.days.filter((d) => !keep({ minT: d.mint, maxT: d.maxt }))
              .map((d) => ({ minT: d.mint, maxT: d.maxt }))
            : [],
        timeLimit: () => slice.range(),
        logger: logger.with({ component: "query-pool" }),
        registry,
      });
      queryPool?.start();
      let serving = false;
      // After every sync pass: the workers get the days (and retry any they could not open),
      // and readiness follows what loaded.
      const publish = () => {
        queryPool?.update(sync.days.map(dayFiles), sync.unavailable);
        if (!serving) return;
        const failed = sync.unavailable;
        if (sync.days.length === 0 && failed.length > 0) {
          internal.setReady(
            false,
            `none of the ${failed.length} day(s) found loaded; ${failed[0].key}: ` +
              failed[0].reason,
          );
        } else {
          internal.setReady(true);
        }
      };
      await discoverer.discover(signal);
      try {
        await sync.sync(signal);
      } catch (err) {
        // Days that failed are logged and retried by the next sync; the others are served. A
        // refused permission is not transient: serve stops rather than turn ready without them.
        if (!(err instanceof SyncError) || permissionDenial(err)) throw err;
        logger.warn("some days failed to load", { err });
      }
      logger.info("initial sync done", {
        days: sync.days.length,
        failed: sync.unavailable.length,
      });
      publish();
      loops.push(
        repeat(
          config.discovery.interval,
          stopLoops.signal,
          logger,
          "discovery",
          () => discoverer.discover(stopLoops.signal),
          false,
        ),
        repeat(
          config.syncer.interval,
          stopLoops.signal,
          logger,
          "sync",
          () => sync.sync(stopLoops.signal).finally(publish),
          false,
        ),
      );

      // A loop ends before the signal only with a refused permission, which stops serve. Handled
      // here so that it cannot go unobserved while the listeners start.
      const loopsEnded = Promise.all(loops);
      loopsEnded.catch(() => {});

      const db = new ParquetDB({
        days: () => sync.days,
        externalLabels: config.query.externalLabels,
        unavailable: () => sync.unavailable,
        limits,
        chunkPartition: config.query.chunkPartition,
        keep,
        timeLimit: () => slice.range(),
        registry,
      });
      // Parses queries on this thread; the workers, if any, evaluate them.
      const engine = new Engine(engineOptions);
      const httpOptions: HttpServerOptions = {
        port: config.http.prometheus.port,
        maxHeaderBytes: config.http.prometheus.maxHeaderBytes,
        registry,
        logger: logger.with({ component: "prometheus-api" }),
        name: "prometheus",
        handler: createPrometheusApi({
          engine,
          queryable: () => db.queryable(),
          runner: queryPool,
          defaultTimeout: config.query.timeout,
          maxTimeout: config.query.engineTimeout,
          lookbackDelta: config.query.lookback,
          maxConcurrentQueries: config.query.limits.maxConcurrentQueries,
          maxQueuedQueries: config.query.limits.maxQueuedQueries,
          maxRequestBodyBytes: config.http.prometheus.maxRequestBodyBytes,
          maxQueryBytes: config.http.prometheus.maxQueryBytes,
          version: denoJson.version,
          flags: config.flags,
          // There is no Prometheus configuration; the bucket's configuration is what this
          // server was configured with, so /status/config shows it, credentials redacted.
          configYaml: SERVE_CONFIG_HEADER + bucketConfigYaml(bucketConfig),
          configLoadedAt,
          corruptionCount: () => sync.corruptedLabelFiles,
          logger: logger.with({ component: "prometheus-api" }),
        }),
      };
      // The same port serves the query UI, the gateway's own endpoints and remote read.
      httpOptions.handler = combineHandlers(
        createUiHandler(),
        createGatewayApi({
          discovery: discoverer,
          sync,
          keep,
          bucket,
          limits: limitsInForce(config),
        }),
        createRemoteReadHandler({
          queryable: () => db.queryable(),
          chunkSource: parquetStoreSource,
          sampleLimit: config.remoteRead.sampleLimit,
          maxSamples: config.query.maxSamples,
          concurrencyLimit: config.remoteRead.concurrentLimit,
          maxBytesInFrame: config.remoteRead.maxBytesInFrame,
          timeout: config.query.timeout,
          logger: logger.with({ component: "remote-read" }),
        }),
        httpOptions.handler,
      );
      const http = await listenOn(
        "http.prometheus.port",
        httpOptions.port,
        () => startHttpServer(httpOptions),
      );

      const overrides = labelsFromRecord(config.query.externalLabels);
      const streamLabels = () => {
        if (overrides.length > 0) return [overrides];
        const sets = [...discoverer.streams.values()].map((s) =>
          labelsFromRecord(s.externalLabels)
        );
        return sets.sort(compareLabels);
      };
      const grpcErrorLog = rateLimitedWarn(
        logger.with({ component: "grpc" }),
        "gRPC connection or handler error",
        GRPC_ERROR_LOG_INTERVAL_MS,
      );
      const grpcOptions: ThanosGrpcOptions = {
        port: config.http.thanos.port,
        tls,
        maxReceiveMessageSize: config.grpcMessages.maxReceiveBytes,
        maxSendMessageSize: config.grpcMessages.maxSendBytes,
        // Series already carry their stream's external labels (ParquetQueryable adds them).
        externalLabels: [],
        externalLabelsInSource: true,
        // Replica labels (`without_replica_labels`) can be any of the streams' external labels.
        externalLabelNames: () => new Set(streamLabels().flatMap((ls) => ls.map((l) => l.name))),
        source: () => parquetStoreSource(db.queryable()),
        // The time range and streams served, so that a querier sends only what we can answer.
        info: () => {
          const range = db.timeRange();
          return {
            minTime: range?.minT ?? 0,
            maxTime: range?.maxT ?? 0,
            labelSets: streamLabels(),
            tsdbInfos: db.tsdbRanges().map((r) => ({
              labels: r.labels,
              minTime: r.minT,
              maxTime: r.maxT,
            })),
          };
        },
        query: {
          engine,
          queryable: () => db.queryable(),
          runner: queryPool,
          lookbackDelta: config.query.lookback,
          timeout: config.query.timeout,
          engineTimeout: config.query.engineTimeout,
        },
        // As the Go gateway, the gRPC API admits its own share of concurrent requests.
        admission: {
          semaphore: new Semaphore(
            config.query.limits.maxConcurrentQueries,
            config.query.limits.maxQueuedQueries,
          ),
          maxWaitMs: config.query.timeout,
        },
        observer: grpcMetricsObserver(registry),
        // A flood of failing connections must not flood the log: one line per 10 s, counted.
        onError: (err) => grpcErrorLog({ err }),
      };
      let grpc;
      try {
        grpc = await listenOn(
          "http.thanos.port",
          grpcOptions.port,
          () => startThanosGrpcServer(grpcOptions),
        );
      } catch (err) {
        // The Prometheus API listens already; a process that cannot serve both stops both.
        await http.shutdown(0);
        throw err;
      }

      if (queryPool) await Promise.race([queryPool.whenReady(), abortPromise(signal)]);
      serving = true;
      publish();
      logger.info("serve started", {
        bucket: bucket.provider,
        prometheus_port: http.port,
        grpc_port: grpc.addr.port,
        tls: tls !== undefined,
        query_workers: workers,
      });
      try {
        await Promise.race([abortPromise(signal), loopsEnded]);
      } finally {
        logger.info("shutting down");
        internal.setReady(false, "shutting down");
        await Promise.all([
          http.shutdown(config.http.prometheus.shutdownTimeout),
          grpc.shutdown(config.http.thanos.shutdownTimeout),
        ]);
      }
    } finally {
      pool?.close();
      stopLoops.abort();
      await Promise.allSettled(loops);
      await syncer?.close();
      filter?.stop();
      await bucket.close();
    }
  } finally {
    await internal.shutdown(config.http.internal.shutdownTimeout);
  }
  return 0;
}

/** The limits the status page lists: the flags that bound queries and requests, then fixed ones. */
function limitsInForce(config: ServeConfig): LimitInForce[] {
  const bounding =
    /^(query\.(timeout|engine\.timeout|max-samples|limits\.)|http\.prometheus\.max-|storage\.)/;
  return [
    ...SERVE_FLAGS.filter((f) => bounding.test(f.name)).map((f) => ({
      name: `--${f.name}`,
      value: config.flags[f.name] ?? "",
      help: f.help,
    })),
    {
      name: "points per series (query_range)",
      value: String(MAX_POINTS),
      help: "Fixed, as in Prometheus.",
    },
    {
      name: "PromQL nesting depth",
      value: String(MAX_EXPRESSION_DEPTH),
      help: "Fixed; deeper expressions are a 400 parse error.",
    },
  ];
}

/** Resolves when `signal` aborts. */
export function abortPromise(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) =>
    signal.addEventListener("abort", () => resolve(), { once: true })
  );
}
