/**
 * K-way merge of series streams that are each in row order ({@linkcode compareSeries}): the
 * day's blocks listed in row order, and the runs of a spilling sort. Only the head of each
 * stream is held. Streams may be synchronous (a block's index is read synchronously) or
 * asynchronous (files read back).
 *
 * @module
 */
import type { Labels } from "../model/labels.ts";
import { compareSeries, type SortEntry } from "./series_order.ts";

/** A stream yielded an entry that sorts before its previous one. */
export class UnsortedStreamError extends Error {
  /** The error's name, for logs. */
  override readonly name = "UnsortedStreamError";
  /**
   * Creates the error for the entry `labels` of source `source`.
   *
   * @param source index of the entry's source
   * @param labels the entry out of order
   */
  constructor(readonly source: number, readonly labels: Labels) {
    super(`source ${source}: series ${JSON.stringify(labels)} is not in row order`);
  }
}

/** One series of the day and where each source holds it. */
export interface MergedSeries {
  /** The series labels. */
  readonly labels: Labels;
  /** Its entries, one per source holding it. */
  readonly refs: { readonly source: number; readonly ref: number | bigint }[];
}

type Stream = Iterator<SortEntry> | AsyncIterator<SortEntry>;

interface Head {
  entry: SortEntry;
  stream: Stream;
  /** Position among the inputs: ties between streams go to the earlier one. */
  index: number;
}

/** A binary min-heap of stream heads. */
class HeadHeap {
  readonly #items: Head[] = [];

  constructor(readonly sortLabels: readonly string[]) {}

  get size(): number {
    return this.#items.length;
  }

  get top(): Head {
    return this.#items[0];
  }

  #less(a: Head, b: Head): boolean {
    const c = compareSeries(a.entry.labels, b.entry.labels, this.sortLabels);
    return c < 0 || (c === 0 && a.index < b.index);
  }

  push(h: Head): void {
    const items = this.#items;
    items.push(h);
    let i = items.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.#less(items[i], items[p])) break;
      [items[i], items[p]] = [items[p], items[i]];
      i = p;
    }
  }

  /** Replaces the top with `h` (or removes it) and restores the heap. */
  replaceTop(h: Head | undefined): void {
    const items = this.#items;
    const last = items.pop()!;
    if (h === undefined) {
      if (items.length === 0) return;
      h = last;
    } else if (items.length === 0) {
      items.push(h);
      return;
    } else {
      items.push(last);
    }
    items[0] = h;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1, r = l + 1;
      let m = i;
      if (l < items.length && this.#less(items[l], items[m])) m = l;
      if (r < items.length && this.#less(items[r], items[m])) m = r;
      if (m === i) break;
      [items[i], items[m]] = [items[m], items[i]];
      i = m;
    }
  }
}

function open(s: Iterable<SortEntry> | AsyncIterable<SortEntry>): Stream {
  return Symbol.asyncIterator in s ? s[Symbol.asyncIterator]() : s[Symbol.iterator]();
}

async function pull(s: Stream): Promise<SortEntry | undefined> {
  let r = s.next();
  if (r instanceof Promise) r = await r;
  return r.done ? undefined : r.value;
}

/**
 * Merges `streams`, each in row order, into the day's series in row order: entries with equal
 * labels (from different sources) become one series whose refs follow the streams' order.
 * Throws {@linkcode UnsortedStreamError} when a stream goes backwards.
 */
export async function* mergeSeries(
  streams: readonly (Iterable<SortEntry> | AsyncIterable<SortEntry>)[],
  sortLabels: readonly string[],
): AsyncGenerator<MergedSeries> {
  const heap = new HeadHeap(sortLabels);
  const opened = streams.map(open);
  try {
    for (let i = 0; i < opened.length; i++) {
      const entry = await pull(opened[i]);
      if (entry) heap.push({ entry, stream: opened[i], index: i });
    }
    let current: { labels: Labels; refs: { source: number; ref: number | bigint }[] } | undefined;
    while (heap.size > 0) {
      const top = heap.top;
      const entry = top.entry;
      if (current && compareSeries(current.labels, entry.labels, sortLabels) === 0) {
        current.refs.push({ source: entry.source, ref: entry.ref });
      } else {
        if (current) yield current;
        current = { labels: entry.labels, refs: [{ source: entry.source, ref: entry.ref }] };
      }
      // Synchronous streams are pulled without a microtask per entry.
      let r = top.stream.next();
      if (r instanceof Promise) r = await r;
      if (r.done) {
        heap.replaceTop(undefined);
        continue;
      }
      if (compareSeries(entry.labels, r.value.labels, sortLabels) > 0) {
        throw new UnsortedStreamError(r.value.source, r.value.labels);
      }
      heap.replaceTop({ entry: r.value, stream: top.stream, index: top.index });
    }
    if (current) yield current;
  } finally {
    for (const s of opened) await s.return?.();
  }
}
