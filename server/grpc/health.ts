/**
 * The standard gRPC health service (`grpc.health.v1.Health`, grpc/doc/health-checking.md):
 * Check answers the current status or NotFound for an unknown service; Watch streams the
 * status and every change until the client cancels.
 *
 * @module
 */
import {
  Health,
  type HealthCheckRequest,
  HealthCheckResponse_ServingStatus as ServingStatus,
} from "../../proto/gen/grpc/health/v1/health_pb.ts";
import type { CallContext, GrpcServer } from "./server.ts";
import { Code, GrpcError } from "./status.ts";

export { ServingStatus };

/** Serving statuses per service name; `""` is the whole server. */
export class HealthService {
  readonly #status = new Map<string, ServingStatus>([["", ServingStatus.SERVING]]);
  readonly #watchers = new Set<() => void>();

  /** Sets the status of `service` (`""` for the server as a whole). */
  setStatus(service: string, status: ServingStatus): void {
    this.#status.set(service, status);
    for (const w of [...this.#watchers]) w();
  }

  /** Marks every service NOT_SERVING (on shutdown). */
  shutdown(): void {
    for (const name of this.#status.keys()) this.#status.set(name, ServingStatus.NOT_SERVING);
    for (const w of [...this.#watchers]) w();
  }

  /** Registers the Health service on `server`. */
  register(server: GrpcServer): void {
    server.addService(Health, {
      check: (req: HealthCheckRequest) => {
        const status = this.#status.get(req.service);
        if (status === undefined) throw new GrpcError(Code.NotFound, "unknown service");
        return { status };
      },
      watch: (req: HealthCheckRequest, ctx: CallContext) => this.#watch(req.service, ctx.signal),
    });
  }

  async *#watch(service: string, signal: AbortSignal) {
    let last: ServingStatus | undefined;
    while (!signal.aborted) {
      const status = this.#status.get(service) ?? ServingStatus.SERVICE_UNKNOWN;
      if (status !== last) {
        last = status;
        yield { status };
      }
      await new Promise<void>((resolve) => {
        const done = () => {
          this.#watchers.delete(done);
          signal.removeEventListener("abort", done);
          resolve();
        };
        this.#watchers.add(done);
        signal.addEventListener("abort", done, { once: true });
      });
    }
  }
}
