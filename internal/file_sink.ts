/**
 * A file written through a 1 MiB buffer that knows its size so far: the TSDB block writer's
 * segment and index files and convert's spill files write many small pieces through it.
 *
 * @module
 */

/** A file written through a buffer, knowing its size so far. */
export class FileSink {
  readonly #file: Deno.FsFile;
  readonly #buf = new Uint8Array(1 << 20);
  #used = 0;
  /** Bytes written so far, buffered ones included. */
  offset = 0;

  /** Writes to `file`, which the sink closes. */
  constructor(file: Deno.FsFile) {
    this.#file = file;
  }

  /** Creates (or truncates) the file at `path`. */
  static async create(path: string): Promise<FileSink> {
    return new FileSink(await Deno.open(path, { write: true, create: true, truncate: true }));
  }

  /** Appends `b` (copied into the buffer, or written straight through when larger). */
  async write(b: Uint8Array): Promise<void> {
    this.offset += b.length;
    if (this.#used + b.length > this.#buf.length) {
      await this.#flush();
      if (b.length > this.#buf.length) {
        await writeAll(this.#file, b);
        return;
      }
    }
    this.#buf.set(b, this.#used);
    this.#used += b.length;
  }

  /** Appends zero bytes up to the next multiple of `align`. */
  async pad(align: number): Promise<void> {
    const n = (align - (this.offset % align)) % align;
    if (n > 0) await this.write(new Uint8Array(n));
  }

  async #flush(): Promise<void> {
    await writeAll(this.#file, this.#buf.subarray(0, this.#used));
    this.#used = 0;
  }

  /** Writes what is buffered and closes the file. */
  async close(): Promise<void> {
    try {
      await this.#flush();
    } finally {
      this.#file.close();
    }
  }
}

async function writeAll(file: Deno.FsFile, b: Uint8Array): Promise<void> {
  for (let off = 0; off < b.length;) off += await file.write(b.subarray(off));
}
