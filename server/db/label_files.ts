/**
 * Where the serve path reads labels files from. Upstream keeps a full local copy of every labels
 * file under `--block.labelfilepath`; this module does the same behind {@linkcode LabelFileStore},
 * so that a cache tier (upstream issue #24: memory/disk cache in front of the bucket instead of
 * mandatory local files) can replace it without touching the syncer or the query path.
 *
 * @module
 */
import { join } from "node:path";
import type { Bucket } from "../../storage/objstore/bucket.ts";
import { type ByteSource, LocalFileSource } from "../../storage/parquet/pages.ts";

/** Provides random access to labels files by object key. */
export interface LabelFileStore {
  /**
   * Returns a source for `key`, whose bucket object has `size` bytes. A copy found bad must be
   * dropped with {@linkcode remove} so that the next `open` fetches the object again.
   */
  open(key: string, size: number, signal?: AbortSignal): Promise<ByteSource>;
  /**
   * Puts back a copy of `key` (`size` bytes) that has gone (e.g. a cleaned directory), for the
   * readers that open it later; a copy in place is left alone.
   */
  restore(key: string, size: number, signal?: AbortSignal): Promise<void>;
  /** Forgets `key` (deletes a local copy); missing copies are ignored. */
  remove(key: string): Promise<void>;
}

/**
 * The local path of a labels file: the object key path-escaped into one file name, as upstream
 * names it (`123/2025-03-02/0.labels.parquet` -> `123%2F2025-03-02%2F0.labels.parquet`).
 */
export function localLabelFileName(key: string): string {
  return encodeURIComponent(key);
}

/**
 * Keeps full copies of labels files in a local directory. A copy is downloaded once, into a
 * temporary file that is synced and then renamed, so a crash never leaves a partial file under
 * the final name; a copy whose size differs from the object's is downloaded again.
 */
export class LocalLabelFileStore implements LabelFileStore {
  /** Downloads made (for logs and tests). */
  downloads = 0;

  /** Stores copies in `dir` (created if missing) from `bucket`. */
  constructor(readonly bucket: Bucket, readonly dir: string) {}

  /** The local path for `key`. */
  pathOf(key: string): string {
    return join(this.dir, localLabelFileName(key));
  }

  /** Opens the local copy of `key`, downloading it first when missing or of the wrong size. */
  async open(key: string, size: number, signal?: AbortSignal): Promise<ByteSource> {
    await this.restore(key, size, signal);
    return await LocalFileSource.open(this.pathOf(key));
  }

  /** Downloads `key` when its copy is missing or of the wrong size. */
  async restore(key: string, size: number, signal?: AbortSignal): Promise<void> {
    const path = this.pathOf(key);
    let local: Deno.FileInfo | undefined;
    try {
      local = await Deno.stat(path);
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
    if (!local || local.size !== size) await this.#download(key, path, signal);
  }

  /**
   * Opens the local copy of `key` without downloading: for readers (the query workers) of copies
   * this store's owner keeps in place. Rejects when the copy is missing or not `size` bytes.
   */
  async openCopy(key: string, size: number): Promise<ByteSource> {
    const source = await LocalFileSource.open(this.pathOf(key));
    if (source.size !== size) {
      await source.close();
      throw new Error(`${this.pathOf(key)}: ${source.size} bytes, the object has ${size}`);
    }
    return source;
  }

  async #download(key: string, path: string, signal?: AbortSignal): Promise<void> {
    await Deno.mkdir(this.dir, { recursive: true });
    const tmp = `${path}.tmp-${crypto.randomUUID()}`;
    const file = await Deno.open(tmp, { write: true, createNew: true });
    try {
      const body = await this.bucket.getStream(key, signal);
      // Explicit writes: Deno 2.9 drops data piped into `file.writable` with preventClose.
      for await (const chunk of body) {
        for (let rest = chunk; rest.length > 0;) rest = rest.subarray(await file.write(rest));
      }
      await file.sync();
      file.close();
      await Deno.rename(tmp, path);
      this.downloads++;
    } catch (err) {
      try {
        file.close();
      } catch { /* already closed */ }
      await Deno.remove(tmp).catch(() => {});
      throw err;
    }
  }

  /** Deletes the local copy of `key`. */
  async remove(key: string): Promise<void> {
    try {
      await Deno.remove(this.pathOf(key));
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
  }
}
