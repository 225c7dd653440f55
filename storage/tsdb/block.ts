/**
 * A TSDB block opened for reading: `meta.json`, `index`, `chunks/*` and `tombstones`, from a
 * local directory or downloaded from a {@linkcode Bucket} into a temporary directory.
 *
 * The index and the segment files are read into memory when the block is opened, or read on
 * demand from the files (`lazyIndex`, `lazyChunks`); series are decoded on iteration, chunks
 * only when asked for (raw bytes or samples).
 *
 * @module
 */
import type { Labels } from "../../model/labels.ts";
import type { Series } from "../../model/series.ts";
import { forEachConcurrently } from "../../internal/concurrency.ts";
import type { Bucket } from "../objstore/bucket.ts";
import { isObjectNotFound } from "../objstore/bucket.ts";
import { type ChunkIterator, chunkIterator, ChunkSeriesIterator } from "./chunk.ts";
import { ChunksReader, type RawChunk, segmentFileName, segmentIndex } from "./chunks_reader.ts";
import { BlockMetaError, TsdbFormatError } from "./errors.ts";
import { type ChunkMeta, IndexReader, type IndexSeries } from "./index_reader.ts";
import {
  type BlockMeta,
  DELETION_MARK_FILENAME,
  type DeletionMark,
  META_FILENAME,
  NO_COMPACT_MARK_FILENAME,
  type NoCompactMark,
  parseBlockMeta,
  parseDeletionMark,
  parseNoCompactMark,
} from "./meta.ts";
import { type Interval, parseTombstones, type Tombstones } from "./tombstones.ts";
import { FileSegment } from "./segment_file.ts";

/** A series of a block: labels, chunk metas, raw chunks and samples. */
export interface BlockSeries extends Series {
  /** Series reference in the index. */
  readonly ref: number;
  /** The series' labels, sorted. */
  readonly labels: Labels;
  /** Chunk metas in time order. */
  readonly chunks: readonly ChunkMeta[];
  /** Deleted intervals of this series (empty when none). */
  readonly deleted: readonly Interval[];
  /** Raw bytes and encoding of chunk `i` (a view into the segment file; no tombstones). */
  rawChunk(i: number): RawChunk;
  /** A decoder over chunk `i` alone (no tombstones applied). */
  chunkIterator(i: number): ChunkIterator;
  /** All samples in time order, deleted intervals skipped. */
  iterator(): ChunkSeriesIterator;
}

/** Options for {@linkcode Block.open}. */
export interface BlockOpenOptions {
  /**
   * Read chunks from the segment files on demand (positional reads through a read-ahead
   * window) instead of loading them into memory; for blocks larger than memory. The files stay
   * open until {@linkcode Block.close}.
   */
  lazyChunks?: boolean;
  /**
   * Read the index on demand too (only its symbols and postings offset table are held), for
   * indexes larger than memory. The file stays open until {@linkcode Block.close}.
   */
  lazyIndex?: boolean;
}

/** Options for {@linkcode Block.fromBucket}. */
export interface BucketOpenOptions extends BlockOpenOptions {
  /** Parent of the temporary directory (default: the system's). */
  tmpDir?: string;
  /** Parallel downloads (default 4). */
  concurrency?: number;
  /** Aborts the download. */
  signal?: AbortSignal;
}

/** An open block. Call {@linkcode Block.close} when done (removes downloaded files). */
export class Block {
  readonly #cleanup: string | undefined;
  readonly #files: FileSegment[];

  private constructor(
    /** The block's directory. */
    readonly dir: string,
    /** Its `meta.json`. */
    readonly meta: BlockMeta,
    /** Its index. */
    readonly index: IndexReader,
    /** Its chunk segment files. */
    readonly chunks: ChunksReader,
    /** Deleted intervals by series reference. */
    readonly tombstones: Tombstones,
    cleanup: string | undefined,
    files: FileSegment[],
  ) {
    this.#cleanup = cleanup;
    this.#files = files;
  }

  /**
   * Opens a block directory. Missing or malformed files give {@linkcode TsdbFormatError} or
   * {@linkcode BlockMetaError} naming the file.
   */
  static async open(dir: string, opts: BlockOpenOptions = {}): Promise<Block> {
    return await Block.#open(dir, undefined, opts);
  }

  static async #open(
    dir: string,
    cleanup: string | undefined,
    opts: BlockOpenOptions,
  ): Promise<Block> {
    const metaPath = `${dir}/${META_FILENAME}`;
    const meta = parseBlockMeta(await readText(metaPath), metaPath);
    const indexPath = `${dir}/index`;
    const files: FileSegment[] = [];
    let index: IndexReader;
    if (opts.lazyIndex) {
      const file = openSegment(indexPath, "index");
      files.push(file);
      try {
        index = new IndexReader(file, indexPath);
      } catch (err) {
        file.close();
        throw err;
      }
    } else {
      index = new IndexReader(await readBytes(indexPath, "index"), indexPath);
    }
    const chunkDir = `${dir}/chunks`;
    const names: string[] = [];
    let chunks: ChunksReader;
    try {
      try {
        for await (const e of Deno.readDir(chunkDir)) {
          if (e.isFile && segmentIndex(e.name) !== undefined) names.push(e.name);
        }
      } catch (err) {
        if (!(err instanceof Deno.errors.NotFound)) throw err;
        throw new TsdbFormatError(chunkDir, "chunks", "directory missing", { cause: err });
      }
      names.sort((a, b) => segmentIndex(a)! - segmentIndex(b)!);
      names.forEach((n, i) => {
        if (segmentIndex(n) !== i) {
          throw new TsdbFormatError(
            `${chunkDir}/${segmentFileName(i)}`,
            "chunks",
            "segment file missing",
          );
        }
      });
      if (opts.lazyChunks) {
        const segments: FileSegment[] = [];
        for (const n of names) {
          segments.push(FileSegment.open(`${chunkDir}/${n}`));
          files.push(segments.at(-1)!);
        }
        chunks = new ChunksReader(segments, chunkDir);
      } else {
        const segments = await Promise.all(
          names.map((n) => readBytes(`${chunkDir}/${n}`, "segment")),
        );
        chunks = new ChunksReader(segments, chunkDir);
      }
    } catch (err) {
      for (const f of files) f.close();
      throw err;
    }
    let tombstones: Tombstones = new Map();
    const tsPath = `${dir}/tombstones`;
    try {
      tombstones = parseTombstones(await Deno.readFile(tsPath), tsPath);
    } catch (err) {
      // A block without a tombstones file has no deletions, as in Prometheus.
      if (!(err instanceof Deno.errors.NotFound)) {
        for (const f of files) f.close();
        throw err;
      }
    }
    return new Block(dir, meta, index, chunks, tombstones, cleanup, files);
  }

  /**
   * Downloads block `ulid` (every object below `ulid/`) from a bucket into a new temporary
   * directory with bounded concurrency, then opens it. The directory is removed by
   * {@linkcode Block.close}, or at once if opening fails.
   */
  static async fromBucket(
    bucket: Bucket,
    ulid: string,
    opts: BucketOpenOptions = {},
  ): Promise<Block> {
    const tmp = await Deno.makeTempDir({ dir: opts.tmpDir, prefix: `tsdb-${ulid}-` });
    try {
      const dir = `${tmp}/${ulid}`;
      await downloadBlock(bucket, ulid, dir, opts.concurrency ?? 4, opts.signal);
      return await Block.#open(dir, tmp, opts);
    } catch (err) {
      await Deno.remove(tmp, { recursive: true }).catch(() => {});
      throw err;
    }
  }

  /** Iterates all series in label order. */
  *series(): IterableIterator<BlockSeries> {
    for (const s of this.index.allSeries()) yield this.#wrap(s);
  }

  /** The series with label `name`=`value`, in label order. */
  *seriesWith(name: string, value: string): IterableIterator<BlockSeries> {
    for (const ref of this.index.postings(name, value)) yield this.#wrap(this.index.series(ref));
  }

  #wrap(s: IndexSeries): BlockSeries {
    const chunks = this.chunks;
    const deleted = this.tombstones.get(s.ref) ?? [];
    const source = (i: number) => `chunk ${s.chunks[i].ref} of series ${s.ref}`;
    const raw = (i: number): RawChunk => {
      const m = s.chunks[i];
      if (m === undefined) throw new RangeError(`series ${s.ref} has no chunk ${i}`);
      return chunks.chunk(m.ref);
    };
    const open = (i: number) => chunkIterator(raw(i), source(i));
    const maxTimes = s.chunks.map((c) => c.maxTime);
    return {
      ref: s.ref,
      labels: s.labels,
      chunks: s.chunks,
      deleted,
      rawChunk: raw,
      chunkIterator: open,
      iterator: () => new ChunkSeriesIterator(s.chunks.length, raw, source, maxTimes, deleted),
    };
  }

  /** Closes lazily read segment files and removes a downloaded block's temporary directory. */
  async close(): Promise<void> {
    for (const f of this.#files.splice(0)) f.close();
    if (this.#cleanup) await Deno.remove(this.#cleanup, { recursive: true }).catch(() => {});
  }
}

/** Thanos markers found beside a block in a bucket. */
export interface BlockMarkers {
  /** `deletion-mark.json`: the block is scheduled for deletion. */
  deletion?: DeletionMark;
  /** `no-compact-mark.json`: the block is excluded from compaction. */
  noCompact?: NoCompactMark;
}

/** Reads a block's Thanos marker files from a bucket (absent markers are undefined). */
export async function readBlockMarkers(
  bucket: Bucket,
  ulid: string,
  signal?: AbortSignal,
): Promise<BlockMarkers> {
  const get = async (name: string) => {
    try {
      return new TextDecoder().decode(await bucket.get(`${ulid}/${name}`, signal));
    } catch (err) {
      if (isObjectNotFound(err)) return undefined;
      throw err;
    }
  };
  const out: BlockMarkers = {};
  const d = await get(DELETION_MARK_FILENAME);
  if (d !== undefined) out.deletion = parseDeletionMark(d, `${ulid}/${DELETION_MARK_FILENAME}`);
  const n = await get(NO_COMPACT_MARK_FILENAME);
  if (n !== undefined) out.noCompact = parseNoCompactMark(n, `${ulid}/${NO_COMPACT_MARK_FILENAME}`);
  return out;
}

/** Downloads every object below `ulid/` into `dir`, at most `concurrency` at a time. */
async function downloadBlock(
  bucket: Bucket,
  ulid: string,
  dir: string,
  concurrency: number,
  signal?: AbortSignal,
): Promise<void> {
  const keys: string[] = [];
  for await (const k of bucket.list(`${ulid}/`, { recursive: true }, signal)) keys.push(k);
  if (!keys.includes(`${ulid}/${META_FILENAME}`)) {
    throw new BlockMetaError(`${ulid}/${META_FILENAME}`, "missing in bucket");
  }
  // Every download stops before the error is reported, so none writes after cleanup.
  await forEachConcurrently(keys, concurrency, async (key) => {
    const rel = key.slice(ulid.length + 1);
    if (rel === "" || rel.split("/").some((p) => p === ".." || p === "")) {
      throw new TsdbFormatError(key, "download", "unsafe object key");
    }
    const path = `${dir}/${rel}`;
    await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
    const body = await bucket.getStream(key, signal);
    const file = await Deno.open(path, { write: true, create: true, truncate: true });
    await body.pipeTo(file.writable, { signal });
  });
}

/** Opens a block file for on-demand reads; a missing file is a format error of `section`. */
function openSegment(path: string, section: string): FileSegment {
  try {
    return FileSegment.open(path);
  } catch (err) {
    if (err instanceof TsdbFormatError && err.cause instanceof Deno.errors.NotFound) {
      throw new TsdbFormatError(path, section, "file missing", { cause: err.cause });
    }
    throw err;
  }
}

async function readText(path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new BlockMetaError(path, "file missing", { cause: err });
    }
    throw err;
  }
}

async function readBytes(path: string, section: string): Promise<Uint8Array> {
  try {
    return await Deno.readFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new TsdbFormatError(path, section, "file missing", { cause: err });
    }
    throw err;
  }
}
