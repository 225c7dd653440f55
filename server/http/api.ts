/**
 * The Prometheus HTTP API (`/api/v1/...`) over the PromQL engine and a {@linkcode Queryable}:
 * query, query_range, series, labels, label values, format_query, parse_query, the status endpoints
 * (buildinfo, runtimeinfo, flags, config) and the empty-but-valid metadata and exemplars endpoints
 * Grafana expects. Envelopes, error types, status codes and response compression are
 * Prometheus'.
 *
 * Queries run on a {@linkcode QueryRunner} (in `serve`, the query worker pool) until the earliest
 * of the request's `timeout`, the default and the maximum timeout, then answer 503 `timeout`; a
 * client that disconnects cancels its query.
 *
 * @module
 */
import { QueueFullError, Semaphore } from "../../internal/concurrency.ts";
import type { Expr } from "../../engine/ast.ts";
import type { QueryEngine } from "../../engine/engine.ts";
import { ParseError, QueryError } from "../../engine/errors.ts";
import { compareLabels, type Labels, labelsKey, sortStrings } from "../../model/labels.ts";
import type { Matcher } from "../../model/matchers.ts";
import { exprType, parseExpr, parseMetricSelector } from "../../engine/parser.ts";
import { exprToString } from "../../engine/printer.ts";
import type { Queryable } from "../../model/queryable.ts";
import { eachSeries } from "../../model/series_set.ts";
import type { Logger } from "../../internal/log.ts";
import { engineRunner, queryDeadline, type QueryRunner, type QuerySpec } from "../query/runner.ts";
import { astJson } from "./ast_json.ts";
import { compressResponse } from "./compression.ts";
import { goJsonEscape, labelSetJson, resultJsonChunks } from "./json.ts";
import {
  BadDataError,
  durationParam,
  FormValues,
  MAX_TIME_MS,
  MIN_TIME_MS,
  parseLimitParam,
  timeParam,
} from "./params.ts";
import type { RoutedHandler } from "./server.ts";
import { buildInfo, runtimeInfo } from "./status.ts";

/** Options of {@linkcode createPrometheusApi}. */
export interface PrometheusApiOptions {
  /** The engine. */
  engine: QueryEngine;
  /** Returns the data source for one request (fresh limit quotas per request). */
  queryable: () => Queryable;
  /**
   * Evaluates instant and range queries (e.g. the query worker pool). Default: `engine` over
   * `queryable()` on the calling thread.
   */
  runner?: QueryRunner;
  /** `--query.timeout`: bounds every query, ms; a request's `timeout` can only shorten it. */
  defaultTimeout: number;
  /** `--query.engine.timeout`: bounds every query too, ms. */
  maxTimeout: number;
  /** Default lookback delta, ms. */
  lookbackDelta: number;
  /**
   * Requests reading data (query, query_range, series, labels, label values) executed at once
   * (0 = unlimited); the others wait, up to their timeout.
   */
  maxConcurrentQueries: number;
  /**
   * Requests waiting for a place; more are refused with 503 `unavailable` (default 0: no bound).
   */
  maxQueuedQueries?: number;
  /**
   * Largest url-encoded request body read, bytes; larger ones are 400 `bad_data` (0: no limit).
   * Default: 10 MiB, the limit of Go's form parsing that Prometheus has.
   */
  maxRequestBodyBytes?: number;
  /** Longest query accepted, UTF-8 bytes; longer ones are 400 `bad_data` (default 0: no limit). */
  maxQueryBytes?: number;
  /** Version reported by buildinfo. */
  version: string;
  /**
   * Every flag of the running command with its effective value, as `/status/flags` shows them;
   * secrets already masked by the caller. Default: none.
   */
  flags?: Readonly<Record<string, string>>;
  /** The configuration `/status/config` shows, secrets already redacted. Default: empty. */
  configYaml?: string;
  /** When that configuration was loaded, ms since the epoch. Default: when the API was created. */
  configLoadedAt?: number;
  /** Corrupted files found so far, for runtimeinfo. Default: none. */
  corruptionCount?: () => number;
  /** Logger for internal errors. */
  logger: Logger;
  /** Clock, ms (tests). */
  now?: () => number;
}

/** Paths of the label values endpoint; the label name is the one path parameter. */
const LABEL_VALUES_PATH = /^\/api\/v1\/label\/([^/]+)\/values$/;
const LABEL_VALUES_ROUTE = "/api/v1/label/:name/values";

const utf8 = new TextEncoder();

/** The most points a range query may return per series. */
export const MAX_POINTS = 11_000;
const MAX_ANNOTATIONS = 10;

interface ApiSuccess {
  /** Raw JSON of `data`, whole or in pieces that are encoded as the answer is sent. */
  data: string | Iterable<string>;
  warnings?: string[];
  infos?: string[];
}

class ApiError extends Error {
  constructor(readonly type: string, readonly status: number, message: string) {
    super(message);
  }
}

function jsonResponse(status: number, body: string): Response {
  return new Response(goJsonEscape(body), {
    status,
    headers: { "content-type": "application/json" },
  });
}

function annotations(list: string[] | undefined, kind: string): string[] {
  if (!list || list.length <= MAX_ANNOTATIONS) return list ?? [];
  return [
    ...list.slice(0, MAX_ANNOTATIONS),
    `${list.length - MAX_ANNOTATIONS} more ${kind} annotations omitted`,
  ];
}

function successResponse(s: ApiSuccess): Response {
  let tail = "";
  const warnings = annotations(s.warnings, "warning");
  const infos = annotations(s.infos, "info");
  if (warnings.length > 0) tail += `,"warnings":${JSON.stringify(warnings)}`;
  if (infos.length > 0) tail += `,"infos":${JSON.stringify(infos)}`;
  if (typeof s.data === "string") {
    return jsonResponse(200, `{"status":"success","data":${s.data}${tail}}`);
  }
  // A query result is encoded a piece per pull: the serving thread answers other requests in
  // between, and memory holds the result plus one piece instead of the whole text. A result of
  // one piece, the usual case, goes out as one string.
  const pieces = s.data[Symbol.iterator]();
  const first = pieces.next();
  const second = first.done ? first : pieces.next();
  if (second.done) {
    return jsonResponse(200, `{"status":"success","data":${first.value ?? ""}${tail}}`);
  }
  const queued = [`{"status":"success","data":${first.value}`, second.value];
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      const next = queued.shift() ?? pieces.next();
      if (typeof next === "string") {
        controller.enqueue(utf8.encode(goJsonEscape(next)));
      } else if (next.done) {
        controller.enqueue(utf8.encode(goJsonEscape(`${tail}}`)));
        controller.close();
      } else {
        controller.enqueue(utf8.encode(goJsonEscape(next.value)));
      }
    },
    cancel() {
      pieces.return?.();
    },
  }, new CountQueuingStrategy({ highWaterMark: 1 }));
  return new Response(body, { status: 200, headers: { "content-type": "application/json" } });
}

function errorResponse(err: ApiError): Response {
  return jsonResponse(
    err.status,
    JSON.stringify({ status: "error", errorType: err.type, error: err.message }),
  );
}

/** Creates the request handler for `/api/v1/*`; other paths answer 404. */
export function createPrometheusApi(options: PrometheusApiOptions): RoutedHandler {
  const now = options.now ?? Date.now;
  const semaphore = new Semaphore(options.maxConcurrentQueries, options.maxQueuedQueries ?? 0);
  const configLoadedAt = options.configLoadedAt ?? now();
  let requestsInFlight = 0;

  const maxQueryBytes = options.maxQueryBytes || Infinity;
  const parseQueryParam = (form: FormValues): { text: string; expr: Expr } => {
    const text = form.get("query");
    if (text === undefined || text === "") {
      throw new BadDataError(`invalid parameter "query": unknown query`);
    }
    // A UTF-16 code unit is at most 3 UTF-8 bytes: most queries need no encoding to tell.
    const bytes = text.length * 3 > maxQueryBytes ? utf8.encode(text).length : 0;
    if (bytes > maxQueryBytes) {
      throw new BadDataError(
        `invalid parameter "query": the query is ${bytes} bytes long, ` +
          `more than the limit of ${maxQueryBytes} bytes`,
      );
    }
    try {
      return { text, expr: options.engine.parse ? options.engine.parse(text) : parseExpr(text) };
    } catch (e) {
      if (e instanceof ParseError) {
        throw new BadDataError(`invalid parameter "query": ${e.message}`);
      }
      throw e;
    }
  };

  const runner = options.runner ?? engineRunner(options.engine, options.queryable);

  /** Waits for a place among the requests reading data, as long as `signal` allows. */
  const admit = async (signal: AbortSignal): Promise<() => void> => {
    try {
      return await semaphore.acquire(signal);
    } catch (e) {
      if (e instanceof QueueFullError) throw new ApiError("unavailable", 503, e.message);
      // Prometheus' words for a query that ran out of time, or was canceled, while queued.
      if (signal.reason instanceof DOMException && signal.reason.name === "TimeoutError") {
        throw new ApiError("timeout", 503, "query timed out in query queue");
      }
      throw new ApiError("canceled", 499, "query was canceled in query queue");
    }
  };

  /** Runs `fn` once admitted, with a signal that aborts after the default timeout. */
  const admitted = async <T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> => {
    const signal = AbortSignal.timeout(options.defaultTimeout);
    const release = await admit(signal);
    try {
      return await fn(signal);
    } finally {
      release();
    }
  };

  const runQuery = async (
    form: FormValues,
    req: Request,
    spec: Omit<QuerySpec, "lookbackDelta">,
  ): Promise<ApiSuccess> => {
    const deadline = queryDeadline(
      Date.now(),
      durationParam(form, "timeout"),
      options.defaultTimeout,
      options.maxTimeout,
    );
    const lookbackDelta = durationParam(form, "lookback_delta") ?? options.lookbackDelta;
    // Aborts when the client disconnects (deno.json opts out of the legacy abort after answers).
    const disconnected = req.signal;
    const started = performance.now();
    const release = await admit(
      AbortSignal.any([disconnected, AbortSignal.timeout(Math.max(0, deadline - Date.now()))]),
    );
    const queued = (performance.now() - started) / 1000;
    try {
      const result = await runner.run({ ...spec, lookbackDelta }, {
        deadline,
        signal: disconnected,
      });
      const limit = parseLimitParam(form.get("limit"));
      const warnings = [...result.warnings];
      let value = result.value;
      if (limit > 0 && value.type === "vector" && value.samples.length > limit) {
        value = { type: "vector", samples: value.samples.slice(0, limit) };
        warnings.push("results truncated due to limit");
      } else if (limit > 0 && value.type === "matrix" && value.series.length > limit) {
        value = { type: "matrix", series: value.series.slice(0, limit) };
        warnings.push("results truncated due to limit");
      }
      let tail = "";
      const stats = form.get("stats");
      if (stats) {
        const total = (performance.now() - started) / 1000;
        tail = `,"stats":${
          JSON.stringify({
            timings: {
              evalTotalTime: total - queued,
              resultSortTime: 0,
              queryPreparationTime: 0,
              innerEvalTime: total - queued,
              execQueueTime: queued,
              execTotalTime: total,
            },
            samples: {
              totalQueryableSamples: result.stats.totalQueryableSamples,
              peakSamples: result.stats.peakSamples,
            },
          })
        }`;
      }
      return { data: resultJsonChunks(value, { tail }), warnings, infos: result.infos };
    } finally {
      release();
    }
  };

  const query = (form: FormValues, req: Request): Promise<ApiSuccess> => {
    const { text } = parseQueryParam(form);
    const time = timeParam(form, "time", now());
    return runQuery(form, req, { query: text, start: time, end: time, step: 0 });
  };

  const queryRange = (form: FormValues, req: Request): Promise<ApiSuccess> => {
    const start = requiredTime(form, "start");
    const end = requiredTime(form, "end");
    if (end < start) {
      throw new BadDataError(
        `invalid parameter "end": end timestamp must not be before start time`,
      );
    }
    const step = durationParam(form, "step");
    if (step === undefined) {
      throw new BadDataError(`invalid parameter "step": cannot parse "" to a valid duration`);
    }
    if (step <= 0) {
      throw new BadDataError(
        `invalid parameter "step": zero or negative query resolution step widths are not ` +
          `accepted. Try a positive integer`,
      );
    }
    if (Math.floor((end - start) / step) > MAX_POINTS) {
      throw new BadDataError(
        "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query " +
          "resolution (?step=XX)",
      );
    }
    const { text, expr } = parseQueryParam(form);
    const type = exprType(expr);
    if (type !== "scalar" && type !== "vector") {
      throw new BadDataError(
        `invalid expression type "${
          type === "matrix" ? "range vector" : type
        }" for range query, must be Scalar or instant Vector`,
      );
    }
    return runQuery(form, req, { query: text, start, end, step });
  };

  const matcherSets = (form: FormValues, required: boolean): Matcher[][] => {
    const raw = form.getAll("match[]");
    if (raw.length === 0 && required) throw new BadDataError("no match[] parameter provided");
    return raw.map((s) => {
      let matchers: Matcher[];
      try {
        matchers = parseMetricSelector(s);
      } catch (e) {
        throw new BadDataError(e instanceof Error ? e.message : String(e));
      }
      if (matchers.every((m) => m.matches(""))) {
        throw new BadDataError("match[] must contain at least one non-empty matcher");
      }
      return matchers;
    });
  };

  const series = async (form: FormValues): Promise<ApiSuccess> => {
    const sets = matcherSets(form, true);
    const start = timeParam(form, "start", MIN_TIME_MS);
    const end = timeParam(form, "end", MAX_TIME_MS);
    const limit = parseLimitParam(form.get("limit"));
    const seen = new Map<string, Labels>();
    const warnings: string[] = [];
    await admitted(async (signal) => {
      const queryable = options.queryable();
      for (const matchers of sets) {
        const set = queryable.select(matchers, { start, end, func: "series" }, signal);
        for await (const s of eachSeries(set)) seen.set(labelsKey(s.labels), s.labels);
        warnings.push(...set.warnings());
      }
    });
    let all = [...seen.values()].sort(compareLabels);
    if (limit > 0 && all.length > limit) {
      all = all.slice(0, limit);
      warnings.push("results truncated due to limit");
    }
    return { data: `[${all.map(labelSetJson).join(",")}]`, warnings: unique(warnings) };
  };

  const stringsEndpoint = async (
    form: FormValues,
    fetch: (
      q: Queryable,
      matchers: Matcher[],
      hints: { start: number; end: number },
      signal: AbortSignal,
    ) => Promise<{ values: string[]; warnings: string[] }>,
  ): Promise<ApiSuccess> => {
    const sets = matcherSets(form, false);
    const start = timeParam(form, "start", MIN_TIME_MS);
    const end = timeParam(form, "end", MAX_TIME_MS);
    const limit = parseLimitParam(form.get("limit"));
    const values = new Set<string>();
    const warnings: string[] = [];
    await admitted(async (signal) => {
      const queryable = options.queryable();
      for (const matchers of sets.length > 0 ? sets : [[]]) {
        const r = await fetch(queryable, matchers, { start, end }, signal);
        warnings.push(...r.warnings);
        for (const v of r.values) values.add(v);
      }
    });
    let sorted = sortStrings([...values]);
    if (limit > 0 && sorted.length > limit) {
      sorted = sorted.slice(0, limit);
      warnings.push("results truncated due to limit");
    }
    return { data: JSON.stringify(sorted), warnings: unique(warnings) };
  };

  const routes: Record<
    string,
    { methods: string[]; handle: (form: FormValues, req: Request) => Promise<ApiSuccess> }
  > = {
    "/api/v1/query": { methods: ["GET", "POST"], handle: query },
    "/api/v1/query_range": { methods: ["GET", "POST"], handle: queryRange },
    "/api/v1/series": { methods: ["GET", "POST"], handle: series },
    "/api/v1/labels": {
      methods: ["GET", "POST"],
      handle: (form) => stringsEndpoint(form, (q, m, h, signal) => q.labelNames(m, h, signal)),
    },
    "/api/v1/status/buildinfo": {
      methods: ["GET"],
      handle: () => Promise.resolve({ data: JSON.stringify(buildInfo(options.version)) }),
    },
    "/api/v1/status/runtimeinfo": {
      methods: ["GET"],
      handle: () =>
        Promise.resolve({
          data: JSON.stringify(runtimeInfo({
            configLoadedAt,
            corruptionCount: options.corruptionCount?.() ?? 0,
            requestsInFlight,
            now: now(),
          })),
        }),
    },
    "/api/v1/status/flags": {
      methods: ["GET"],
      // Sorted by name, as Prometheus' JSON encoding of its flag map is.
      handle: () =>
        Promise.resolve({
          data: JSON.stringify(Object.fromEntries(
            Object.entries(options.flags ?? {}).sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0),
          )),
        }),
    },
    "/api/v1/status/config": {
      methods: ["GET"],
      handle: () => Promise.resolve({ data: JSON.stringify({ yaml: options.configYaml ?? "" }) }),
    },
    "/api/v1/format_query": {
      methods: ["GET", "POST"],
      handle: (form) =>
        Promise.resolve({ data: JSON.stringify(exprToString(parseQueryParam(form).expr)) }),
    },
    "/api/v1/parse_query": {
      methods: ["GET", "POST"],
      handle: (form) =>
        Promise.resolve({ data: JSON.stringify(astJson(parseQueryParam(form).expr)) }),
    },
    "/api/v1/metadata": { methods: ["GET"], handle: () => Promise.resolve({ data: "{}" }) },
    "/api/v1/query_exemplars": {
      methods: ["GET", "POST"],
      handle: (form) => {
        parseQueryParam(form);
        const start = timeParam(form, "start", MIN_TIME_MS);
        const end = timeParam(form, "end", MAX_TIME_MS);
        if (end < start) {
          throw new BadDataError("end timestamp must not be before start timestamp");
        }
        return Promise.resolve({ data: "[]" });
      },
    },
  };

  const routeOf = (path: string): string =>
    Object.hasOwn(routes, path)
      ? path
      : LABEL_VALUES_PATH.test(path)
      ? LABEL_VALUES_ROUTE
      : "other";

  const respond = async (req: Request): Promise<Response> => {
    const path = new URL(req.url).pathname;
    let route = routes[path];
    let labelName: string | undefined;
    const valuesMatch = LABEL_VALUES_PATH.exec(path);
    if (!route && valuesMatch) {
      labelName = decodeLabelName(decodeURIComponent(valuesMatch[1]));
      const name = labelName ?? "";
      route = {
        methods: ["GET"],
        handle: (form) =>
          stringsEndpoint(form, (q, m, h, signal) => q.labelValues(name, m, h, signal)),
      };
    }
    // As in Prometheus, the router answers unknown paths and methods uncompressed; the API's own
    // answers, errors and OPTIONS included, are compressed.
    if (!route) return new Response("404 page not found\n", { status: 404 });
    if (req.method === "OPTIONS") return compressResponse(req, new Response(null, { status: 204 }));
    if (!route.methods.includes(req.method)) {
      return new Response("Method Not Allowed\n", { status: 405 });
    }
    try {
      if (valuesMatch && labelName === undefined) throw new BadDataError("invalid label name");
      const form = await FormValues.from(req, options.maxRequestBodyBytes);
      return compressResponse(req, successResponse(await route.handle(form, req)));
    } catch (e) {
      const err = toApiError(e);
      if (err.status >= 500 && err.type === "internal") {
        options.logger.error("API request failed", { path, err: e });
      }
      return compressResponse(req, errorResponse(err));
    }
  };

  return Object.assign(async (req: Request): Promise<Response> => {
    requestsInFlight++;
    try {
      return await respond(req);
    } finally {
      requestsInFlight--;
    }
  }, { route: routeOf });
}

function requiredTime(form: FormValues, name: string): number {
  const value = form.get(name);
  if (value === undefined || value === "") {
    throw new BadDataError(`invalid parameter "${name}": cannot parse "" to a valid timestamp`);
  }
  return timeParam(form, name, 0);
}

/** Decodes Prometheus' `U__` escaping of UTF-8 label names in the values path; validates. */
function decodeLabelName(raw: string): string | undefined {
  let name = raw;
  if (raw.startsWith("U__")) {
    let out = "";
    const body = raw.slice(3);
    for (let i = 0; i < body.length; i++) {
      if (body[i] !== "_") {
        out += body[i];
        continue;
      }
      if (body[i + 1] === "_") {
        out += "_";
        i++;
        continue;
      }
      const end = body.indexOf("_", i + 1);
      if (end < 0) return undefined;
      const code = parseInt(body.slice(i + 1, end), 16);
      if (Number.isNaN(code) || code > 0x10ffff) return undefined;
      out += String.fromCodePoint(code);
      i = end;
    }
    name = out;
  }
  return name === "" || !isWellFormed(name) ? undefined : name;
}

function isWellFormed(s: string): boolean {
  // Lone surrogates are not valid UTF-8.
  return !/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(s);
}

function unique(list: string[]): string[] {
  return [...new Set(list)];
}

function toApiError(e: unknown): ApiError {
  if (e instanceof ApiError) return e;
  if (e instanceof BadDataError) return new ApiError("bad_data", 400, e.message);
  if (e instanceof ParseError) return new ApiError("bad_data", 400, e.message);
  if (e instanceof QueryError) {
    switch (e.kind) {
      case "timeout":
        return new ApiError("timeout", 503, e.message);
      case "canceled":
        return new ApiError("canceled", 499, e.message);
      case "storage":
        return new ApiError("internal", 500, e.message);
      default:
        return new ApiError("execution", 422, e.message);
    }
  }
  if (e instanceof DOMException && (e.name === "TimeoutError" || e.name === "AbortError")) {
    return new ApiError("timeout", 503, "query timed out");
  }
  return new ApiError("internal", 500, e instanceof Error ? e.message : String(e));
}
