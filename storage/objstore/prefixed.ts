/**
 * The `prefix:` of an objstore config: every key is placed below it, invisibly to callers.
 *
 * @module
 */
import type { Bucket, ListOptions, ObjectAttributes, UploadBody, UploadOptions } from "./bucket.ts";

/** Wraps `bucket` so that keys live under `prefix` (no-op for an empty prefix). */
export function withPrefix(bucket: Bucket, prefix: string): Bucket {
  const clean = prefix.replace(/^\/+|\/+$/g, "");
  return clean === "" ? bucket : new PrefixedBucket(bucket, clean + "/");
}

class PrefixedBucket implements Bucket {
  readonly provider: string;
  constructor(readonly inner: Bucket, readonly prefix: string) {
    this.provider = inner.provider;
  }
  get(key: string, signal?: AbortSignal): Promise<Uint8Array> {
    return this.inner.get(this.prefix + key, signal);
  }
  getRange(key: string, offset: number, length: number, signal?: AbortSignal) {
    return this.inner.getRange(this.prefix + key, offset, length, signal);
  }
  getStream(key: string, signal?: AbortSignal): Promise<ReadableStream<Uint8Array>> {
    return this.inner.getStream(this.prefix + key, signal);
  }
  exists(key: string, signal?: AbortSignal): Promise<boolean> {
    return this.inner.exists(this.prefix + key, signal);
  }
  attributes(key: string, signal?: AbortSignal): Promise<ObjectAttributes> {
    return this.inner.attributes(this.prefix + key, signal);
  }
  async *list(prefix: string, options?: ListOptions, signal?: AbortSignal) {
    for await (const key of this.inner.list(this.prefix + prefix, options, signal)) {
      if (key.startsWith(this.prefix)) yield key.slice(this.prefix.length);
    }
  }
  upload(key: string, body: UploadBody, options?: UploadOptions, signal?: AbortSignal) {
    return this.inner.upload(this.prefix + key, body, options, signal);
  }
  delete(key: string, signal?: AbortSignal): Promise<void> {
    return this.inner.delete(this.prefix + key, signal);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}
