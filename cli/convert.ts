/**
 * The `convert` subcommand: opens the TSDB (source) and Parquet (destination) buckets and
 * converts TSDB blocks into Parquet days.
 *
 * @module
 */
import type { Logger } from "../internal/log.ts";
import { createRegistry } from "../internal/metrics.ts";
import { startInternalServer } from "../server/internal.ts";
import { type BucketConfig, createBucket, instrumentBucket } from "../storage/objstore/mod.ts";
import { BlockCache } from "../convert/block_cache.ts";
import { BlockSource } from "../convert/block_source.ts";
import { convertDay } from "../convert/convert.ts";
import { ConvertRunner, repeat } from "../convert/loop.ts";
import { ConversionProgress } from "../convert/progress.ts";
import { formatPlanShard } from "../convert/shard.ts";
import { TsdbDiscoverer } from "../convert/tsdb_discovery.ts";
import { externalLabelsHash } from "../storage/parquet/hash.ts";
import { ParquetDiscoverer } from "../storage/parquet/discovery.ts";
import { listenOn } from "./common.ts";
import type { ConvertConfig } from "./convert_config.ts";
import { loadObjstore } from "./objstore.ts";
import {
  bucketScopes,
  checkPermissions,
  configFileScopes,
  explainDenial,
  listenScope,
  objstoreFlag,
  pathScopes,
  type PermissionScope,
} from "./permissions.ts";

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

/**
 * Runs `convert`; resolves to the process exit code. Rejects with a `PermissionDeniedError` when
 * a permission it needs is refused: checked before anything starts (the buckets' directories,
 * `--convert.tempdir`, the internal port) and reported whenever Deno refuses one later.
 */
export async function runConvert(
  config: ConvertConfig,
  logger: Logger,
  signal: AbortSignal,
): Promise<number> {
  const scopes: PermissionScope[] = [
    ...configFileScopes(config.tsdbObjstore),
    ...configFileScopes(config.parquetObjstore),
  ];
  try {
    // Configuration errors surface before anything listens.
    const tsdbConfig = await loadObjstore(config.tsdbObjstore, DEFAULT_TSDB_BUCKET, logger);
    const parquetConfig = await loadObjstore(
      config.parquetObjstore,
      DEFAULT_PARQUET_BUCKET,
      logger,
    );
    const dryRun = config.convert.dryRun;
    const tempDir = config.convert.tempDir;
    scopes.push(
      ...bucketScopes(tsdbConfig, objstoreFlag(config.tsdbObjstore), false),
      // A dry run only reads the destination, and downloads nothing.
      ...bucketScopes(
        parquetConfig,
        objstoreFlag(config.parquetObjstore),
        !dryRun,
      ),
      ...(dryRun || !tempDir
        ? []
        : pathScopes(tempDir, "the temporary directory of --convert.tempdir", true)),
      ...(dryRun ? [] : [listenScope(config.http.internal.port, "http.internal.port")]),
    );
    checkPermissions(scopes);
    return await convert(config, tsdbConfig, parquetConfig, logger, signal);
  } catch (err) {
    throw explainDenial(err, scopes) ?? err;
  }
}

async function convert(
  config: ConvertConfig,
  tsdbConfig: BucketConfig,
  parquetConfig: BucketConfig,
  logger: Logger,
  signal: AbortSignal,
): Promise<number> {
  const registry = createRegistry();
  const c = config.convert;
  const internalOptions = {
    port: config.http.internal.port,
    registry,
    logger: logger.with({ component: "internal" }),
  };
  // A dry run only prints the plan: it takes no port, so it can run beside a running converter.
  const internal = c.dryRun ? undefined : await listenOn(
    "http.internal.port",
    internalOptions.port,
    () => startInternalServer(internalOptions),
  );
  try {
    const tsdb = instrumentBucket(await createBucket(tsdbConfig), registry, "tsdb");
    const parquet = instrumentBucket(await createBucket(parquetConfig), registry, "parquet");
    const blocks = new BlockCache(tsdb, {
      tmpDir: c.tempDir || undefined,
      fileConcurrency: c.downloadConcurrency,
      blockConcurrency: c.blockDownloadConcurrency,
    });
    try {
      const progress = new ConversionProgress({ logger: logger.with({ component: "converter" }) });
      const runner = new ConvertRunner({
        parquet,
        tsdbDiscoverer: new TsdbDiscoverer(tsdb, {
          concurrency: config.tsdbDiscovery.concurrency,
          minBlockAgeMs: config.tsdbDiscovery.minBlockAge,
          selectors: config.tsdbDiscovery.selectExternalLabels,
          streamKey: (labels) => externalLabelsHash(labels).toString(),
          logger: logger.with({ component: "tsdb-discovery" }),
          registry,
        }),
        parquetDiscoverer: new ParquetDiscoverer(parquet, {
          concurrency: config.parquetDiscovery.concurrency,
          logger: logger.with({ component: "parquet-discovery" }),
          registry,
        }),
        convertStep: async (step, stepSignal, position) => {
          const day = progress.startDay(`${step.streamKey}/${step.day.date}`, position);
          try {
            const open = await blocks.acquire(step.sources.map((b) => b.ulid), stepSignal);
            const result = await convertDay(
              parquet,
              step.day,
              step.externalLabels,
              open.map((b) => new BlockSource(b)),
              {
                rowGroupSize: c.rowGroupSize,
                numRowGroups: c.rowGroupCount,
                maxRowGroupBytes: c.rowGroupMaxBytes,
                sortLabels: c.sortingLabels,
                sortBufferBytes: c.sortBufferSize,
                labelPageBytes: c.labelPageBytes,
                chunkPageBytes: c.chunkPageBytes,
                chunksCodec: c.chunksCodec,
                tempDir: c.tempDir || undefined,
                recompress: c.recompress,
                writeConcurrency: c.writeConcurrency,
                // The day's distinct series, not the sum over its blocks' meta.json counts (a
                // series in twelve 2h blocks counts once).
                onSeriesCounted: (n) => day.begin(n),
                onProgress: (n) => day.advance(n),
                signal: stepSignal,
              },
            );
            day.finish({ shards: result.shards, series: result.rows });
            return { series: result.rows, shards: result.shards };
          } catch (err) {
            day.fail();
            throw err;
          }
        },
        gracePeriodMs: c.gracePeriod,
        maxPlanDays: c.maxPlanDays,
        shard: c.shard,
        retentionDays: c.retentionDays,
        registry,
        logger: logger.with({ component: "converter" }),
      });

      if (c.shard.count > 1) {
        logger.info("converting one part of the plan", { shard: formatPlanShard(c.shard) });
      }
      if (c.dryRun) {
        printOut(ConvertRunner.describePlan(await runner.plan(signal)));
        return 0;
      }
      internal?.setReady(true);
      if (c.once) {
        const summary = await runner.runOnce(signal);
        await runner.applyRetention(signal);
        logger.info("conversion finished", {
          planned: summary.planned,
          converted: summary.converted.length,
          failed: summary.failed.length,
        });
        for (const f of summary.failed) printErr(`failed: ${f.day}: ${f.error}\n`);
        return summary.failed.length > 0 ? 1 : 0;
      }
      const loops = [
        repeat(c.runInterval, signal, logger, "conversion run", async () => {
          await runner.runWithRetries(signal, c.runTimeout, c.retryInterval);
          await blocks.close();
        }),
        repeat(
          c.progressInterval,
          signal,
          logger,
          "backlog update",
          () => runner.updateBacklog(signal),
        ),
      ];
      if (c.retentionDays > 0) {
        loops.push(
          repeat(
            config.parquetDiscovery.interval,
            signal,
            logger,
            "retention",
            () => runner.applyRetention(signal),
          ),
        );
      }
      await Promise.all(loops);
      return 0;
    } finally {
      await blocks.close();
      await Promise.all([tsdb.close(), parquet.close()]);
    }
  } finally {
    await internal?.shutdown(config.http.internal.shutdownTimeout);
  }
}

const encoder = new TextEncoder();

function printOut(text: string): void {
  Deno.stdout.writeSync(encoder.encode(text));
}

function printErr(text: string): void {
  Deno.stderr.writeSync(encoder.encode(text));
}
