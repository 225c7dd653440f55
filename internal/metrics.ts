/**
 * The process' Prometheus registry: prom-client's default process/runtime collectors plus a
 * resident-memory gauge that works without `-A` (prom-client reads /proc/self, which Deno only
 * allows with all permissions).
 *
 * @module
 */
import { collectDefaultMetrics, Gauge, Registry } from "prom-client";

/** Creates a registry with process and runtime metrics registered. */
export function createRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  new Gauge({
    name: "deno_memory_rss_bytes",
    help: "Resident set size of the process in bytes, as Deno reports it.",
    registers: [registry],
    collect() {
      this.set(Deno.memoryUsage().rss);
    },
  });
  new Gauge({
    name: "deno_memory_heap_used_bytes",
    help: "V8 heap in use, bytes.",
    registers: [registry],
    collect() {
      this.set(Deno.memoryUsage().heapUsed);
    },
  });
  return registry;
}
