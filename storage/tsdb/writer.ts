/**
 * Writes TSDB blocks (index v2, or v1 on request; chunk segment files, empty tombstones,
 * `meta.json`) in the layout Prometheus' own writer produces, for fixtures, tests and benchmarks:
 * {@linkcode writeBlock} from series in memory, {@linkcode BlockWriter} from series streamed in
 * label order.
 *
 * Index layout written: header, symbol table, 16-byte aligned series, then (as current
 * Prometheus does, without legacy label indices) 4-byte aligned postings starting with the
 * all-series list, the postings offset table and the TOC, whose label-index fields point at
 * the postings and the postings offset table.
 *
 * @module
 */
import { compareLabels, compareStrings, type Labels } from "../../model/labels.ts";
import { crc32c } from "./crc32c.ts";
import { CHUNKS_MAGIC, Encoding, SEGMENT_HEADER_SIZE, segmentFileName } from "./chunks_reader.ts";
import { INDEX_MAGIC, makeChunkRef, SERIES_ALIGN } from "./index_reader.ts";
import { type BlockMeta, formatBlockMeta, META_FILENAME, type ThanosMeta } from "./meta.ts";
import { encodeTombstones } from "./tombstones.ts";
import { XorChunkEncoder } from "./xor.ts";
import { concatBytes } from "../../internal/bytes.ts";

/** A chunk to write: encoding, bytes (`Chunk.Bytes()`) and the times of its first/last sample. */
export interface ChunkToWrite {
  /** One of `Encoding`'s values. */
  encoding: number;
  /** The chunk bytes, starting with the uint16 sample count. */
  data: Uint8Array;
  /** Timestamp of the first sample. */
  minTime: number;
  /** Timestamp of the last sample. */
  maxTime: number;
}

/** A series to write; its chunks in time order, not overlapping. */
export interface SeriesToWrite {
  /** The series' labels, sorted by name. */
  labels: Labels;
  /** Its chunks. */
  chunks: ChunkToWrite[];
}

/** Options of {@linkcode writeBlock}. */
export interface BlockWriteOptions {
  /** The block's ULID (default: a new one). */
  ulid?: string;
  /** A Thanos section to add to `meta.json`. */
  thanos?: ThanosMeta;
  /** Largest segment file size in bytes before a new one is cut (default 512 MiB). */
  segmentSize?: number;
  /** Compaction level (default 1). */
  level?: number;
  /**
   * The block's time range `[minTime, maxTime)` as meta.json records it, e.g. a 2h-aligned range
   * as Prometheus' compactor writes (default: first sample to last sample + 1 ms). It must hold
   * every sample.
   */
  range?: { minTime: number; maxTime: number };
  /**
   * Index format: 2 (default, what Prometheus writes) or 1 (symbol and series references are
   * file offsets, series unaligned), for testing readers of old blocks.
   */
  indexVersion?: 1 | 2;
}

const DEFAULT_SEGMENT_SIZE = 512 * 1024 * 1024;
/** Chunk records are collected up to this many bytes before they are written out. */
const WRITE_BUFFER_SIZE = 1 << 20;

/**
 * Writes a block into `parentDir/<ulid>/` and returns its meta. Series are sorted by labels;
 * a series without chunks is written without chunk metas.
 */
export async function writeBlock(
  parentDir: string,
  series: readonly SeriesToWrite[],
  opts: BlockWriteOptions = {},
): Promise<BlockMeta> {
  const sorted = [...series].sort((a, b) => compareLabels(a.labels, b.labels));
  const w = await BlockWriter.create(parentDir, opts);
  try {
    for (const s of sorted) await w.add(s);
  } catch (e) {
    await w.abort();
    throw e;
  }
  return await w.close();
}

/** What the index needs of a series once its chunks are written. */
interface IndexedSeries {
  labels: Labels;
  chunks: { minTime: number; maxTime: number }[];
}

/**
 * Writes one block series by series, in label order: chunk bytes go to the segment files as
 * series are added, and only labels and chunk times are kept until {@linkcode close} writes the
 * index, so a block with many series needs little more memory than its index.
 */
export class BlockWriter {
  readonly #dir: string;
  readonly #ulid: string;
  readonly #opts: BlockWriteOptions;
  readonly #segmentSize: number;
  readonly #series: IndexedSeries[] = [];
  readonly #refs: number[][] = [];
  #segment?: Deno.FsFile;
  #segmentIndex = -1;
  #segmentLength = 0;
  #pending: Uint8Array[] = [];
  #pendingBytes = 0;
  #minTime = Infinity;
  #maxTime = -Infinity;
  #numFloatSamples = 0;
  #numHistogramSamples = 0;
  #numChunks = 0;

  private constructor(dir: string, ulid: string, opts: BlockWriteOptions) {
    this.#dir = dir;
    this.#ulid = ulid;
    this.#opts = opts;
    this.#segmentSize = opts.segmentSize ?? DEFAULT_SEGMENT_SIZE;
  }

  /** Creates `parentDir/<ulid>/chunks/` for a new block. */
  static async create(parentDir: string, opts: BlockWriteOptions = {}): Promise<BlockWriter> {
    const ulid = opts.ulid ?? newUlid();
    const dir = `${parentDir}/${ulid}`;
    await Deno.mkdir(`${dir}/chunks`, { recursive: true });
    return new BlockWriter(dir, ulid, opts);
  }

  /** The block's directory. */
  get dir(): string {
    return this.#dir;
  }

  /**
   * Writes the series' chunks; its labels must sort after the previous series' and its chunks
   * be in time order without overlap.
   */
  async add(series: SeriesToWrite): Promise<void> {
    const prev = this.#series.at(-1);
    if (prev) {
      const order = compareLabels(prev.labels, series.labels);
      if (order === 0) throw new RangeError("duplicate series in block");
      if (order > 0) throw new RangeError("series must be added in label order");
    }
    const refs: number[] = [];
    const times: IndexedSeries["chunks"] = [];
    let prevMax = -Infinity;
    for (const c of series.chunks) {
      if (!(c.minTime <= c.maxTime) || !(c.minTime > prevMax)) {
        throw new RangeError("chunks must be in time order and not overlap");
      }
      prevMax = c.maxTime;
      const rec = chunkRecord(c);
      if (
        this.#segmentIndex < 0 ||
        (this.#segmentLength + rec.length > this.#segmentSize &&
          this.#segmentLength > SEGMENT_HEADER_SIZE)
      ) {
        await this.#startSegment();
      }
      refs.push(makeChunkRef(this.#segmentIndex, this.#segmentLength));
      await this.#write(rec);
      times.push({ minTime: c.minTime, maxTime: c.maxTime });
      this.#minTime = Math.min(this.#minTime, c.minTime);
      this.#maxTime = Math.max(this.#maxTime, c.maxTime);
      // Every encoding starts with the uint16 sample count.
      const n = (c.data[0] << 8) | c.data[1];
      if (c.encoding === Encoding.XOR) this.#numFloatSamples += n;
      else this.#numHistogramSamples += n;
      this.#numChunks++;
    }
    this.#series.push({ labels: series.labels, chunks: times });
    this.#refs.push(refs);
  }

  /** Writes the index, tombstones and `meta.json`, and returns the meta. */
  async close(): Promise<BlockMeta> {
    const { range } = this.#opts;
    const minTime = this.#minTime, maxTime = this.#maxTime;
    if (range && (minTime < range.minTime || maxTime >= range.maxTime)) {
      await this.abort();
      throw new RangeError(
        `samples [${minTime}, ${maxTime}] fall outside the block range ` +
          `[${range.minTime}, ${range.maxTime})`,
      );
    }
    if (this.#segmentIndex < 0) await this.#startSegment();
    await this.#closeSegment();
    const dir = this.#dir;
    await Deno.writeFile(
      `${dir}/index`,
      buildIndex(this.#series, this.#refs, this.#opts.indexVersion ?? 2),
    );
    await Deno.writeFile(`${dir}/tombstones`, encodeTombstones(new Map()));

    const ulid = this.#ulid;
    const meta: BlockMeta = {
      ulid,
      minTime: range?.minTime ?? (Number.isFinite(minTime) ? minTime : 0),
      maxTime: range?.maxTime ?? (Number.isFinite(maxTime) ? maxTime + 1 : 0),
      stats: {
        numSamples: this.#numFloatSamples + this.#numHistogramSamples,
        numFloatSamples: this.#numFloatSamples,
        numHistogramSamples: this.#numHistogramSamples,
        numSeries: this.#series.length,
        numChunks: this.#numChunks,
        numTombstones: 0,
      },
      compaction: {
        level: this.#opts.level ?? 1,
        sources: [ulid],
        parents: [],
        deletable: false,
        failed: false,
        hints: [],
      },
      version: 1,
    };
    if (this.#opts.thanos) meta.thanos = this.#opts.thanos;
    await Deno.writeTextFile(`${dir}/${META_FILENAME}`, formatBlockMeta(meta));
    return meta;
  }

  /** Closes the open segment file and removes the block's directory. */
  async abort(): Promise<void> {
    this.#pending = [];
    this.#segment?.close();
    this.#segment = undefined;
    await Deno.remove(this.#dir, { recursive: true }).catch(() => {});
  }

  async #startSegment(): Promise<void> {
    await this.#closeSegment();
    this.#segmentIndex++;
    this.#segment = await Deno.open(`${this.#dir}/chunks/${segmentFileName(this.#segmentIndex)}`, {
      write: true,
      create: true,
      truncate: true,
    });
    this.#segmentLength = 0;
    await this.#write(segmentHeader());
  }

  async #write(bytes: Uint8Array): Promise<void> {
    this.#pending.push(bytes);
    this.#pendingBytes += bytes.length;
    this.#segmentLength += bytes.length;
    if (this.#pendingBytes >= WRITE_BUFFER_SIZE) await this.#flush();
  }

  async #flush(): Promise<void> {
    if (this.#pendingBytes === 0) return;
    let bytes = concatBytes(this.#pending);
    this.#pending = [];
    this.#pendingBytes = 0;
    while (bytes.length > 0) bytes = bytes.subarray(await this.#segment!.write(bytes));
  }

  async #closeSegment(): Promise<void> {
    if (!this.#segment) return;
    await this.#flush();
    this.#segment.close();
    this.#segment = undefined;
  }
}

/** Cuts float samples into XOR chunks of at most `perChunk` samples (Prometheus uses 120). */
export function xorChunks(
  ts: ArrayLike<number>,
  values: ArrayLike<number>,
  perChunk = 120,
): ChunkToWrite[] {
  const out: ChunkToWrite[] = [];
  for (let i = 0; i < ts.length; i += perChunk) {
    const enc = new XorChunkEncoder();
    const end = Math.min(ts.length, i + perChunk);
    for (let j = i; j < end; j++) enc.append(ts[j], values[j]);
    out.push({ encoding: Encoding.XOR, data: enc.bytes(), minTime: ts[i], maxTime: ts[end - 1] });
  }
  return out;
}

function segmentHeader(): Uint8Array {
  const h = new Uint8Array(SEGMENT_HEADER_SIZE);
  new DataView(h.buffer).setUint32(0, CHUNKS_MAGIC);
  h[4] = 1;
  return h;
}

function chunkRecord(c: ChunkToWrite): Uint8Array {
  const b = new ByteWriter();
  b.uvarint(c.data.length);
  const encAt = b.length;
  b.byte(c.encoding);
  b.bytes(c.data);
  b.be32(crc32c(b.view(), encAt, b.length));
  return b.view().slice();
}

/** Builds an index file of format `version`. */
function buildIndex(
  series: readonly IndexedSeries[],
  refs: number[][],
  version: 1 | 2,
): Uint8Array {
  const symSet = new Set<string>();
  for (const s of series) {
    for (const l of s.labels) {
      symSet.add(l.name);
      symSet.add(l.value);
    }
  }
  const symbols = [...symSet].sort(compareStrings);
  // v2 references symbols by sequence number, v1 by file offset (filled in while writing).
  const symIndex = new Map(symbols.map((s, i) => [s, i]));

  const w = new ByteWriter();
  w.be32(INDEX_MAGIC);
  w.byte(version);

  // Symbol table.
  const tocSymbols = w.length;
  w.be32(0);
  const symStart = w.length;
  w.be32(symbols.length);
  for (const s of symbols) {
    if (version === 1) symIndex.set(s, w.length);
    w.str(s);
  }
  w.setBe32(tocSymbols, w.length - symStart);
  w.be32(crc32c(w.view(), symStart, w.length));

  // Series, each 16-byte aligned (the TOC points before the first padding, as Prometheus').
  const tocSeries = w.length;
  const seriesRefs: number[] = [];
  const postings = new Map<string, Map<string, number[]>>();
  series.forEach((s, si) => {
    if (version !== 1) w.pad(SERIES_ALIGN);
    const ref = version === 1 ? w.length : w.length / SERIES_ALIGN;
    seriesRefs.push(ref);
    const e = new ByteWriter();
    e.uvarint(s.labels.length);
    for (const l of s.labels) {
      e.uvarint(symIndex.get(l.name)!);
      e.uvarint(symIndex.get(l.value)!);
      let m = postings.get(l.name);
      if (!m) postings.set(l.name, m = new Map());
      let list = m.get(l.value);
      if (!list) m.set(l.value, list = []);
      list.push(ref);
    }
    e.uvarint(s.chunks.length);
    let t0 = 0;
    let ref0 = 0;
    s.chunks.forEach((c, i) => {
      const cref = refs[si][i];
      if (i === 0) {
        e.varint(c.minTime);
        e.uvarint(c.maxTime - c.minTime);
        e.uvarint(cref);
      } else {
        e.uvarint(c.minTime - t0);
        e.uvarint(c.maxTime - c.minTime);
        e.varint(cref - ref0);
      }
      t0 = c.maxTime;
      ref0 = cref;
    });
    w.uvarint(e.length);
    const start = w.length;
    w.bytes(e.view());
    w.be32(crc32c(w.view(), start, w.length));
  });
  if (series.length === 0) w.pad(SERIES_ALIGN);

  // Postings: all series first, then label pairs in name, value order; 4-byte aligned.
  const tocLabelIndices = w.length;
  const tocPostings = w.length;
  const table: [string, string, number][] = [];
  const writePostings = (name: string, value: string, list: readonly number[]) => {
    w.pad(4);
    table.push([name, value, w.length]);
    w.be32(4 + 4 * list.length);
    const start = w.length;
    w.be32(list.length);
    for (const r of list) w.be32(r);
    w.be32(crc32c(w.view(), start, w.length));
  };
  writePostings("", "", seriesRefs);
  for (const name of [...postings.keys()].sort(compareStrings)) {
    const m = postings.get(name)!;
    for (const value of [...m.keys()].sort(compareStrings)) {
      writePostings(name, value, m.get(value)!);
    }
  }

  // Postings offset table.
  const tocPostingsTable = w.length;
  w.be32(0);
  const tabStart = w.length;
  w.be32(table.length);
  for (const [name, value, off] of table) {
    w.byte(2);
    w.str(name);
    w.str(value);
    w.uvarint(off);
  }
  w.setBe32(tocPostingsTable, w.length - tabStart);
  w.be32(crc32c(w.view(), tabStart, w.length));

  // TOC.
  const tocStart = w.length;
  for (
    const v of [
      tocSymbols,
      tocSeries,
      tocLabelIndices,
      tocPostingsTable,
      tocPostings,
      tocPostingsTable,
    ]
  ) {
    w.be32(Math.floor(v / 2 ** 32));
    w.be32(v >>> 0);
  }
  w.be32(crc32c(w.view(), tocStart, w.length));
  return w.view().slice();
}

const ENC = new TextEncoder();

/** A growable big-endian byte buffer. */
class ByteWriter {
  #buf = new Uint8Array(256);
  length = 0;

  #grow(n: number): void {
    if (this.length + n <= this.#buf.length) return;
    const next = new Uint8Array(Math.max(this.length + n, this.#buf.length * 2));
    next.set(this.#buf.subarray(0, this.length));
    this.#buf = next;
  }
  view(): Uint8Array {
    return this.#buf.subarray(0, this.length);
  }
  byte(b: number): void {
    this.#grow(1);
    this.#buf[this.length++] = b;
  }
  bytes(b: Uint8Array): void {
    this.#grow(b.length);
    this.#buf.set(b, this.length);
    this.length += b.length;
  }
  be32(v: number): void {
    this.#grow(4);
    this.setBe32(this.length, v);
    this.length += 4;
  }
  setBe32(at: number, v: number): void {
    const b = this.#buf;
    b[at] = v >>> 24;
    b[at + 1] = (v >>> 16) & 0xff;
    b[at + 2] = (v >>> 8) & 0xff;
    b[at + 3] = v & 0xff;
  }
  uvarint(v: number | bigint): void {
    let x = BigInt.asUintN(64, BigInt(v));
    while (x >= 0x80n) {
      this.byte(Number(x & 0x7fn) | 0x80);
      x >>= 7n;
    }
    this.byte(Number(x));
  }
  varint(v: number): void {
    const x = BigInt(v);
    this.uvarint(BigInt.asUintN(64, (x << 1n) ^ (x >> 63n)));
  }
  str(s: string): void {
    const b = ENC.encode(s);
    this.uvarint(b.length);
    this.bytes(b);
  }
  pad(align: number): void {
    while (this.length % align !== 0) this.byte(0);
  }
}

const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/** A new ULID: 48-bit millisecond time and 80 random bits, Crockford base32. */
export function newUlid(now = Date.now()): string {
  const rnd = crypto.getRandomValues(new Uint8Array(10));
  let v = BigInt(now) << 80n;
  for (let i = 0; i < 10; i++) v |= BigInt(rnd[i]) << BigInt(8 * (9 - i));
  let s = "";
  for (let i = 0; i < 26; i++) {
    s = CROCKFORD[Number(v & 31n)] + s;
    v >>= 5n;
  }
  return s;
}
