/**
 * Streams a Parquet file into a bucket upload while it is being written, so a shard file never
 * sits whole in memory: hyparquet-writer writes into a {@linkcode StreamingWriter}, whose `flush`
 * (called after every row group) hands the bytes so far to the upload and waits until the
 * upload has taken them.
 *
 * @module
 */
import { ByteWriter } from "hyparquet-writer";
import type { Bucket } from "../objstore/bucket.ts";

/** A single-producer, single-consumer byte-chunk channel with a one-chunk buffer. */
class ByteChannel implements AsyncIterable<Uint8Array> {
  #queue: Uint8Array[] = [];
  #ended = false;
  #error: unknown = undefined;
  #failed = false;
  #wakeConsumer: (() => void) | undefined;
  #wakeProducer: (() => void) | undefined;

  /** Queues `chunk`; resolves once at most one chunk is waiting; rejects if the channel failed. */
  async push(chunk: Uint8Array): Promise<void> {
    if (this.#failed) throw this.#error;
    this.#queue.push(chunk);
    this.#wakeConsumer?.();
    while (this.#queue.length > 1 && !this.#failed) {
      await new Promise<void>((resolve) => this.#wakeProducer = resolve);
    }
    if (this.#failed) throw this.#error;
  }

  /** Ends the stream normally. */
  end(): void {
    this.#ended = true;
    this.#wakeConsumer?.();
  }

  /** Fails both sides: the consumer's iteration throws and pending pushes reject. */
  fail(error: unknown): void {
    if (this.#failed) return;
    this.#failed = true;
    this.#error = error;
    this.#wakeConsumer?.();
    this.#wakeProducer?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    while (true) {
      if (this.#failed) throw this.#error;
      const chunk = this.#queue.shift();
      if (chunk !== undefined) {
        this.#wakeProducer?.();
        yield chunk;
        continue;
      }
      if (this.#ended) return;
      await new Promise<void>((resolve) => this.#wakeConsumer = resolve);
    }
  }
}

/**
 * A hyparquet-writer `Writer` whose bytes go to `bucket.upload(key)` as they are flushed.
 * `finish()` (called by `ParquetWriter.finish`) sends the tail and resolves once the upload is
 * complete; {@linkcode StreamingWriter.abort} cancels it so no object appears.
 */
export class StreamingWriter extends ByteWriter {
  readonly #channel = new ByteChannel();
  readonly #upload: Promise<void>;

  /** Starts the upload of `key`. */
  constructor(bucket: Bucket, readonly key: string, initialSize = 1 << 20) {
    super(initialSize);
    this.#upload = bucket.upload(key, this.#channel);
    // An upload that fails early must unblock a producer waiting for it to drain.
    this.#upload.catch((err) => this.#channel.fail(err));
  }

  /** Hands the buffered bytes to the upload and waits until it took them. */
  flush(): Promise<void> {
    if (this.index === 0) return Promise.resolve();
    const chunk = new Uint8Array(this.buffer.slice(0, this.index));
    this.index = 0;
    return this.#channel.push(chunk);
  }

  /** Sends the remaining bytes, ends the stream and waits for the upload to complete. */
  override async finish(): Promise<void> {
    await this.flush();
    this.#channel.end();
    await this.#upload;
  }

  /** Cancels the upload (the bucket discards the partial object) and waits for it to settle. */
  async abort(reason: Error): Promise<void> {
    this.#channel.fail(reason);
    await this.#upload.catch(() => {});
  }
}
