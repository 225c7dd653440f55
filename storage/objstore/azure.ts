/**
 * The AZURE provider over `@azure/storage-blob` (block blobs), with Thanos' Azure config fields:
 * a connection string, or an account with its key (or an Azure AD credential) and the endpoint
 * suffix; the container is created on start when `storage_create_container` is set.
 *
 * Uploads up to one block go out as one Put Blob; larger ones as staged blocks committed at the
 * end (nothing is visible before the commit), at most two blocks in memory. Retries are ours
 * (retry.ts) with the SDK's pipeline retries off.
 *
 * `http_config` shapes the Node agent the SDK's pipeline sends through (http_agent.ts: idle and
 * per-host limits, TLS CA, client certificate, server name, verification); its
 * `response_header_timeout` is the per-attempt timeout unless `pipeline_config.try_timeout` is
 * set.
 *
 * Accepted without effect: `http_config.tls_handshake_timeout`, `expect_continue_timeout`,
 * `max_idle_conns` and `disable_compression`, `reader_config.max_retry_requests` (reads are
 * retried whole) and `msi_resource` (deprecated upstream).
 *
 * @module
 */
import {
  type BlobDownloadResponseParsed,
  BlobServiceClient,
  type ContainerClient,
  StorageSharedKeyCredential,
} from "@azure/storage-blob";
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
import {
  ClientSecretCredential,
  DefaultAzureCredential,
  ManagedIdentityCredential,
  type TokenCredential,
} from "./azure_credential.ts";
import { agentsFromHttpConfig, type HttpConfig } from "./http_agent.ts";
import { firstParts, sendParts } from "./parts.ts";
import {
  DEFAULT_RETRY_POLICY,
  isRetryableStatus,
  retrying,
  type RetryingCall,
  type RetryPolicy,
} from "./retry.ts";

const PROVIDER = "AZURE";

/** Block size of staged uploads, bytes. */
export const AZURE_BLOCK_SIZE = 8 * 1024 * 1024;

/** How the client authenticates and where it connects. */
export type AzureAuth =
  | { kind: "connection-string"; connectionString: string }
  | { kind: "shared-key"; url: string; account: string; key: string }
  | { kind: "token"; url: string; credential: TokenCredential };

/** A resolved Azure setup; {@linkcode azureOptionsFromConfig} builds it from YAML fields. */
export interface AzureOptions {
  /** The service, and how to authenticate to it. */
  auth: AzureAuth;
  /** The container. */
  container: string;
  /** Create the container on start if missing. */
  createContainer: boolean;
  /** Retries and per-attempt timeout. */
  retry: RetryPolicy;
  /** Staged-upload block size, bytes. */
  blockSize: number;
  /** Connection and TLS settings. */
  httpConfig: HttpConfig;
}

/**
 * Resolves the validated AZURE fields of an objstore config (see config.ts): the service URL is
 * `https://<storage_account>.<endpoint>` as upstream, `max_retries` stands in for
 * `pipeline_config.max_tries` when that is 0. Azure AD credentials (client secret, managed
 * identity, the default chain) are used when neither a key nor a connection string is given.
 */
export function azureOptionsFromConfig(c: Record<string, unknown>): AzureOptions {
  const s = (k: string) => c[k] as string;
  const pipeline = c.pipeline_config as Record<string, number>;
  const http = c.http_config as HttpConfig;
  const maxTries = pipeline.max_tries || (c.max_retries as number);
  let auth: AzureAuth;
  const url = `https://${s("storage_account")}.${s("endpoint") || "blob.core.windows.net"}`;
  if (s("storage_connection_string") !== "") {
    auth = { kind: "connection-string", connectionString: s("storage_connection_string") };
  } else if (s("storage_account_key") !== "") {
    auth = {
      kind: "shared-key",
      url,
      account: s("storage_account"),
      key: s("storage_account_key"),
    };
  } else {
    auth = { kind: "token", url, credential: tokenCredential(c) };
  }
  return {
    auth,
    container: s("container"),
    createContainer: c.storage_create_container as boolean,
    blockSize: AZURE_BLOCK_SIZE,
    httpConfig: http,
    retry: {
      maxAttempts: maxTries > 0 ? maxTries : DEFAULT_RETRY_POLICY.maxAttempts,
      baseDelayMs: pipeline.retry_delay || DEFAULT_RETRY_POLICY.baseDelayMs,
      maxDelayMs: pipeline.max_retry_delay || DEFAULT_RETRY_POLICY.maxDelayMs,
      attemptTimeoutMs: pipeline.try_timeout || http.response_header_timeout ||
        DEFAULT_RETRY_POLICY.attemptTimeoutMs,
    },
  };
}

/**
 * Upstream's choice of Azure AD credential: the configured client secret when `az_tenant_id`,
 * `client_id` and `client_secret` are all set, else the user-assigned managed identity
 * `user_assigned_id`, else the default chain (see azure_credential.ts). `msi_resource` is not
 * read: upstream deprecated it, the resource follows from the storage scope.
 */
function tokenCredential(c: Record<string, unknown>): TokenCredential {
  const s = (k: string) => c[k] as string;
  if (s("client_secret") !== "" && s("az_tenant_id") !== "" && s("client_id") !== "") {
    return new ClientSecretCredential({
      tenantId: s("az_tenant_id"),
      clientId: s("client_id"),
      clientSecret: s("client_secret"),
    });
  }
  if (s("user_assigned_id") !== "") {
    return new ManagedIdentityCredential({ clientId: s("user_assigned_id") });
  }
  return new DefaultAzureCredential();
}

interface RestErrorLike {
  name?: string;
  code?: string;
  statusCode?: number;
  message?: string;
}

/** The scheme of a connection string's blob endpoint: `BlobEndpoint=`'s, else the default. */
function connectionStringScheme(cs: string): "http:" | "https:" {
  const field = (name: string) =>
    new RegExp(`(?:^|;)\\s*${name}\\s*=([^;]*)`, "i").exec(cs)?.[1].trim().toLowerCase();
  if (field("UseDevelopmentStorage") === "true") return "http:";
  const scheme = field("BlobEndpoint")?.split(":")[0] ?? field("DefaultEndpointsProtocol");
  return scheme === "http" ? "http:" : "https:";
}

/** Whether an Azure error is throttling, a server failure or a failed send. */
export function isRetryableAzureError(e: unknown): boolean {
  const err = e as RestErrorLike | undefined;
  return isRetryableStatus(err?.statusCode) || err?.code === "REQUEST_SEND_ERROR" ||
    err?.code === "ServerBusy" || err?.code === "OperationTimedOut";
}

function isNotFound(e: unknown): boolean {
  const err = e as RestErrorLike | undefined;
  return err?.statusCode === 404 && err.code !== "ContainerNotFound";
}

/** A bucket on an Azure Blob Storage container. */
export class AzureBucket implements Bucket {
  /** Always `"AZURE"`. */
  readonly provider: string = PROVIDER;
  readonly #container: ContainerClient;
  readonly #opts: AzureOptions;
  readonly #logger?: Logger;
  readonly #retry: RetryingCall;

  private constructor(container: ContainerClient, options: AzureOptions, logger?: Logger) {
    this.#container = container;
    this.#opts = options;
    this.#logger = logger;
    this.#retry = retrying({
      policy: options.retry,
      retryable: isRetryableAzureError,
      logger,
      provider: PROVIDER,
      wrap: (op, key, e) => this.#wrap(op, key, e),
    });
  }

  /** Connects (creating the container when configured so). */
  static async create(options: AzureOptions, logger?: Logger): Promise<AzureBucket> {
    const a = options.auth;
    const agents = agentsFromHttpConfig(options.httpConfig);
    const scheme = a.kind === "connection-string"
      ? connectionStringScheme(a.connectionString)
      : new URL(a.url).protocol;
    const pipeline = {
      // Our retries replace the pipeline's (one try each).
      retryOptions: { maxTries: 1 },
      // core-rest-pipeline sends every request through this agent (its agentPolicy), though the
      // storage options' type does not list the field.
      agent: scheme === "http:" ? agents.http : agents.https,
    };
    let service: BlobServiceClient;
    if (a.kind === "connection-string") {
      service = BlobServiceClient.fromConnectionString(a.connectionString, pipeline);
    } else if (a.kind === "shared-key") {
      service = new BlobServiceClient(
        a.url,
        new StorageSharedKeyCredential(a.account, a.key),
        pipeline,
      );
    } else {
      service = new BlobServiceClient(a.url, a.credential, pipeline);
    }
    const bucket = new AzureBucket(service.getContainerClient(options.container), options, logger);
    if (options.createContainer) {
      await bucket.#retry("create_container", "", undefined, async (s) => {
        await bucket.#container.createIfNotExists({ abortSignal: s });
      });
    }
    return bucket;
  }

  #wrap(op: string, key: string, e: unknown): Error {
    if (e instanceof BucketError) return e;
    if (isNotFound(e)) return new ObjectNotFoundError(PROVIDER, op, key, { cause: e });
    const err = e as RestErrorLike;
    const what = err?.code ? `${err.code}: ${err.message}` : `${err?.message ?? e}`;
    return new BucketError(
      PROVIDER,
      op,
      key,
      err?.statusCode ? `${what} (HTTP ${err.statusCode})` : what,
      { cause: e },
    );
  }

  #download(
    op: string,
    key: string,
    offset: number,
    count: number | undefined,
    signal?: AbortSignal,
  ): Promise<Uint8Array> {
    return this.#retry(op, key, signal, async (s) => {
      const res = await this.#container.getBlobClient(key).download(offset, count, {
        abortSignal: s,
      });
      return await readAll(res);
    });
  }

  /** Reads a whole blob. */
  get(key: string, signal?: AbortSignal): Promise<Uint8Array> {
    return this.#download("get", key, 0, undefined, signal);
  }

  /** Reads a byte range with one ranged download. */
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
      return await this.#download("get_range", key, offset, length, signal);
    } catch (e) {
      // 416: the offset is at or past the end of an existing blob.
      if (e instanceof BucketError && (e.cause as RestErrorLike)?.statusCode === 416) {
        return new Uint8Array(0);
      }
      throw e;
    }
  }

  /** Streams a whole blob; the per-attempt timeout covers the answer's headers only. */
  getStream(key: string, signal?: AbortSignal): Promise<ReadableStream<Uint8Array>> {
    return this.#retry("get", key, signal, async (s, done) => {
      const res = await this.#container.getBlobClient(key).download(0, undefined, {
        abortSignal: s,
      });
      done();
      const body = res.readableStreamBody;
      if (!body) return new ReadableStream({ start: (c) => c.close() });
      return Readable.toWeb(body as Readable) as ReadableStream<Uint8Array>;
    });
  }

  /** Reports whether a blob exists. */
  exists(key: string, signal?: AbortSignal): Promise<boolean> {
    return existsByAttributes(this, key, signal);
  }

  /** Returns a blob's size and modification time. */
  attributes(key: string, signal?: AbortSignal): Promise<ObjectAttributes> {
    return this.#retry("attributes", key, signal, async (s) => {
      const p = await this.#container.getBlobClient(key).getProperties({ abortSignal: s });
      return { size: p.contentLength ?? 0, lastModified: p.lastModified ?? new Date(0) };
    });
  }

  /** Lists blobs page by page, with `/` as the hierarchy delimiter unless recursive. */
  async *list(
    prefix: string,
    options: ListOptions = {},
    signal?: AbortSignal,
  ): AsyncIterable<string> {
    const dir = listDirectory(prefix);
    yield* keysByPage(dir, (token) =>
      this.#retry("iter", prefix, signal, async (s) => {
        const pages = options.recursive
          ? this.#container.listBlobsFlat({ prefix: dir, abortSignal: s })
            .byPage({ continuationToken: token })
          : this.#container.listBlobsByHierarchy("/", { prefix: dir, abortSignal: s })
            .byPage({ continuationToken: token });
        const r = await pages.next();
        if (r.done) return { keys: [] as string[], next: undefined };
        const seg = r.value.segment as {
          blobItems: { name: string }[];
          blobPrefixes?: { name: string }[];
        };
        const keys = [
          ...seg.blobItems.map((b) => b.name),
          ...(seg.blobPrefixes ?? []).map((p) => p.name),
        ].sort();
        return { keys, next: r.value.continuationToken || undefined };
      }));
  }

  /**
   * Uploads with one Put Blob up to a block, else staged blocks committed together, reading the
   * next block from the body while one is being sent.
   */
  async upload(
    key: string,
    body: UploadBody,
    _options: UploadOptions = {},
    signal?: AbortSignal,
  ): Promise<void> {
    const blob = this.#container.getBlockBlobClient(key);
    const size = this.#opts.blockSize;
    const parts = await firstParts(body, size).catch((e) => {
      throw this.#wrap("upload", key, e);
    });
    if (parts.second === undefined) {
      const { first } = parts;
      return await this.#retry("upload", key, signal, async (s) => {
        await blob.upload(first, first.length, { abortSignal: s });
      });
    }
    // Block ids must have equal lengths within a blob; the upload id keeps concurrent uploads of
    // one key from committing each other's blocks.
    const uploadId = crypto.randomUUID();
    const ids: string[] = [];
    try {
      await sendParts(parts, (n, data) => {
        const id = btoa(`${uploadId}-${String(n).padStart(6, "0")}`);
        ids.push(id);
        return this.#retry("upload", key, signal, async (s) => {
          await blob.stageBlock(id, data, data.length, { abortSignal: s });
        });
      });
      await this.#retry("upload", key, signal, async (s) => {
        await blob.commitBlockList(ids, { abortSignal: s });
      });
    } catch (e) {
      await parts.rest.return(undefined).catch(() => {});
      throw this.#wrap("upload", key, e);
    }
  }

  /** Deletes a blob. */
  delete(key: string, signal?: AbortSignal): Promise<void> {
    return this.#retry("delete", key, signal, async (s) => {
      await this.#container.getBlobClient(key).delete({ abortSignal: s });
    });
  }

  /** Nothing to release: the SDK's connections are pooled per process. */
  close(): Promise<void> {
    return Promise.resolve();
  }
}

async function readAll(res: BlobDownloadResponseParsed): Promise<Uint8Array> {
  const body = res.readableStreamBody;
  if (!body) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of body as AsyncIterable<Uint8Array>) {
    chunks.push(chunk);
    total += chunk.length;
  }
  const out = new Uint8Array(total);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}
