/**
 * Flags and config pieces shared by `serve` and `convert`: the global flags (logging) and the
 * HTTP listeners.
 *
 * @module
 */
import { LOG_FORMATS, LOG_LEVELS, type LogFormat, type LogLevel } from "../internal/log.ts";
import { type FlagDef, type FlagValues, UsageError } from "./flags.ts";

/**
 * The flags that, as in the Go gateway (kingpin application flags), go before or after the
 * command: logging, and `--memlimit.ratio`. `--logger.level` is the Go gateway's spelling of
 * `--log.level`, kept for its users' scripts.
 */
export const GLOBAL_FLAGS: readonly FlagDef[] = [
  {
    name: "log.level",
    kind: "enum",
    values: [...LOG_LEVELS],
    default: "info",
    help: "Only log messages with at least this level.",
  },
  {
    name: "logger.level",
    kind: "enum",
    values: ["DEBUG", "INFO", "WARN", "ERROR"],
    help: "Alias of --log.level with the Go gateway's spelling.",
  },
  {
    name: "log.format",
    kind: "enum",
    values: [...LOG_FORMATS],
    default: "logfmt",
    help: "Log line format.",
  },
  {
    name: "memlimit.ratio",
    kind: "float",
    placeholder: "RATIO",
    help: "Accepted for the Go gateway's scripts, where it sets GOMEMLIMIT to this share of the " +
      "memory limit; no effect here (V8's heap limit is its --max-old-space-size flag).",
  },
];

/** Flags of one HTTP listener (`--http.<name>.port`, `--http.<name>.shutdown-timeout`). */
export function listenerFlags(name: string, port: number, what: string): FlagDef[] {
  return [
    { name: `http.${name}.port`, kind: "int", default: String(port), help: `Port for ${what}.` },
    {
      name: `http.${name}.shutdown-timeout`,
      kind: "duration",
      default: "10s",
      help: `Time to finish in-flight requests of ${what} on shutdown.`,
    },
  ];
}

/** The logging part of a config. */
export interface LogConfig {
  /** Minimum level. */
  readonly level: LogLevel;
  /** Line format. */
  readonly format: LogFormat;
}

/** One HTTP listener's config. */
export interface ListenerConfig {
  /** TCP port; 0 picks a free port (logged at start-up). */
  readonly port: number;
  /** Grace period for in-flight requests on shutdown, ms. */
  readonly shutdownTimeout: number;
}

/** Reads the logging flags. */
export function logConfig(v: FlagValues): LogConfig {
  const alias = v["logger.level"] as string | undefined;
  return {
    level: (alias ? alias.toLowerCase() : v["log.level"]) as LogLevel,
    format: v["log.format"] as LogFormat,
  };
}

/**
 * Reads `--memlimit.ratio`: undefined when not given. Validated as the Go gateway's memlimit
 * library does (within (0, 1]) so that a script this accepts also works there.
 */
export function memlimitRatio(v: FlagValues): number | undefined {
  const ratio = v["memlimit.ratio"] as number | undefined;
  if (ratio !== undefined && !(ratio > 0 && ratio <= 1)) {
    throw new UsageError(`--memlimit.ratio: must be within (0, 1], got ${ratio}`);
  }
  return ratio;
}

/** Reads and validates a listener's flags. */
export function listenerConfig(v: FlagValues, name: string): ListenerConfig {
  const port = v[`http.${name}.port`] as number;
  if (port < 0 || port > 65535) {
    throw new UsageError(`--http.${name}.port: port ${port} is out of range 0-65535`);
  }
  return { port, shutdownTimeout: v[`http.${name}.shutdown-timeout`] as number };
}

/**
 * A listener could not bind its port. The message is one line naming the flag and the port; the
 * CLI prints it and exits with 1.
 */
export class ListenError extends Error {
  /** Creates the error for `--<flag>=<port>`. */
  constructor(readonly flag: string, readonly port: number, why: string) {
    super(`--${flag}=${port}: ${why}`);
    this.name = "ListenError";
  }
}

/**
 * Runs `start`, which binds `port` (the value of `--<flag>`), turning "address in use" into a
 * {@linkcode ListenError} that says which flag to change.
 */
export async function listenOn<T>(
  flag: string,
  port: number,
  start: () => T | Promise<T>,
): Promise<T> {
  try {
    return await start();
  } catch (err) {
    if (!(err instanceof Deno.errors.AddrInUse)) throw err;
    throw new ListenError(
      flag,
      port,
      `address already in use (another process listens there; pick another port with --${flag})`,
    );
  }
}

/**
 * Requires the listeners' ports to differ (0, a free port each, may repeat): otherwise the
 * second would fail to bind as if another process held the port.
 */
export function distinctPorts(listeners: Record<string, ListenerConfig>): void {
  const seen = new Map<number, string>();
  for (const [name, { port }] of Object.entries(listeners)) {
    const other = seen.get(port);
    if (port !== 0 && other !== undefined) {
      throw new UsageError(
        `--http.${name}.port=${port}: the same port as --http.${other}.port; give each its own`,
      );
    }
    seen.set(port, name);
  }
}

/** Requires an integer flag to be at least `min`. */
export function atLeast(v: FlagValues, name: string, min: number): number {
  const n = v[name] as number;
  if (n < min) throw new UsageError(`--${name}: must be at least ${min}, got ${n}`);
  return n;
}

/** Freezes a config object and everything inside it. */
export function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}
