/**
 * The dictionary of a byte-array column chunk (a label column's values), kept as the page it
 * was read from: entries are located by offsets and become strings only when asked for. A
 * million-series labels file has dictionaries of 20k entries per row group; a selective query
 * needs a handful of them, and decoding every entry to a string (and a view per entry before)
 * was most of the first query's time and garbage.
 *
 * @module
 */

const decoder = new TextDecoder();

/** FNV-1a over `bytes[from..to)`. */
function hashBytes(bytes: Uint8Array, from: number, to: number): number {
  let h = 0x811c9dc5;
  for (let i = from; i < to; i++) h = Math.imul(h ^ bytes[i], 0x01000193);
  return h >>> 0;
}

/** Entries of up to this many bytes, all ASCII, are decoded by `String.fromCharCode`. */
const SHORT_ENTRY = 64;

/** A byte-array dictionary whose entries are decoded as UTF-8 on first use. */
export class Dictionary {
  readonly #bytes: Uint8Array;
  readonly #starts: Int32Array;
  readonly #ends: Int32Array;
  #strings: (string | undefined)[] | undefined;
  #decoded = 0;
  /** Open-addressing hash table of entry + 1 (0: free), built on the first lookup. */
  #table: Int32Array | undefined;
  #unique = true;
  #sorted: Int32Array | undefined;
  #ranks: Int32Array | undefined;

  /**
   * A dictionary of `starts.length` entries, entry `i` being `bytes[starts[i]..ends[i])`.
   * Callers check the bounds (see `decodeByteArrayDictionary`).
   */
  constructor(bytes: Uint8Array, starts: Int32Array, ends: Int32Array) {
    this.#bytes = bytes;
    this.#starts = starts;
    this.#ends = ends;
  }

  /** Number of entries. */
  get size(): number {
    return this.#starts.length;
  }

  /** Entry `i` as a string. Throws `RangeError` for an index the dictionary does not have. */
  entry(i: number): string {
    const strings = this.#strings ??= new Array(this.size);
    const s = strings[i];
    if (s !== undefined) return s;
    if (!(i >= 0 && i < this.size)) {
      throw new RangeError(`dictionary index ${i} of ${this.size} entries`);
    }
    this.#decoded++;
    return strings[i] = this.#decode(this.#starts[i], this.#ends[i]);
  }

  #decode(from: number, to: number): string {
    const bytes = this.#bytes;
    if (to - from <= SHORT_ENTRY) {
      let ascii = true;
      for (let k = from; k < to; k++) if (bytes[k] >= 0x80) ascii = false;
      if (ascii) {
        return String.fromCharCode.apply(null, bytes.subarray(from, to) as unknown as number[]);
      }
    }
    return decoder.decode(bytes.subarray(from, to));
  }

  /** Every entry as a string, in dictionary order. */
  strings(): readonly string[] {
    const strings = this.#strings ??= new Array(this.size);
    if (this.#decoded < this.size) {
      for (let i = 0; i < this.size; i++) {
        if (strings[i] === undefined) strings[i] = this.#decode(this.#starts[i], this.#ends[i]);
      }
      this.#decoded = this.size;
    }
    return strings as string[];
  }

  /** Whether every entry differs from the others (a foreign writer may repeat one). */
  get unique(): boolean {
    this.#buildTable();
    return this.#unique;
  }

  /** The index of the entry equal to `value`, or -1; the first one if entries repeat. */
  indexOf(value: Uint8Array): number {
    const table = this.#buildTable();
    const mask = table.length - 1;
    for (let slot = hashBytes(value, 0, value.length) & mask;; slot = (slot + 1) & mask) {
      const e = table[slot] - 1;
      if (e < 0) return -1;
      if (this.#equals(e, value, 0, value.length)) return e;
    }
  }

  #equals(i: number, other: Uint8Array, from: number, to: number): boolean {
    const s = this.#starts[i];
    if (this.#ends[i] - s !== to - from) return false;
    const bytes = this.#bytes;
    for (let k = 0; k < to - from; k++) if (bytes[s + k] !== other[from + k]) return false;
    return true;
  }

  #buildTable(): Int32Array {
    if (this.#table) return this.#table;
    let capacity = 8;
    while (capacity < 2 * this.size) capacity *= 2;
    const table = new Int32Array(capacity);
    const mask = capacity - 1;
    const bytes = this.#bytes;
    for (let i = 0; i < this.size; i++) {
      const from = this.#starts[i], to = this.#ends[i];
      let slot = hashBytes(bytes, from, to) & mask;
      for (;; slot = (slot + 1) & mask) {
        const e = table[slot] - 1;
        if (e < 0) {
          table[slot] = i + 1;
          break;
        }
        if (this.#equals(e, bytes, from, to)) {
          this.#unique = false;
          break;
        }
      }
    }
    return this.#table = table;
  }

  /** Compares entry `i` with `other` byte by byte (unsigned): negative, 0 or positive. */
  compare(i: number, other: Uint8Array): number {
    const bytes = this.#bytes;
    const s = this.#starts[i], len = this.#ends[i] - s;
    const n = Math.min(len, other.length);
    for (let k = 0; k < n; k++) {
      const d = bytes[s + k] - other[k];
      if (d !== 0) return d;
    }
    return len - other.length;
  }

  /** The entries' indexes in ascending byte order (computed once). */
  sortedOrder(): Int32Array {
    if (this.#sorted) return this.#sorted;
    const bytes = this.#bytes, starts = this.#starts, ends = this.#ends;
    const order = new Int32Array(this.size);
    for (let i = 0; i < order.length; i++) order[i] = i;
    order.sort((a, b) => {
      const sa = starts[a], la = ends[a] - sa, sb = starts[b], lb = ends[b] - sb;
      const n = Math.min(la, lb);
      for (let k = 0; k < n; k++) {
        const d = bytes[sa + k] - bytes[sb + k];
        if (d !== 0) return d;
      }
      return la - lb;
    });
    return this.#sorted = order;
  }

  /** Each entry's position in {@linkcode sortedOrder} (computed once). */
  sortedRanks(): Int32Array {
    if (this.#ranks) return this.#ranks;
    const order = this.sortedOrder();
    const ranks = new Int32Array(order.length);
    for (let k = 0; k < order.length; k++) ranks[order[k]] = k;
    return this.#ranks = ranks;
  }
}
