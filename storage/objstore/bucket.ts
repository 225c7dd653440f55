/**
 * The object-storage contract shared by every provider (FILESYSTEM, S3, GCS, Azure, Swift, COS,
 * OSS): what `convert` and `serve` need, and nothing more. Keys use `/` as separator and never
 * start with `/`; the configured `prefix:` is applied by the provider wrapper, invisible here.
 *
 * @module
 */

/** Size and modification time of an object. */
export interface ObjectAttributes {
  /** Size in bytes. */
  size: number;
  /** Last modification time. */
  lastModified: Date;
}

/** Options for listing. */
export interface ListOptions {
  /** List every object below the prefix instead of one level (no directory entries then). */
  recursive?: boolean;
}

/** Body accepted by {@linkcode Bucket.upload}: bytes, or a stream of byte chunks. */
export type UploadBody = Uint8Array | AsyncIterable<Uint8Array>;

/** Options for uploads. */
export interface UploadOptions {
  /** The size in bytes when known in advance (lets providers skip buffering). */
  size?: number;
}

/**
 * An object store. Methods reject with {@linkcode ObjectNotFoundError} for missing keys and with
 * {@linkcode BucketError} (naming the provider, operation and key) for every other failure.
 */
export interface Bucket {
  /** A short provider name for logs and metrics, e.g. `"FILESYSTEM"`. */
  readonly provider: string;
  /** Reads a whole object. */
  get(key: string, signal?: AbortSignal): Promise<Uint8Array>;
  /**
   * Reads `length` bytes from `offset` (both >= 0). Reading past the end returns the bytes up to
   * the end; an offset at or past the end returns an empty array.
   */
  getRange(key: string, offset: number, length: number, signal?: AbortSignal): Promise<Uint8Array>;
  /** Streams a whole object. */
  getStream(key: string, signal?: AbortSignal): Promise<ReadableStream<Uint8Array>>;
  /** Reports whether an object exists. */
  exists(key: string, signal?: AbortSignal): Promise<boolean>;
  /** Returns an object's size and modification time. */
  attributes(key: string, signal?: AbortSignal): Promise<ObjectAttributes>;
  /**
   * Lists keys below `prefix` (`""` for the root) in lexicographic order. Without `recursive`,
   * only direct children are returned, and "directories" appear once with a trailing `/`, as in
   * Thanos' `Iter`. A prefix that is not a directory (no trailing `/`) is treated as one.
   */
  list(prefix: string, options?: ListOptions, signal?: AbortSignal): AsyncIterable<string>;
  /** Writes an object atomically: readers see the old object, no object, or the whole new one. */
  upload(
    key: string,
    body: UploadBody,
    options?: UploadOptions,
    signal?: AbortSignal,
  ): Promise<void>;
  /** Deletes an object; deleting a missing key rejects with {@linkcode ObjectNotFoundError}. */
  delete(key: string, signal?: AbortSignal): Promise<void>;
  /** Releases connections and other resources. */
  close(): Promise<void>;
}

/** Any failure of a bucket operation, naming the provider, the operation and the key. */
export class BucketError extends Error {
  /** Creates the error; `cause` keeps the provider's original error. */
  constructor(
    readonly provider: string,
    readonly operation: string,
    readonly key: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(`${provider} ${operation} ${JSON.stringify(key)}: ${message}`, options);
    this.name = "BucketError";
  }
}

/** The object does not exist. Every provider maps its own not-found answer to this type. */
export class ObjectNotFoundError extends BucketError {
  /** Creates the error for `key`. */
  constructor(provider: string, operation: string, key: string, options?: ErrorOptions) {
    super(provider, operation, key, "object not found", options);
    this.name = "ObjectNotFoundError";
  }
}

/** Reports whether `err` is a not-found error from any provider. */
export function isObjectNotFound(err: unknown): err is ObjectNotFoundError {
  return err instanceof ObjectNotFoundError;
}

/**
 * Throws {@linkcode BucketError} unless `offset`/`length` is a valid byte range: both
 * non-negative, the end a safe integer. Every provider's `getRange` checks this first.
 */
export function checkRange(provider: string, key: string, offset: number, length: number): void {
  if (!(offset >= 0) || !(length >= 0) || !Number.isSafeInteger(offset + length)) {
    throw new BucketError(provider, "get_range", key, `invalid range ${offset}+${length}`);
  }
}

/** The directory a list prefix names: the prefix with a trailing `/` (the root stays `""`). */
export function listDirectory(prefix: string): string {
  return prefix === "" || prefix.endsWith("/") ? prefix : prefix + "/";
}

/** One page of a provider's listing. */
export interface ListPage {
  /** The keys and sub-directories of the page, sorted. */
  keys: string[];
  /** Where the next page starts; `undefined` (or empty) after the last page. */
  next?: string;
}

/**
 * Yields the keys of a paged listing of directory `dir`: `page(undefined)` first, then each
 * `next` token until there is none. The directory's own key is left out (some tools create
 * "directory" marker objects named like the prefix).
 */
export async function* keysByPage(
  dir: string,
  page: (token: string | undefined) => Promise<ListPage>,
): AsyncGenerator<string> {
  let token: string | undefined;
  do {
    const p = await page(token);
    for (const key of p.keys) if (key !== dir) yield key;
    token = p.next;
  } while (token);
}

/**
 * `exists` for providers whose existence check is reading attributes (a HEAD): true when they
 * can be read, false on not-found, and every other failure passed on.
 */
export async function existsByAttributes(
  bucket: Pick<Bucket, "attributes">,
  key: string,
  signal?: AbortSignal,
): Promise<boolean> {
  try {
    await bucket.attributes(key, signal);
    return true;
  } catch (e) {
    if (isObjectNotFound(e)) return false;
    throw e;
  }
}

/** Collects a listing into an array. */
export async function listAll(
  bucket: Bucket,
  prefix: string,
  options?: ListOptions,
  signal?: AbortSignal,
): Promise<string[]> {
  const out: string[] = [];
  for await (const key of bucket.list(prefix, options, signal)) out.push(key);
  return out;
}
