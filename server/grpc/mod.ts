/**
 * The gRPC server: our HTTP/2 transport, gRPC framing and status handling (unary, server- and
 * bidirectional-streaming methods), the health and reflection services and the Thanos
 * Info/Store/Query services.
 *
 * The transport is our own (`http2/`): Deno 2.9's `node:http2` server aborts the process when a
 * client closes a connection with GOAWAY right after many streams (denoland/deno#36788), and
 * `Deno.serve` cannot send trailers. Handlers see the small {@linkcode ServerStream} interface,
 * so `node:http2` can replace it once fixed.
 *
 * @example Serving the Thanos APIs
 * ```ts ignore
 * const grpc = await startThanosGrpcServer({
 *   port: 9001,
 *   externalLabels: labelsFromRecord({ replica: "a" }),
 *   source: () => queryableSource(db.queryable()),
 *   info: () => ({ minTime, maxTime, tsdbInfos }),
 *   query: { engine, queryable: () => db.queryable(), lookbackDelta: 300_000 },
 *   observer: grpcMetricsObserver(registry),
 * });
 * // on shutdown: NOT_SERVING, GOAWAY, wait for in-flight calls
 * await grpc.shutdown(10_000);
 * ```
 *
 * @module
 */
export { Code, GrpcError } from "./status.ts";
export {
  type BidiStreamingImpl,
  type CallContext,
  type CallKind,
  type CallObserver,
  GrpcServer,
  type GrpcServerOptions,
  type ServerStreamingImpl,
  type ServiceImpl,
  type UnaryImpl,
} from "./server.ts";
export { HealthService, ServingStatus } from "./health.ts";
export { registerReflectionService } from "./reflection.ts";
export {
  type Http2Server,
  type Http2ServerOptions,
  serveHttp2,
  type ServerStream,
  type StreamHandler,
  type TlsConfig,
} from "./http2/mod.ts";
export { grpcMetricsObserver, HANDLING_BUCKETS } from "./metrics.ts";
export * from "./thanos/mod.ts";
