/**
 * The GCS provider over `@google-cloud/storage` (JSON API), with Thanos' GCS fields plus an
 * `endpoint` override for GCS-compatible servers. `service_account` holds the key file's JSON;
 * empty means Application Default Credentials. With `endpoint` set and no `service_account`,
 * requests are sent without authentication (the library's behaviour for custom endpoints).
 *
 * Bodies up to `chunk_size_bytes` (default 16 MiB) are sent in one multipart request and retried
 * by our retry layer; larger ones stream through one resumable upload in chunks of that size,
 * which the library sends, retries (same attempt count, exponential backoff) and resumes itself,
 * since a streamed body cannot be replayed from the start (an upload is visible once finished).
 * `use_grpc` is refused: the gRPC transport is not available under Deno here. `http_config`
 * other than `response_header_timeout` (the per-attempt timeout) and `grpc_conn_pool_size` have
 * no effect.
 *
 * @module
 */
import { type File, IdempotencyStrategy, Storage } from "@google-cloud/storage";
import { Readable } from "node:stream";
import type { Logger } from "../../internal/log.ts";
import type { Bucket, ListOptions, ObjectAttributes, UploadBody, UploadOptions } from "./bucket.ts";
import {
  BucketError,
  checkRange,
  existsByAttributes,
  keysByPage,
  listDirectory,
  ObjectNotFoundError,
} from "./bucket.ts";
import { ProviderConfigError } from "./config.ts";
import { firstParts } from "./parts.ts";
import {
  DEFAULT_RETRY_POLICY,
  isRetryableStatus,
  retrying,
  type RetryingCall,
  type RetryPolicy,
} from "./retry.ts";

const PROVIDER = "GCS";
const DEFAULT_CHUNK_SIZE = 16 * 1024 * 1024;

/** A config field that cannot be used; names the field. */
export class GcsConfigError extends ProviderConfigError {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "GcsConfigError";
  }
}

/** A resolved GCS setup; {@linkcode gcsOptionsFromConfig} builds it from YAML fields. */
export interface GcsOptions {
  /** The bucket. */
  bucket: string;
  /** JSON API base URL; empty for Google's. */
  endpoint: string;
  /** Parsed service-account key, or undefined for Application Default Credentials. */
  credentials?: Record<string, unknown>;
  /** Upload chunk size and single-request limit, bytes (a multiple of 256 KiB). */
  chunkSize: number;
  /** Retries and per-attempt timeout. */
  retry: RetryPolicy;
}

/** Resolves the validated GCS fields of an objstore config. Throws {@linkcode GcsConfigError}. */
export function gcsOptionsFromConfig(c: Record<string, unknown>): GcsOptions {
  if (c.use_grpc) throw new GcsConfigError("use_grpc is not supported; use the JSON API");
  let credentials: Record<string, unknown> | undefined;
  const sa = c.service_account as string;
  if (sa !== "") {
    try {
      credentials = JSON.parse(sa);
    } catch {
      // The message must not quote the field: it holds a private key.
      throw new GcsConfigError("service_account is not valid JSON (want a key file's content)");
    }
  }
  const chunk = (c.chunk_size_bytes as number) || DEFAULT_CHUNK_SIZE;
  if (chunk % (256 * 1024) !== 0) {
    throw new GcsConfigError(`chunk_size_bytes ${chunk} must be a multiple of 262144`);
  }
  const http = c.http_config as { response_header_timeout: number };
  const retries = c.max_retries as number;
  return {
    bucket: c.bucket as string,
    endpoint: (c.endpoint as string).replace(/\/+$/, ""),
    credentials,
    chunkSize: chunk,
    retry: {
      ...DEFAULT_RETRY_POLICY,
      maxAttempts: retries > 0 ? retries : DEFAULT_RETRY_POLICY.maxAttempts,
      attemptTimeoutMs: http.response_header_timeout || DEFAULT_RETRY_POLICY.attemptTimeoutMs,
    },
  };
}

interface GcsErrorLike {
  code?: number | string;
  message?: string;
}

function statusOf(e: unknown): number | undefined {
  const code = (e as GcsErrorLike | undefined)?.code;
  return typeof code === "number" ? code : undefined;
}

/** Whether a GCS error is throttling or a server failure. */
export function isRetryableGcsError(e: unknown): boolean {
  return isRetryableStatus(statusOf(e));
}

/** Rejects when `signal` fires; the library's requests take no signal, only a timeout. */
function untilAborted<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

/** A bucket on Google Cloud Storage or a server speaking its JSON API. */
export class GcsBucket implements Bucket {
  /** Always `"GCS"`. */
  readonly provider: string = PROVIDER;
  readonly #storage: Storage;
  /** The client of resumable uploads, whose chunks the library retries and resumes. */
  readonly #resumable: Storage;
  readonly #opts: GcsOptions;
  readonly #logger?: Logger;
  readonly #retry: RetryingCall;

  /** Creates the client; no request is made until the first operation. */
  constructor(options: GcsOptions, logger?: Logger) {
    this.#opts = options;
    this.#logger = logger;
    this.#retry = retrying({
      policy: options.retry,
      retryable: isRetryableGcsError,
      logger,
      provider: PROVIDER,
      wrap: (op, key, e) => this.#wrap(op, key, e),
    });
    const common = {
      apiEndpoint: options.endpoint || undefined,
      credentials: options.credentials,
      projectId: options.credentials?.project_id as string | undefined,
      useAuthWithCustomEndpoint: options.endpoint !== "" && options.credentials !== undefined,
      timeout: options.retry.attemptTimeoutMs || undefined,
    };
    // Retries are ours, except inside resumable uploads (see the module comment).
    this.#storage = new Storage({ ...common, retryOptions: { autoRetry: false } });
    this.#resumable = new Storage({
      ...common,
      retryOptions: {
        autoRetry: true,
        maxRetries: Math.max(1, options.retry.maxAttempts - 1),
        retryDelayMultiplier: 2,
        maxRetryDelay: Math.max(1, options.retry.maxDelayMs / 1000),
        // Without preconditions the library would not retry an upload: each of ours writes
        // a whole object, so repeating a chunk of its session is safe.
        idempotencyStrategy: IdempotencyStrategy.RetryAlways,
      },
    });
  }

  #file(key: string): File {
    return this.#storage.bucket(this.#opts.bucket).file(key);
  }

  #wrap(op: string, key: string, e: unknown): Error {
    if (e instanceof BucketError) return e;
    const message = (e as GcsErrorLike)?.message ?? String(e);
    if (statusOf(e) === 404 && !/bucket/i.test(message)) {
      return new ObjectNotFoundError(PROVIDER, op, key, { cause: e });
    }
    const status = statusOf(e);
    return new BucketError(PROVIDER, op, key, status ? `${message} (HTTP ${status})` : message, {
      cause: e,
    });
  }

  /** Reads a whole object. */
  get(key: string, signal?: AbortSignal): Promise<Uint8Array> {
    return this.#retry("get", key, signal, async (s) => {
      const [buf] = await untilAborted(this.#file(key).download({ validation: false }), s);
      return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    });
  }

  /** Reads a byte range with one ranged GET. */
  async getRange(
    key: string,
    offset: number,
    length: number,
    signal?: AbortSignal,
  ): Promise<Uint8Array> {
    checkRange(PROVIDER, key, offset, length);
    if (length === 0) {
      await this.attributes(key, signal);
      return new Uint8Array(0);
    }
    try {
      return await this.#retry("get_range", key, signal, async (s) => {
        const [buf] = await untilAborted(
          this.#file(key).download({ start: offset, end: offset + length - 1, validation: false }),
          s,
        );
        return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
      });
    } catch (e) {
      // 416: the offset is at or past the end of an existing object.
      if (e instanceof BucketError && statusOf(e.cause) === 416) return new Uint8Array(0);
      throw e;
    }
  }

  /** Streams a whole object; rejects (not-found included) before the first byte. */
  getStream(key: string, signal?: AbortSignal): Promise<ReadableStream<Uint8Array>> {
    return this.#retry("get", key, signal, async (s, done) => {
      const stream = this.#file(key).createReadStream({ validation: false });
      // The library reports a failed answer only once the stream is read: wait until the first
      // bytes (or the end) are buffered, so that errors reject here.
      const onReadable = () => {};
      await untilAborted(
        new Promise<void>((resolve, reject) => {
          stream.once("readable", () => resolve());
          stream.once("error", reject);
          stream.on("readable", onReadable);
        }),
        s,
      ).catch((e) => {
        stream.destroy();
        throw e;
      });
      stream.off("readable", onReadable);
      done();
      return Readable.toWeb(stream) as ReadableStream<Uint8Array>;
    });
  }

  /** Reports whether an object exists. */
  exists(key: string, signal?: AbortSignal): Promise<boolean> {
    return existsByAttributes(this, key, signal);
  }

  /** Returns an object's size and update time. */
  attributes(key: string, signal?: AbortSignal): Promise<ObjectAttributes> {
    return this.#retry("attributes", key, signal, async (s) => {
      const [meta] = await untilAborted(this.#file(key).getMetadata(), s);
      return {
        size: Number(meta.size ?? 0),
        lastModified: new Date(meta.updated ?? 0),
      };
    });
  }

  /** Lists objects page by page, with `/` as delimiter unless recursive. */
  async *list(
    prefix: string,
    options: ListOptions = {},
    signal?: AbortSignal,
  ): AsyncIterable<string> {
    const dir = listDirectory(prefix);
    yield* keysByPage(dir, (pageToken) =>
      this.#retry("iter", prefix, signal, async (s) => {
        const [files, next, raw] = await untilAborted(
          this.#storage.bucket(this.#opts.bucket).getFiles({
            prefix: dir,
            delimiter: options.recursive ? undefined : "/",
            autoPaginate: false,
            pageToken,
          }),
          s,
        );
        const prefixes = (raw as { prefixes?: string[] } | undefined)?.prefixes ?? [];
        return {
          keys: [...files.map((f) => f.name), ...prefixes].sort(),
          next: (next as { pageToken?: string } | null)?.pageToken,
        };
      }));
  }

  /** Uploads in one request up to a chunk, else through one resumable upload. */
  async upload(
    key: string,
    body: UploadBody,
    _options: UploadOptions = {},
    signal?: AbortSignal,
  ): Promise<void> {
    const size = this.#opts.chunkSize;
    const { first, second, rest } = await firstParts(body, size).catch((e) => {
      throw this.#wrap("upload", key, e);
    });
    if (second === undefined) {
      return await this.#retry("upload", key, signal, async (s) => {
        await untilAborted(
          this.#file(key).save(first, { resumable: false, validation: false }),
          s,
        );
      });
    }
    const all = async function* () {
      yield first;
      yield second;
      yield* rest;
    };
    const out = this.#resumable.bucket(this.#opts.bucket).file(key).createWriteStream({
      resumable: true,
      chunkSize: size,
      validation: false,
    });
    const finished = new Promise<void>((resolve, reject) => {
      out.once("finish", () => resolve());
      out.once("error", reject);
    });
    finished.catch(() => {});
    const onAbort = () => out.destroy(signal!.reason);
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      for await (const chunk of all()) {
        if (!out.write(chunk)) {
          await Promise.race([
            new Promise((resolve) => out.once("drain", resolve)),
            finished,
          ]);
        }
      }
      out.end();
      await finished;
    } catch (e) {
      out.destroy();
      await rest.return(undefined).catch(() => {});
      throw this.#wrap("upload", key, e);
    } finally {
      signal?.removeEventListener("abort", onAbort);
    }
  }

  /** Deletes an object. */
  delete(key: string, signal?: AbortSignal): Promise<void> {
    return this.#retry("delete", key, signal, async (s) => {
      await untilAborted(this.#file(key).delete(), s);
    });
  }

  /** Nothing to release. */
  close(): Promise<void> {
    return Promise.resolve();
  }
}
