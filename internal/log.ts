/**
 * Structured logging in logfmt (default) or JSON, with levels and bound fields such as the
 * component name, written to standard error as Thanos components do.
 *
 * @module
 */

/** Log levels, least to most severe. */
export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;
/** One of {@linkcode LOG_LEVELS}. */
export type LogLevel = typeof LOG_LEVELS[number];
/** Output formats. */
export const LOG_FORMATS = ["logfmt", "json"] as const;
/** One of {@linkcode LOG_FORMATS}. */
export type LogFormat = typeof LOG_FORMATS[number];

/** Extra key/value pairs of a log line. */
export type LogFields = Record<string, unknown>;

/** A structured logger. */
export interface Logger {
  /** Logs at debug level. */
  debug(msg: string, fields?: LogFields): void;
  /** Logs at info level. */
  info(msg: string, fields?: LogFields): void;
  /** Logs at warn level. */
  warn(msg: string, fields?: LogFields): void;
  /** Logs at error level. */
  error(msg: string, fields?: LogFields): void;
  /** Returns a logger that adds `fields` to every line (e.g. `{component: "syncer"}`). */
  with(fields: LogFields): Logger;
}

/** Options of {@linkcode createLogger}. */
export interface LoggerOptions {
  /** Lines below this level are dropped. Default `info`. */
  level?: LogLevel;
  /** Output format. Default `logfmt`. */
  format?: LogFormat;
  /** Where complete lines go. Default: standard error. */
  write?: (line: string) => void;
  /** Clock, for tests. */
  now?: () => Date;
}

const encoder = new TextEncoder();

function writeStderr(line: string): void {
  Deno.stderr.writeSync(encoder.encode(line));
}

/** Creates a logger. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const min = LOG_LEVELS.indexOf(options.level ?? "info");
  const format = options.format ?? "logfmt";
  const write = options.write ?? writeStderr;
  const now = options.now ?? (() => new Date());
  const make = (bound: LogFields): Logger => {
    const log = (level: LogLevel, msg: string, fields?: LogFields) => {
      if (LOG_LEVELS.indexOf(level) < min) return;
      const record: LogFields = { ts: now().toISOString(), level, ...bound, msg, ...fields };
      write((format === "json" ? formatJson(record) : formatLogfmt(record)) + "\n");
    };
    return {
      debug: (msg, fields) => log("debug", msg, fields),
      info: (msg, fields) => log("info", msg, fields),
      warn: (msg, fields) => log("warn", msg, fields),
      error: (msg, fields) => log("error", msg, fields),
      with: (fields) => make({ ...bound, ...fields }),
    };
  };
  return make({});
}

/** A logger that drops everything (for library callers that pass none). */
export const NOP_LOGGER: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  with() {
    return NOP_LOGGER;
  },
};

function stringify(value: unknown): string {
  if (value instanceof Error) return value.message;
  if (typeof value === "string") return value;
  if (value instanceof Date) return value.toISOString();
  if (typeof value === "bigint") return value.toString();
  return JSON.stringify(value) ?? String(value);
}

function formatLogfmt(record: LogFields): string {
  const parts: string[] = [];
  for (const [key, raw] of Object.entries(record)) {
    if (raw === undefined) continue;
    const value = stringify(raw);
    parts.push(`${key}=${/^[^\s"=\\]+$/.test(value) ? value : JSON.stringify(value)}`);
  }
  return parts.join(" ");
}

function formatJson(record: LogFields): string {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(record)) {
    if (value === undefined) continue;
    out[key] = value instanceof Error || typeof value === "bigint" ? stringify(value) : value;
  }
  return JSON.stringify(out);
}

/**
 * Returns a function that logs `msg` at warn level with the fields it is given, at most once per
 * `intervalMs`, for events that can come in floods (failing connections, say): the first call of
 * an interval logs at once; later calls in it are counted, and when the interval ends the last of
 * them is logged with `suppressed`, how many calls of the interval were not logged. The pending
 * line does not keep the process alive.
 */
export function rateLimitedWarn(
  logger: Logger,
  msg: string,
  intervalMs: number,
): (fields?: LogFields) => void {
  let intervalEnd = -Infinity;
  let pending: { fields?: LogFields; count: number } | undefined;
  const flush = () => {
    const { fields, count } = pending!;
    pending = undefined;
    logger.warn(msg, { ...fields, suppressed: count - 1 });
    intervalEnd = performance.now() + intervalMs;
  };
  return (fields) => {
    const now = performance.now();
    if (now >= intervalEnd && !pending) {
      logger.warn(msg, fields);
      intervalEnd = now + intervalMs;
      return;
    }
    if (pending) {
      pending.fields = fields;
      pending.count++;
      return;
    }
    pending = { fields, count: 1 };
    Deno.unrefTimer(setTimeout(flush, intervalEnd - now));
  };
}
