/**
 * Assembles the Thanos gRPC endpoint (`--http.thanos.port`): health, Info, Store, optionally
 * Query, and server reflection (as Thanos and thanos-parquet-gateway register it) on our HTTP/2
 * transport, with graceful shutdown that first reports NOT_SERVING.
 *
 * @module
 */
import type { Labels } from "../../../model/labels.ts";
import { HealthService } from "../health.ts";
import { serveHttp2, type TlsConfig } from "../http2/server.ts";
import { registerReflectionService } from "../reflection.ts";
import type { Admission } from "./admission.ts";
import { type CallObserver, GrpcServer } from "../server.ts";
import { type InfoState, registerInfoService } from "./info.ts";
import { type QueryServiceOptions, registerQueryService } from "./query.ts";
import type { StoreSource } from "./source.ts";
import { registerStoreService } from "./store.ts";

/** Options of {@linkcode startThanosGrpcServer}. */
export interface ThanosGrpcOptions {
  /** TCP port; 0 picks a free one. */
  port: number;
  /** Interface to bind (default all). */
  hostname?: string;
  /** TLS, with client certificate verification when `clientCa` is set. */
  tls?: TlsConfig;
  /** External labels announced by Info and attached to every series. */
  externalLabels: Labels;
  /** Storage for Store API requests. */
  source: () => StoreSource;
  /** The source's series already carry the external labels (see StoreServiceOptions). */
  externalLabelsInSource?: boolean;
  /** External label names of all streams, for replica-label removal (see StoreServiceOptions). */
  externalLabelNames?: () => ReadonlySet<string>;
  /** The current time range and TSDBs, for Info. */
  info: () => InfoState;
  /** Serve the Query API too (distributed-mode queriers use it). */
  query?: QueryServiceOptions;
  /**
   * Admission of the calls that read data, shared by Store and Query (default: all at once);
   * overrides the Query options' own.
   */
  admission?: Admission;
  /** Whether Series honours `without_replica_labels` (default true). */
  supportsWithoutReplicaLabels?: boolean;
  /** Component type announced by Info (default `store`). */
  componentType?: string;
  /** Metrics hook, e.g. {@linkcode grpcMetricsObserver}. */
  observer?: CallObserver;
  /** Unexpected errors (handler bugs, socket failures). */
  onError?: (err: unknown) => void;
  /** Concurrent streams per connection (default 1000). */
  maxConcurrentStreams?: number;
  /** Largest request message accepted, bytes (default 64 MiB). */
  maxReceiveMessageSize?: number;
  /** Largest response message sent, bytes (default 2^31 - 1, as Thanos). */
  maxSendMessageSize?: number;
}

/** A running Thanos gRPC endpoint. */
export interface ThanosGrpcServer {
  /** The bound address. */
  readonly addr: { hostname: string; port: number };
  /** The health service, to report readiness changes. */
  readonly health: HealthService;
  /** Reports NOT_SERVING, then drains connections for up to `timeoutMs`. */
  shutdown(timeoutMs: number): Promise<void>;
}

/** Starts the endpoint. */
export async function startThanosGrpcServer(opts: ThanosGrpcOptions): Promise<ThanosGrpcServer> {
  const grpc = new GrpcServer({
    maxReceiveMessageSize: opts.maxReceiveMessageSize,
    maxSendMessageSize: opts.maxSendMessageSize,
    observer: opts.observer,
    onError: opts.onError && ((e) => opts.onError!(e)),
  });
  const health = new HealthService();
  health.register(grpc);
  registerInfoService(grpc, {
    componentType: opts.componentType,
    externalLabels: opts.externalLabels,
    supportsWithoutReplicaLabels: opts.supportsWithoutReplicaLabels ?? true,
    queryApi: opts.query !== undefined,
    state: opts.info,
  });
  registerStoreService(grpc, {
    source: opts.source,
    externalLabels: opts.externalLabels,
    externalLabelsInSource: opts.externalLabelsInSource,
    externalLabelNames: opts.externalLabelNames,
    admission: opts.admission,
  });
  if (opts.query) {
    registerQueryService(grpc, {
      ...opts.query,
      admission: opts.admission ?? opts.query.admission,
    });
  }
  registerReflectionService(grpc);
  const server = await serveHttp2({
    port: opts.port,
    hostname: opts.hostname,
    tls: opts.tls,
    maxConcurrentStreams: opts.maxConcurrentStreams,
    onError: opts.onError,
  }, grpc.handle);
  return {
    addr: server.addr,
    health,
    async shutdown(timeoutMs: number) {
      health.shutdown();
      await server.shutdown(timeoutMs);
    },
  };
}
