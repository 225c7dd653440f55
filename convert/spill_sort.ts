/**
 * Sorts series into row order ({@linkcode compareSeries}) in bounded memory: entries are
 * buffered up to a byte budget, each full buffer is sorted and written to a temporary file (a
 * run); the runs and the last buffer are then merged with the other sorted streams. Used for sources that
 * cannot list their series in row order themselves.
 *
 * @module
 */
import type { Labels } from "../model/labels.ts";
import { RecordDecoder, RecordEncoder, SpillReader, SpillWriter } from "./_spill_file.ts";
import { compareSeries, type SortEntry } from "./series_order.ts";

/** Default buffer of a {@linkcode SpillSorter} (`--convert.sort.buffer-size`). */
export const DEFAULT_SORT_BUFFER_BYTES = 64 * 1024 * 1024;

/** Options of a {@linkcode SpillSorter}. */
export interface SpillSorterOptions {
  /** Labels sorted by first. */
  readonly sortLabels: readonly string[];
  /** Estimated bytes of buffered entries that trigger a spill (default 64 MiB). */
  readonly bufferBytes?: number;
  /** Directory of the run files (default: the OS temporary directory). */
  readonly tempDir?: string;
}

/** Estimated heap bytes of a buffered entry (object, label array, label objects, strings). */
function entryBytes(labels: Labels): number {
  let n = 96 + 48 * labels.length;
  for (const l of labels) n += l.name.length + l.value.length;
  return n;
}

/** Collects entries, then yields them sorted; {@linkcode SpillSorter.close} removes its files. */
export class SpillSorter {
  readonly #sortLabels: readonly string[];
  readonly #bufferBytes: number;
  readonly #tempDir: string | undefined;
  #buffer: SortEntry[] = [];
  #buffered = 0;
  readonly #runs: string[] = [];
  readonly #readers = new Set<SpillReader>();

  /** Creates an empty sorter. */
  constructor(options: SpillSorterOptions) {
    this.#sortLabels = options.sortLabels;
    this.#bufferBytes = options.bufferBytes ?? DEFAULT_SORT_BUFFER_BYTES;
    this.#tempDir = options.tempDir;
  }

  /** Run files written so far. */
  get runs(): number {
    return this.#runs.length;
  }

  /** Adds an entry; writes a run when the buffer is full. */
  async add(entry: SortEntry): Promise<void> {
    this.#buffer.push(entry);
    this.#buffered += entryBytes(entry.labels);
    if (this.#buffered >= this.#bufferBytes) await this.#spill();
  }

  #sortBuffer(): SortEntry[] {
    const sortLabels = this.#sortLabels;
    const sorted = this.#buffer.sort((a, b) => compareSeries(a.labels, b.labels, sortLabels));
    this.#buffer = [];
    this.#buffered = 0;
    return sorted;
  }

  async #spill(): Promise<void> {
    const sorted = this.#sortBuffer();
    const w = await SpillWriter.create(this.#tempDir, "convert-sort-");
    this.#runs.push(w.path);
    try {
      const rec = new RecordEncoder();
      for (const e of sorted) {
        rec.reset();
        rec.uvarint(e.source);
        rec.ref(e.ref);
        rec.uvarint(e.labels.length);
        for (const l of e.labels) {
          rec.str(l.name);
          rec.str(l.value);
        }
        await w.write(rec.view());
      }
    } finally {
      await w.close();
    }
  }

  /**
   * The entries added, as streams each in row order, to be merged (`mergeSeries`): the
   * runs written and the buffer. Call once, after the last add.
   */
  sortedRuns(): (Iterable<SortEntry> | AsyncIterable<SortEntry>)[] {
    const last = this.#sortBuffer();
    const streams: (Iterable<SortEntry> | AsyncIterable<SortEntry>)[] = this.#runs.map((path) =>
      this.#readRun(path)
    );
    if (last.length > 0) streams.push(last);
    return streams;
  }

  async *#readRun(path: string): AsyncIterable<SortEntry> {
    const r = await SpillReader.open(path);
    this.#readers.add(r);
    try {
      const dec = new RecordDecoder();
      for (let rec = await r.next(); rec !== undefined; rec = await r.next()) {
        dec.reset(rec);
        const source = dec.uvarint();
        const ref = dec.ref();
        const n = dec.uvarint();
        const labels = new Array(n);
        for (let i = 0; i < n; i++) labels[i] = { name: dec.str(), value: dec.str() };
        yield { labels, source, ref };
      }
    } finally {
      this.#readers.delete(r);
      r.close();
    }
  }

  /** Closes and removes the run files (also when the sorted output was not read to its end). */
  async close(): Promise<void> {
    for (const r of this.#readers) r.close();
    this.#readers.clear();
    this.#buffer = [];
    await Promise.all(this.#runs.splice(0).map((p) => Deno.remove(p).catch(() => {})));
  }
}
