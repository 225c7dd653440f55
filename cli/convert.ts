/**
 * The `convert` subcommand: opens the TSDB (source) and Parquet (destination) buckets and
 * converts TSDB blocks into Parquet days.
 *
 * @module
 */
import type { Logger } from "../internal/log.ts";
import { createRegistry } from "../internal/metrics.ts";
import { startInternalServer } from "../server/internal.ts";
import { createBucket, instrumentBucket, loadBucketConfig } from "../storage/objstore/mod.ts";
import type { ConvertConfig } from "./convert_config.ts";

/** The source bucket `convert` uses when no TSDB objstore flag is given. */
export const DEFAULT_TSDB_BUCKET = {
  type: "FILESYSTEM" as const,
  config: { directory: "./data/tsdb" },
  prefix: "",
};

/** The destination bucket `convert` uses when no Parquet objstore flag is given. */
export const DEFAULT_PARQUET_BUCKET = {
  type: "FILESYSTEM" as const,
  config: { directory: "./data/parquet" },
  prefix: "",
};

/** Runs `convert`; resolves to the process exit code. */
export async function runConvert(
  config: ConvertConfig,
  logger: Logger,
  _signal: AbortSignal,
): Promise<number> {
  // Configuration errors surface before anything listens.
  const tsdbConfig = await loadBucketConfig(
    config.tsdbObjstore.file,
    config.tsdbObjstore.inline,
    "tsdb.objstore.config",
    DEFAULT_TSDB_BUCKET,
  );
  const parquetConfig = await loadBucketConfig(
    config.parquetObjstore.file,
    config.parquetObjstore.inline,
    "parquet.objstore.config",
    DEFAULT_PARQUET_BUCKET,
  );
  const registry = createRegistry();
  const internal = startInternalServer({
    port: config.http.internal.port,
    registry,
    logger: logger.with({ component: "internal" }),
  });
  try {
    const tsdb = instrumentBucket(await createBucket(tsdbConfig), registry, "tsdb");
    const parquet = instrumentBucket(await createBucket(parquetConfig), registry, "parquet");
    try {
      internal.setReady(true);
      logger.error("the conversion pipeline is not part of this build yet", {
        source: tsdb.provider,
        destination: parquet.provider,
      });
      return 1;
    } finally {
      await Promise.all([tsdb.close(), parquet.close()]);
    }
  } finally {
    await internal.shutdown(config.http.internal.shutdownTimeout);
  }
}
