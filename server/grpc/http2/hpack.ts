/**
 * HPACK (RFC 7541) for the server side. Decoding uses npm `hpack.js`, which keeps the peer's
 * dynamic table; encoding is our own and deliberately stateless: every field is a literal
 * "without indexing", so the peer's SETTINGS_HEADER_TABLE_SIZE never matters and there is no
 * encoder table to keep in sync.
 *
 * @module
 */
import hpack from "hpack.js";
import { ConnectionError, ErrorCode } from "./frame.ts";

/** A header field as a name/value pair; names are lowercase. */
export type HeaderField = readonly [name: string, value: string];

interface RawField {
  name: string;
  value: string;
}

interface HpackDecompressor {
  write(data: Uint8Array): void;
  execute(): void;
  read(): RawField | null;
  on(event: "error", fn: (e: unknown) => void): void;
}

/** Decodes header blocks of one connection (the dynamic table spans all its blocks). */
export class HpackDecoder {
  #d: HpackDecompressor;
  #error: unknown = null;

  /** Creates a decoder whose dynamic table may grow to `tableSize` octets. */
  constructor(tableSize = 4096) {
    this.#d = hpack.decompressor.create({ table: { maxSize: tableSize } }) as HpackDecompressor;
    this.#d.on("error", (e) => this.#error = e);
  }

  /**
   * Decodes one complete header block. Any malformed input is a connection-level
   * COMPRESSION_ERROR, since the shared table can no longer be trusted.
   */
  decode(block: Uint8Array): HeaderField[] {
    this.#error = null;
    const out: HeaderField[] = [];
    try {
      // hpack.js reads Node Buffers; a Uint8Array view of the same bytes works as well.
      this.#d.write(block);
      this.#d.execute();
      for (let f = this.#d.read(); f !== null; f = this.#d.read()) {
        out.push([utf8(f.name), utf8(f.value)]);
      }
    } catch (e) {
      this.#error ??= e;
    }
    if (this.#error !== null) {
      const msg = this.#error instanceof Error ? this.#error.message : String(this.#error);
      throw new ConnectionError(ErrorCode.COMPRESSION_ERROR, `hpack: ${msg}`);
    }
    return out;
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** hpack.js returns one char per octet; reinterpret non-ASCII octets as UTF-8. */
function utf8(s: string): string {
  // deno-lint-ignore no-control-regex
  if (/^[\x00-\x7f]*$/.test(s)) return s;
  return decoder.decode(Uint8Array.from(s, (c) => c.charCodeAt(0)));
}

function writeInt(out: number[], value: number, prefixBits: number, firstByte: number) {
  const max = (1 << prefixBits) - 1;
  if (value < max) {
    out.push(firstByte | value);
    return;
  }
  out.push(firstByte | max);
  value -= max;
  while (value >= 128) {
    out.push((value % 128) + 128);
    value = Math.floor(value / 128);
  }
  out.push(value);
}

function writeString(out: number[], s: string) {
  const bytes = encoder.encode(s);
  writeInt(out, bytes.length, 7, 0);
  for (let i = 0; i < bytes.length; i++) out.push(bytes[i]);
}

/**
 * Encodes a header list as one block. `:status: 200` uses its static-table index
 * (RFC 7541 Appendix A, index 8); everything else is a literal without indexing.
 */
export function encodeHeaders(fields: readonly HeaderField[]): Uint8Array {
  const out: number[] = [];
  for (const [name, value] of fields) {
    if (name === ":status" && value === "200") {
      out.push(0x88);
      continue;
    }
    out.push(0x00);
    writeString(out, name);
    writeString(out, value);
  }
  return Uint8Array.from(out);
}
