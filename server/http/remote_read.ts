/**
 * Prometheus remote read on the Prometheus port: `POST /api/v1/read` with a snappy-compressed
 * `prometheus.ReadRequest`, answered as Prometheus' `storage/remote/read_handler.go` answers it.
 * The response type is the first of the request's `accepted_response_types` supported (none:
 * SAMPLES):
 *
 * - SAMPLES: one snappy-compressed `ReadResponse` with every query's series and samples (float
 *   samples and native histograms). Each query may return at most
 *   `--storage.remote.read-sample-limit` samples and the response at most `--query.max-samples`
 *   (it is held in memory whole); past either the answer is 400.
 * - STREAMED_XOR_CHUNKS: frames of `ChunkedReadResponse`, series after series in label order,
 *   each series split into frames of about `--storage.remote.read-max-bytes-in-frame` bytes.
 *   Chunks go out as stored in Parquet; only those crossing an edge of the range are cut
 *   (`remote_read_chunks.ts`). Series are read a batch at a time while the frames are sent.
 *
 * A query reads `[start_timestamp_ms, end_timestamp_ms]`, narrowed to the hints' `start_ms` and
 * `end_ms` when the request has hints (Prometheus reads the hinted range); the other hints pass
 * to storage, and `func: "series"` returns SAMPLES series without samples. The request's quotas
 * (`--query.limits.*`) cover all its queries; `--storage.remote.read-concurrent-limit` requests
 * run at once, the others wait; `--query.timeout` bounds a request, its stream included (a
 * stream cut by it or by an error ends without its last frames, which the client reports).
 *
 * External labels need no handling here, unlike in Prometheus (which adds its external labels
 * to the results and rewrites matchers on them): the Parquet queryable already gives every
 * series its stream's external labels (or `--query.external-label`) and evaluates matchers on
 * them.
 *
 * @module
 */
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { QueryError } from "../../engine/errors.ts";
import { Semaphore } from "../../internal/concurrency.ts";
import { concatBytes } from "../../internal/bytes.ts";
import type { Logger } from "../../internal/log.ts";
import { Matcher, MatchType, RegexpError } from "../../model/matchers.ts";
import type { Queryable, SelectHints } from "../../model/queryable.ts";
import { ArraySampleIterator } from "../../model/series.ts";
import { eachSeries } from "../../model/series_set.ts";
import { type Query, ReadRequest_ResponseType } from "../../proto/gen/prompb/remote_pb.ts";
import { LabelMatcher_Type } from "../../proto/gen/prompb/types_pb.ts";
import type { StoreSource } from "../grpc/thanos/source.ts";
import { chunksInRange } from "./remote_read_chunks.ts";
import {
  DECODE_READ_LIMIT,
  decodeReadRequest,
  ReadRequestError,
  SAMPLES_CONTENT_TYPE,
  seriesFrames,
  snappyBlockEncode,
  STREAMED_CONTENT_TYPE,
  writeTimeSeries,
} from "./remote_read_codec.ts";
import type { RoutedHandler } from "./server.ts";

/** The path of remote read. */
export const REMOTE_READ_PATH = "/api/v1/read";

/** Bytes of frames gathered before they are handed to the connection. */
const FLUSH_BYTES = 64 * 1024;

/** Options of {@linkcode createRemoteReadHandler}. */
export interface RemoteReadOptions {
  /** A data source for one request (fresh quotas per request). */
  queryable: () => Queryable;
  /** The stored chunks of a request's data source (serve: `parquetStoreSource`). */
  chunkSource: (queryable: Queryable) => StoreSource;
  /** Samples one query of a SAMPLES request may return (0: no limit). */
  sampleLimit: number;
  /** Samples a SAMPLES response may hold in all (0: no limit). */
  maxSamples: number;
  /** Requests served at once (0: no limit). */
  concurrencyLimit: number;
  /** Bytes of labels and chunks after which a frame is closed. */
  maxBytesInFrame: number;
  /** Time a request may take, waiting included, ms. */
  timeout: number;
  /** Logger for failures and storage warnings. */
  logger: Logger;
}

/** A request the handler refuses, with its status. */
class RemoteReadError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
    this.name = "RemoteReadError";
  }
}

const MATCH_TYPES: Record<number, MatchType> = {
  [LabelMatcher_Type.EQ]: MatchType.Equal,
  [LabelMatcher_Type.NEQ]: MatchType.NotEqual,
  [LabelMatcher_Type.RE]: MatchType.Regexp,
  [LabelMatcher_Type.NRE]: MatchType.NotRegexp,
};

/** A query of the request in the engine's terms. */
interface Selection {
  readonly matchers: Matcher[];
  readonly hints: SelectHints;
}

function toSelection(q: Query): Selection {
  const matchers = q.matchers.map((m) => {
    const type = MATCH_TYPES[m.type];
    if (type === undefined) {
      throw new RemoteReadError(400, `invalid matcher type ${m.type} for label ${m.name}`);
    }
    try {
      return new Matcher(type, m.name, m.value);
    } catch (e) {
      if (e instanceof RegexpError) throw new RemoteReadError(400, e.message);
      throw e;
    }
  });
  let start = Number(q.startTimestampMs), end = Number(q.endTimestampMs);
  const h = q.hints;
  if (h === undefined) return { matchers, hints: { start, end } };
  start = Math.max(start, Number(h.startMs));
  end = Math.min(end, Number(h.endMs));
  return {
    matchers,
    hints: {
      start,
      end,
      step: Number(h.stepMs),
      func: h.func || undefined,
      grouping: h.grouping,
      by: h.by,
      range: Number(h.rangeMs),
    },
  };
}

/** The first accepted type this server supports (Prometheus' `NegotiateResponseType`). */
function negotiate(accepted: readonly number[]): ReadRequest_ResponseType {
  if (accepted.length === 0) return ReadRequest_ResponseType.SAMPLES;
  for (const t of accepted) {
    if (
      t === ReadRequest_ResponseType.SAMPLES || t === ReadRequest_ResponseType.STREAMED_XOR_CHUNKS
    ) return t;
  }
  throw new RemoteReadError(
    400,
    `server does not support any of the requested response types: [${accepted.join(" ")}]; ` +
      "supported: SAMPLES, STREAMED_XOR_CHUNKS",
  );
}

async function readBody(req: Request, limit: number): Promise<Uint8Array> {
  const tooLarge = () => new RemoteReadError(400, `request body larger than ${limit} bytes`);
  if (Number(req.headers.get("content-length") ?? 0) > limit) {
    await req.body?.cancel();
    throw tooLarge();
  }
  if (!req.body) return new Uint8Array(0);
  const parts: Uint8Array[] = [];
  let total = 0;
  for await (const part of req.body) {
    total += part.length;
    if (total > limit) throw tooLarge();
    parts.push(part);
  }
  return concatBytes(parts);
}

function textResponse(status: number, message: string): Response {
  return new Response(message + "\n", {
    status,
    headers: { "content-type": "text/plain; charset=utf-8", "x-content-type-options": "nosniff" },
  });
}

/** Creates the handler of {@linkcode REMOTE_READ_PATH}; it claims no other path. */
export function createRemoteReadHandler(options: RemoteReadOptions): RoutedHandler {
  const gate = new Semaphore(options.concurrencyLimit);
  const logger = options.logger;

  const logWarnings = (warnings: readonly string[]) => {
    for (const w of warnings) logger.warn("warning on remote read query", { warning: w });
  };

  /** The status and message of a failure; `timeout` tells whether the deadline passed. */
  const failure = (e: unknown, timeout: AbortSignal, disconnected: AbortSignal) => {
    if (e instanceof RemoteReadError) return e;
    if (e instanceof ReadRequestError) return new RemoteReadError(400, e.message);
    if (timeout.aborted) return new RemoteReadError(503, "remote read timed out");
    if (disconnected.aborted) return new RemoteReadError(499, "remote read canceled");
    if (e instanceof QueryError) {
      // The request's quotas (--query.limits.*): the client can ask for less.
      if (e.kind === "too_many_samples") return new RemoteReadError(400, e.message);
      if (e.kind === "timeout") return new RemoteReadError(503, e.message);
    }
    logger.error("remote read failed", { err: e });
    return new RemoteReadError(500, e instanceof Error ? e.message : String(e));
  };

  const samples = async (
    queries: readonly Selection[],
    signal: AbortSignal,
  ): Promise<Response> => {
    const queryable = options.queryable();
    const w = new BinaryWriter();
    let total = 0;
    for (const q of queries) {
      let returned = 0;
      const onSample = () => {
        if (options.sampleLimit > 0 && ++returned > options.sampleLimit) {
          throw new RemoteReadError(400, `exceeded sample limit (${options.sampleLimit})`);
        }
        if (options.maxSamples > 0 && ++total > options.maxSamples) {
          throw new RemoteReadError(
            400,
            `the response would hold more than ${options.maxSamples} samples ` +
              "(--query.max-samples); ask for less or use STREAMED_XOR_CHUNKS",
          );
        }
      };
      w.tag(1, WireType.LengthDelimited).fork();
      // Series only: whatever the store does with the hint, no sample is sent.
      const onlySeries = q.hints.func === "series";
      const set = queryable.select(q.matchers, q.hints, signal);
      for await (const s of eachSeries(set)) {
        signal.throwIfAborted();
        const it = onlySeries ? new ArraySampleIterator([], []) : s.iterator();
        writeTimeSeries(w, 1, s.labels, it, onSample);
      }
      logWarnings(set.warnings());
      w.join();
    }
    return new Response(snappyBlockEncode(w.finish()) as Uint8Array<ArrayBuffer>, {
      headers: { "content-type": SAMPLES_CONTENT_TYPE, "content-encoding": "snappy" },
    });
  };

  /** The frames of every query, in order. */
  async function* frames(
    source: StoreSource,
    queries: readonly Selection[],
    signal: AbortSignal,
  ): AsyncGenerator<Uint8Array, void, undefined> {
    for (const [i, q] of queries.entries()) {
      // Prometheus' chunk querier reads chunks whatever the function: series need them here.
      const hints = { ...q.hints, func: q.hints.func === "series" ? undefined : q.hints.func };
      const set = await source.selectChunks(q.matchers, hints, signal);
      for await (const s of set.series) {
        signal.throwIfAborted();
        const chunks = chunksInRange(s.chunks, hints.start, hints.end);
        if (chunks.length > 0) yield* seriesFrames(s.labels, chunks, i, options.maxBytesInFrame);
      }
      logWarnings(set.warnings);
    }
  }

  /**
   * The streamed answer. Its first bytes are produced before the response starts, so that
   * failures found at once (limits, bad matchers) still get their status; `done` runs once
   * the stream ends, however it ends.
   */
  const streamed = async (
    queries: readonly Selection[],
    signal: AbortSignal,
    stop: AbortController,
    done: () => void,
  ): Promise<Response> => {
    const it = frames(options.chunkSource(options.queryable()), queries, signal);
    let ended = false;
    const fill = async (): Promise<Uint8Array | undefined> => {
      const parts: Uint8Array[] = [];
      let size = 0;
      while (size < FLUSH_BYTES) {
        const r = await it.next();
        if (r.done) {
          ended = true;
          break;
        }
        parts.push(r.value);
        size += r.value.length;
      }
      return parts.length > 0 ? concatBytes(parts) : undefined;
    };
    const first = await fill();
    const headers = { "content-type": STREAMED_CONTENT_TYPE };
    if (ended) {
      done();
      return new Response(first as Uint8Array<ArrayBuffer> | undefined, { headers });
    }
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(first!);
      },
      async pull(controller) {
        try {
          const bytes = await fill();
          if (bytes) controller.enqueue(bytes);
          if (ended) {
            controller.close();
            done();
          }
        } catch (e) {
          // Too late for a status: the stream ends without its last frames. (A client that
          // went away is no failure: the stream is cancelled, and error() does nothing.)
          if (!stop.signal.aborted) logger.warn("remote read stream failed", { err: e });
          controller.error(e);
          done();
        }
      },
      async cancel() {
        stop.abort(new DOMException("remote read client went away", "AbortError"));
        await it.return().catch(() => {});
        done();
      },
    }, { highWaterMark: 0 });
    return new Response(body as ReadableStream<Uint8Array<ArrayBuffer>>, { headers });
  };

  const handle = async (req: Request): Promise<Response> => {
    if (req.method !== "POST") return textResponse(405, "Method Not Allowed");
    const timeout = AbortSignal.timeout(options.timeout);
    const stop = new AbortController();
    // req.signal: the client went away (deno.json opts out of the legacy abort after answers).
    const signal = AbortSignal.any([req.signal, timeout, stop.signal]);
    let release: (() => void) | undefined;
    try {
      try {
        release = await gate.acquire(signal);
      } catch {
        throw timeout.aborted
          ? new RemoteReadError(503, "remote read timed out waiting for a place")
          : new RemoteReadError(499, "remote read canceled");
      }
      const request = decodeReadRequest(await readBody(req, DECODE_READ_LIMIT));
      const type = negotiate(request.acceptedResponseTypes);
      const queries = request.queries.map(toSelection);
      if (type === ReadRequest_ResponseType.SAMPLES) return await samples(queries, signal);
      const held = release;
      release = undefined;
      try {
        return await streamed(queries, signal, stop, held);
      } catch (e) {
        held();
        throw e;
      }
    } catch (e) {
      const err = failure(e, timeout, req.signal);
      return textResponse(err.status, err.message);
    } finally {
      release?.();
    }
  };

  return Object.assign(handle, {
    route: (path: string) => path === REMOTE_READ_PATH ? REMOTE_READ_PATH : "other",
  });
}
