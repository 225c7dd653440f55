/**
 * The gateway's own endpoints beside the Prometheus API, for the query UI's block browser and
 * status page, in Prometheus' JSON envelope (`{"status":"success","data":...}`, errors as
 * `{"status":"error","errorType":...,"error":...}`):
 *
 * - `GET /api/v1/gateway/blocks`: every discovered stream (external labels) and day, with the
 *   day's `meta.pb` (time range, format version, shards, source blocks) and its sync state:
 *   `loaded` (then its shards' series, row groups, label columns and file sizes), `failed` (the
 *   reason: the last sync pass could not load it, or discovery found its `meta.pb` invalid),
 *   `filtered` (left out by `--block.filter.type`) or `pending` (found after the last sync
 *   pass); a stream whose `stream.pb` is invalid is listed with the reason as its `error`. Times
 *   are ms since the epoch, sizes bytes.
 * - `GET /api/v1/gateway/blocks/samples?stream=HASH&date=YYYY-MM-DD`: the chunk and sample counts
 *   of a loaded day, counted on request (a read of its chunks files; one count at a time, the
 *   result kept for as long as the day stays loaded).
 * - `GET /api/v1/gateway/limits`: the limits in force (flag or fixed limit, value, meaning).
 *
 * @module
 */
import { Semaphore } from "../../internal/concurrency.ts";
import type { Bucket } from "../../storage/objstore/bucket.ts";
import { parseDay } from "../../storage/parquet/days.ts";
import type { DiscoveredStream, SkippedByDiscovery } from "../../storage/parquet/discovery.ts";
import type { LoadedDay } from "../db/block.ts";
import { countSamples, type SampleCounts, shardStats } from "../db/day_stats.ts";
import type { DayLoadFailure, DayRange } from "../db/syncer.ts";
import { compressResponse } from "./compression.ts";
import { goJsonEscape } from "./json.ts";
import type { RoutedHandler } from "./server.ts";

/** A limit in force, as the status page lists it. */
export interface LimitInForce {
  /** The flag that sets it (`--name`), or what the fixed limit bounds. */
  readonly name: string;
  /** Its value as the flag reads, or the fixed number. */
  readonly value: string;
  /** What it bounds. */
  readonly help: string;
}

/** Options of {@linkcode createGatewayApi}. */
export interface GatewayApiOptions {
  /**
   * Discovery's streams, what it left out and the time of its last good pass (a
   * `ParquetDiscoverer`).
   */
  discovery: {
    readonly streams: ReadonlyMap<bigint, DiscoveredStream>;
    readonly skipped: readonly SkippedByDiscovery[];
    readonly lastSync: number;
  };
  /** The loaded days, the last pass's failures and its time (a `Syncer`). */
  sync: {
    readonly days: readonly LoadedDay[];
    readonly failures: ReadonlyMap<string, DayLoadFailure>;
    readonly lastSync: number;
  };
  /** The block filter of `serve`, if any: days it rejects are `filtered`. */
  keep?: (day: DayRange) => boolean;
  /** The Parquet bucket, read by sample counts. */
  bucket: Bucket;
  /** The limits in force. */
  limits: readonly LimitInForce[];
}

/** One day of the block listing (a day with an invalid `meta.pb` has none of its fields). */
interface DayEntry {
  date: string;
  minTime: number;
  maxTime: number;
  version?: number;
  shards?: number;
  sourceBlocks?: readonly string[];
  state: "loaded" | "failed" | "filtered" | "pending";
  error?: string;
  corruptedLabelsFile?: boolean;
  failedAt?: number;
  series?: number;
  labelsBytes?: number;
  chunksBytes?: number;
  shardStats?: ReturnType<typeof shardStats>;
}

const BLOCKS_ROUTE = "/api/v1/gateway/blocks";
const SAMPLES_ROUTE = "/api/v1/gateway/blocks/samples";
const LIMITS_ROUTE = "/api/v1/gateway/limits";
const ROUTES = new Set([BLOCKS_ROUTE, SAMPLES_ROUTE, LIMITS_ROUTE]);

class GatewayApiError extends Error {
  constructor(readonly type: string, readonly status: number, message: string) {
    super(message);
  }
}

function envelope(req: Request, status: number, body: unknown): Promise<Response> {
  return compressResponse(
    req,
    new Response(goJsonEscape(JSON.stringify(body)), {
      status,
      headers: { "content-type": "application/json" },
    }),
  );
}

/** Creates the handler of `/api/v1/gateway/*`; its `route` is `other` for any other path. */
export function createGatewayApi(options: GatewayApiOptions): RoutedHandler {
  const counting = new Semaphore(1);
  const counted = new WeakMap<LoadedDay, SampleCounts>();

  const blocks = () => {
    const loaded = new Map(options.sync.days.map((d) => [d.key, d]));
    const failures = options.sync.failures;
    const keep = options.keep ?? (() => true);
    const streams = new Map<
      bigint,
      { externalLabels: Record<string, string>; days: DayEntry[]; error?: string }
    >();
    const streamOf = (hash: bigint, externalLabels: Readonly<Record<string, string>>) => {
      let s = streams.get(hash);
      if (!s) streams.set(hash, s = { externalLabels: { ...externalLabels }, days: [] });
      return s;
    };
    const listed = new Set<string>();
    for (const stream of options.discovery.streams.values()) {
      const s = streamOf(stream.hash, stream.externalLabels);
      for (const [date, { meta }] of stream.days) {
        const key = `${stream.hash}/${date}`;
        listed.add(key);
        const day = loaded.get(key);
        const failure = failures.get(key);
        const entry: DayEntry = {
          date,
          minTime: meta.mint,
          maxTime: meta.maxt,
          version: meta.version,
          shards: meta.shards,
          sourceBlocks: meta.convertedFromBLIDs,
          state: day
            ? "loaded"
            : failure
            ? "failed"
            : keep({ minT: meta.mint, maxT: meta.maxt })
            ? "pending"
            : "filtered",
        };
        if (day) Object.assign(entry, loadedStats(day));
        else if (failure) {
          entry.error = failure.reason;
          entry.corruptedLabelsFile = failure.corruptedLabelsFile;
          entry.failedAt = failure.at;
        }
        s.days.push(entry);
      }
    }
    for (const skipped of options.discovery.skipped) {
      const known = options.discovery.streams.get(skipped.hash)?.externalLabels ?? {};
      const s = streamOf(skipped.hash, known);
      const error = skipped.reason.startsWith(skipped.key)
        ? skipped.reason
        : `${skipped.key}: ${skipped.reason}`;
      if (skipped.date === undefined) {
        s.error = error;
        continue;
      }
      const day = parseDay(skipped.date);
      s.days.push({
        date: skipped.date,
        minTime: day.start,
        maxTime: day.end,
        state: "failed",
        error,
      });
    }
    // Days that left discovery stay loaded until the next sync pass unloads them.
    for (const day of options.sync.days) {
      if (listed.has(day.key)) continue;
      streamOf(day.hash, day.externalLabels).days.push({
        date: day.date,
        minTime: day.mint,
        maxTime: day.maxt,
        version: day.meta.version,
        shards: day.meta.shards,
        sourceBlocks: day.meta.convertedFromBLIDs,
        state: "loaded",
        ...loadedStats(day),
      });
    }
    return {
      discoveredAt: options.discovery.lastSync || null,
      syncedAt: options.sync.lastSync || null,
      streams: [...streams].map(([hash, s]) => ({
        hash: hash.toString(),
        externalLabels: s.externalLabels,
        ...(s.error ? { error: s.error } : {}),
        days: s.days.sort((a, b) => (a.date < b.date ? -1 : a.date > b.date ? 1 : 0)),
      })).sort((a, b) =>
        compareRecords(a.externalLabels, b.externalLabels) || (a.hash < b.hash ? -1 : 1)
      ),
    };
  };

  const samples = async (url: URL, signal: AbortSignal): Promise<SampleCounts> => {
    const stream = url.searchParams.get("stream") ?? "";
    const date = url.searchParams.get("date") ?? "";
    if (!/^\d{1,20}$/.test(stream) || !/^\d{4}-\d{2}-\d{2}$/.test(date)) {
      throw new GatewayApiError(
        "bad_data",
        400,
        `invalid parameters: want stream=<hash> and date=YYYY-MM-DD, got stream=${
          JSON.stringify(stream)
        } date=${JSON.stringify(date)}`,
      );
    }
    const key = `${BigInt(stream)}/${date}`;
    const day = options.sync.days.find((d) => d.key === key);
    if (!day) throw new GatewayApiError("not_found", 404, `day ${key} is not loaded`);
    const known = counted.get(day);
    if (known) return known;
    const release = await counting.acquire(signal);
    // The day stays open while its chunks files are read, even if a sync unloads it meanwhile.
    const acquired = day.acquire();
    try {
      if (!acquired) throw new GatewayApiError("not_found", 404, `day ${key} was unloaded`);
      const result = counted.get(day) ?? await countSamples(options.bucket, day, signal);
      counted.set(day, result);
      return result;
    } finally {
      if (acquired) await day.release();
      release();
    }
  };

  const route = (path: string) => ROUTES.has(path) ? path : "other";

  const handler = async (req: Request): Promise<Response> => {
    const url = new URL(req.url);
    if (!ROUTES.has(url.pathname)) return new Response("404 page not found\n", { status: 404 });
    if (req.method !== "GET" && req.method !== "HEAD") {
      return new Response("Method Not Allowed\n", { status: 405 });
    }
    try {
      const data = url.pathname === BLOCKS_ROUTE
        ? blocks()
        : url.pathname === LIMITS_ROUTE
        ? options.limits
        : await samples(url, req.signal);
      return envelope(req, 200, { status: "success", data });
    } catch (err) {
      const e = err instanceof GatewayApiError ? err : new GatewayApiError(
        req.signal.aborted ? "canceled" : "internal",
        req.signal.aborted ? 499 : 500,
        err instanceof Error ? err.message : String(err),
      );
      return envelope(req, e.status, { status: "error", errorType: e.type, error: e.message });
    }
  };
  return Object.assign(handler, { route });
}

function loadedStats(day: LoadedDay) {
  const shards = shardStats(day);
  return {
    series: shards.reduce((n, s) => n + s.series, 0),
    labelsBytes: shards.reduce((n, s) => n + s.labelsBytes, 0),
    chunksBytes: shards.reduce((n, s) => n + s.chunksBytes, 0),
    shardStats: shards,
  };
}

/** Orders label sets as their sorted `name=value` lists compare. */
function compareRecords(a: Record<string, string>, b: Record<string, string>): number {
  const key = (r: Record<string, string>) =>
    Object.keys(r).sort().map((k) => `${k}\u0000${r[k]}`).join("\u0001");
  const x = key(a), y = key(b);
  return x < y ? -1 : x > y ? 1 : 0;
}
