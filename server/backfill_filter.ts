/**
 * The `thanos-backfill` block filter (`--block.filter.type=thanos-backfill`): the gateway serves
 * only what a Thanos endpoint does not already cover. Every `--block.filter.thanos-backfill.interval`
 * it asks the endpoint's `thanos.info.Info` for its store time range; a day fully inside
 * `[min(thanosMin + overlap, thanosMax), thanosMax]` is hidden, so an overlap window at the edge of
 * Thanos' data stays visible from both.
 *
 * @module
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { Buffer } from "node:buffer";
import {
  type InfoRequest,
  InfoRequestSchema,
  type InfoResponse,
  InfoResponseSchema,
} from "../proto/gen/info/infopb/rpc_pb.ts";
import type { Logger } from "../internal/log.ts";

/** A closed time range in milliseconds. */
export interface TimeRange {
  /** First millisecond (inclusive). */
  minT: number;
  /** Last millisecond (inclusive). */
  maxT: number;
}

/**
 * Reports whether the day `[day.minT, day.maxT]` lies entirely inside the part of the Thanos range
 * that the overlap leaves hidden.
 */
export function hiddenByBackfill(day: TimeRange, thanos: TimeRange, overlapMs: number): boolean {
  const from = Math.min(thanos.minT + overlapMs, thanos.maxT);
  return day.minT >= from && day.maxT <= thanos.maxT;
}

/** Converts an int64 time (which Thanos sets to math.MinInt64/MaxInt64 for "unbounded"). */
function clampTime(t: bigint): number {
  if (t > BigInt(Number.MAX_SAFE_INTEGER)) return Number.MAX_SAFE_INTEGER;
  if (t < BigInt(Number.MIN_SAFE_INTEGER)) return Number.MIN_SAFE_INTEGER;
  return Number(t);
}

/** Calls `thanos.info.Info/Info` on a plaintext gRPC endpoint (`host:port`). */
export function fetchThanosInfo(
  endpoint: string,
  timeoutMs: number,
): Promise<InfoResponse> {
  const client = new grpc.Client(endpoint, grpc.credentials.createInsecure());
  return new Promise<InfoResponse>((resolve, reject) => {
    client.makeUnaryRequest<InfoRequest, InfoResponse>(
      "/thanos.info.Info/Info",
      (req) => Buffer.from(toBinary(InfoRequestSchema, req)),
      (buf) => fromBinary(InfoResponseSchema, buf),
      create(InfoRequestSchema),
      { deadline: Date.now() + timeoutMs },
      (err, res) => {
        if (err || !res) {
          reject(new Error(`thanos-backfill endpoint ${endpoint}: Info failed: ${err?.message}`));
        } else resolve(res);
      },
    );
  }).finally(() => client.close());
}

/** Options of {@linkcode ThanosBackfillFilter}. */
export interface BackfillFilterOptions {
  /** The Thanos gRPC endpoint (`host:port`). */
  endpoint: string;
  /** How often to refresh the range, ms. */
  intervalMs: number;
  /** The overlap left visible, ms. */
  overlapMs: number;
  /** Logger for refresh failures. */
  logger: Logger;
}

/**
 * Keeps the Thanos endpoint's store range up to date and filters days by it. {@linkcode start}
 * makes the first call synchronously (failure is an error, as a misconfigured endpoint should stop
 * startup); later failures keep the last known range and are logged.
 */
export class ThanosBackfillFilter {
  #range: TimeRange | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;
  readonly #opts: BackfillFilterOptions;

  /** Creates the filter; call {@linkcode start} before use. */
  constructor(opts: BackfillFilterOptions) {
    this.#opts = opts;
  }

  /** The last range the endpoint reported, if any. */
  get range(): TimeRange | undefined {
    return this.#range;
  }

  /** Fetches the range once, then keeps refreshing it every interval. */
  async start(): Promise<void> {
    await this.refresh();
    this.#timer = setInterval(() => {
      this.refresh().catch((err) =>
        this.#opts.logger.warn("thanos-backfill range refresh failed; keeping the last one", {
          endpoint: this.#opts.endpoint,
          err,
        })
      );
    }, this.#opts.intervalMs);
  }

  /** Fetches the endpoint's store range now. */
  async refresh(): Promise<void> {
    const info = await fetchThanosInfo(this.#opts.endpoint, Math.max(1000, this.#opts.intervalMs));
    if (!info.store) {
      throw new Error(`thanos-backfill endpoint ${this.#opts.endpoint} exposes no Store API`);
    }
    this.#range = { minT: clampTime(info.store.minTime), maxT: clampTime(info.store.maxTime) };
  }

  /** Reports whether a day should be served (true until a range is known). */
  keep(day: TimeRange): boolean {
    return !this.#range || !hiddenByBackfill(day, this.#range, this.#opts.overlapMs);
  }

  /** Stops refreshing. */
  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
