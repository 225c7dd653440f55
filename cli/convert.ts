/**
 * The `convert` subcommand: opens the TSDB (source) and Parquet (destination) buckets and
 * converts TSDB blocks into Parquet days.
 *
 * @module
 */
import { convertWithRetries, runConversionLoop } from "../convert/loop.ts";
import { Converter } from "../convert/runner.ts";
import { parseMetricSelector } from "../engine/parser.ts";
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
  signal: AbortSignal,
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
  const selectors = config.tsdbDiscovery.selectExternalLabels.map((s) => parseMetricSelector(s));
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
      const c = config.convert;
      const blocksDir = `${c.tempDir}/.blocks`;
      // Downloads of an interrupted run are garbage: start clean.
      await Deno.remove(blocksDir, { recursive: true }).catch(() => {});
      await Deno.mkdir(blocksDir, { recursive: true });
      const log = logger.with({ component: "converter" });
      const converter = new Converter(tsdb, parquet, {
        convert: {
          rowGroupSize: c.rowGroupSize,
          numRowGroups: c.rowGroupCount,
          writeConcurrency: c.writeConcurrency,
          sortLabels: c.sortingLabels,
          recompress: c.recompress,
        },
        discovery: {
          concurrency: config.tsdbDiscovery.concurrency,
          minBlockAge: config.tsdbDiscovery.minBlockAge,
          selectors,
        },
        gracePeriod: c.gracePeriod,
        maxPlanDays: c.maxPlanDays,
        retentionDays: c.retentionDays,
        tempDir: blocksDir,
        downloadConcurrency: c.downloadConcurrency,
        onConverted: (step, r) =>
          log.info("converted day", { date: step.day.date, stream: step.streamKey, ...r }),
        onEmpty: (step) =>
          log.warn("no samples in day", { date: step.day.date, stream: step.streamKey }),
      });
      internal.setReady(true);
      if (c.dryRun) {
        for (const step of await converter.plan(Date.now(), signal)) {
          const series = step.sources.reduce((n, b) => n + b.meta.stats.numSeries, 0);
          console.log(
            `${step.day.date} stream=${step.streamKey} blocks=${
              step.sources.map((b) => b.ulid).join(",")
            } series<=${series}`,
          );
        }
        return 0;
      }
      if (c.once) return (await convertWithRetries(converter, c, log, signal)) ? 0 : 1;
      await runConversionLoop(
        converter,
        { ...c, retentionInterval: config.parquetDiscovery.interval },
        registry,
        log,
        signal,
      );
      return 0;
    } finally {
      await Promise.all([tsdb.close(), parquet.close()]);
    }
  } finally {
    await internal.shutdown(config.http.internal.shutdownTimeout);
  }
}
