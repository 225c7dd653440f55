/**
 * Prometheus metrics for every bucket operation, named like Thanos' `objstore_bucket_*` so
 * existing dashboards work. The `bucket` label tells the buckets of one process apart.
 *
 * @module
 */
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import type { Bucket, ListOptions, ObjectAttributes, UploadBody, UploadOptions } from "./bucket.ts";
import { isObjectNotFound } from "./bucket.ts";

const OPERATIONS = ["iter", "get", "get_range", "exists", "upload", "delete", "attributes"];

interface BucketMetrics {
  ops: Counter<"bucket" | "operation">;
  failures: Counter<"bucket" | "operation">;
  fetchedBytes: Counter<"bucket" | "operation">;
  transferredBytes: Histogram<"bucket" | "operation">;
  duration: Histogram<"bucket" | "operation">;
  lastUpload: Gauge<"bucket">;
}

const metricsByRegistry = new WeakMap<Registry, BucketMetrics>();

function metricsFor(registry: Registry): BucketMetrics {
  let m = metricsByRegistry.get(registry);
  if (m) return m;
  const registers = [registry];
  const labelNames = ["bucket", "operation"] as const;
  m = {
    ops: new Counter({
      name: "objstore_bucket_operations_total",
      help: "Total number of all attempted operations against a bucket.",
      labelNames,
      registers,
    }),
    failures: new Counter({
      name: "objstore_bucket_operation_failures_total",
      help: "Total number of operations against a bucket that failed, not counting not-found " +
        "answers that callers expect.",
      labelNames,
      registers,
    }),
    fetchedBytes: new Counter({
      name: "objstore_bucket_operation_fetched_bytes_total",
      help: "Total number of bytes fetched from bucket, per operation.",
      labelNames,
      registers,
    }),
    transferredBytes: new Histogram({
      name: "objstore_bucket_operation_transferred_bytes",
      help: "Number of bytes transferred from/to bucket per operation.",
      labelNames,
      buckets: Array.from({ length: 16 }, (_, i) => 32768 * 2 ** i),
      registers,
    }),
    duration: new Histogram({
      name: "objstore_bucket_operation_duration_seconds",
      help: "Duration of successful operations against the bucket per operation.",
      labelNames,
      buckets: [0.001, 0.01, 0.1, 0.3, 0.6, 1, 3, 6, 9, 20, 30, 60, 90, 120],
      registers,
    }),
    lastUpload: new Gauge({
      name: "objstore_bucket_last_successful_upload_time",
      help: "Second timestamp of the last successful upload to the bucket.",
      labelNames: ["bucket"],
      registers,
    }),
  };
  metricsByRegistry.set(registry, m);
  return m;
}

/** Wraps `bucket` so that every operation is counted and timed under label `bucket=name`. */
export function instrumentBucket(bucket: Bucket, registry: Registry, name: string): Bucket {
  const m = metricsFor(registry);
  for (const operation of OPERATIONS) {
    m.ops.inc({ bucket: name, operation }, 0);
    m.failures.inc({ bucket: name, operation }, 0);
  }
  return new InstrumentedBucket(bucket, m, name);
}

class InstrumentedBucket implements Bucket {
  readonly provider: string;
  constructor(readonly inner: Bucket, readonly m: BucketMetrics, readonly name: string) {
    this.provider = inner.provider;
  }

  async #track<T>(operation: string, run: () => Promise<T>, bytes?: (v: T) => number) {
    const labels = { bucket: this.name, operation };
    this.m.ops.inc(labels);
    const start = performance.now();
    try {
      const value = await run();
      this.m.duration.observe(labels, (performance.now() - start) / 1000);
      if (bytes) {
        const n = bytes(value);
        this.m.fetchedBytes.inc(labels, n);
        this.m.transferredBytes.observe(labels, n);
      }
      return value;
    } catch (e) {
      // A missing object is an answer callers expect (exists checks, optional files).
      if (!isObjectNotFound(e)) this.m.failures.inc(labels);
      throw e;
    }
  }

  get(key: string, signal?: AbortSignal) {
    return this.#track("get", () => this.inner.get(key, signal), (b) => b.length);
  }
  getRange(key: string, offset: number, length: number, signal?: AbortSignal) {
    return this.#track(
      "get_range",
      () => this.inner.getRange(key, offset, length, signal),
      (b) => b.length,
    );
  }
  getStream(key: string, signal?: AbortSignal) {
    return this.#track("get", async () => {
      const stream = await this.inner.getStream(key, signal);
      const labels = { bucket: this.name, operation: "get" };
      let total = 0;
      const counter = new TransformStream<Uint8Array, Uint8Array>({
        transform: (chunk, controller) => {
          total += chunk.length;
          this.m.fetchedBytes.inc(labels, chunk.length);
          controller.enqueue(chunk);
        },
        flush: () => this.m.transferredBytes.observe(labels, total),
      });
      return stream.pipeThrough(counter);
    });
  }
  exists(key: string, signal?: AbortSignal) {
    return this.#track("exists", () => this.inner.exists(key, signal));
  }
  attributes(key: string, signal?: AbortSignal): Promise<ObjectAttributes> {
    return this.#track("attributes", () => this.inner.attributes(key, signal));
  }
  async *list(prefix: string, options?: ListOptions, signal?: AbortSignal) {
    const labels = { bucket: this.name, operation: "iter" };
    this.m.ops.inc(labels);
    const start = performance.now();
    try {
      yield* this.inner.list(prefix, options, signal);
      this.m.duration.observe(labels, (performance.now() - start) / 1000);
    } catch (e) {
      this.m.failures.inc(labels);
      throw e;
    }
  }
  async upload(key: string, body: UploadBody, options?: UploadOptions, signal?: AbortSignal) {
    let total = 0;
    const counted: UploadBody = body instanceof Uint8Array ? body : (async function* () {
      for await (const chunk of body) {
        total += chunk.length;
        yield chunk;
      }
    })();
    await this.#track("upload", () => this.inner.upload(key, counted, options, signal));
    const labels = { bucket: this.name, operation: "upload" };
    const n = body instanceof Uint8Array ? body.length : total;
    this.m.fetchedBytes.inc(labels, n);
    this.m.transferredBytes.observe(labels, n);
    this.m.lastUpload.set({ bucket: this.name }, Date.now() / 1000);
  }
  delete(key: string, signal?: AbortSignal) {
    return this.#track("delete", () => this.inner.delete(key, signal));
  }
  close() {
    return this.inner.close();
  }
}
