/**
 * A block file (chunk segment or index) read on demand with positional reads through a
 * read-ahead window, so a block need not fit in memory. Chunks of a series are stored together
 * and series entries in label order, which makes the window effective for label-ordered reading.
 *
 * @module
 */
import { TsdbFormatError } from "./errors.ts";

/** Bytes of a segment file by range; see {@linkcode FileSegment}. */
export interface SegmentSource {
  /** The file's size in bytes. */
  readonly size: number;
  /**
   * Returns `length` bytes from `offset` (fewer at the end of the file). The result may be a
   * view that the next call invalidates: copy what must outlive it.
   */
  read(offset: number, length: number): Uint8Array;
}

const DEFAULT_WINDOW = 1 << 20;

/** A segment file open for synchronous positional reads. Close it when done. */
export class FileSegment implements SegmentSource {
  readonly #file: Deno.FsFile;
  readonly #path: string;
  readonly #buf: Uint8Array;
  #bufStart = 0;
  #bufLen = 0;
  /** The file's size in bytes. */
  readonly size: number;

  private constructor(file: Deno.FsFile, path: string, size: number, window: number) {
    this.#file = file;
    this.#path = path;
    this.size = size;
    this.#buf = new Uint8Array(window);
  }

  /** Opens `path` for reading with a read-ahead window of `window` bytes (default 1 MiB). */
  static open(path: string, window = DEFAULT_WINDOW): FileSegment {
    let file: Deno.FsFile;
    try {
      file = Deno.openSync(path, { read: true });
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) {
        throw new TsdbFormatError(path, "segment", "file missing", { cause: err });
      }
      throw err;
    }
    try {
      return new FileSegment(file, path, file.statSync().size, window);
    } catch (err) {
      file.close();
      throw err;
    }
  }

  /** Returns `length` bytes from `offset` (a view valid until the next read). */
  read(offset: number, length: number): Uint8Array {
    const end = Math.min(offset + length, this.size);
    if (offset >= end) return new Uint8Array(0);
    if (offset >= this.#bufStart && end <= this.#bufStart + this.#bufLen) {
      return this.#buf.subarray(offset - this.#bufStart, end - this.#bufStart);
    }
    // A record larger than the window is read into an array of its own; the window stays small.
    if (end - offset > this.#buf.length) {
      const out = new Uint8Array(end - offset);
      this.#readInto(out, offset, end);
      return out;
    }
    const n = Math.min(this.#buf.length, this.size - offset);
    this.#bufLen = 0; // empty while refilling, in case the read fails
    this.#bufLen = this.#readInto(this.#buf.subarray(0, n), offset, end);
    this.#bufStart = offset;
    return this.#buf.subarray(0, end - offset);
  }

  /** Fills `into` from `offset` on (fewer bytes at the end of the file); needs up to `end`. */
  #readInto(into: Uint8Array, offset: number, end: number): number {
    this.#file.seekSync(offset, Deno.SeekMode.Start);
    let got = 0;
    while (got < into.length) {
      const r = this.#file.readSync(into.subarray(got));
      if (r === null || r === 0) break;
      got += r;
    }
    if (got < end - offset) {
      throw new TsdbFormatError(this.#path, "segment", `short read at offset ${offset}`);
    }
    return got;
  }

  /** Closes the file. */
  close(): void {
    this.#file.close();
  }
}
