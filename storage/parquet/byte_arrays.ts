/**
 * The byte-array values of a decoded page (label index entries, chunk bytes): one buffer and
 * each value's start and end in it. A page of 64k rows decoded into a view per value allocated
 * 64k objects, several megabytes of heap for the page cache to hold and the collector to trace;
 * here a value becomes a view only when read.
 *
 * @module
 */

/** Byte-array values held in one buffer, located by offsets. */
export class ByteArrays {
  /**
   * Values `bytes[starts[k]..ends[k])`, in buffer order (as pages store them). Callers check
   * that the offsets lie within `bytes` and that `starts` and `ends` have the same length.
   */
  constructor(
    readonly bytes: Uint8Array,
    readonly starts: Int32Array,
    readonly ends: Int32Array,
  ) {}

  /** Number of values. */
  get length(): number {
    return this.starts.length;
  }

  /**
   * Value `k`, a view of the buffer. Throws `RangeError` for an index it does not have (a
   * corrupt dictionary index), which would otherwise view the whole buffer.
   */
  at(k: number): Uint8Array {
    if (!(k >= 0 && k < this.starts.length)) {
      throw new RangeError(`value ${k} of ${this.starts.length}`);
    }
    return this.bytes.subarray(this.starts[k], this.ends[k]);
  }

  /**
   * The values in a buffer of their own (the span from the first one's start to the last one's
   * end) when `bytes` is over twice that span (a view of a larger read, which they would
   * otherwise keep alive); otherwise `this`.
   */
  compact(): ByteArrays {
    const n = this.length;
    if (n === 0) return this;
    const from = this.starts[0], to = this.ends[n - 1];
    if (this.bytes.buffer.byteLength <= 2 * (to - from) + 1024) return this;
    const starts = new Int32Array(n), ends = new Int32Array(n);
    for (let k = 0; k < n; k++) {
      starts[k] = this.starts[k] - from;
      ends[k] = this.ends[k] - from;
    }
    return new ByteArrays(this.bytes.slice(from, to), starts, ends);
  }
}

/**
 * `values` as byte arrays, for a column that must hold them; otherwise an error naming `where`
 * (a file written with another type there).
 */
export function byteArraysOf(values: unknown, where: string): ByteArrays {
  if (values instanceof ByteArrays) return values;
  throw new Error(`${where} does not hold byte arrays`);
}
