/**
 * The S3 provider over `@aws-sdk/client-s3`, with Thanos' S3 config fields: endpoint and
 * addressing style, static or SDK-chain credentials, server-side encryption, ListObjects v1/v2,
 * ranged GETs, and multipart uploads that hold at most two parts in memory.
 *
 * Every request body is a byte array (never a stream: the SDK's Node handler rejects web streams
 * under Deno, and a byte array can be sent again), and every request goes through
 * `withRetries` (retry.ts) with the SDK's own retries off.
 *
 * Accepted without effect: `trace.enable` (no request tracing here), `sts_endpoint` and
 * `disable_dualstack` (the SDK's credential chain and endpoint rules apply), and
 * `http_config.expect_continue_timeout`, `max_idle_conns` and `disable_compression`.
 *
 * @module
 */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  type GetObjectCommandOutput,
  HeadObjectCommand,
  ListObjectsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type ServerSideEncryption,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
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
import { agentsFromHttpConfig, type HttpConfig } from "./http_agent.ts";
import { concatBytes } from "../../internal/bytes.ts";
import { ProviderConfigError } from "./config.ts";
import { type FirstParts, firstParts, sendParts } from "./parts.ts";
import {
  DEFAULT_RETRY_POLICY,
  isRetryableStatus,
  retrying,
  type RetryingCall,
  type RetryPolicy,
} from "./retry.ts";

/** S3 refuses parts below 5 MiB (but the last) and more than 10000 parts. */
const MIN_PART_SIZE = 5 * 1024 * 1024;
const MAX_PARTS = 10_000;

/** Server-side encryption settings sent with writes (and, for SSE-C, with reads). */
export type S3Encryption =
  | { type: "SSE-S3" }
  | { type: "SSE-KMS"; keyId: string; context: Record<string, string> }
  | { type: "SSE-C"; key: Uint8Array };

/** A resolved S3 client setup; {@linkcode s3OptionsFromConfig} builds it from YAML fields. */
export interface S3Options {
  /** Provider name for errors and metrics (`S3`, or `COS`/`OSS` when mapped onto S3). */
  provider: string;
  /** The bucket name. */
  bucket: string;
  /** Service URL with scheme, e.g. `https://s3.eu-west-1.amazonaws.com`. */
  endpoint: string;
  /** Signing region. */
  region: string;
  /** Ask the SDK to follow the bucket's region when the region was not configured. */
  followRegionRedirects: boolean;
  /** Path-style (`endpoint/bucket/key`) instead of virtual-host addressing. */
  forcePathStyle: boolean;
  /** Static credentials; `undefined` uses the AWS SDK default chain (env, files, IMDS, ...). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Multipart part size, bytes. */
  partSize: number;
  /** Always send one PutObject (a streamed body is then buffered whole). */
  disableMultipart: boolean;
  /** Use ListObjects (v1) instead of ListObjectsV2. */
  listObjectsV1: boolean;
  /** Send Content-MD5 with every write. */
  sendContentMd5: boolean;
  /** `x-amz-meta-*` of every upload. */
  userMetadata: Record<string, string>;
  /** Server-side encryption, if any. */
  encryption?: S3Encryption;
  /** Connection settings. */
  httpConfig: HttpConfig;
  /** Retries and per-attempt timeout. */
  retry: RetryPolicy;
}

/** A config field that cannot be used; names the field. */
export class S3ConfigError extends ProviderConfigError {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "S3ConfigError";
  }
}

const VIRTUAL_HOST_DOMAINS = [".amazonaws.com", ".googleapis.com", ".aliyuncs.com"];

/**
 * Resolves the validated S3 fields of an objstore config (see config.ts) with upstream's
 * semantics: `endpoint` is `host[:port]` without scheme, `insecure` selects http,
 * `bucket_lookup_type: auto` uses virtual-host addressing for AWS, Google and Aliyun endpoints
 * and path style elsewhere (as minio-go does). Throws {@linkcode S3ConfigError}.
 */
export function s3OptionsFromConfig(c: Record<string, unknown>, provider = "S3"): S3Options {
  const s = (k: string) => c[k] as string;
  const endpoint = s("endpoint");
  if (endpoint === "") throw new S3ConfigError("no s3 endpoint in config file");
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(endpoint)) {
    throw new S3ConfigError(
      `endpoint ${JSON.stringify(endpoint)} must be host[:port] without a scheme ` +
        "(set insecure: true for http)",
    );
  }
  if (c.aws_sdk_auth && s("access_key") !== "") {
    throw new S3ConfigError("aws_sdk_auth and access_key are mutually exclusive configurations");
  }
  if ((s("access_key") === "") !== (s("secret_key") === "")) {
    throw new S3ConfigError("access_key and secret_key must be set together");
  }
  if (c.signature_version2) {
    throw new S3ConfigError("signature_version2 is not supported (the AWS SDK signs with v4)");
  }
  const lookup = s("bucket_lookup_type");
  if (!["auto", "path", "virtual-hosted"].includes(lookup)) {
    throw new S3ConfigError(
      `bucket_lookup_type ${JSON.stringify(lookup)}: want auto, path or virtual-hosted`,
    );
  }
  const version = s("list_objects_version");
  if (!["", "v1", "v2"].includes(version)) {
    throw new S3ConfigError(
      `list_objects_version ${JSON.stringify(version)}: supported values are v1, v2`,
    );
  }
  const partSize = c.part_size as number;
  if (partSize < MIN_PART_SIZE) {
    throw new S3ConfigError(`part_size ${partSize} is below S3's minimum of ${MIN_PART_SIZE}`);
  }
  const host = endpoint.replace(/:\d+$/, "").toLowerCase();
  const forcePathStyle = lookup === "path" ||
    (lookup === "auto" && !VIRTUAL_HOST_DOMAINS.some((d) => host.endsWith(d)));
  const http = c.http_config as HttpConfig;
  return {
    provider,
    bucket: s("bucket"),
    endpoint: `${c.insecure ? "http" : "https"}://${endpoint}`,
    region: s("region") || "us-east-1",
    followRegionRedirects: s("region") === "",
    forcePathStyle,
    credentials: s("access_key") === "" ? undefined : {
      accessKeyId: s("access_key"),
      secretAccessKey: s("secret_key"),
      sessionToken: s("session_token") || undefined,
    },
    partSize,
    disableMultipart: c.disable_multipart as boolean,
    listObjectsV1: version === "v1",
    sendContentMd5: c.send_content_md5 as boolean,
    userMetadata: c.put_user_metadata as Record<string, string>,
    encryption: encryptionFromConfig(c.sse_config as Record<string, unknown>),
    httpConfig: http,
    retry: {
      ...DEFAULT_RETRY_POLICY,
      maxAttempts: (c.max_retries as number) > 0
        ? (c.max_retries as number)
        : DEFAULT_RETRY_POLICY.maxAttempts,
      attemptTimeoutMs: http.response_header_timeout,
    },
  };
}

function encryptionFromConfig(sse: Record<string, unknown>): S3Encryption | undefined {
  switch (sse.type) {
    case "":
      return undefined;
    case "SSE-S3":
      return { type: "SSE-S3" };
    case "SSE-KMS":
      if (sse.kms_key_id === "") {
        throw new S3ConfigError("kms_key_id must be set if sse_config.type is set to 'SSE-KMS'");
      }
      return {
        type: "SSE-KMS",
        keyId: sse.kms_key_id as string,
        context: sse.kms_encryption_context as Record<string, string>,
      };
    case "SSE-C": {
      const file = sse.encryption_key as string;
      if (file === "") {
        throw new S3ConfigError("encryption_key must be set if sse_config.type is set to 'SSE-C'");
      }
      let key: Uint8Array;
      try {
        key = readFileSync(file);
      } catch (e) {
        throw new S3ConfigError(`sse_config.encryption_key: cannot read ${file}: ${e}`);
      }
      if (key.length !== 32) {
        throw new S3ConfigError(
          `sse_config.encryption_key: ${file} must hold 32 bytes, has ${key.length}`,
        );
      }
      return { type: "SSE-C", key };
    }
    default:
      throw new S3ConfigError(
        `sse_config.type ${JSON.stringify(sse.type)}: supported types are SSE-S3, SSE-KMS, SSE-C`,
      );
  }
}

interface S3ErrorLike {
  name?: string;
  $metadata?: { httpStatusCode?: number };
  $retryable?: unknown;
}

function statusOf(e: unknown): number | undefined {
  return (e as S3ErrorLike | undefined)?.$metadata?.httpStatusCode;
}

const THROTTLING = new Set([
  "SlowDown",
  "Throttling",
  "ThrottlingException",
  "RequestLimitExceeded",
  "TooManyRequestsException",
  "RequestTimeout",
  "RequestTimeTooSkewed",
  "InternalError",
  "ServiceUnavailable",
]);

/** Whether an S3 error is throttling or a server failure worth another attempt. */
export function isRetryableS3Error(e: unknown): boolean {
  const err = e as S3ErrorLike | undefined;
  return isRetryableStatus(statusOf(e)) || THROTTLING.has(err?.name ?? "") ||
    err?.$retryable !== undefined;
}

function isNotFound(e: unknown): boolean {
  const name = (e as S3ErrorLike | undefined)?.name;
  return name === "NoSuchKey" || (name === "NotFound" && statusOf(e) === 404);
}

/** A bucket on an S3-compatible service. */
export class S3Bucket implements Bucket {
  /** `S3`, `COS` or `OSS`. */
  readonly provider: string;
  readonly #client: S3Client;
  readonly #opts: S3Options;
  readonly #logger?: Logger;
  readonly #retry: RetryingCall;

  /** Creates the client; no request is made until the first operation. */
  constructor(options: S3Options, logger?: Logger) {
    this.provider = options.provider;
    this.#opts = options;
    this.#logger = logger;
    this.#retry = retrying({
      policy: options.retry,
      retryable: isRetryableS3Error,
      logger,
      provider: this.provider,
      wrap: (op, key, e) => this.#wrap(op, key, e),
    });
    const agents = agentsFromHttpConfig(options.httpConfig);
    this.#client = new S3Client({
      endpoint: options.endpoint,
      region: options.region,
      followRegionRedirects: options.followRegionRedirects,
      forcePathStyle: options.forcePathStyle,
      credentials: options.credentials,
      // Retries are ours (see retry.ts); checksums only when an API requires them, since many
      // S3-compatible services reject the x-amz-checksum-* headers (Content-MD5 is ours too).
      maxAttempts: 1,
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
      requestHandler: {
        httpAgent: agents.http,
        httpsAgent: agents.https,
        connectionTimeout: options.httpConfig.tls_handshake_timeout || undefined,
      },
    });
  }

  #wrap(op: string, key: string, e: unknown): Error {
    if (e instanceof BucketError) return e;
    if (isNotFound(e)) return new ObjectNotFoundError(this.provider, op, key, { cause: e });
    const status = statusOf(e);
    const err = e as S3ErrorLike & Error;
    const what = err?.name && err.name !== "Error" ? `${err.name}: ${err.message}` : `${e}`;
    return new BucketError(
      this.provider,
      op,
      key,
      status ? `${what} (HTTP ${status})` : what,
      { cause: e },
    );
  }

  #readSse() {
    const enc = this.#opts.encryption;
    if (enc?.type !== "SSE-C") return {};
    return {
      SSECustomerAlgorithm: "AES256",
      SSECustomerKey: enc.key as unknown as string,
    };
  }

  #writeSse() {
    const enc = this.#opts.encryption;
    switch (enc?.type) {
      case undefined:
        return {};
      case "SSE-S3":
        return { ServerSideEncryption: "AES256" as ServerSideEncryption };
      case "SSE-KMS":
        return {
          ServerSideEncryption: "aws:kms" as ServerSideEncryption,
          SSEKMSKeyId: enc.keyId,
          SSEKMSEncryptionContext: Object.keys(enc.context).length === 0
            ? undefined
            : btoa(JSON.stringify(enc.context)),
        };
      case "SSE-C":
        return this.#readSse();
    }
  }

  #md5(data: Uint8Array): string | undefined {
    if (!this.#opts.sendContentMd5) return undefined;
    return createHash("md5").update(data).digest("base64");
  }

  async #getBytes(
    op: string,
    key: string,
    range: { offset: number; length: number } | undefined,
    signal?: AbortSignal,
  ): Promise<Uint8Array> {
    const header = range && `bytes=${range.offset}-${range.offset + range.length - 1}`;
    return await this.#retry(op, key, signal, async (s) => {
      const out = await this.#client.send(
        new GetObjectCommand({
          Bucket: this.#opts.bucket,
          Key: key,
          Range: header,
          ...this.#readSse(),
        }),
        { abortSignal: s },
      );
      const bytes = await bodyBytes(out);
      return range ? trimToRange(bytes, out.ContentRange, range.offset, range.length) : bytes;
    });
  }

  /** Reads a whole object. */
  get(key: string, signal?: AbortSignal): Promise<Uint8Array> {
    return this.#getBytes("get", key, undefined, signal);
  }

  /** Reads a byte range with one ranged GET (never a suffix range). */
  async getRange(
    key: string,
    offset: number,
    length: number,
    signal?: AbortSignal,
  ): Promise<Uint8Array> {
    checkRange(this.provider, key, offset, length);
    if (length === 0) {
      await this.attributes(key, signal);
      return new Uint8Array(0);
    }
    try {
      return await this.#getBytes("get_range", key, { offset, length }, signal);
    } catch (e) {
      // 416: the offset is at or past the end of an existing object.
      if (e instanceof BucketError && statusOf(e.cause) === 416) return new Uint8Array(0);
      throw e;
    }
  }

  /** Streams a whole object; the per-attempt timeout covers the answer's headers only. */
  getStream(key: string, signal?: AbortSignal): Promise<ReadableStream<Uint8Array>> {
    return this.#retry("get", key, signal, async (s, done) => {
      const out = await this.#client.send(
        new GetObjectCommand({ Bucket: this.#opts.bucket, Key: key, ...this.#readSse() }),
        { abortSignal: s },
      );
      done();
      if (!out.Body) return new ReadableStream({ start: (c) => c.close() });
      return out.Body.transformToWebStream() as ReadableStream<Uint8Array>;
    });
  }

  /** Reports whether an object exists (HEAD). */
  exists(key: string, signal?: AbortSignal): Promise<boolean> {
    return existsByAttributes(this, key, signal);
  }

  /** Returns an object's size and modification time (HEAD). */
  attributes(key: string, signal?: AbortSignal): Promise<ObjectAttributes> {
    return this.#retry("attributes", key, signal, async (s) => {
      const out = await this.#client.send(
        new HeadObjectCommand({ Bucket: this.#opts.bucket, Key: key, ...this.#readSse() }),
        { abortSignal: s },
      );
      return { size: out.ContentLength ?? 0, lastModified: out.LastModified ?? new Date(0) };
    });
  }

  /** Lists keys with ListObjectsV2 (or v1) pages, `/` as delimiter unless recursive. */
  async *list(
    prefix: string,
    options: ListOptions = {},
    signal?: AbortSignal,
  ): AsyncIterable<string> {
    const dir = listDirectory(prefix);
    const delimiter = options.recursive ? undefined : "/";
    yield* keysByPage(dir, (token) =>
      this.#retry("iter", prefix, signal, async (s) => {
        if (this.#opts.listObjectsV1) {
          const out = await this.#client.send(
            new ListObjectsCommand({
              Bucket: this.#opts.bucket,
              Prefix: dir,
              Delimiter: delimiter,
              Marker: token,
            }),
            { abortSignal: s },
          );
          const keys = pageKeys(out.Contents, out.CommonPrefixes);
          // Without a delimiter S3 omits NextMarker: the last key is the marker then.
          const next = out.IsTruncated ? out.NextMarker ?? keys.at(-1) : undefined;
          return { keys, next };
        }
        const out = await this.#client.send(
          new ListObjectsV2Command({
            Bucket: this.#opts.bucket,
            Prefix: dir,
            Delimiter: delimiter,
            ContinuationToken: token,
          }),
          { abortSignal: s },
        );
        return {
          keys: pageKeys(out.Contents, out.CommonPrefixes),
          next: out.IsTruncated ? out.NextContinuationToken : undefined,
        };
      }));
  }

  /**
   * Uploads with one PutObject up to `part_size`, else a multipart upload whose parts are read
   * from the body while the previous part is being sent (two parts in memory at most). A failed
   * multipart upload is aborted, so no object appears.
   */
  async upload(
    key: string,
    body: UploadBody,
    options: UploadOptions = {},
    signal?: AbortSignal,
  ): Promise<void> {
    let partSize = this.#opts.partSize;
    if (options.size !== undefined && options.size > partSize * MAX_PARTS) {
      partSize = Math.ceil(options.size / MAX_PARTS);
    }
    if (this.#opts.disableMultipart) {
      const chunks: Uint8Array[] = [];
      if (body instanceof Uint8Array) chunks.push(body);
      else for await (const c of body) chunks.push(c);
      return await this.#put(key, concatBytes(chunks), signal);
    }
    const parts = await firstParts(body, partSize).catch((e) => {
      throw this.#wrap("upload", key, e);
    });
    if (parts.second === undefined) return await this.#put(key, parts.first, signal);
    await this.#multipart(key, parts, signal);
  }

  #put(key: string, data: Uint8Array, signal?: AbortSignal): Promise<void> {
    const md5 = this.#md5(data);
    return this.#retry("upload", key, signal, async (s) => {
      await this.#client.send(
        new PutObjectCommand({
          Bucket: this.#opts.bucket,
          Key: key,
          Body: data,
          ContentLength: data.length,
          ContentMD5: md5,
          Metadata: this.#opts.userMetadata,
          ...this.#writeSse(),
        }),
        { abortSignal: s },
      );
    });
  }

  async #multipart(key: string, parts: FirstParts, signal?: AbortSignal): Promise<void> {
    const bucket = this.#opts.bucket;
    const uploadId = await this.#retry("upload", key, signal, async (s) => {
      const out = await this.#client.send(
        new CreateMultipartUploadCommand({
          Bucket: bucket,
          Key: key,
          Metadata: this.#opts.userMetadata,
          ...this.#writeSse(),
        }),
        { abortSignal: s },
      );
      if (!out.UploadId) throw new Error("CreateMultipartUpload returned no UploadId");
      return out.UploadId;
    });
    const etags: string[] = [];
    // Part numbers count from 1.
    const sendPart = (n: number, data: Uint8Array) => {
      const md5 = this.#md5(data);
      return this.#retry("upload", key, signal, async (s) => {
        const out = await this.#client.send(
          new UploadPartCommand({
            Bucket: bucket,
            Key: key,
            UploadId: uploadId,
            PartNumber: n,
            Body: data,
            ContentLength: data.length,
            ContentMD5: md5,
            ...this.#readSse(),
          }),
          { abortSignal: s },
        );
        etags[n - 1] = out.ETag ?? "";
      });
    };
    try {
      await sendParts(parts, (n, data) => sendPart(n + 1, data));
      await this.#retry("upload", key, signal, async (s) => {
        await this.#client.send(
          new CompleteMultipartUploadCommand({
            Bucket: bucket,
            Key: key,
            UploadId: uploadId,
            MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) },
          }),
          { abortSignal: s },
        );
      });
    } catch (e) {
      await parts.rest.return(undefined).catch(() => {});
      await this.#client.send(
        new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId }),
      ).catch((abortErr) =>
        this.#logger?.warn("cannot abort multipart upload", {
          provider: this.provider,
          key,
          err: String(abortErr),
        })
      );
      throw this.#wrap("upload", key, e);
    }
  }

  /** Deletes an object; a missing key is reported (S3 itself answers 204 for it). */
  async delete(key: string, signal?: AbortSignal): Promise<void> {
    await this.#retry("delete", key, signal, async (s) => {
      await this.#client.send(
        new HeadObjectCommand({ Bucket: this.#opts.bucket, Key: key, ...this.#readSse() }),
        { abortSignal: s },
      );
      await this.#client.send(
        new DeleteObjectCommand({ Bucket: this.#opts.bucket, Key: key }),
        { abortSignal: s },
      );
    });
  }

  /** Closes the client's connections. */
  close(): Promise<void> {
    this.#client.destroy();
    return Promise.resolve();
  }
}

function pageKeys(
  contents: { Key?: string }[] | undefined,
  prefixes: { Prefix?: string }[] | undefined,
): string[] {
  const keys: string[] = [];
  for (const c of contents ?? []) if (c.Key !== undefined) keys.push(c.Key);
  for (const p of prefixes ?? []) if (p.Prefix !== undefined) keys.push(p.Prefix);
  return keys.sort();
}

/**
 * Cuts a ranged answer down to what was asked: some servers answer a range with more bytes (a
 * 200 with the whole object, or a 206 whose range ends later than asked).
 */
function trimToRange(
  bytes: Uint8Array,
  contentRange: string | undefined,
  offset: number,
  length: number,
): Uint8Array {
  const m = contentRange ? /^bytes (\d+)-\d+\/(?:\d+|\*)$/.exec(contentRange) : null;
  const start = m ? Number(m[1]) : 0;
  if (start > offset) {
    throw new Error(`asked for bytes from ${offset}, got Content-Range ${contentRange}`);
  }
  const from = offset - start;
  return bytes.length > from + length || from > 0
    ? bytes.subarray(Math.min(from, bytes.length), Math.min(bytes.length, from + length))
    : bytes;
}

async function bodyBytes(out: GetObjectCommandOutput): Promise<Uint8Array> {
  if (!out.Body) return new Uint8Array(0);
  return await out.Body.transformToByteArray();
}
