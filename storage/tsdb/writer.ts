/**
 * Writes TSDB blocks (index v2, or v1 on request; chunk segment files, empty tombstones,
 * `meta.json`) in the layout Prometheus' own writer produces, for fixtures and tests. Series
 * are held in memory.
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
  for (let i = 1; i < sorted.length; i++) {
    if (compareLabels(sorted[i - 1].labels, sorted[i].labels) === 0) {
      throw new RangeError("duplicate series in block");
    }
  }
  const ulid = opts.ulid ?? newUlid();
  const dir = `${parentDir}/${ulid}`;
  await Deno.mkdir(`${dir}/chunks`, { recursive: true });

  // Chunk segment files; refs assigned in series order so they increase across series.
  const segSize = opts.segmentSize ?? DEFAULT_SEGMENT_SIZE;
  const refs: number[][] = [];
  const segments: Uint8Array[][] = [];
  let cur: Uint8Array[] = [];
  let curSize = 0;
  const startSegment = () => {
    cur = [segmentHeader()];
    curSize = SEGMENT_HEADER_SIZE;
    segments.push(cur);
  };
  let minTime = Infinity;
  let maxTime = -Infinity;
  let numFloatSamples = 0;
  let numHistogramSamples = 0;
  let numChunks = 0;
  for (const s of sorted) {
    const r: number[] = [];
    let prevMax = -Infinity;
    for (const c of s.chunks) {
      if (!(c.minTime <= c.maxTime) || !(c.minTime > prevMax)) {
        throw new RangeError("chunks must be in time order and not overlap");
      }
      prevMax = c.maxTime;
      const rec = chunkRecord(c);
      if (
        segments.length === 0 || (curSize + rec.length > segSize && curSize > SEGMENT_HEADER_SIZE)
      ) {
        startSegment();
      }
      r.push(makeChunkRef(segments.length - 1, curSize));
      cur.push(rec);
      curSize += rec.length;
      minTime = Math.min(minTime, c.minTime);
      maxTime = Math.max(maxTime, c.maxTime);
      // Every encoding starts with the uint16 sample count.
      const n = (c.data[0] << 8) | c.data[1];
      if (c.encoding === Encoding.XOR) numFloatSamples += n;
      else numHistogramSamples += n;
      numChunks++;
    }
    refs.push(r);
  }
  if (opts.range && (minTime < opts.range.minTime || maxTime >= opts.range.maxTime)) {
    throw new RangeError(
      `samples [${minTime}, ${maxTime}] fall outside the block range ` +
        `[${opts.range.minTime}, ${opts.range.maxTime})`,
    );
  }
  if (segments.length === 0) startSegment();
  for (let i = 0; i < segments.length; i++) {
    await Deno.writeFile(`${dir}/chunks/${segmentFileName(i)}`, concatBytes(segments[i]));
  }

  await Deno.writeFile(`${dir}/index`, buildIndex(sorted, refs, opts.indexVersion ?? 2));
  await Deno.writeFile(`${dir}/tombstones`, encodeTombstones(new Map()));

  const meta: BlockMeta = {
    ulid,
    minTime: opts.range?.minTime ?? (Number.isFinite(minTime) ? minTime : 0),
    maxTime: opts.range?.maxTime ?? (Number.isFinite(maxTime) ? maxTime + 1 : 0),
    stats: {
      numSamples: numFloatSamples + numHistogramSamples,
      numFloatSamples,
      numHistogramSamples,
      numSeries: sorted.length,
      numChunks,
      numTombstones: 0,
    },
    compaction: {
      level: opts.level ?? 1,
      sources: [ulid],
      parents: [],
      deletable: false,
      failed: false,
      hints: [],
    },
    version: 1,
  };
  if (opts.thanos) meta.thanos = opts.thanos;
  await Deno.writeTextFile(`${dir}/${META_FILENAME}`, formatBlockMeta(meta));
  return meta;
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
  series: readonly SeriesToWrite[],
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
