/**
 * The SWIFT provider over fetch (no Swift SDK for JavaScript fits): tempauth v1 and Keystone
 * v2/v3 (swift_auth.ts), ranged GETs, JSON listings with delimiter and marker pagination, and
 * uploads that turn into Static (or, with `use_dynamic_large_objects`, Dynamic) Large Objects.
 *
 * Large objects: a body that fits in one segment goes out in one PUT; a longer one is cut into
 * segments of `large_object_chunk_size` bytes, but at most 64 MiB so that memory stays bounded
 * (upstream buffers nothing and streams; segments must be replayable here to be retried), which
 * are written to `segments/<upload id>/<n>` in the segments container (the container itself by
 * default, whose `segments/` directory listings then skip, as upstream), then tied together by
 * the manifest. Failed uploads delete the segments they wrote.
 *
 * `timeout` bounds each attempt and `retries` counts the attempts after the first;
 * `connect_timeout` and `http_config` have no effect (fetch takes neither).
 *
 * @module
 */
import { createHash } from "node:crypto";
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
import { firstParts, sendParts } from "./parts.ts";
import { isRetryableStatus, retrying, type RetryingCall, type RetryPolicy } from "./retry.ts";
import {
  authenticate,
  authVersion,
  type SwiftAuthConfig,
  type SwiftSession,
} from "./swift_auth.ts";

const PROVIDER = "SWIFT";
/** Where segments live in the segments container, as upstream. */
export const SEGMENTS_DIR = "segments/";
const MAX_SEGMENT = 64 * 1024 * 1024;
const PAGE_SIZE = 1000;

/** A resolved Swift setup; {@linkcode swiftOptionsFromConfig} builds it from YAML fields. */
export interface SwiftOptions {
  /** Authentication fields. */
  auth: SwiftAuthConfig;
  /** The container. */
  container: string;
  /** The container for large-object segments. */
  segmentsContainer: string;
  /** Segment size, bytes. */
  segmentSize: number;
  /** Use Dynamic instead of Static Large Objects. */
  dynamicLargeObjects: boolean;
  /** Retries and per-attempt timeout. */
  retry: RetryPolicy;
}

/** Resolves the validated SWIFT fields of an objstore config (see config.ts). */
export function swiftOptionsFromConfig(c: Record<string, unknown>): SwiftOptions {
  const auth = c as unknown as SwiftAuthConfig;
  authVersion(auth); // Rejects a bad auth_version now rather than at the first request.
  const container = c.container_name as string;
  const chunk = c.large_object_chunk_size as number;
  return {
    auth,
    container,
    segmentsContainer: (c.large_object_segments_container_name as string) || container,
    segmentSize: Math.max(1, Math.min(chunk, MAX_SEGMENT)),
    dynamicLargeObjects: c.use_dynamic_large_objects as boolean,
    retry: {
      maxAttempts: (c.retries as number) + 1,
      baseDelayMs: 100,
      maxDelayMs: 10_000,
      attemptTimeoutMs: c.timeout as number,
    },
  };
}

/** A Swift answer with an unexpected status. */
export class SwiftHttpError extends Error {
  /** Creates the error for `status`. */
  constructor(readonly status: number, message: string) {
    super(message);
    this.name = "SwiftHttpError";
  }
}

/** Throttling, 5xx, and fetch's own failures (TypeError: no answer at all) are retried. */
function isRetryableSwiftError(e: unknown): boolean {
  if (e instanceof SwiftHttpError) return isRetryableStatus(e.status) || e.status === 498;
  return e instanceof TypeError;
}

function encodeKey(key: string): string {
  return key.split("/").map(encodeURIComponent).join("/");
}

/** A bucket on an OpenStack Swift container. */
export class SwiftBucket implements Bucket {
  /** Always `"SWIFT"`. */
  readonly provider: string = PROVIDER;
  readonly #opts: SwiftOptions;
  readonly #logger?: Logger;
  readonly #retry: RetryingCall;
  #session?: Promise<SwiftSession>;

  private constructor(options: SwiftOptions, logger?: Logger) {
    this.#opts = options;
    this.#logger = logger;
    this.#retry = retrying({
      policy: options.retry,
      retryable: isRetryableSwiftError,
      logger,
      provider: PROVIDER,
      wrap: (op, key, e) => this.#wrap(op, key, e),
    });
  }

  /** Authenticates and checks that the containers exist (upstream does not create them). */
  static async create(options: SwiftOptions, logger?: Logger): Promise<SwiftBucket> {
    const bucket = new SwiftBucket(options, logger);
    const containers = new Set([options.container, options.segmentsContainer]);
    for (const container of containers) {
      await bucket.#retry("create", container, undefined, async (s) => {
        const res = await bucket.#fetch("HEAD", `/${encodeURIComponent(container)}`, {}, s);
        if (res.status === 404) {
          throw new BucketError(PROVIDER, "create", container, "container does not exist");
        }
        await bucket.#check(res, "HEAD container");
      });
    }
    return bucket;
  }

  #wrap(op: string, key: string, e: unknown): Error {
    if (e instanceof BucketError) return e;
    if (e instanceof SwiftHttpError && e.status === 404) {
      return new ObjectNotFoundError(PROVIDER, op, key, { cause: e });
    }
    return new BucketError(PROVIDER, op, key, e instanceof Error ? e.message : String(e), {
      cause: e,
    });
  }

  /** Sends a request with the session's token; a 401 re-authenticates once. */
  async #fetch(
    method: string,
    path: string,
    init: { headers?: Record<string, string>; body?: Uint8Array | string },
    signal: AbortSignal,
  ): Promise<Response> {
    for (let attempt = 0;; attempt++) {
      this.#session ??= authenticate(this.#opts.auth, signal);
      const session = this.#session;
      let s: SwiftSession;
      try {
        s = await session;
      } catch (e) {
        if (this.#session === session) this.#session = undefined;
        throw e;
      }
      const res = await fetch(s.storageUrl.replace(/\/+$/, "") + path, {
        method,
        headers: { ...init.headers, "X-Auth-Token": s.token },
        body: init.body as BodyInit | undefined,
        signal,
      });
      if (res.status !== 401 || attempt > 0) return res;
      await res.body?.cancel();
      if (this.#session === session) this.#session = undefined;
    }
  }

  async #check(res: Response, what: string): Promise<Response> {
    if (res.ok) return res;
    const text = await res.text().catch(() => "");
    throw new SwiftHttpError(
      res.status,
      `${what}: HTTP ${res.status}${text ? ` ${text.slice(0, 200).trim()}` : ""}`,
    );
  }

  #objectPath(key: string, container = this.#opts.container): string {
    return `/${encodeURIComponent(container)}/${encodeKey(key)}`;
  }

  /** Reads a whole object. */
  get(key: string, signal?: AbortSignal): Promise<Uint8Array> {
    return this.#retry("get", key, signal, async (s) => {
      const res = await this.#check(await this.#fetch("GET", this.#objectPath(key), {}, s), "GET");
      return new Uint8Array(await res.arrayBuffer());
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
    return await this.#retry("get_range", key, signal, async (s) => {
      const res = await this.#fetch("GET", this.#objectPath(key), {
        headers: { Range: `bytes=${offset}-${offset + length - 1}` },
      }, s);
      if (res.status === 416) {
        await res.body?.cancel();
        return new Uint8Array(0);
      }
      await this.#check(res, "GET range");
      const bytes = new Uint8Array(await res.arrayBuffer());
      // A 200 carries the whole object (a server that ignored the range).
      return res.status === 206 ? bytes.subarray(0, length) : bytes.subarray(
        Math.min(offset, bytes.length),
        Math.min(bytes.length, offset + length),
      );
    });
  }

  /** Streams a whole object; the per-attempt timeout covers the answer's headers only. */
  getStream(key: string, signal?: AbortSignal): Promise<ReadableStream<Uint8Array>> {
    return this.#retry("get", key, signal, async (s, done) => {
      const res = await this.#check(await this.#fetch("GET", this.#objectPath(key), {}, s), "GET");
      done();
      return res.body ?? new ReadableStream({ start: (c) => c.close() });
    });
  }

  /** Reports whether an object exists. */
  exists(key: string, signal?: AbortSignal): Promise<boolean> {
    return existsByAttributes(this, key, signal);
  }

  async #head(key: string, s: AbortSignal): Promise<Headers> {
    const res = await this.#check(await this.#fetch("HEAD", this.#objectPath(key), {}, s), "HEAD");
    await res.body?.cancel();
    return res.headers;
  }

  /** Returns an object's size (a large object's total) and modification time. */
  attributes(key: string, signal?: AbortSignal): Promise<ObjectAttributes> {
    return this.#retry("attributes", key, signal, async (s) => {
      const h = await this.#head(key, s);
      return {
        size: Number(h.get("content-length") ?? 0),
        lastModified: new Date(h.get("last-modified") ?? 0),
      };
    });
  }

  async #listPage(
    container: string,
    prefix: string,
    delimiter: string | undefined,
    marker: string,
    s: AbortSignal,
  ): Promise<string[]> {
    const q = new URLSearchParams({ format: "json", prefix, limit: String(PAGE_SIZE) });
    if (delimiter) q.set("delimiter", delimiter);
    if (marker) q.set("marker", marker);
    const res = await this.#check(
      await this.#fetch("GET", `/${encodeURIComponent(container)}?${q}`, {}, s),
      "GET listing",
    );
    const entries = await res.json() as { name?: string; subdir?: string }[];
    return entries.map((e) => e.subdir ?? e.name ?? "");
  }

  /** Lists with JSON container listings of 1000 entries, continuing from the last one. */
  async *list(
    prefix: string,
    options: ListOptions = {},
    signal?: AbortSignal,
  ): AsyncIterable<string> {
    const dir = listDirectory(prefix);
    const hideSegments = this.#opts.segmentsContainer === this.#opts.container;
    yield* keysByPage(dir, async (marker) => {
      const page = await this.#retry(
        "iter",
        prefix,
        signal,
        (s) =>
          this.#listPage(
            this.#opts.container,
            dir,
            options.recursive ? undefined : "/",
            marker ?? "",
            s,
          ),
      );
      return {
        keys: hideSegments ? page.filter((key) => !key.startsWith(SEGMENTS_DIR)) : page,
        // A full page may have a successor, listed from its last name on.
        next: page.length < PAGE_SIZE ? undefined : page[page.length - 1],
      };
    });
  }

  #putObject(
    container: string,
    key: string,
    data: Uint8Array,
    headers: Record<string, string>,
    signal?: AbortSignal,
  ): Promise<string> {
    const etag = createHash("md5").update(data).digest("hex");
    return this.#retry("upload", key, signal, async (s) => {
      const res = await this.#fetch("PUT", this.#objectPath(key, container), {
        // Swift checks the body against the ETag we send.
        headers: { ...headers, ETag: etag },
        body: data,
      }, s);
      await this.#check(res, "PUT");
      await res.body?.cancel();
      return etag;
    });
  }

  /** Uploads in one PUT up to a segment, else as a Static (or Dynamic) Large Object. */
  async upload(
    key: string,
    body: UploadBody,
    _options: UploadOptions = {},
    signal?: AbortSignal,
  ): Promise<void> {
    const size = this.#opts.segmentSize;
    const parts = await firstParts(body, size).catch((e) => {
      throw this.#wrap("upload", key, e);
    });
    if (parts.second === undefined) {
      await this.#putObject(this.#opts.container, key, parts.first, {}, signal);
      return;
    }
    const segContainer = this.#opts.segmentsContainer;
    const segPrefix = `${SEGMENTS_DIR}${crypto.randomUUID()}/`;
    const written: string[] = [];
    const manifest: { path: string; etag: string; size_bytes: number }[] = [];
    try {
      await sendParts(parts, async (n, data) => {
        const name = `${segPrefix}${String(n).padStart(8, "0")}`;
        written.push(name);
        const etag = await this.#putObject(segContainer, name, data, {}, signal);
        manifest.push({ path: `/${segContainer}/${name}`, etag, size_bytes: data.length });
      });
      if (this.#opts.dynamicLargeObjects) {
        await this.#putObject(this.#opts.container, key, new Uint8Array(0), {
          "X-Object-Manifest": `${encodeURIComponent(segContainer)}/${encodeKey(segPrefix)}`,
        }, signal);
      } else {
        await this.#retry("upload", key, signal, async (s) => {
          const res = await this.#fetch(
            "PUT",
            `${this.#objectPath(key)}?multipart-manifest=put`,
            { headers: { "content-type": "application/json" }, body: JSON.stringify(manifest) },
            s,
          );
          await this.#check(res, "PUT SLO manifest");
          await res.body?.cancel();
        });
      }
    } catch (e) {
      await parts.rest.return(undefined).catch(() => {});
      for (const name of written) {
        await this.#deleteRaw(segContainer, name).catch((err) =>
          this.#logger?.warn("cannot delete segment of a failed upload", {
            provider: PROVIDER,
            key,
            segment: name,
            err: String(err),
          })
        );
      }
      throw this.#wrap("upload", key, e);
    }
  }

  async #deleteRaw(container: string, name: string, query = "", signal?: AbortSignal) {
    await this.#retry("delete", name, signal, async (s) => {
      const res = await this.#fetch("DELETE", this.#objectPath(name, container) + query, {}, s);
      if (res.status === 404) {
        await res.body?.cancel();
        return;
      }
      await this.#check(res, "DELETE");
      await res.body?.cancel();
    });
  }

  /** Deletes an object, and a large object's segments with it. */
  async delete(key: string, signal?: AbortSignal): Promise<void> {
    const headers = await this.#retry("delete", key, signal, (s) => this.#head(key, s));
    if (headers.get("x-static-large-object")?.toLowerCase() === "true") {
      return await this.#deleteRaw(this.#opts.container, key, "?multipart-manifest=delete", signal);
    }
    const dlo = headers.get("x-object-manifest");
    if (dlo) {
      const [container, ...rest] = decodeURIComponent(dlo).split("/");
      const prefix = rest.join("/");
      let marker = "";
      for (;;) {
        const page = await this.#retry(
          "delete",
          key,
          signal,
          (s) => this.#listPage(container, prefix, undefined, marker, s),
        );
        for (const name of page) await this.#deleteRaw(container, name, "", signal);
        if (page.length < PAGE_SIZE) break;
        marker = page[page.length - 1];
      }
    }
    await this.#deleteRaw(this.#opts.container, key, "", signal);
  }

  /** Nothing to release. */
  close(): Promise<void> {
    return Promise.resolve();
  }
}
