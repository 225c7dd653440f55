/**
 * Request parameters of the Prometheus HTTP API (`web/api/v1/api.go`): form values from the query
 * string and url-encoded POST bodies (body first), times as unix seconds or RFC 3339, durations as
 * seconds or Prometheus durations, limits.
 *
 * @module
 */
import { concatBytes } from "../../internal/bytes.ts";
import { parseDuration as parsePromDuration } from "../../internal/units.ts";

/** A client error: answered with 400 `bad_data`. */
export class BadDataError extends Error {
  /** Creates the error with Prometheus' message. */
  constructor(message: string) {
    super(message);
    this.name = "BadDataError";
  }
}

/** The smallest and largest times Prometheus accepts (its `MinTime`/`MaxTime` as ms). */
export const MIN_TIME_MS = -9223372036854776;
/** See {@linkcode MIN_TIME_MS}. */
export const MAX_TIME_MS = 9223372036854776;

/**
 * The largest url-encoded body Go's `Request.ParseForm` reads (10 MiB), above which Prometheus
 * answers 400: the default of `maxBodyBytes`.
 */
export const DEFAULT_MAX_FORM_BYTES = 10 << 20;

/** Form values of a request: POST body values first, then the URL's query string. */
export class FormValues {
  readonly #body: URLSearchParams;
  readonly #query: URLSearchParams;

  private constructor(body: URLSearchParams, query: URLSearchParams) {
    this.#body = body;
    this.#query = query;
  }

  /**
   * Reads the form of `req` (the body only for url-encoded POST/PUT/PATCH requests). A body
   * over `maxBodyBytes` (0: no limit) is a {@linkcode BadDataError}, raised on its declared
   * Content-Length before anything is read, else as soon as the bytes read pass the limit.
   */
  static async from(req: Request, maxBodyBytes = DEFAULT_MAX_FORM_BYTES): Promise<FormValues> {
    const url = new URL(req.url);
    let body = new URLSearchParams();
    const type = req.headers.get("content-type") ?? "";
    if (req.method !== "GET" && type.startsWith("application/x-www-form-urlencoded")) {
      body = new URLSearchParams(await readBody(req, maxBodyBytes || Infinity));
    }
    return new FormValues(body, url.searchParams);
  }

  /** The first value of `name` (body wins), or undefined. */
  get(name: string): string | undefined {
    return this.#body.get(name) ?? this.#query.get(name) ?? undefined;
  }

  /** All values of `name`: body values, then query-string values (Go's `r.Form[name]`). */
  getAll(name: string): string[] {
    return [...this.#body.getAll(name), ...this.#query.getAll(name)];
  }
}

async function readBody(req: Request, maxBytes: number): Promise<string> {
  // Go's wording, with the limit.
  const tooLarge = () =>
    new BadDataError(
      `error parsing form values: http: POST too large (more than ${maxBytes} bytes)`,
    );
  if (Number(req.headers.get("content-length") ?? 0) > maxBytes) {
    await req.body?.cancel();
    throw tooLarge();
  }
  if (!req.body) return "";
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = req.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > maxBytes) {
      await reader.cancel();
      throw tooLarge();
    }
    chunks.push(value);
  }
  return new TextDecoder().decode(concatBytes(chunks));
}

const FLOAT_RE = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/**
 * Parses a time parameter: unix seconds (fraction rounded to ms) or RFC 3339; Prometheus' min
 * and max time strings map to the extremes. Returns ms.
 */
export function parseTimeParam(value: string): number {
  if (FLOAT_RE.test(value)) {
    const seconds = Number(value);
    const whole = Math.trunc(seconds);
    return whole * 1000 + Math.round((seconds - whole) * 1000);
  }
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(value)) {
    const ms = Date.parse(value);
    if (!Number.isNaN(ms)) return ms;
  }
  if (value === "-292273086-05-16T16:47:06Z") return MIN_TIME_MS;
  if (value === "292277025-08-18T07:12:54.999999999Z") return MAX_TIME_MS;
  throw new BadDataError(`cannot parse ${JSON.stringify(value)} to a valid timestamp`);
}

/** Parses a duration parameter: float seconds or a Prometheus duration. Returns ms. */
export function parseDurationParam(value: string): number {
  const asNumber = Number(value);
  if (value.trim() !== "" && !Number.isNaN(asNumber)) {
    const ms = asNumber * 1000;
    if (!Number.isFinite(ms) || Math.abs(ms) > 9.223372036854776e15) {
      throw new BadDataError(
        `cannot parse ${JSON.stringify(value)} to a valid duration. It overflows int64`,
      );
    }
    return Math.round(ms);
  }
  try {
    return parsePromDuration(value);
  } catch {
    throw new BadDataError(`cannot parse ${JSON.stringify(value)} to a valid duration`);
  }
}

/** Parses `limit`: a non-negative integer, 0 meaning no limit. */
export function parseLimitParam(value: string | undefined): number {
  if (value === undefined || value === "") return 0;
  if (!/^[+-]?\d+$/.test(value)) {
    throw new BadDataError(`cannot parse "limit" parameter: ${JSON.stringify(value)}`);
  }
  const n = Number(value);
  if (n < 0) throw new BadDataError("limit must be non-negative");
  return n;
}

/** Reads an optional time parameter with a default, wrapping errors as Prometheus does. */
export function timeParam(form: FormValues, name: string, fallback: number): number {
  const value = form.get(name);
  if (value === undefined || value === "") return fallback;
  try {
    return parseTimeParam(value);
  } catch (e) {
    throw new BadDataError(`invalid parameter ${JSON.stringify(name)}: ${(e as Error).message}`);
  }
}

/** Reads an optional duration parameter. */
export function durationParam(form: FormValues, name: string): number | undefined {
  const value = form.get(name);
  if (value === undefined || value === "") return undefined;
  try {
    return parseDurationParam(value);
  } catch (e) {
    throw new BadDataError(`invalid parameter ${JSON.stringify(name)}: ${(e as Error).message}`);
  }
}
