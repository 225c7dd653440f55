/**
 * A block's `meta.json` (Prometheus' `tsdb.BlockMeta`) with the `thanos` section Thanos adds
 * (`pkg/block/metadata`), and the Thanos marker files `deletion-mark.json` and
 * `no-compact-mark.json` that may sit beside it in a bucket.
 *
 * @module
 */
import { BlockMetaError } from "./errors.ts";

/** File name of a block's metadata. */
export const META_FILENAME = "meta.json";
/** Thanos' marker of a block scheduled for deletion (readers should skip the block). */
export const DELETION_MARK_FILENAME = "deletion-mark.json";
/** Thanos' marker of a block excluded from compaction (readable as usual). */
export const NO_COMPACT_MARK_FILENAME = "no-compact-mark.json";

/** Sample, series and chunk counts of a block. */
export interface BlockStats {
  /** Total samples. */
  numSamples: number;
  /** Float samples (newer Prometheus only; else 0). */
  numFloatSamples: number;
  /** Histogram samples (newer Prometheus only; else 0). */
  numHistogramSamples: number;
  /** Series. */
  numSeries: number;
  /** Chunks. */
  numChunks: number;
  /** Tombstone intervals. */
  numTombstones: number;
}

/** A parent block's identity and time range, as recorded by compaction. */
export interface BlockDesc {
  /** The block's ULID. */
  ulid: string;
  /** First sample time (ms). */
  minTime: number;
  /** Last sample time + 1 (ms, exclusive). */
  maxTime: number;
}

/** Compaction history of a block. */
export interface BlockCompaction {
  /** Compaction level (1 for blocks cut from the head). */
  level: number;
  /** ULIDs of the level-1 blocks this block was compacted from. */
  sources: string[];
  /** The blocks directly merged into this one. */
  parents: BlockDesc[];
  /** Set when compaction left the block empty. */
  deletable: boolean;
  /** Set when compacting this block failed. */
  failed: boolean;
  /** Compaction hints (e.g. `from-out-of-order`). */
  hints: string[];
}

/** A file of the block with its size, as listed by Thanos uploaders. */
export interface ThanosFile {
  /** Path relative to the block directory. */
  relPath: string;
  /** Size in bytes, when listed. */
  sizeBytes?: number;
}

/** Thanos' `thanos` section of `meta.json`. */
export interface ThanosMeta {
  /** File format version (1). */
  version: number;
  /** External labels of the block's producer (empty object when none). */
  labels: Record<string, string>;
  /** Downsampling resolution in milliseconds (0 for raw data). */
  downsample: { resolution: number };
  /** Producer kind: `sidecar`, `receive`, `compactor`, ... (empty when unknown). */
  source: string;
  /** Chunk segment file names (e.g. `000001`), when the uploader listed them. */
  segmentFiles: string[];
  /** Files of the block, when the uploader listed them. */
  files: ThanosFile[];
}

/** A parsed `meta.json`. `maxTime` is exclusive. */
export interface BlockMeta {
  /** The block's ULID. */
  ulid: string;
  /** First sample time (ms). */
  minTime: number;
  /** Last sample time + 1 (ms, exclusive). */
  maxTime: number;
  /** Counts. */
  stats: BlockStats;
  /** Compaction history. */
  compaction: BlockCompaction;
  /** File format version (1). */
  version: number;
  /** Present when the file has a `thanos` section. */
  thanos?: ThanosMeta;
}

/** Thanos' `deletion-mark.json`. */
export interface DeletionMark {
  /** ULID of the marked block. */
  id: string;
  /** File format version (1). */
  version: number;
  /** Free-form explanation. */
  details: string;
  /** Unix seconds when the block was marked. */
  deletionTime: number;
}

/** Thanos' `no-compact-mark.json`. */
export interface NoCompactMark {
  /** ULID of the marked block. */
  id: string;
  /** File format version (1). */
  version: number;
  /** Free-form explanation. */
  details: string;
  /** Unix seconds when the block was marked. */
  noCompactTime: number;
  /** Why compaction is disabled (e.g. `manual`). */
  reason: string;
}

const ULID_RE = /^[0-7][0-9A-HJKMNP-TV-Z]{25}$/;

/** Reports whether `s` is a canonical ULID string. */
export function isUlid(s: string): boolean {
  return ULID_RE.test(s);
}

type Obj = Record<string, unknown>;

class Fields {
  constructor(readonly file: string, readonly path: string, readonly o: Obj) {}
  fail(field: string, what: string): never {
    throw new BlockMetaError(this.file, `${this.path}${field}: ${what}`);
  }
  int(field: string, required: boolean, dflt = 0): number {
    const v = this.o[field];
    if (v === undefined || v === null) {
      if (required) this.fail(field, "missing");
      return dflt;
    }
    if (typeof v !== "number" || !Number.isSafeInteger(v)) this.fail(field, "not an integer");
    return v;
  }
  str(field: string, required: boolean): string {
    const v = this.o[field];
    if (v === undefined || v === null) {
      if (required) this.fail(field, "missing");
      return "";
    }
    if (typeof v !== "string") this.fail(field, "not a string");
    return v;
  }
  bool(field: string): boolean {
    const v = this.o[field];
    if (v === undefined || v === null) return false;
    if (typeof v !== "boolean") this.fail(field, "not a boolean");
    return v;
  }
  ulid(field: string): string {
    const v = this.str(field, true);
    if (!isUlid(v)) this.fail(field, `${JSON.stringify(v)} is not a ULID`);
    return v;
  }
  obj(field: string): Fields | undefined {
    const v = this.o[field];
    if (v === undefined || v === null) return undefined;
    if (!isObj(v)) this.fail(field, "not an object");
    return new Fields(this.file, `${this.path}${field}.`, v);
  }
  arr(field: string): unknown[] {
    const v = this.o[field];
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) this.fail(field, "not an array");
    return v;
  }
  strings(field: string): string[] {
    return this.arr(field).map((s, i) => {
      if (typeof s !== "string") this.fail(`${field}[${i}]`, "not a string");
      return s;
    });
  }
}

function isObj(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function parseJson(text: string, file: string): Fields {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw new BlockMetaError(file, `invalid JSON: ${(err as Error).message}`, { cause: err });
  }
  if (!isObj(v)) throw new BlockMetaError(file, "not a JSON object");
  return new Fields(file, "", v);
}

/**
 * Parses and validates a `meta.json`. Accepts only meta version 1 and Thanos section version 1
 * (or absent), as Thanos does; `file` names the input in errors.
 */
export function parseBlockMeta(text: string, file = META_FILENAME): BlockMeta {
  const f = parseJson(text, file);
  const version = f.int("version", true);
  if (version !== 1) f.fail("version", `unsupported meta version ${version}`);
  const ulid = f.ulid("ulid");
  const minTime = f.int("minTime", true);
  const maxTime = f.int("maxTime", true);
  if (maxTime < minTime) f.fail("maxTime", `${maxTime} before minTime ${minTime}`);
  const s = f.obj("stats") ?? new Fields(file, "stats.", {});
  const c = f.obj("compaction");
  if (!c) throw new BlockMetaError(file, "compaction: missing");
  const meta: BlockMeta = {
    ulid,
    minTime,
    maxTime,
    stats: {
      numSamples: s.int("numSamples", false),
      numFloatSamples: s.int("numFloatSamples", false),
      numHistogramSamples: s.int("numHistogramSamples", false),
      numSeries: s.int("numSeries", false),
      numChunks: s.int("numChunks", false),
      numTombstones: s.int("numTombstones", false),
    },
    compaction: {
      level: c.int("level", true),
      sources: c.strings("sources").map((u, i) => {
        if (!isUlid(u)) c.fail(`sources[${i}]`, `${JSON.stringify(u)} is not a ULID`);
        return u;
      }),
      parents: c.arr("parents").map((p, i) => {
        if (!isObj(p)) throw new BlockMetaError(file, `compaction.parents[${i}]: not an object`);
        const pf = new Fields(file, `compaction.parents[${i}].`, p);
        return {
          ulid: pf.ulid("ulid"),
          minTime: pf.int("minTime", true),
          maxTime: pf.int("maxTime", true),
        };
      }),
      deletable: c.bool("deletable"),
      failed: c.bool("failed"),
      hints: c.strings("hints"),
    },
    version,
  };
  const t = f.obj("thanos");
  if (t) meta.thanos = parseThanos(t);
  return meta;
}

function parseThanos(t: Fields): ThanosMeta {
  const version = t.int("version", false, 1) || 1;
  if (version !== 1) t.fail("version", `unsupported Thanos section version ${version}`);
  const labels: Record<string, string> = {};
  const lf = t.obj("labels");
  if (lf) {
    for (const [k, v] of Object.entries(lf.o)) {
      if (typeof v !== "string") return lf.fail(k, "label value is not a string");
      labels[k] = v;
    }
  }
  const d = t.obj("downsample");
  const resolution = d ? d.int("resolution", false) : 0;
  if (resolution < 0) t.fail("downsample.resolution", "negative");
  return {
    version,
    labels,
    downsample: { resolution },
    source: t.str("source", false),
    segmentFiles: t.strings("segment_files"),
    files: t.arr("files").map((x, i) => {
      if (!isObj(x)) return t.fail(`files[${i}]`, "not an object");
      const ff = new Fields(t.file, `${t.path}files[${i}].`, x);
      const out: ThanosFile = { relPath: ff.str("rel_path", true) };
      if (x.size_bytes !== undefined) out.sizeBytes = ff.int("size_bytes", false);
      return out;
    }),
  };
}

/** Serializes a meta in the key order and spelling Prometheus and Thanos write. */
export function formatBlockMeta(m: BlockMeta): string {
  const stats: Obj = {};
  for (const [k, v] of Object.entries(m.stats)) if (v) stats[k] = v;
  const compaction: Obj = { level: m.compaction.level };
  if (m.compaction.sources.length) compaction.sources = m.compaction.sources;
  if (m.compaction.deletable) compaction.deletable = true;
  if (m.compaction.parents.length) compaction.parents = m.compaction.parents;
  if (m.compaction.failed) compaction.failed = true;
  if (m.compaction.hints.length) compaction.hints = m.compaction.hints;
  const out: Obj = {
    ulid: m.ulid,
    minTime: m.minTime,
    maxTime: m.maxTime,
    stats,
    compaction,
    version: m.version,
  };
  if (m.thanos) {
    const t: Obj = {
      version: m.thanos.version,
      labels: m.thanos.labels,
      downsample: m.thanos.downsample,
      source: m.thanos.source,
    };
    if (m.thanos.segmentFiles.length) t.segment_files = m.thanos.segmentFiles;
    if (m.thanos.files.length) {
      t.files = m.thanos.files.map((f) =>
        f.sizeBytes === undefined
          ? { rel_path: f.relPath }
          : { rel_path: f.relPath, size_bytes: f.sizeBytes }
      );
    }
    out.thanos = t;
  }
  return JSON.stringify(out, null, "\t") + "\n";
}

function parseMarkCommon(f: Fields): { id: string; version: number; details: string } {
  const version = f.int("version", true);
  if (version !== 1) f.fail("version", `unsupported marker version ${version}`);
  return { id: f.ulid("id"), version, details: f.str("details", false) };
}

/** Parses Thanos' `deletion-mark.json`. */
export function parseDeletionMark(text: string, file = DELETION_MARK_FILENAME): DeletionMark {
  const f = parseJson(text, file);
  return { ...parseMarkCommon(f), deletionTime: f.int("deletion_time", true) };
}

/** Parses Thanos' `no-compact-mark.json`. */
export function parseNoCompactMark(text: string, file = NO_COMPACT_MARK_FILENAME): NoCompactMark {
  const f = parseJson(text, file);
  return {
    ...parseMarkCommon(f),
    noCompactTime: f.int("no_compact_time", true),
    reason: f.str("reason", false),
  };
}
