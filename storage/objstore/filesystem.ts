/**
 * The FILESYSTEM provider: a directory tree as a bucket, for demos, tests and local data.
 * Uploads are atomic (temporary file + rename); keys cannot escape the root directory.
 *
 * @module
 */
import { dirname, isAbsolute, join, resolve } from "node:path";
import type { Bucket, ListOptions, ObjectAttributes, UploadBody, UploadOptions } from "./bucket.ts";
import { BucketError, checkRange, listDirectory, ObjectNotFoundError } from "./bucket.ts";

const PROVIDER = "FILESYSTEM";
// Uploads in progress live beside their target under this name prefix and are never listed,
// so a crash mid-upload leaves no visible object.
const TEMP_PREFIX = ".upload-tmp-";

// Ranges up to this size are read with blocking calls: each asynchronous file call is a hop
// to a thread pool (~30 us) and a selective query makes dozens of small reads, so the hops
// cost more than the reads themselves (Prometheus' mmap'd page faults block the same way).
// Larger ranges stay asynchronous so that one long read does not stall the thread.
const SYNC_READ_MAX_BYTES = 1 << 20;

/** The end of `offset`+`length` within a file, after checking that it is one. */
function rangeEnd(key: string, info: Deno.FileInfo, offset: number, length: number): number {
  if (!info.isFile) throw new ObjectNotFoundError(PROVIDER, "get_range", key);
  return Math.min(info.size, offset + length);
}

function readRangeSync(key: string, path: string, offset: number, length: number): Uint8Array {
  using file = Deno.openSync(path, { read: true });
  const end = rangeEnd(key, file.statSync(), offset, length);
  if (offset >= end) return new Uint8Array(0);
  file.seekSync(offset, Deno.SeekMode.Start);
  const out = new Uint8Array(end - offset);
  let filled = 0;
  while (filled < out.length) {
    const n = file.readSync(out.subarray(filled));
    if (n === null) break;
    filled += n;
  }
  return filled === out.length ? out : out.subarray(0, filled);
}

/** A bucket stored in a local directory. */
export class FilesystemBucket implements Bucket {
  /** Always `"FILESYSTEM"`. */
  readonly provider: string = PROVIDER;
  /** The absolute root directory. */
  readonly root: string;

  /** Creates the bucket over `directory` (created on first upload if missing). */
  constructor(directory: string) {
    this.root = resolve(directory);
  }

  #path(op: string, key: string): string {
    if (key === "" || key.startsWith("/") || isAbsolute(key) || key.includes("\\")) {
      throw new BucketError(PROVIDER, op, key, "invalid object key");
    }
    for (const part of key.split("/")) {
      if (part === ".." || part === "." || part.startsWith(TEMP_PREFIX)) {
        throw new BucketError(PROVIDER, op, key, "invalid object key");
      }
    }
    return join(this.root, key);
  }

  #wrap(op: string, key: string, e: unknown): Error {
    if (e instanceof BucketError) return e;
    if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory) {
      return new ObjectNotFoundError(PROVIDER, op, key, { cause: e });
    }
    if (e instanceof Deno.errors.IsADirectory) {
      return new ObjectNotFoundError(PROVIDER, op, key, { cause: e });
    }
    return new BucketError(PROVIDER, op, key, e instanceof Error ? e.message : String(e), {
      cause: e,
    });
  }

  async #statFile(op: string, key: string): Promise<Deno.FileInfo> {
    const info = await Deno.stat(this.#path(op, key));
    if (!info.isFile) throw new ObjectNotFoundError(PROVIDER, op, key);
    return info;
  }

  /** Reads a whole file. */
  async get(key: string): Promise<Uint8Array> {
    try {
      await this.#statFile("get", key);
      return await Deno.readFile(this.#path("get", key));
    } catch (e) {
      throw this.#wrap("get", key, e);
    }
  }

  /** Reads a byte range without reading the whole file. */
  async getRange(key: string, offset: number, length: number): Promise<Uint8Array> {
    checkRange(PROVIDER, key, offset, length);
    const path = this.#path("get_range", key);
    if (length <= SYNC_READ_MAX_BYTES) {
      try {
        return readRangeSync(key, path, offset, length);
      } catch (e) {
        throw this.#wrap("get_range", key, e);
      }
    }
    let file: Deno.FsFile | undefined;
    try {
      file = await Deno.open(path, { read: true });
      const end = rangeEnd(key, await file.stat(), offset, length);
      if (offset >= end) return new Uint8Array(0);
      await file.seek(offset, Deno.SeekMode.Start);
      const out = new Uint8Array(end - offset);
      let filled = 0;
      while (filled < out.length) {
        const n = await file.read(out.subarray(filled));
        if (n === null) break;
        filled += n;
      }
      return filled === out.length ? out : out.subarray(0, filled);
    } catch (e) {
      throw this.#wrap("get_range", key, e);
    } finally {
      file?.close();
    }
  }

  /** Streams a file. */
  async getStream(key: string): Promise<ReadableStream<Uint8Array>> {
    try {
      await this.#statFile("get", key);
      const file = await Deno.open(this.#path("get", key), { read: true });
      return file.readable;
    } catch (e) {
      throw this.#wrap("get", key, e);
    }
  }

  /** Reports whether a file exists. */
  async exists(key: string): Promise<boolean> {
    try {
      await this.#statFile("exists", key);
      return true;
    } catch (e) {
      const err = this.#wrap("exists", key, e);
      if (err instanceof ObjectNotFoundError) return false;
      throw err;
    }
  }

  /** Returns a file's size and modification time. */
  async attributes(key: string): Promise<ObjectAttributes> {
    try {
      const info = await this.#statFile("attributes", key);
      return { size: info.size, lastModified: info.mtime ?? new Date(0) };
    } catch (e) {
      throw this.#wrap("attributes", key, e);
    }
  }

  /** Lists keys below a prefix, in order. */
  async *list(prefix: string, options: ListOptions = {}): AsyncIterable<string> {
    const dirKey = listDirectory(prefix);
    if (dirKey !== "") this.#path("iter", dirKey.slice(0, -1));
    const keys: string[] = [];
    try {
      await this.#collect(join(this.root, dirKey), dirKey, options.recursive ?? false, keys);
    } catch (e) {
      const err = this.#wrap("iter", prefix, e);
      if (err instanceof ObjectNotFoundError) return;
      throw err;
    }
    keys.sort();
    yield* keys;
  }

  async #collect(dir: string, keyPrefix: string, recursive: boolean, out: string[]) {
    for await (const entry of Deno.readDir(dir)) {
      if (entry.name.startsWith(TEMP_PREFIX)) continue;
      const key = keyPrefix + entry.name;
      if (entry.isDirectory) {
        if (recursive) await this.#collect(join(dir, entry.name), key + "/", true, out);
        else if (await hasVisibleFile(join(dir, entry.name))) out.push(key + "/");
      } else if (entry.isFile) {
        out.push(key);
      }
    }
  }

  /** Writes a file atomically (temporary file, then rename). */
  async upload(key: string, body: UploadBody, _options?: UploadOptions): Promise<void> {
    const target = this.#path("upload", key);
    const temp = join(
      dirname(target),
      `${TEMP_PREFIX}${crypto.randomUUID()}`,
    );
    try {
      await Deno.mkdir(dirname(target), { recursive: true });
      const file = await Deno.open(temp, { write: true, createNew: true });
      try {
        if (body instanceof Uint8Array) await writeAll(file, body);
        else for await (const chunk of body) await writeAll(file, chunk);
        await file.sync();
      } finally {
        file.close();
      }
      await Deno.rename(temp, target);
    } catch (e) {
      await Deno.remove(temp).catch(() => {});
      throw this.#wrap("upload", key, e);
    }
  }

  /** Deletes a file and the directories it leaves empty. */
  async delete(key: string): Promise<void> {
    const path = this.#path("delete", key);
    try {
      await this.#statFile("delete", key);
      await Deno.remove(path);
    } catch (e) {
      throw this.#wrap("delete", key, e);
    }
    // Like Thanos, remove directories left empty so listings do not show them.
    let dir = dirname(path);
    while (dir.startsWith(this.root + "/")) {
      try {
        await Deno.remove(dir);
      } catch {
        break;
      }
      dir = dirname(dir);
    }
  }

  /** Nothing to release. */
  close(): Promise<void> {
    return Promise.resolve();
  }
}

async function writeAll(file: Deno.FsFile, data: Uint8Array): Promise<void> {
  let written = 0;
  while (written < data.length) written += await file.write(data.subarray(written));
}

async function hasVisibleFile(dir: string): Promise<boolean> {
  for await (const entry of Deno.readDir(dir)) {
    if (entry.name.startsWith(TEMP_PREFIX)) continue;
    if (entry.isFile) return true;
    if (entry.isDirectory && await hasVisibleFile(join(dir, entry.name))) return true;
  }
  return false;
}
