/**
 * The `serve` subcommand: opens the Parquet bucket and runs the gateway's servers until a
 * shutdown signal.
 *
 * @module
 */
import type { Logger } from "../internal/log.ts";
import { createRegistry } from "../internal/metrics.ts";
import { startInternalServer } from "../server/internal.ts";
import { createBucket, instrumentBucket, loadBucketConfig } from "../storage/objstore/mod.ts";
import type { ServeConfig } from "./serve_config.ts";

/** The bucket `serve` uses when no objstore flag is given: the demo's local data. */
export const DEFAULT_SERVE_BUCKET = {
  type: "FILESYSTEM" as const,
  config: { directory: "./data/parquet" },
  prefix: "",
};

/** Runs `serve` until `signal` aborts; resolves to the process exit code. */
export async function runServe(
  config: ServeConfig,
  logger: Logger,
  signal: AbortSignal,
): Promise<number> {
  // Configuration errors surface before anything listens.
  const bucketConfig = await loadBucketConfig(
    config.objstore.file,
    config.objstore.inline,
    "objstore.config",
    DEFAULT_SERVE_BUCKET,
  );
  if (bucketConfig === DEFAULT_SERVE_BUCKET) {
    logger.info("no --objstore.config given, using the local FILESYSTEM bucket", {
      directory: DEFAULT_SERVE_BUCKET.config.directory,
    });
  }
  const registry = createRegistry();
  const internal = startInternalServer({
    port: config.http.internal.port,
    registry,
    logger: logger.with({ component: "internal" }),
  });
  try {
    const bucket = instrumentBucket(await createBucket(bucketConfig), registry, "parquet");
    try {
      internal.setReady(true);
      logger.info("serve started", { bucket: bucket.provider });
      await abortPromise(signal);
      logger.info("shutting down");
      internal.setReady(false, "shutting down");
    } finally {
      await bucket.close();
    }
  } finally {
    await internal.shutdown(config.http.internal.shutdownTimeout);
  }
  return 0;
}

/** Resolves when `signal` aborts. */
export function abortPromise(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) =>
    signal.addEventListener("abort", () => resolve(), { once: true })
  );
}
