/**
 * Prometheus metrics for gRPC calls with go-grpc-middleware's names and labels
 * (`grpc_server_started_total`, `_handled_total`, `_msg_received_total`, `_msg_sent_total`,
 * `_handling_seconds`), fed by the server's {@linkcode CallObserver}.
 *
 * @module
 */
import { Counter, Histogram, type Registry } from "prom-client";
import type { CallObserver } from "./server.ts";
import { Code } from "./status.ts";

/** grpc-go's `codes.Code.String()` spellings, which are our constant names. */
const CODE_NAMES = new Map<number, string>(
  Object.entries(Code).map(([name, value]) => [value, name]),
);

/**
 * 20 exponential buckets from 0.1 s to 30 s, as thanos-parquet-gateway uses, computed like
 * client_golang's `ExponentialBucketsRange` so the `le` labels print the same.
 */
export const HANDLING_BUCKETS: number[] = (() => {
  const factor = Math.pow(30 / 0.1, 1 / 19);
  return Array.from({ length: 20 }, (_, i) => 0.1 * Math.pow(factor, i));
})();

function split(path: string): [service: string, method: string] {
  const i = path.lastIndexOf("/");
  return [path.slice(1, i), path.slice(i + 1)];
}

/**
 * Registers the gRPC server metrics on `registry` and returns the observer that updates them.
 * `prefix` precedes every name; thanos-parquet-gateway's names carry `grpc_` twice, which the
 * default reproduces.
 */
export function grpcMetricsObserver(registry: Registry, prefix = "grpc_"): CallObserver {
  const labelNames = ["grpc_type", "grpc_service", "grpc_method"] as const;
  const started = new Counter({
    name: `${prefix}grpc_server_started_total`,
    help: "Total number of RPCs started on the server.",
    labelNames,
    registers: [registry],
  });
  const handled = new Counter({
    name: `${prefix}grpc_server_handled_total`,
    help: "Total number of RPCs completed on the server, regardless of success or failure.",
    labelNames: [...labelNames, "grpc_code"],
    registers: [registry],
  });
  const received = new Counter({
    name: `${prefix}grpc_server_msg_received_total`,
    help: "Total number of RPC stream messages received on the server.",
    labelNames,
    registers: [registry],
  });
  const sent = new Counter({
    name: `${prefix}grpc_server_msg_sent_total`,
    help: "Total number of gRPC stream messages sent by the server.",
    labelNames,
    registers: [registry],
  });
  const seconds = new Histogram({
    name: `${prefix}grpc_server_handling_seconds`,
    help: "Histogram of response latency (seconds) of gRPC that had been application-level " +
      "handled by the server.",
    labelNames,
    buckets: HANDLING_BUCKETS,
    registers: [registry],
  });
  const labels = (path: string, kind: string) => {
    const [service, method] = split(path);
    return { grpc_type: kind, grpc_service: service, grpc_method: method };
  };
  return {
    started: (path, kind) => started.inc(labels(path, kind)),
    received: (path, kind) => received.inc(labels(path, kind)),
    sent: (path, kind) => sent.inc(labels(path, kind)),
    handled(path, kind, code, secs) {
      const l = labels(path, kind);
      handled.inc({ ...l, grpc_code: CODE_NAMES.get(code) ?? String(code) });
      seconds.observe(l, secs);
    },
  };
}
