/**
 * The `___cf_meta_index` value (format V1+): which labels-file columns a row populates, as
 * `varint(count)` then `varint(position)` for each position in ascending order, where `varint` is
 * Go's `binary.PutVarint` (zig-zag then LEB128). Positions count from the labels file's first
 * column, so label columns start at 1 (0 is the index column itself).
 *
 * @module
 */

/** A `___cf_meta_index` value does not decode. */
export class LabelIndexError extends Error {
  /** The error's name, for logs. */
  override readonly name = "LabelIndexError";
  /**
   * Creates the error for the value `source` names.
   *
   * @param source names the value being decoded (file, row)
   * @param detail what is wrong
   */
  constructor(readonly source: string, readonly detail: string) {
    super(`${source}: ${LABEL_INDEX_NAME}: ${detail}`);
  }
}

const LABEL_INDEX_NAME = "label column index";

/** Encodes sorted-ascending, non-negative column positions (< 2^31). */
export function encodeLabelIndex(positions: readonly number[]): Uint8Array {
  const out = new Uint8Array(5 * (positions.length + 1));
  let p = putZigZag(out, 0, positions.length);
  for (const v of positions) p = putZigZag(out, p, v);
  return out.slice(0, p);
}

function putZigZag(out: Uint8Array, p: number, v: number): number {
  // Positions and counts are small non-negative ints: zig-zag is 2v.
  let u = v * 2;
  while (u >= 0x80) {
    out[p++] = (u & 0x7f) | 0x80;
    u = Math.floor(u / 128);
  }
  out[p++] = u;
  return p;
}

/**
 * Decodes a value into column positions. Truncated or oversized varints and negative or absurd
 * counts throw {@linkcode LabelIndexError} naming `source`.
 */
export function decodeLabelIndex(data: Uint8Array, source = "labels file"): number[] {
  let p = 0;
  const read = (): number => {
    let u = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (p >= data.length) throw new LabelIndexError(source, "truncated varint");
      const b = data[p++];
      u += (b & 0x7f) * mul;
      if (b < 0x80) return u % 2 === 0 ? u / 2 : -(u + 1) / 2;
      mul *= 128;
    }
    throw new LabelIndexError(source, "varint overflows 64 bits");
  };
  const count = read();
  // Every position takes at least one byte, so a count beyond the remaining bytes is corrupt.
  if (count < 0 || count > data.length - p) {
    throw new LabelIndexError(source, `invalid count ${count}`);
  }
  const out = new Array<number>(count);
  for (let i = 0; i < count; i++) out[i] = read();
  return out;
}
