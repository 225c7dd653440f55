/**
 * The Parquet schema of a gateway block shard, as written by the Go gateway (format V2) and read
 * back in all three versions.
 *
 * A shard is two files with rows aligned 1:1 (row *i* of both files is the same series):
 * - labels file: `___cf_meta_index` (required BYTE_ARRAY) then one optional STRING column
 *   `___cf_meta_label_<name>` per label name present in the shard, sorted by name;
 * - chunks file: `___cf_meta_chunk_0..2` (required BYTE_ARRAY, one per 8h window of the UTC day)
 *   then `___cf_meta_hash` (required INT64, the series-labels hash).
 *
 * @module
 */
import type { SchemaElement } from "hyparquet";
import { compareStrings } from "../../model/labels.ts";

/** Prefix of every label column: the column of label `job` is `___cf_meta_label_job`. */
export const LABEL_COLUMN_PREFIX = "___cf_meta_label_";
/** Labels-file column listing, per row, the labels-file column positions that are non-null. */
export const LABEL_INDEX_COLUMN = "___cf_meta_index";
/** Chunks-file column with the series-labels hash (V2 and later). */
export const LABEL_HASH_COLUMN = "___cf_meta_hash";
/** Chunks-file columns, one per 8h window of the day: UTC hours 0-8, 8-16 and 16-24. */
export const CHUNK_COLUMNS: readonly string[] = Object.freeze([
  "___cf_meta_chunk_0",
  "___cf_meta_chunk_1",
  "___cf_meta_chunk_2",
]);
/** Synthetic label carrying the series hash when labels are projected (V2). */
export const SERIES_HASH_LABEL = "__cf_series_hash__";
/** Root name of both files' schemas. */
export const SCHEMA_ROOT_NAME = "compressed";

/** Length of the window a chunk column covers, in ms (8h). */
export const CHUNK_COLUMN_LENGTH_MS = 8 * 3_600_000;
/** Number of chunk columns per day. */
export const CHUNK_COLUMNS_PER_DAY = 3;

/**
 * V0: labels file has label columns only; `meta.pb` `columnsForName` tells which columns a
 * metric name populates.
 */
export const V0 = 0;
/** V1: adds `___cf_meta_index` to the labels file. */
export const V1 = 1;
/** V2: adds `___cf_meta_hash` to the chunks file. The only version written. */
export const V2 = 2;
/** The version this implementation writes. */
export const WRITE_VERSION: number = V2;

/** A block declares a format version this implementation cannot read. */
export class UnsupportedVersionError extends Error {
  /** The error's name, for logs. */
  override readonly name = "UnsupportedVersionError";
  /**
   * Creates the error for the `version` that `source` declares.
   *
   * @param source the object that declared the version (e.g. the `meta.pb` key)
   * @param version the declared version
   */
  constructor(readonly source: string, readonly version: number) {
    super(`${source}: unsupported parquet block version ${version} (want 0, 1 or 2)`);
  }
}

/** Returns `version` when it is 0, 1 or 2; throws {@linkcode UnsupportedVersionError} otherwise. */
export function checkVersion(source: string, version: number): number {
  if (version !== V0 && version !== V1 && version !== V2) {
    throw new UnsupportedVersionError(source, version);
  }
  return version;
}

/** The column holding label `name`. */
export function labelColumn(name: string): string {
  return LABEL_COLUMN_PREFIX + name;
}

/** The label name stored in `column`, or `undefined` when it is not a label column. */
export function labelNameOf(column: string): string | undefined {
  return column.startsWith(LABEL_COLUMN_PREFIX)
    ? column.slice(LABEL_COLUMN_PREFIX.length)
    : undefined;
}

/**
 * The chunk column a chunk starting at `minT` (ms) goes to: its UTC hour-of-day divided by 8.
 * Times before 1970 are handled with floored arithmetic, like Go's `time.Hour()` on UTC.
 */
export function chunkColumnForTime(minT: number): number {
  const msOfDay = ((minT % 86_400_000) + 86_400_000) % 86_400_000;
  return Math.floor(msOfDay / CHUNK_COLUMN_LENGTH_MS);
}

/**
 * The chunk column covering query time `t` in a day starting at `dayStart`: the number of 8h
 * boundaries after `dayStart` that are `<= t`, clamped to `[0, 2]` (query-side selection).
 */
export function chunkColumnForQueryTime(dayStart: number, t: number): number {
  if (t < dayStart) return 0;
  return Math.min(Math.floor((t - dayStart) / CHUNK_COLUMN_LENGTH_MS), CHUNK_COLUMNS_PER_DAY - 1);
}

/** Sorts label names in byte (UTF-8) order and removes duplicates. */
export function sortedLabelNames(names: Iterable<string>): string[] {
  return [...new Set(names)].sort(compareStrings);
}

/**
 * The labels-file schema for a shard with the given label names (sorted, unique): the index column
 * at position 0, then the label columns in name order, so label `names[i]` is column `i + 1`.
 */
export function labelsFileSchema(names: readonly string[]): SchemaElement[] {
  return [
    { name: SCHEMA_ROOT_NAME, num_children: names.length + 1 },
    { name: LABEL_INDEX_COLUMN, type: "BYTE_ARRAY", repetition_type: "REQUIRED" },
    ...names.map((n): SchemaElement => ({
      name: labelColumn(n),
      type: "BYTE_ARRAY",
      repetition_type: "OPTIONAL",
      converted_type: "UTF8",
      logical_type: { type: "STRING" },
    })),
  ];
}

/** The chunks-file schema: the three chunk columns then the hash column. */
export function chunksFileSchema(): SchemaElement[] {
  return [
    { name: SCHEMA_ROOT_NAME, num_children: CHUNK_COLUMNS.length + 1 },
    ...CHUNK_COLUMNS.map((name): SchemaElement => ({
      name,
      type: "BYTE_ARRAY",
      repetition_type: "REQUIRED",
    })),
    { name: LABEL_HASH_COLUMN, type: "INT64", repetition_type: "REQUIRED" },
  ];
}
