/**
 * The gRPC server: our HTTP/2 transport, gRPC framing and status handling, the health service
 * and the Thanos Info/Store/Query services.
 *
 * @module
 */
export { Code, GrpcError } from "./status.ts";
export {
  type CallContext,
  type CallObserver,
  GrpcServer,
  type GrpcServerOptions,
  type ServerStreamingImpl,
  type ServiceImpl,
  type UnaryImpl,
} from "./server.ts";
export { HealthService, ServingStatus } from "./health.ts";
export {
  type Http2Server,
  type Http2ServerOptions,
  serveHttp2,
  type TlsConfig,
} from "./http2/mod.ts";
export { grpcMetricsObserver, HANDLING_BUCKETS } from "./metrics.ts";
export * from "./thanos/mod.ts";
