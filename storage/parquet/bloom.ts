/**
 * Parquet split-block bloom filters, read side: the filter of a column chunk (header then
 * bitset) and the membership test the spec defines (xxHash64 of the plain-encoded value; a
 * 32-byte block chosen by the hash's upper half, eight bits set by salted multiplications of its
 * lower half). "Absent" is certain; "present" may be a false positive.
 *
 * @module
 */
import { xxHash64 } from "../../model/xxhash64.ts";

/** The salts of the eight words of a block. */
const SALT = Uint32Array.of(
  0x47b6137b,
  0x44974d91,
  0x8824ad5b,
  0xa2b7289d,
  0x705495c7,
  0x2df1424b,
  0x9efc4947,
  0x5c6bfb31,
);

/** A bloom filter's header or bitset is not what the spec allows. */
export class BloomFilterError extends Error {
  /** The error's name, for logs. */
  override readonly name = "BloomFilterError";
}

function uvarint(b: Uint8Array, p: { pos: number }): number {
  let result = 0, mul = 1;
  for (;;) {
    if (p.pos >= b.length) throw new BloomFilterError("truncated header");
    const x = b[p.pos++];
    result += (x & 0x7f) * mul;
    if (x < 0x80) return result;
    mul *= 128;
    if (mul > 2 ** 35) throw new BloomFilterError("varint too long");
  }
}

/**
 * Skips the thrift compact struct at `p` (the header's algorithm, hash and compression unions,
 * whose only members are empty structs), checking that each holds member 1 only.
 */
function skipUnion(b: Uint8Array, p: { pos: number }, what: string): void {
  // One field header (struct member 1, type struct), its empty struct, then the union's end.
  if (b[p.pos] !== 0x1c || b[p.pos + 1] !== 0x00 || b[p.pos + 2] !== 0x00) {
    throw new BloomFilterError(`unsupported ${what}`);
  }
  p.pos += 3;
}

/**
 * Reads a filter's thrift header (`numBytes`, then the BLOCK algorithm, XXHASH hash and no
 * compression, the only members the spec defines): its length and the bitset's.
 */
export function parseBloomHeader(bytes: Uint8Array): { headerLength: number; numBytes: number } {
  const p = { pos: 0 };
  if (bytes[p.pos++] !== 0x15) throw new BloomFilterError("header lacks numBytes");
  const z = uvarint(bytes, p);
  const numBytes = z % 2 === 0 ? z / 2 : -(z + 1) / 2;
  for (const what of ["algorithm", "hash", "compression"]) {
    if (bytes[p.pos++] !== 0x1c) throw new BloomFilterError(`header lacks the ${what}`);
    skipUnion(bytes, p, what);
  }
  if (bytes[p.pos++] !== 0x00) throw new BloomFilterError("unexpected header field");
  if (numBytes <= 0) throw new BloomFilterError(`bitset of ${numBytes} bytes`);
  return { headerLength: p.pos, numBytes };
}

/** A split-block bloom filter's bitset. */
export class BloomFilter {
  readonly #words: Uint32Array;

  /** Wraps a bitset (a multiple of 32 bytes). */
  constructor(bitset: Uint8Array) {
    if (bitset.length === 0 || bitset.length % 32 !== 0) {
      throw new BloomFilterError(`bitset of ${bitset.length} bytes is not whole blocks`);
    }
    const copy = bitset.slice();
    this.#words = new Uint32Array(copy.buffer);
  }

  /**
   * Parses a filter as stored at a column chunk's `bloom_filter_offset`: the header, then the
   * bitset (`bytes` may extend past it).
   */
  static parse(bytes: Uint8Array): BloomFilter {
    const { headerLength, numBytes } = parseBloomHeader(bytes);
    if (headerLength + numBytes > bytes.length) {
      throw new BloomFilterError(`bitset of ${numBytes} bytes does not fit`);
    }
    return new BloomFilter(bytes.subarray(headerLength, headerLength + numBytes));
  }

  /** Whether the value whose xxHash64 is `hash` may be in the set (false: certainly not). */
  containsHash(hash: bigint): boolean {
    const blocks = this.#words.length / 8;
    const high = Number(hash >> 32n);
    const low = Number(hash & 0xffffffffn);
    // The block is the upper 32 bits of (hash >> 32) * blocks.
    const block = Math.floor((high * blocks) / 2 ** 32);
    for (let i = 0; i < 8; i++) {
      const bit = Math.imul(low, SALT[i]) >>> 27;
      if ((this.#words[block * 8 + i] & (1 << bit)) === 0) return false;
    }
    return true;
  }

  /** Whether the byte-array value `value` may be in the set. */
  contains(value: Uint8Array): boolean {
    return this.containsHash(xxHash64(value));
  }
}
