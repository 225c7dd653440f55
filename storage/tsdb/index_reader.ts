/**
 * Reader of a block's `index` file, formats v1, v2 and v3 (`tsdb/docs/format/index.md`):
 * TOC, symbol table, series with chunk metas, postings, the postings offset table and the
 * (legacy) label indices. Every section's CRC32C is verified before its bytes are used: TOC,
 * symbols and postings offset table on open, series, postings and label indices when read.
 *
 * v1 differs from v2 in two ways: symbol references are byte offsets into the file rather than
 * sequence numbers, and series references are byte offsets rather than offset / 16. v3 has the
 * v2 layout (it only promises chunk refs that stay in order across series).
 *
 * The file is held in memory or read on demand through a {@linkcode SegmentSource} (positional
 * reads): then only the symbols and the postings offset table stay in memory, and series and
 * postings are read as they are asked for.
 *
 * @module
 */
import { compareStrings, type Label, type Labels } from "../../model/labels.ts";
import { crc32c } from "./crc32c.ts";
import { be32At, Decbuf, hex8 } from "./_decbuf.ts";
import { TsdbFormatError } from "./errors.ts";
import type { SegmentSource } from "./segment_file.ts";

/** Magic number at the start of an index file. */
export const INDEX_MAGIC = 0xbaaad700;
/** Size of the TOC at the end of the file: six 8-byte offsets and a CRC. */
export const INDEX_TOC_LEN = 6 * 8 + 4;
/** Series entries in v2+ start at multiples of this. */
export const SERIES_ALIGN = 16;

/** Offsets of the index sections (0 when a section is absent). */
export interface IndexToc {
  /** Symbol table. */
  symbols: number;
  /** First series entry (before alignment padding). */
  series: number;
  /** First legacy label index. */
  labelIndices: number;
  /** Legacy label offset table (equal to `postingsTable` when absent). */
  labelIndicesTable: number;
  /** First postings list. */
  postings: number;
  /** Postings offset table. */
  postingsTable: number;
}

/** Where a chunk lives and which time range it covers (both ends inclusive). */
export interface ChunkMeta {
  /** First sample's timestamp. */
  minTime: number;
  /** Last sample's timestamp. */
  maxTime: number;
  /**
   * Chunk reference: segment file index * 2^32 + byte offset. Kept as a number, which is exact
   * for up to 2^21 segment files; use {@linkcode chunkRefSegment} / {@linkcode chunkRefOffset}.
   */
  ref: number;
}

/** A series entry: its reference, labels and chunk metas. */
export interface IndexSeries {
  /** The series reference used by postings (offset / 16 in v2+, offset in v1). */
  ref: number;
  /** The series' labels, sorted by name. */
  labels: Labels;
  /** Its chunks in time order. */
  chunks: ChunkMeta[];
}

const TWO32 = 2 ** 32;

/** Segment file index (0-based sequence, file name is index + 1) of a chunk reference. */
export function chunkRefSegment(ref: number): number {
  return Math.floor(ref / TWO32);
}

/** Byte offset inside its segment file of a chunk reference. */
export function chunkRefOffset(ref: number): number {
  return ref % TWO32;
}

/** Builds a chunk reference from a segment index and an offset. */
export function makeChunkRef(segment: number, offset: number): number {
  return segment * TWO32 + offset;
}

/** The label pair key of the postings list of all series. */
const ALL_POSTINGS_NAME = "";

/** An open, verified index file. Methods throw {@linkcode TsdbFormatError} on bad data. */
export class IndexReader {
  /** Format version: 1, 2 or 3. */
  readonly version: number;
  /** The table of contents. */
  readonly toc: IndexToc;
  readonly #src: SegmentSource;
  readonly #file: string;
  /** v2+: symbols by sequence number. */
  #symbols: string[] = [];
  /** v1: symbols by file offset. */
  #symbolsByOffset = new Map<number, string>();
  /** name -> value -> postings section offset. */
  readonly #postings = new Map<string, Map<string, number>>();
  #labelIndices: Map<string, number> | undefined;

  /**
   * Parses and verifies the TOC, symbol table and postings offset table of an index file, held
   * in memory or read on demand from `data`. `file` names it in errors.
   */
  constructor(data: Uint8Array | SegmentSource, file = "index") {
    this.#src = data instanceof Uint8Array ? memorySource(data) : data;
    this.#file = file;
    const size = this.#src.size;
    if (size < 5 + INDEX_TOC_LEN) {
      throw new TsdbFormatError(file, "header", `file too short (${size} bytes)`);
    }
    const head = this.#src.read(0, 5);
    const magic = be32At(head, 0);
    if (magic !== INDEX_MAGIC) {
      throw new TsdbFormatError(file, "header", `bad magic 0x${hex8(magic)}`);
    }
    this.version = head[4];
    if (this.version < 1 || this.version > 3) {
      throw new TsdbFormatError(file, "header", `unknown index version ${this.version}`);
    }
    this.toc = this.#readToc();
    this.#readSymbols();
    this.#readPostingsTable();
  }

  /** Offset of the TOC: the end of the sections. */
  get #limit(): number {
    return this.#src.size - INDEX_TOC_LEN;
  }

  #readToc(): IndexToc {
    const start = this.#limit;
    const d = this.#src.read(start, INDEX_TOC_LEN);
    const crc = be32At(d, 48);
    if (crc32c(d, 0, 48) !== crc) {
      throw new TsdbFormatError(this.#file, "TOC", "checksum mismatch");
    }
    const b = new Decbuf(d, 0, 48, this.#file, "TOC", start);
    const toc: IndexToc = {
      symbols: b.be64(),
      series: b.be64(),
      labelIndices: b.be64(),
      labelIndicesTable: b.be64(),
      postings: b.be64(),
      postingsTable: b.be64(),
    };
    for (const [k, v] of Object.entries(toc)) {
      if (v !== 0 && (v < 5 || v >= start)) {
        throw new TsdbFormatError(this.#file, "TOC", `${k} offset ${v} outside the file`);
      }
    }
    return toc;
  }

  /**
   * Verifies a section that starts with a 4-byte length at `off` and returns a buffer over the
   * `len` bytes (excluding the length and the CRC). The buffer is valid until the next read.
   */
  #section4(off: number, section: string): Decbuf {
    const limit = this.#limit;
    if (off + 4 > limit) throw new TsdbFormatError(this.#file, section, `offset ${off} past end`);
    const len = be32At(this.#src.read(off, 4), 0);
    const end = off + 4 + len;
    if (end + 4 > limit) {
      throw new TsdbFormatError(this.#file, section, `length ${len} at offset ${off} past end`);
    }
    const d = this.#src.read(off, 4 + len + 4);
    if (crc32c(d, 4, 4 + len) !== be32At(d, 4 + len)) {
      throw new TsdbFormatError(this.#file, section, `checksum mismatch at offset ${off}`);
    }
    return new Decbuf(d, 4, 4 + len, this.#file, section, off);
  }

  #readSymbols(): void {
    if (this.toc.symbols === 0) return;
    const b = this.#section4(this.toc.symbols, "symbols");
    const n = b.be32();
    if (n > b.remaining) b.fail(`${n} symbols cannot fit ${b.remaining} bytes`);
    if (this.version === 1) {
      for (let i = 0; i < n; i++) {
        const off = b.base + b.pos;
        this.#symbolsByOffset.set(off, b.uvarintStr());
      }
    } else {
      const syms = new Array<string>(n);
      for (let i = 0; i < n; i++) syms[i] = b.uvarintStr();
      this.#symbols = syms;
    }
  }

  #readPostingsTable(): void {
    if (this.toc.postingsTable === 0) return;
    const b = this.#section4(this.toc.postingsTable, "postings offset table");
    const n = b.be32();
    for (let i = 0; i < n; i++) {
      const keys = b.byte();
      if (keys !== 2) b.fail(`entry ${i} has ${keys} keys, want 2`);
      const name = b.uvarintStr();
      const value = b.uvarintStr();
      const off = b.uvarint();
      let m = this.#postings.get(name);
      if (!m) this.#postings.set(name, m = new Map());
      m.set(value, off);
    }
  }

  /**
   * Reads the legacy label offset table on first use. Prometheus stopped writing label indices
   * (its TOC then points the label offset table at the postings offset table): absent then.
   */
  #readLabelIndicesTable(): Map<string, number> {
    if (this.#labelIndices) return this.#labelIndices;
    const out = new Map<string, number>();
    const off = this.toc.labelIndicesTable;
    if (off !== 0 && off !== this.toc.postingsTable) {
      const b = this.#section4(off, "label offset table");
      const n = b.be32();
      for (let i = 0; i < n; i++) {
        const keys = b.byte();
        const names: string[] = [];
        for (let k = 0; k < keys; k++) names.push(b.uvarintStr());
        const at = b.uvarint();
        // Multi-name label indices were never written by Prometheus; only single names count.
        if (keys === 1) out.set(names[0], at);
      }
    }
    return this.#labelIndices = out;
  }

  /** Resolves a symbol reference as stored in series entries. */
  symbol(ref: number): string {
    const s = this.version === 1 ? this.#symbolsByOffset.get(ref) : this.#symbols[ref];
    if (s === undefined) throw new TsdbFormatError(this.#file, "symbols", `unknown symbol ${ref}`);
    return s;
  }

  /** All symbols in order. */
  symbols(): string[] {
    return this.version === 1 ? [...this.#symbolsByOffset.values()] : this.#symbols.slice();
  }

  /** Label names present in the index, sorted. */
  labelNames(): string[] {
    return [...this.#postings.keys()].filter((n) => n !== ALL_POSTINGS_NAME).sort(compareStrings);
  }

  /** Values of label `name`, sorted. */
  labelValues(name: string): string[] {
    const m = this.#postings.get(name);
    return m ? [...m.keys()].sort(compareStrings) : [];
  }

  /**
   * Series references whose series have label `name`=`value` (ascending). An absent pair gives
   * an empty list. `postings("", "")` is the list of all series.
   */
  postings(name: string, value: string): Uint32Array {
    const off = this.#postings.get(name)?.get(value);
    if (off === undefined) return new Uint32Array(0);
    const b = this.#section4(off, `postings ${name}=${JSON.stringify(value)}`);
    const n = b.be32();
    if (n * 4 !== b.remaining) b.fail(`${n} entries do not match length ${b.remaining + 4}`);
    const out = new Uint32Array(n);
    for (let i = 0; i < n; i++) out[i] = b.be32();
    return out;
  }

  /** References of all series, ascending (which is label order). */
  allPostings(): Uint32Array {
    return this.postings(ALL_POSTINGS_NAME, "");
  }

  /** Values listed by the legacy label index of `name` (undefined when it has none). */
  legacyLabelIndex(name: string): string[] | undefined {
    const off = this.#readLabelIndicesTable().get(name);
    if (off === undefined) return undefined;
    const b = this.#section4(off, `label index ${name}`);
    const names = b.be32();
    const entries = b.be32();
    if (names !== 1) b.fail(`${names} names per entry, want 1`);
    const out: string[] = [];
    for (let i = 0; i < entries; i++) out.push(this.symbol(b.be32()));
    return out;
  }

  /** Reads and verifies the series entry `ref`. */
  series(ref: number): IndexSeries {
    const off = this.version === 1 ? ref : ref * SERIES_ALIGN;
    const section = `series ${ref}`;
    const limit = this.#limit;
    if (off < 5 || off >= limit) {
      throw new TsdbFormatError(this.#file, section, `offset ${off} outside the file`);
    }
    const h = new Decbuf(
      this.#src.read(off, 10),
      0,
      Math.min(10, limit - off),
      this.#file,
      section,
      off,
    );
    const len = h.uvarint();
    const start = h.pos;
    const end = start + len;
    if (off + end + 4 > limit) h.fail(`length ${len} at offset ${off} past end`);
    const d = this.#src.read(off, end + 4);
    if (crc32c(d, start, end) !== be32At(d, end)) h.fail(`checksum mismatch at offset ${off}`);
    const b = new Decbuf(d, start, end, this.#file, section, off);
    const nl = b.uvarint();
    const labels: Label[] = [];
    for (let i = 0; i < nl; i++) {
      const name = this.symbol(b.uvarint());
      const value = this.symbol(b.uvarint());
      labels.push({ name, value });
    }
    const nc = b.uvarint();
    const chunks: ChunkMeta[] = [];
    if (nc > 0) {
      let mint = b.varint();
      let maxt = mint + b.uvarint();
      let cref = b.uvarint();
      chunks.push({ minTime: mint, maxTime: maxt, ref: cref });
      for (let i = 1; i < nc; i++) {
        mint = maxt + b.uvarint();
        maxt = mint + b.uvarint();
        cref += b.varint();
        if (!Number.isSafeInteger(cref) || cref < 0) b.fail(`chunk ref ${cref} out of range`);
        chunks.push({ minTime: mint, maxTime: maxt, ref: cref });
      }
    }
    if (b.remaining !== 0) b.fail(`${b.remaining} trailing bytes`);
    return { ref, labels, chunks };
  }

  /**
   * Number of series with label `name`=`value` (0 for an absent pair), from the postings list's
   * header alone (its checksum is verified when the list is read).
   */
  postingsCount(name: string, value: string): number {
    const off = this.#postings.get(name)?.get(value);
    if (off === undefined) return 0;
    if (off + 8 > this.#limit) {
      throw new TsdbFormatError(
        this.#file,
        `postings ${name}=${JSON.stringify(value)}`,
        `offset ${off} past end`,
      );
    }
    return be32At(this.#src.read(off, 8), 4);
  }

  /**
   * The postings of `name`=`value` like {@linkcode IndexReader.postings}, read a window at a time
   * so that a list of millions of series is never held whole.
   */
  *postingsStream(name: string, value: string): IterableIterator<number> {
    const off = this.#postings.get(name)?.get(value);
    if (off === undefined) return;
    const section = `postings ${name}=${JSON.stringify(value)}`;
    const limit = this.#limit;
    if (off + 8 > limit) throw new TsdbFormatError(this.#file, section, `offset ${off} past end`);
    const head = this.#src.read(off, 8);
    const len = be32At(head, 0);
    const n = be32At(head, 4);
    if (off + 4 + len + 4 > limit) {
      throw new TsdbFormatError(this.#file, section, `length ${len} at offset ${off} past end`);
    }
    if (n * 4 + 4 !== len) {
      throw new TsdbFormatError(this.#file, section, `${n} entries do not match length ${len}`);
    }
    // Verified in a first pass, so that no reference of a corrupt list is ever used.
    const step = 16_384;
    let crc = crc32c(head, 4, 8);
    for (let i = 0; i < n; i += step) {
      const k = Math.min(step, n - i);
      crc = crc32c(this.#src.read(off + 8 + i * 4, k * 4), 0, k * 4, crc);
    }
    if (crc !== be32At(this.#src.read(off + 4 + len, 4), 0)) {
      throw new TsdbFormatError(this.#file, section, `checksum mismatch at offset ${off}`);
    }
    for (let i = 0; i < n; i += step) {
      const k = Math.min(step, n - i);
      const d = this.#src.read(off + 8 + i * 4, k * 4);
      // Copied: the caller's reads between two references invalidate `d`.
      const refs = new Uint32Array(k);
      for (let j = 0; j < k; j++) refs[j] = be32At(d, j * 4);
      yield* refs;
    }
  }

  /** Iterates all series in label order, reading the list of all series a window at a time. */
  *allSeries(): IterableIterator<IndexSeries> {
    for (const ref of this.postingsStream(ALL_POSTINGS_NAME, "")) yield this.series(ref);
  }
}

/** A file held in memory as a {@linkcode SegmentSource}. */
function memorySource(data: Uint8Array): SegmentSource {
  return {
    size: data.length,
    read: (offset, length) => data.subarray(offset, Math.min(offset + length, data.length)),
  };
}
