/**
 * Temporary files of length-prefixed binary records, written and read back sequentially through
 * 1 MiB buffers: the converter's runs of sorted series and its plan of rows. A record is built
 * with a {@linkcode RecordEncoder} and parsed with a {@linkcode RecordDecoder}.
 *
 * @module
 */
import { ByteBuffer } from "../internal/byte_buffer.ts";
import { FileSink } from "../internal/file_sink.ts";

const BUFFER = 1 << 20;
const UTF8_DECODER = new TextDecoder();

/**
 * Builds one record: uvarints and strings ({@linkcode ByteBuffer}'s encodings) and series
 * references. `reset()` starts the next record.
 */
export class RecordEncoder extends ByteBuffer {
  /** Appends a series reference: a non-negative safe integer or a uint64 bigint. */
  ref(r: number | bigint): void {
    if (typeof r === "number") {
      this.uvarint(0);
      this.uvarint(r);
      return;
    }
    this.uvarint(1);
    this.uvarint(Number(r >> 32n));
    this.uvarint(Number(r & 0xffffffffn));
  }
}

/** Parses one record written by a {@linkcode RecordEncoder}. */
export class RecordDecoder {
  #buf: Uint8Array = new Uint8Array(0);
  #pos = 0;

  /** Starts parsing `record`. */
  reset(record: Uint8Array): this {
    this.#buf = record;
    this.#pos = 0;
    return this;
  }

  /** Reads an unsigned integer. */
  uvarint(): number {
    let x = 0;
    let mul = 1;
    for (;;) {
      if (this.#pos >= this.#buf.length) throw new RangeError("spill record truncated");
      const b = this.#buf[this.#pos++];
      x += (b & 0x7f) * mul;
      if (b < 0x80) return x;
      mul *= 128;
    }
  }

  /** Reads a string. */
  str(): string {
    const n = this.uvarint();
    const s = UTF8_DECODER.decode(this.#buf.subarray(this.#pos, this.#pos + n));
    this.#pos += n;
    return s;
  }

  /** Reads a series reference. */
  ref(): number | bigint {
    if (this.uvarint() === 0) return this.uvarint();
    const hi = BigInt(this.uvarint());
    return (hi << 32n) | BigInt(this.uvarint());
  }
}

/** Appends records to a new file. */
export class SpillWriter {
  readonly #sink: FileSink;
  readonly #prefix = new RecordEncoder();

  private constructor(readonly path: string, file: Deno.FsFile) {
    this.#sink = new FileSink(file);
  }

  /** Bytes written so far (buffered ones included): the offset of the next record. */
  get offset(): number {
    return this.#sink.offset;
  }

  /** Creates a new file named `prefix...` in `dir` (default: the OS temporary directory). */
  static async create(dir: string | undefined, prefix: string): Promise<SpillWriter> {
    if (dir) await Deno.mkdir(dir, { recursive: true });
    const path = await Deno.makeTempFile({ dir, prefix });
    return new SpillWriter(path, await Deno.open(path, { write: true, truncate: true }));
  }

  /** Appends `record` (copied). */
  async write(record: Uint8Array): Promise<void> {
    const prefix = this.#prefix.reset();
    prefix.uvarint(record.length);
    await this.#sink.write(prefix.view());
    await this.#sink.write(record);
  }

  /** Writes what is buffered and closes the file (which stays for reading). */
  close(): Promise<void> {
    return this.#sink.close();
  }
}

/** Reads the records of a {@linkcode SpillWriter}'s file in order, from a given offset on. */
export class SpillReader {
  readonly #file: Deno.FsFile;
  #buf = new Uint8Array(BUFFER);
  #start = 0;
  #end = 0;
  #eof = false;
  #closed = false;

  private constructor(file: Deno.FsFile) {
    this.#file = file;
  }

  /** Opens `path` at byte `offset` (a record boundary: a writer's `offset` at that time). */
  static async open(path: string, offset = 0): Promise<SpillReader> {
    const file = await Deno.open(path, { read: true });
    try {
      await file.seek(offset, Deno.SeekMode.Start);
    } catch (err) {
      file.close();
      throw err;
    }
    return new SpillReader(file);
  }

  /** Ensures `n` bytes are buffered from `#start` unless the file ends first. */
  async #fill(n: number): Promise<void> {
    while (this.#end - this.#start < n && !this.#eof) {
      if (this.#start > 0) {
        this.#buf.copyWithin(0, this.#start, this.#end);
        this.#end -= this.#start;
        this.#start = 0;
      }
      if (n > this.#buf.length) {
        const bigger = new Uint8Array(n);
        bigger.set(this.#buf.subarray(0, this.#end));
        this.#buf = bigger;
      }
      const r = await this.#file.read(this.#buf.subarray(this.#end));
      if (r === null) this.#eof = true;
      else this.#end += r;
    }
  }

  /** The next record (a view, valid until the next call), or `undefined` at the end. */
  async next(): Promise<Uint8Array | undefined> {
    await this.#fill(10);
    if (this.#end === this.#start) return undefined;
    let len = 0;
    let mul = 1;
    let p = this.#start;
    for (;;) {
      if (p >= this.#end) throw new RangeError("spill file truncated");
      const b = this.#buf[p++];
      len += (b & 0x7f) * mul;
      if (b < 0x80) break;
      mul *= 128;
    }
    const head = p - this.#start;
    await this.#fill(head + len);
    if (this.#end - this.#start < head + len) throw new RangeError("spill file truncated");
    const at = this.#start + head;
    this.#start = at + len;
    return this.#buf.subarray(at, at + len);
  }

  /** Closes the file (again: nothing). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#file.close();
  }
}
