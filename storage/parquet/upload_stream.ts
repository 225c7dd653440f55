/**
 * Streams a Parquet file into a bucket upload while it is being written, so a shard file never
 * sits whole in memory: hyparquet-writer writes into a {@linkcode StreamingWriter}, which hands
 * each full 1 MiB piece to the upload as it is written; its `flush` (called after every row
 * group) hands over the rest and waits until the upload has taken all but one piece.
 *
 * @module
 */
import { ByteWriter } from "hyparquet-writer";
import type { Bucket } from "../objstore/bucket.ts";

/**
 * A single-producer, single-consumer byte-chunk channel: the producer queues chunks and waits
 * for the queue to drain to one chunk.
 */
class ByteChannel implements AsyncIterable<Uint8Array> {
  #queue: Uint8Array[] = [];
  #ended = false;
  #error: unknown = undefined;
  #failed = false;
  #wakeConsumer: (() => void) | undefined;
  #wakeProducer: (() => void) | undefined;

  /** Queues `chunk` without waiting; throws if the channel failed. */
  enqueue(chunk: Uint8Array): void {
    if (this.#failed) throw this.#error;
    this.#queue.push(chunk);
    this.#wakeConsumer?.();
  }

  /** Resolves once at most one chunk is waiting; rejects if the channel failed. */
  async drain(): Promise<void> {
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

  readonly #pieceSize: number;

  /** Starts the upload of `key`; bytes are handed over in pieces of about `pieceSize`. */
  constructor(bucket: Bucket, readonly key: string, pieceSize = 1 << 20) {
    super(pieceSize);
    this.#pieceSize = pieceSize;
    this.#upload = bucket.upload(key, this.#channel);
    // An upload that fails early must unblock a producer waiting for it to drain.
    this.#upload.catch((err) => this.#channel.fail(err));
  }

  /**
   * Makes room for `size` more bytes: a full piece is handed to the upload as it is (no copy,
   * no doubling of one buffer as large as a row group) and a new one started. The queue is
   * drained at the next {@linkcode StreamingWriter.flush}.
   */
  override ensure(size: number): void {
    if (this.index === 0 || this.index + size <= this.buffer.byteLength) {
      super.ensure(size);
      return;
    }
    this.#channel.enqueue(new Uint8Array(this.buffer, 0, this.index));
    this.buffer = new ArrayBuffer(Math.max(this.#pieceSize, size));
    this.view = new DataView(this.buffer);
    this.index = 0;
  }

  /** Hands the buffered bytes to the upload and waits until it took all but one piece. */
  flush(): Promise<void> {
    if (this.index > 0) {
      this.#channel.enqueue(new Uint8Array(this.buffer, 0, this.index));
      this.buffer = new ArrayBuffer(this.#pieceSize);
      this.view = new DataView(this.buffer);
      this.index = 0;
    }
    return this.#channel.drain();
  }

  /**
   * Appends `bytes` as a piece of its own, without copying (the caller must not reuse them),
   * and waits until the upload has taken all but one piece.
   */
  async appendOwned(bytes: Uint8Array): Promise<void> {
    await this.flush();
    this.offset += bytes.length;
    this.#channel.enqueue(bytes);
    await this.#channel.drain();
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
