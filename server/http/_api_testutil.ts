/**
 * Test helpers: the Prometheus API over the real engine and an in-memory store, served by the
 * real listener on 127.0.0.1 port 0, and a `node:http` client that sends exactly the headers it
 * is given and returns the body as received (no transparent decompression, unlike `fetch`).
 *
 * @module
 */
import { request } from "node:http";
import { Registry } from "prom-client";
import { Engine } from "../../engine/engine.ts";
import { labelsFromRecord } from "../../model/labels.ts";
import { MemoryQueryable } from "../../engine/memory_queryable.ts";
import { concatBytes } from "../../internal/bytes.ts";
import { NOP_LOGGER } from "../../internal/log.ts";
import { createPrometheusApi, type PrometheusApiOptions } from "./api.ts";
import type { Queryable } from "../../model/queryable.ts";
import {
  type HttpServer,
  type HttpServerOptions,
  type RoutedHandler,
  startHttpServer,
} from "./server.ts";

/** A running test API. */
export interface TestApi {
  /** Base URL, e.g. `http://127.0.0.1:40123`. */
  url: string;
  /** Stops the listener. */
  close(): Promise<void>;
}

/**
 * Serves `handler` on a free port of 127.0.0.1 with a fresh registry and no logging; `options`
 * add to or override those settings.
 */
export function listenForTest(
  handler: RoutedHandler,
  options: Partial<HttpServerOptions> = {},
): HttpServer {
  return startHttpServer({
    port: 0,
    hostname: "127.0.0.1",
    registry: new Registry(),
    logger: NOP_LOGGER,
    name: "test",
    handler,
    ...options,
  });
}

/**
 * The Prometheus API over the real engine and `queryable` with Prometheus' defaults; `options`
 * override any setting.
 */
export function testPrometheusApi(
  queryable: () => Queryable,
  options: Partial<PrometheusApiOptions> = {},
): RoutedHandler {
  return createPrometheusApi({
    engine: new Engine({ features: [] }),
    queryable,
    defaultTimeout: 30_000,
    maxTimeout: 60_000,
    lookbackDelta: 300_000,
    maxConcurrentQueries: 10,
    version: "9.8.7",
    logger: NOP_LOGGER,
    ...options,
  });
}

/**
 * Serves the API over `up{job="api"} 1` at t=0 with Prometheus' defaults; `options` override
 * any setting.
 */
export function startTestApi(options: Partial<PrometheusApiOptions> = {}): TestApi {
  const store = new MemoryQueryable();
  store.append(labelsFromRecord({ __name__: "up", job: "api" }), 0, 1);
  const server = listenForTest(testPrometheusApi(() => store, options));
  return { url: `http://127.0.0.1:${server.port}`, close: () => server.shutdown(1000) };
}

/** A response as received on the wire. */
export interface RawResponse {
  /** Status code. */
  status: number;
  /** Headers, lower-case names. */
  headers: Record<string, string | string[] | undefined>;
  /** The body bytes, still content-encoded. */
  body: Uint8Array;
}

/**
 * Sends one request with exactly `headers` and `body`. With `rest`, the request is held open
 * after `body` until `rest` resolves to the remainder of the body.
 */
export function rawRequest(
  url: string,
  init: {
    method?: string;
    headers?: Record<string, string>;
    body?: string;
    rest?: Promise<string>;
  } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: init.method ?? "GET", headers: init.headers }, (res) => {
      const chunks: Uint8Array[] = [];
      res.on("data", (chunk: Uint8Array) => chunks.push(chunk));
      res.on("error", reject);
      res.on("end", () => {
        resolve({ status: res.statusCode!, headers: res.headers, body: concatBytes(chunks) });
      });
    });
    req.on("error", reject);
    if (init.body !== undefined) req.write(init.body);
    if (init.rest) init.rest.then((rest) => req.end(rest), reject);
    else req.end();
  });
}

/** Decodes a `gzip` or `deflate` body with the platform's `DecompressionStream`. */
export async function decompress(body: Uint8Array, encoding: "gzip" | "deflate"): Promise<string> {
  const stream = new Blob([body as Uint8Array<ArrayBuffer>]).stream()
    .pipeThrough(new DecompressionStream(encoding));
  return await new Response(stream).text();
}
