/**
 * The Go gateway's `locate_*` metrics, shared by the Parquet discoverer, the TSDB discoverer and
 * the syncer of a process: one set per registry, created by whichever component asks first, with
 * upstream's series present (at 0) from the start.
 *
 * `what` tells the components apart: `discoverer` (Parquet discovery, in `serve` and `convert`),
 * `tsdb_discoverer` (TSDB discovery in `convert`; upstream declares this value but its TSDB
 * discoverer reports as `discoverer`) and `syncer`. Like upstream, the min/max gauges hold
 * milliseconds despite their `_unix_seconds` suffix; the last-success gauge holds seconds.
 *
 * @module
 */
import { Counter, Gauge, type Registry } from "prom-client";

/** The components reporting sync progress (the `what` label). */
export type SyncComponent = "syncer" | "discoverer" | "tsdb_discoverer";

const COMPONENTS: readonly SyncComponent[] = ["syncer", "discoverer", "tsdb_discoverer"];

/** The `locate_*` metrics of one registry. */
export interface LocateMetrics {
  /** `locate_bucket_requests_total`: ranged reads of remote Parquet files. */
  readonly bucketRequests: Counter;
  /** `locate_sync_corrupted_label_parquet_files_total`. */
  readonly corruptedLabelFiles: Counter;
  /** Sets the time range (ms) of the days or blocks `what` knows. */
  setRange(what: SyncComponent, mint: number, maxt: number): void;
  /** Records now as the time of the last successful pass of `what`. */
  succeeded(what: SyncComponent): void;
}

const byRegistry = new WeakMap<Registry, LocateMetrics>();

/**
 * The `locate_*` metrics registered in `registry`, or unregistered ones (for components run
 * without metrics) when it is absent.
 */
export function locateMetrics(registry?: Registry): LocateMetrics {
  const existing = registry && byRegistry.get(registry);
  if (existing) return existing;
  const registers = registry ? [registry] : [];
  const bucketRequests = new Counter({
    name: "locate_bucket_requests_total",
    help: "Ranged reads of Parquet files in object storage.",
    registers,
  });
  const corruptedLabelFiles = new Counter({
    name: "locate_sync_corrupted_label_parquet_files_total",
    help: "Labels files found corrupted while loading days (deleted and retried next sync).",
    registers,
  });
  const labelNames = ["what"] as const;
  const minTime = new Gauge({
    name: "locate_sync_min_time_unix_seconds",
    help: "Start of the oldest day or block the component knows (milliseconds, as upstream).",
    labelNames,
    registers,
  });
  const maxTime = new Gauge({
    name: "locate_sync_max_time_unix_seconds",
    help: "End of the newest day or block the component knows (milliseconds, as upstream).",
    labelNames,
    registers,
  });
  const lastSuccess = new Gauge({
    name: "locate_sync_last_successful_update_time_unix_seconds",
    help: "Time of the component's last successful pass.",
    labelNames,
    registers,
  });
  for (const what of COMPONENTS) {
    minTime.set({ what }, 0);
    maxTime.set({ what }, 0);
    lastSuccess.set({ what }, 0);
  }
  const metrics: LocateMetrics = {
    bucketRequests,
    corruptedLabelFiles,
    setRange(what, mint, maxt) {
      minTime.set({ what }, mint);
      maxTime.set({ what }, maxt);
    },
    succeeded(what) {
      lastSuccess.set({ what }, Date.now() / 1000);
    },
  };
  if (registry) byRegistry.set(registry, metrics);
  return metrics;
}
