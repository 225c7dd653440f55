/**
 * The bodies of `/api/v1/status/buildinfo` and `/api/v1/status/runtimeinfo`, with Prometheus'
 * keys (those of current Prometheus, a superset of 2.42's) so that Grafana, Thanos and other
 * Prometheus clients read them unchanged. Where a key names a Go runtime setting, the value is
 * the Deno runtime's nearest honest equivalent; each choice is explained where it is made.
 *
 * @module
 */
import { getHeapStatistics } from "node:v8";

/** The body of `/api/v1/status/buildinfo`. */
export interface BuildInfo {
  /** The gateway's version. */
  version: string;
  /** Source revision of the build. */
  revision: string;
  /** Source branch of the build. */
  branch: string;
  /** Who built it. */
  buildUser: string;
  /** When it was built. */
  buildDate: string;
  /** The runtime that runs it (Go's toolchain version in Prometheus). */
  goVersion: string;
}

/** Returns the build information of a gateway at `version`. */
export function buildInfo(version: string): BuildInfo {
  // Neither `deno run` nor `deno compile` stamps revision, branch, user or date into the program;
  // "unknown" is what the Go gateway reports when its build did not inject them either.
  return {
    version,
    revision: "unknown",
    branch: "unknown",
    buildUser: "unknown",
    buildDate: "unknown",
    // Prometheus reports the Go runtime it was built with; ours is Deno and its V8.
    goVersion:
      `deno ${Deno.version.deno} (V8 ${Deno.version.v8}, TypeScript ${Deno.version.typescript})`,
  };
}

/** The body of `/api/v1/status/runtimeinfo`. */
export interface RuntimeInfo {
  /** When the process started (RFC 3339). */
  startTime: string;
  /** The working directory. */
  CWD: string;
  /** The host's name. */
  hostname: string;
  /** The time of the answer (RFC 3339). */
  serverTime: string;
  /** Whether the last configuration load succeeded. */
  reloadConfigSuccess: boolean;
  /** When the configuration was last loaded (RFC 3339, whole seconds). */
  lastConfigTime: string;
  /** Corrupted files found. */
  corruptionCount: number;
  /** Concurrent tasks (goroutines in Prometheus). */
  goroutineCount: number;
  /** Threads running the program's code at once. */
  GOMAXPROCS: number;
  /** Memory limit, bytes. */
  GOMEMLIMIT: number;
  /** Go's `GOGC` environment variable. */
  GOGC: string;
  /** Go's `GODEBUG` environment variable. */
  GODEBUG: string;
  /** Retention applied to the served data. */
  storageRetention: string;
}

/** What {@linkcode runtimeInfo} cannot learn from the process itself. */
export interface RuntimeInfoSource {
  /** When the configuration was loaded, ms since the epoch. */
  configLoadedAt: number;
  /** Corrupted files found so far. */
  corruptionCount: number;
  /** Requests the API is serving now, this one included. */
  requestsInFlight: number;
  /** The current time, ms since the epoch. */
  now: number;
}

/** Returns the runtime information of this process. */
export function runtimeInfo(source: RuntimeInfoSource): RuntimeInfo {
  return {
    startTime: rfc3339(performance.timeOrigin),
    CWD: Deno.cwd(),
    hostname: Deno.hostname(),
    serverTime: rfc3339(source.now),
    // The configuration is loaded once, before the API listens, and `serve` does not start when
    // it fails; there is no reload.
    reloadConfigSuccess: true,
    lastConfigTime: rfc3339(Math.floor(source.configLoadedAt / 1000) * 1000),
    // Prometheus counts corrupted WAL segments; the nearest thing here is labels files that
    // failed to load (`locate_sync_corrupted_label_parquet_files_total`).
    corruptionCount: source.corruptionCount,
    // There are no goroutines. Go's net/http serves each request on its own goroutine; the
    // requests in flight are the concurrent work this count would mostly reflect.
    goroutineCount: source.requestsInFlight,
    // GOMAXPROCS bounds the threads running Go code at once; JavaScript runs on one thread.
    GOMAXPROCS: 1,
    // Go's soft memory limit; V8's limit of the JavaScript heap is the equivalent bound.
    GOMEMLIMIT: getHeapStatistics().heap_size_limit,
    // Go runtime settings Deno does not read; unset reads as empty, as in Prometheus.
    GOGC: "",
    GODEBUG: "",
    // `serve` deletes nothing: it serves whatever the bucket holds (empty means no retention).
    storageRetention: "",
  };
}

/**
 * Formats ms since the epoch as Go encodes a UTC `time.Time` in JSON: RFC 3339 with the
 * fraction's trailing zeros dropped. Microseconds are the most a double of epoch ms resolves.
 */
export function rfc3339(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  const micros = Math.min(Math.round((ms - seconds * 1000) * 1000), 999_999);
  const fraction = String(micros).padStart(6, "0").replace(/0+$/, "");
  const whole = new Date(seconds * 1000).toISOString().slice(0, 19);
  return `${whole}${fraction ? `.${fraction}` : ""}Z`;
}
