/**
 * The `convert` subcommand's flags (every flag of the Go gateway's `cmd/convert.go`, with the
 * objstore flags named `--tsdb.objstore.config(-file)` / `--parquet.objstore.config(-file)` and
 * accepted under the Go spellings `--tsdb.objstore-config(-file)` /
 * `--parquet.objstore-config(-file)` too, plus
 * `--convert.once` and `--convert.dry-run` for scripting, and `--convert.shard` to split the plan
 * among several converters) and its typed, immutable config.
 *
 * @module
 */
import { tmpdir } from "node:os";
import {
  atLeast,
  deepFreeze,
  GLOBAL_FLAGS,
  type ListenerConfig,
  listenerConfig,
  listenerFlags,
  type LogConfig,
  logConfig,
  memlimitRatio,
} from "./common.ts";
import { type FlagDef, parseFlagsSpelled, UsageError } from "./flags.ts";
import { objstoreFlags, type ObjstoreSource, objstoreSource } from "./objstore.ts";
import { parsePlanShard, type PlanShard } from "../convert/shard.ts";
import type { ChunksCodec } from "../storage/parquet/mod.ts";

/** Every flag of `convert`. */
export const CONVERT_FLAGS: readonly FlagDef[] = [
  ...objstoreFlags(
    "tsdb.objstore.config",
    "tsdb.objstore-config",
    "the TSDB (source) bucket",
    "./data/tsdb",
  ),
  ...objstoreFlags(
    "parquet.objstore.config",
    "parquet.objstore-config",
    "the Parquet (destination) bucket",
    "./data/parquet",
  ),
  {
    name: "parquet.discovery.interval",
    kind: "duration",
    default: "30m",
    help: "Interval to discover Parquet blocks (also the retention cadence).",
  },
  {
    name: "parquet.discovery.concurrency",
    kind: "int",
    default: "1",
    help: "Concurrency for loading Parquet metadata.",
  },
  {
    name: "tsdb.discovery.interval",
    kind: "duration",
    default: "30m",
    help: "Interval to discover TSDB blocks.",
  },
  {
    name: "tsdb.discovery.concurrency",
    kind: "int",
    default: "1",
    help: "Concurrency for loading TSDB block metadata.",
  },
  {
    name: "tsdb.discovery.min-block-age",
    kind: "duration",
    default: "0s",
    help: "Ignore blocks with samples younger than this.",
  },
  {
    name: "tsdb.discovery.select-external-labels",
    kind: "strings",
    placeholder: "SELECTOR",
    help: 'Only discover blocks whose external labels match this selector, e.g. {cluster="a"}.',
  },
  {
    name: "convert.run-interval",
    kind: "duration",
    default: "1h",
    help: "Interval between conversion runs.",
  },
  {
    name: "convert.progress-interval",
    kind: "duration",
    default: "5m",
    help: "Interval to recompute the conversion backlog gauge.",
  },
  {
    name: "convert.run-timeout",
    kind: "duration",
    default: "24h",
    help: "Timeout of one conversion run.",
  },
  {
    name: "convert.retry-interval",
    kind: "duration",
    default: "1m",
    help: "Interval to retry a failed conversion within a run.",
  },
  {
    name: "convert.tempdir",
    kind: "string",
    placeholder: "DIR",
    defaultHelp: "the OS temporary directory",
    help: "Directory for downloaded blocks, sort runs and the chunk pages of the row groups " +
      "being written (up to a row group's chunks per shard written at once).",
  },
  {
    name: "convert.recompress",
    kind: "bool",
    default: "true",
    help: "Re-cut chunks that cross an 8h column boundary.",
  },
  {
    name: "convert.grace-period",
    kind: "duration",
    default: "48h",
    help: "Do not convert days that start later than now minus this.",
  },
  {
    name: "convert.max-plan-days",
    kind: "int",
    default: "2",
    help: "Soft limit of days to plan per stream and run (more when they reuse planned blocks).",
  },
  {
    name: "convert.shard",
    kind: "string",
    placeholder: "I/N",
    default: "0/1",
    help: "Convert only the days of part I (0 to N-1) of N of the plan, split by stream and day; " +
      "every converter of a bucket must use the same N.",
  },
  {
    name: "convert.rowgroup.size",
    kind: "int",
    default: "1_000_000",
    help: "Rows per row group.",
  },
  { name: "convert.rowgroup.count", kind: "int", default: "6", help: "Row groups per shard." },
  {
    name: "convert.rowgroup.max-bytes",
    kind: "bytes",
    default: "64MiB",
    help: "Cut a row group early once a shard buffers this many bytes of labels, counted as " +
      "512 a row (bounds memory; chunk pages spill to the tempdir).",
  },
  {
    name: "convert.sorting.label",
    kind: "strings",
    default: ["__name__"],
    placeholder: "LABEL",
    help: "Label to sort rows by; the first use replaces the default.",
  },
  {
    name: "convert.label-page-buffer-size",
    kind: "bytes",
    default: "256KiB",
    help: "Target size of a labels-file page before compression.",
  },
  {
    name: "convert.chunk-page-buffer-size",
    kind: "bytes",
    default: "16KiB",
    help: "Target size of a chunks-file page before compression: smaller pages let a query " +
      "for few series fetch fewer bytes, at the cost of a larger page index.",
  },
  {
    name: "convert.chunk-compression",
    kind: "enum",
    values: ["none", "zstd"],
    default: "none",
    help: "Compression of the chunks files. TSDB chunks are compressed already: zstd makes the " +
      "files about 16% smaller but queries that read many series' chunks up to twice as slow.",
  },
  {
    name: "convert.sort.buffer-size",
    kind: "bytes",
    default: "64MiB",
    help: "Series buffered when a sort needs it before a sorted run spills to the tempdir.",
  },
  {
    name: "convert.download.concurrency",
    kind: "int",
    default: "4",
    help: "Files downloaded in parallel per TSDB block.",
  },
  {
    name: "convert.download.block-concurrency",
    kind: "int",
    default: "1",
    help: "TSDB blocks downloaded and opened in parallel.",
  },
  {
    name: "convert.encoding.concurrency",
    kind: "int",
    default: "4",
    help: "Accepted for compatibility with the Go converter; encoding uses one thread.",
  },
  {
    name: "convert.write.concurrency",
    kind: "int",
    default: "4",
    help: "Shards written in parallel.",
  },
  {
    name: "convert.retention-days",
    kind: "int",
    default: "0",
    help: "Mark converted days older than this many days for deletion (0 disables).",
  },
  {
    name: "convert.once",
    kind: "bool",
    help: "Plan, convert what is due, and exit (non-zero with a summary when anything failed).",
  },
  {
    name: "convert.dry-run",
    kind: "bool",
    help: "Print the plan (days, source blocks, estimated series) and exit.",
  },
  ...listenerFlags("internal", 6060, "metrics and health endpoints"),
  ...GLOBAL_FLAGS,
];

/** The typed configuration of `convert`; durations in ms. */
export interface ConvertConfig {
  /** Source bucket config source. */
  readonly tsdbObjstore: ObjstoreSource;
  /** Destination bucket config source. */
  readonly parquetObjstore: ObjstoreSource;
  /** Parquet-side discovery. */
  readonly parquetDiscovery: { readonly interval: number; readonly concurrency: number };
  /** TSDB-side discovery. */
  readonly tsdbDiscovery: {
    readonly interval: number;
    readonly concurrency: number;
    readonly minBlockAge: number;
    /** PromQL selectors, e.g. `{cluster="a"}`; a block must match all their matchers. */
    readonly selectExternalLabels: readonly string[];
  };
  /** Conversion. */
  readonly convert: {
    readonly runInterval: number;
    readonly progressInterval: number;
    readonly runTimeout: number;
    readonly retryInterval: number;
    readonly tempDir: string;
    readonly recompress: boolean;
    readonly gracePeriod: number;
    readonly maxPlanDays: number;
    /** The part of the plan to convert (`--convert.shard`); `0/1` is all of it. */
    readonly shard: PlanShard;
    readonly rowGroupSize: number;
    readonly rowGroupCount: number;
    readonly rowGroupMaxBytes: number;
    readonly sortingLabels: readonly string[];
    readonly sortBufferSize: number;
    /** Target labels-file page size, bytes (`--convert.label-page-buffer-size`). */
    readonly labelPageBytes: number;
    /** Target chunks-file page size, bytes (`--convert.chunk-page-buffer-size`). */
    readonly chunkPageBytes: number;
    /** Codec of the chunks files (`--convert.chunk-compression`). */
    readonly chunksCodec: ChunksCodec;
    readonly downloadConcurrency: number;
    readonly blockDownloadConcurrency: number;
    readonly encodingConcurrency: number;
    readonly writeConcurrency: number;
    readonly retentionDays: number;
    readonly once: boolean;
    readonly dryRun: boolean;
  };
  /** The internal HTTP listener. */
  readonly http: { readonly internal: ListenerConfig };
  /** Logging. */
  readonly log: LogConfig;
  /** `--memlimit.ratio` if given: accepted for the Go gateway's scripts, without effect. */
  readonly memlimitRatio?: number;
}

/** Parses `convert`'s arguments into its config. Throws UsageError for bad input. */
export function parseConvertConfig(args: readonly string[]): ConvertConfig {
  const parsed = parseFlagsSpelled(CONVERT_FLAGS, args);
  const v = parsed.values;
  const str = (name: string) => v[name] as string | undefined;
  const num = (name: string) => v[name] as number;
  const retentionDays = atLeast(v, "convert.retention-days", 0);
  if (retentionDays > 36500) {
    throw new UsageError(`--convert.retention-days: at most 36500, got ${retentionDays}`);
  }
  for (const selector of v["tsdb.discovery.select-external-labels"] as string[]) {
    if (!/^\s*\{.*\}\s*$/s.test(selector)) {
      throw new UsageError(
        `--tsdb.discovery.select-external-labels: ${
          JSON.stringify(selector)
        } is not a selector like {cluster="a"}`,
      );
    }
  }
  let shard: PlanShard;
  try {
    shard = parsePlanShard(v["convert.shard"] as string);
  } catch (err) {
    throw new UsageError(`--convert.shard: ${(err as Error).message}`);
  }
  return deepFreeze({
    tsdbObjstore: objstoreSource(parsed, "tsdb.objstore.config"),
    parquetObjstore: objstoreSource(parsed, "parquet.objstore.config"),
    parquetDiscovery: {
      interval: num("parquet.discovery.interval"),
      concurrency: atLeast(v, "parquet.discovery.concurrency", 1),
    },
    tsdbDiscovery: {
      interval: num("tsdb.discovery.interval"),
      concurrency: atLeast(v, "tsdb.discovery.concurrency", 1),
      minBlockAge: num("tsdb.discovery.min-block-age"),
      selectExternalLabels: v["tsdb.discovery.select-external-labels"] as string[],
    },
    convert: {
      runInterval: num("convert.run-interval"),
      progressInterval: num("convert.progress-interval"),
      runTimeout: num("convert.run-timeout"),
      retryInterval: num("convert.retry-interval"),
      tempDir: str("convert.tempdir") ?? tmpdir(),
      recompress: v["convert.recompress"] as boolean,
      gracePeriod: num("convert.grace-period"),
      maxPlanDays: atLeast(v, "convert.max-plan-days", 1),
      shard,
      rowGroupSize: atLeast(v, "convert.rowgroup.size", 1),
      rowGroupCount: atLeast(v, "convert.rowgroup.count", 1),
      rowGroupMaxBytes: atLeast(v, "convert.rowgroup.max-bytes", 1),
      sortingLabels: v["convert.sorting.label"] as string[],
      sortBufferSize: atLeast(v, "convert.sort.buffer-size", 1),
      labelPageBytes: atLeast(v, "convert.label-page-buffer-size", 1),
      chunkPageBytes: atLeast(v, "convert.chunk-page-buffer-size", 1),
      chunksCodec: v["convert.chunk-compression"] === "zstd" ? "ZSTD" : "UNCOMPRESSED",
      downloadConcurrency: atLeast(v, "convert.download.concurrency", 1),
      blockDownloadConcurrency: atLeast(v, "convert.download.block-concurrency", 1),
      encodingConcurrency: atLeast(v, "convert.encoding.concurrency", 1),
      writeConcurrency: atLeast(v, "convert.write.concurrency", 1),
      retentionDays,
      once: v["convert.once"] as boolean,
      dryRun: v["convert.dry-run"] as boolean,
    },
    http: { internal: listenerConfig(v, "internal") },
    log: logConfig(v),
    memlimitRatio: memlimitRatio(v),
  });
}
