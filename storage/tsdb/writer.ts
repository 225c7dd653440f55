/**
 * Writes TSDB blocks (index v2, or v1 on request; chunk segment files, empty tombstones,
 * `meta.json`) in the layout Prometheus' own writer produces. {@linkcode BlockWriter} streams
 * series (given in label order, with the block's symbols up front) to the files, holding only
 * the postings in memory; {@linkcode writeBlock} sorts series held in memory and writes them.
 *
 * Index layout written: header, symbol table, 16-byte aligned series, then (as current
 * Prometheus does, without legacy label indices) 4-byte aligned postings starting with the
 * all-series list, the postings offset table and the TOC, whose label-index fields point at
 * the postings and the postings offset table.
 *
 * @module
 */
import { ByteBuffer } from "../../internal/byte_buffer.ts";
import { FileSink } from "../../internal/file_sink.ts";
import { compareLabels, compareStrings, type Labels } from "../../model/labels.ts";
import { crc32c } from "./crc32c.ts";
import { CHUNKS_MAGIC, Encoding, SEGMENT_HEADER_SIZE, segmentFileName } from "./chunks_reader.ts";
import { INDEX_MAGIC, makeChunkRef, SERIES_ALIGN } from "./index_reader.ts";
import { type BlockMeta, formatBlockMeta, META_FILENAME, type ThanosMeta } from "./meta.ts";
import { encodeTombstones } from "./tombstones.ts";
import { XorChunkEncoder } from "./xor.ts";

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

/** Options of {@linkcode writeBlock} and {@linkcode BlockWriter.create}. */
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
  const symbols = new Set<string>();
  for (const s of sorted) {
    for (const l of s.labels) symbols.add(l.name).add(l.value);
  }
  const w = await BlockWriter.create(parentDir, symbols, opts);
  try {
    for (const s of sorted) await w.addSeries(s);
    return await w.finish();
  } catch (err) {
    await w.abort();
    throw err;
  }
}

/**
 * Streams one block to disk: create it with every symbol (label name and value) its series
 * use, add the series in strictly increasing label order, then {@linkcode BlockWriter.finish}.
 * Chunks and series entries go to the files as they come; memory holds the symbols and the
 * postings (one number per label of each series).
 */
export class BlockWriter {
  readonly #dir: string;
  readonly #opts: BlockWriteOptions;
  readonly #ulid: string;
  readonly #version: 1 | 2;
  readonly #segSize: number;
  readonly #index: FileSink;
  #segment: FileSink | undefined;
  #segments = 0;
  readonly #symIndex: Map<string, number>;
  readonly #tocSymbols: number;
  readonly #tocSeries: number;
  readonly #allRefs: number[] = [];
  readonly #postings = new Map<string, Map<string, number[]>>();
  #last: Labels | undefined;
  #minTime = Infinity;
  #maxTime = -Infinity;
  #numFloatSamples = 0;
  #numHistogramSamples = 0;
  #numChunks = 0;

  private constructor(
    dir: string,
    ulid: string,
    opts: BlockWriteOptions,
    index: FileSink,
    symIndex: Map<string, number>,
    tocSymbols: number,
  ) {
    this.#dir = dir;
    this.#ulid = ulid;
    this.#opts = opts;
    this.#version = opts.indexVersion ?? 2;
    this.#segSize = opts.segmentSize ?? DEFAULT_SEGMENT_SIZE;
    this.#index = index;
    this.#symIndex = symIndex;
    this.#tocSymbols = tocSymbols;
    this.#tocSeries = index.offset;
  }

  /**
   * Creates `parentDir/<ulid>/` and writes the index header and symbol table.
   *
   * @param symbols every label name and value of the series to come (any order, repeats allowed)
   */
  static async create(
    parentDir: string,
    symbols: Iterable<string>,
    opts: BlockWriteOptions = {},
  ): Promise<BlockWriter> {
    const ulid = opts.ulid ?? newUlid();
    const dir = `${parentDir}/${ulid}`;
    await Deno.mkdir(`${dir}/chunks`, { recursive: true });
    const version = opts.indexVersion ?? 2;
    const sorted = [...new Set(symbols)].sort(compareStrings);
    // v2 references symbols by sequence number, v1 by file offset (filled in while writing).
    const symIndex = new Map(sorted.map((s, i) => [s, i]));
    const index = await FileSink.create(`${dir}/index`);
    const w = new ByteBuffer();
    w.be32(INDEX_MAGIC);
    w.byte(version);
    const tocSymbols = w.length;
    w.be32(0);
    const symStart = w.length;
    w.be32(sorted.length);
    for (const s of sorted) {
      if (version === 1) symIndex.set(s, w.length);
      w.str(s);
    }
    w.setBe32(tocSymbols, w.length - symStart);
    w.be32(crc32c(w.view(), symStart, w.length));
    await index.write(w.view());
    return new BlockWriter(dir, ulid, opts, index, symIndex, tocSymbols);
  }

  /** Appends a series; its labels must sort after the previous series' and use known symbols. */
  async addSeries(s: SeriesToWrite): Promise<void> {
    if (this.#last) {
      const c = compareLabels(this.#last, s.labels);
      if (c === 0) throw new RangeError("duplicate series in block");
      if (c > 0) throw new RangeError("series must be added in label order");
    }
    this.#last = s.labels;
    const range = this.#opts.range;
    const e = new ByteBuffer();
    e.uvarint(s.labels.length);
    for (const l of s.labels) {
      const n = this.#symIndex.get(l.name), v = this.#symIndex.get(l.value);
      if (n === undefined || v === undefined) {
        throw new RangeError(`label ${l.name}=${JSON.stringify(l.value)} is not a symbol`);
      }
      e.uvarint(n);
      e.uvarint(v);
    }
    e.uvarint(s.chunks.length);
    let prevMax = -Infinity;
    let t0 = 0;
    let ref0 = 0;
    for (let i = 0; i < s.chunks.length; i++) {
      const c = s.chunks[i];
      if (!(c.minTime <= c.maxTime) || !(c.minTime > prevMax)) {
        throw new RangeError("chunks must be in time order and not overlap");
      }
      if (range && (c.minTime < range.minTime || c.maxTime >= range.maxTime)) {
        throw new RangeError(
          `samples [${c.minTime}, ${c.maxTime}] fall outside the block range ` +
            `[${range.minTime}, ${range.maxTime})`,
        );
      }
      prevMax = c.maxTime;
      const cref = await this.#writeChunk(c);
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
    }
    // Series are 16-byte aligned in v2 (the TOC points before the first padding, as Prometheus').
    if (this.#version !== 1) await this.#index.pad(SERIES_ALIGN);
    const ref = this.#version === 1 ? this.#index.offset : this.#index.offset / SERIES_ALIGN;
    const entry = new ByteBuffer();
    entry.uvarint(e.length);
    const start = entry.length;
    entry.bytes(e.view());
    entry.be32(crc32c(entry.view(), start, entry.length));
    await this.#index.write(entry.view());
    this.#allRefs.push(ref);
    for (const l of s.labels) {
      let m = this.#postings.get(l.name);
      if (!m) this.#postings.set(l.name, m = new Map());
      let list = m.get(l.value);
      if (!list) m.set(l.value, list = []);
      list.push(ref);
    }
  }

  async #writeChunk(c: ChunkToWrite): Promise<number> {
    const rec = chunkRecord(c);
    if (
      !this.#segment ||
      (this.#segment.offset + rec.length > this.#segSize &&
        this.#segment.offset > SEGMENT_HEADER_SIZE)
    ) {
      await this.#nextSegment();
    }
    const seg = this.#segment!;
    const ref = makeChunkRef(this.#segments - 1, seg.offset);
    await seg.write(rec);
    this.#minTime = Math.min(this.#minTime, c.minTime);
    this.#maxTime = Math.max(this.#maxTime, c.maxTime);
    // Every encoding starts with the uint16 sample count.
    const n = (c.data[0] << 8) | c.data[1];
    if (c.encoding === Encoding.XOR) this.#numFloatSamples += n;
    else this.#numHistogramSamples += n;
    this.#numChunks++;
    return ref;
  }

  async #nextSegment(): Promise<void> {
    await this.#segment?.close();
    this.#segment = await FileSink.create(`${this.#dir}/chunks/${segmentFileName(this.#segments)}`);
    this.#segments++;
    await this.#segment.write(segmentHeader());
  }

  /** Writes the postings, the TOC, the tombstones and `meta.json`; returns the meta. */
  async finish(): Promise<BlockMeta> {
    if (!this.#segment) await this.#nextSegment();
    await this.#segment!.close();
    const ix = this.#index;
    if (this.#allRefs.length === 0) await ix.pad(SERIES_ALIGN);

    // Postings: all series first, then label pairs in name, value order; 4-byte aligned.
    const tocPostings = ix.offset;
    const table = new ByteBuffer();
    let entries = 0;
    const writePostings = async (name: string, value: string, list: readonly number[]) => {
      await ix.pad(4);
      table.byte(2);
      table.str(name);
      table.str(value);
      table.uvarint(ix.offset);
      entries++;
      const p = new ByteBuffer();
      p.be32(4 + 4 * list.length);
      p.be32(list.length);
      for (const r of list) p.be32(r);
      p.be32(crc32c(p.view(), 4, p.length));
      await ix.write(p.view());
    };
    await writePostings("", "", this.#allRefs);
    for (const name of [...this.#postings.keys()].sort(compareStrings)) {
      const m = this.#postings.get(name)!;
      for (const value of [...m.keys()].sort(compareStrings)) {
        await writePostings(name, value, m.get(value)!);
      }
    }

    // Postings offset table.
    const tocPostingsTable = ix.offset;
    const t = new ByteBuffer();
    t.be32(0);
    t.be32(entries);
    t.bytes(table.view());
    t.setBe32(0, t.length - 4);
    t.be32(crc32c(t.view(), 4, t.length));
    await ix.write(t.view());

    // TOC.
    const toc = new ByteBuffer();
    for (
      const v of [
        this.#tocSymbols,
        this.#tocSeries,
        tocPostings,
        tocPostingsTable,
        tocPostings,
        tocPostingsTable,
      ]
    ) {
      toc.be32(Math.floor(v / 2 ** 32));
      toc.be32(v >>> 0);
    }
    toc.be32(crc32c(toc.view(), 0, toc.length));
    await ix.write(toc.view());
    await ix.close();
    await Deno.writeFile(`${this.#dir}/tombstones`, encodeTombstones(new Map()));

    const opts = this.#opts;
    const finite = Number.isFinite(this.#minTime);
    const numSamples = this.#numFloatSamples + this.#numHistogramSamples;
    const meta: BlockMeta = {
      ulid: this.#ulid,
      minTime: opts.range?.minTime ?? (finite ? this.#minTime : 0),
      maxTime: opts.range?.maxTime ?? (finite ? this.#maxTime + 1 : 0),
      stats: {
        numSamples,
        numFloatSamples: this.#numFloatSamples,
        numHistogramSamples: this.#numHistogramSamples,
        numSeries: this.#allRefs.length,
        numChunks: this.#numChunks,
        numTombstones: 0,
      },
      compaction: {
        level: opts.level ?? 1,
        sources: [this.#ulid],
        parents: [],
        deletable: false,
        failed: false,
        hints: [],
      },
      version: 1,
    };
    if (opts.thanos) meta.thanos = opts.thanos;
    await Deno.writeTextFile(`${this.#dir}/${META_FILENAME}`, formatBlockMeta(meta));
    return meta;
  }

  /** Closes the files and removes the partly written block directory. */
  async abort(): Promise<void> {
    await this.#segment?.close().catch(() => {});
    await this.#index.close().catch(() => {});
    await Deno.remove(this.#dir, { recursive: true }).catch(() => {});
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
  const b = new ByteBuffer();
  b.uvarint(c.data.length);
  const encAt = b.length;
  b.byte(c.encoding);
  b.bytes(c.data);
  b.be32(crc32c(b.view(), encAt, b.length));
  return b.view().slice();
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
