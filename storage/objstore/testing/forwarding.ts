/**
 * A bucket that hands every call to another one: tests extend it and override the calls they
 * observe, delay or fail, and the rest reach the real bucket unchanged.
 *
 * @module
 */
import type {
  Bucket,
  ListOptions,
  ObjectAttributes,
  UploadBody,
  UploadOptions,
} from "../bucket.ts";

/** Passes every call to `inner`. */
export class ForwardingBucket implements Bucket {
  /** `inner`'s provider. */
  readonly provider: string;

  /** Forwards to `inner`. */
  constructor(readonly inner: Bucket) {
    this.provider = inner.provider;
  }
  /** Forwards to `inner`. */
  getRange(key: string, offset: number, length: number, signal?: AbortSignal): Promise<Uint8Array> {
    return this.inner.getRange(key, offset, length, signal);
  }
  /** Forwards to `inner`. */
  get(key: string, signal?: AbortSignal): Promise<Uint8Array> {
    return this.inner.get(key, signal);
  }
  /** Forwards to `inner`. */
  getStream(key: string, signal?: AbortSignal): Promise<ReadableStream<Uint8Array>> {
    return this.inner.getStream(key, signal);
  }
  /** Forwards to `inner`. */
  exists(key: string, signal?: AbortSignal): Promise<boolean> {
    return this.inner.exists(key, signal);
  }
  /** Forwards to `inner`. */
  attributes(key: string, signal?: AbortSignal): Promise<ObjectAttributes> {
    return this.inner.attributes(key, signal);
  }
  /** Forwards to `inner`. */
  list(prefix: string, options?: ListOptions, signal?: AbortSignal): AsyncIterable<string> {
    return this.inner.list(prefix, options, signal);
  }
  /** Forwards to `inner`. */
  upload(
    key: string,
    body: UploadBody,
    options?: UploadOptions,
    signal?: AbortSignal,
  ): Promise<void> {
    return this.inner.upload(key, body, options, signal);
  }
  /** Forwards to `inner`. */
  delete(key: string, signal?: AbortSignal): Promise<void> {
    return this.inner.delete(key, signal);
  }
  /** Forwards to `inner`. */
  close(): Promise<void> {
    return this.inner.close();
  }
}
