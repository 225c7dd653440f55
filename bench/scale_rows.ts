/**
 * What a selective query has to read at least, from the Parquet files of the gateway's bucket
 * (the public file format: a shard is `<i>.labels.parquet` and `<i>.chunks.parquet` with rows
 * aligned, chunk columns `___cf_meta_chunk_0..2` for the UTC hours 0-8, 8-16, 16-24): the rows
 * whose labels match, and in the chunk columns the query's time range overlaps, the bytes of
 * their values and of the pages holding them (compressed page sizes from the offset index).
 *
 * @module
 */
import {
  type AsyncBuffer,
  type FileMetaData,
  parquetMetadataAsync,
  parquetReadObjects,
  readOffsetIndex,
} from "hyparquet";
import { compressors } from "hyparquet-compressors";

/** Read access to the bucket's objects. */
export interface ObjectSource {
  /** Every key. */
  list(): Promise<string[]>;
  /** An object as a range-readable buffer. */
  open(key: string): Promise<AsyncBuffer>;
}

/** A FILESYSTEM bucket rooted at `dir`. */
export function directorySource(dir: string): ObjectSource {
  return {
    async list() {
      const out: string[] = [];
      const walk = async (rel: string) => {
        for await (const e of Deno.readDir(rel ? `${dir}/${rel}` : dir)) {
          const key = rel ? `${rel}/${e.name}` : e.name;
          if (e.isDirectory) await walk(key);
          else out.push(key);
        }
      };
      await walk("");
      return out;
    },
    async open(key) {
      const file = await Deno.open(`${dir}/${key}`);
      const { size } = await file.stat();
      // Reads share the file position: one at a time.
      let last: Promise<unknown> = Promise.resolve();
      const read = async (start: number, end: number) => {
        const buf = new Uint8Array(end - start);
        await file.seek(start, Deno.SeekMode.Start);
        for (let n = 0; n < buf.length;) {
          const got = await file.read(buf.subarray(n));
          if (got === null) throw new Error(`${key}: short read at ${start + n}`);
          n += got;
        }
        return buf.buffer;
      };
      return {
        byteLength: size,
        slice(start: number, end = size) {
          const next = last.then(() => read(start, end));
          last = next.catch(() => {});
          return next;
        },
      };
    },
  };
}

/** An S3 bucket (path-style, e.g. s3rver at `http://127.0.0.1:<port>`). */
export async function s3Source(opts: {
  endpoint: string;
  bucket: string;
  accessKey: string;
  secretKey: string;
}): Promise<ObjectSource> {
  // Loaded only in S3 mode: the SDK takes a while to load.
  const s3 = await import("@aws-sdk/client-s3");
  const client = new s3.S3Client({
    endpoint: opts.endpoint,
    region: "us-east-1",
    forcePathStyle: true,
    credentials: { accessKeyId: opts.accessKey, secretAccessKey: opts.secretKey },
  });
  const Bucket = opts.bucket;
  return {
    async list() {
      const out: string[] = [];
      let ContinuationToken: string | undefined;
      do {
        const page = await client.send(new s3.ListObjectsV2Command({ Bucket, ContinuationToken }));
        for (const o of page.Contents ?? []) if (o.Key) out.push(o.Key);
        ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (ContinuationToken);
      return out;
    },
    async open(Key) {
      const head = await client.send(new s3.HeadObjectCommand({ Bucket, Key }));
      const size = head.ContentLength ?? 0;
      return {
        byteLength: size,
        async slice(start: number, end = size) {
          const res = await client.send(
            new s3.GetObjectCommand({ Bucket, Key, Range: `bytes=${start}-${end - 1}` }),
          );
          return (await res.Body!.transformToByteArray()).slice().buffer;
        },
      };
    },
  };
}

/** Rows of a shard selected by label values. */
export interface RowSelector {
  /** Label name to value; every pair must match. */
  labels: Record<string, string>;
  /** Time range read, ms: selects the chunk columns it overlaps. */
  from: number;
  /** End of the range, ms (inclusive). */
  to: number;
}

/** What reading the selected rows takes. */
export interface RowBytes {
  /** Rows that match. */
  rows: number;
  /** Chunk columns read per row. */
  columns: number;
  /** Bytes of the rows' values in those columns. */
  valueBytes: number;
  /** Compressed bytes of the pages holding them (the least a page-wise reader fetches). */
  pageBytes: number;
  /** Number of those pages. */
  pages: number;
}

const LABELS_FILE = /(?:^|\/)(\d{4}-\d{2}-\d{2})\/(\d+)\.labels\.parquet$/;
const CHUNK_COLUMN_HOURS = 8;

/** Measures {@linkcode RowBytes} for the rows `sel` picks in every shard of the bucket. */
export async function selectedRowBytes(src: ObjectSource, sel: RowSelector): Promise<RowBytes> {
  const out: RowBytes = { rows: 0, columns: 0, valueBytes: 0, pageBytes: 0, pages: 0 };
  for (const key of (await src.list()).filter((k) => LABELS_FILE.test(k)).sort()) {
    const [, date] = LABELS_FILE.exec(key)!;
    const dayStart = Date.parse(`${date}T00:00:00Z`);
    const columns: string[] = [];
    for (let c = 0; c < 24 / CHUNK_COLUMN_HOURS; c++) {
      const from = dayStart + c * CHUNK_COLUMN_HOURS * 3_600_000;
      const to = from + CHUNK_COLUMN_HOURS * 3_600_000;
      if (sel.from < to && sel.to >= from) columns.push(`___cf_meta_chunk_${c}`);
    }
    if (columns.length === 0) continue;
    out.columns = columns.length;
    const rows = await matchingRows(await src.open(key), sel.labels);
    out.rows += rows.length;
    if (rows.length === 0) continue;
    const chunks = await src.open(key.replace(/\.labels\.parquet$/, ".chunks.parquet"));
    const metadata = await parquetMetadataAsync(chunks);
    for (const column of columns) {
      const pages = await pagesHolding(chunks, metadata, column, rows);
      out.pages += pages.count;
      out.pageBytes += pages.bytes;
      for (const r of rows) {
        const [row] = await parquetReadObjects({
          file: chunks,
          metadata,
          columns: [column],
          rowStart: r,
          rowEnd: r + 1,
          useOffsetIndex: true,
          utf8: false,
          compressors,
        });
        const value = row[column];
        out.valueBytes += value instanceof Uint8Array ? value.length : 0;
      }
    }
  }
  return out;
}

/** Indexes of the rows whose label columns hold the given values. */
async function matchingRows(file: AsyncBuffer, labels: Record<string, string>): Promise<number[]> {
  const names = Object.keys(labels).map((n) => `___cf_meta_label_${n}`);
  const metadata = await parquetMetadataAsync(file);
  const present = new Set(metadata.schema.map((e) => e.name));
  if (names.some((n) => !present.has(n))) return [];
  const rows = await parquetReadObjects({ file, metadata, columns: names, compressors });
  const want = Object.values(labels);
  const out: number[] = [];
  rows.forEach((row, i) => {
    if (names.every((n, j) => row[n] === want[j])) out.push(i);
  });
  return out;
}

/** The number and compressed size of the pages of `column` that hold any of `rows` (sorted). */
async function pagesHolding(
  file: AsyncBuffer,
  metadata: FileMetaData,
  column: string,
  rows: readonly number[],
): Promise<{ count: number; bytes: number }> {
  let count = 0, bytes = 0, groupStart = 0;
  for (const group of metadata.row_groups) {
    const groupRows = Number(group.num_rows);
    const chunk = group.columns.find((c) => c.meta_data?.path_in_schema.join(".") === column);
    const inGroup = rows.filter((r) => r >= groupStart && r < groupStart + groupRows);
    if (chunk && inGroup.length > 0) {
      if (chunk.offset_index_offset === undefined || chunk.offset_index_length === undefined) {
        // No page index: the whole column chunk is the least a reader can fetch.
        count++;
        bytes += Number(chunk.meta_data!.total_compressed_size);
      } else {
        const at = Number(chunk.offset_index_offset);
        const buf = await file.slice(at, at + chunk.offset_index_length);
        const { page_locations: pages } = readOffsetIndex({ view: new DataView(buf), offset: 0 });
        for (let p = 0; p < pages.length; p++) {
          const first = groupStart + Number(pages[p].first_row_index);
          const end = p + 1 < pages.length
            ? groupStart + Number(pages[p + 1].first_row_index)
            : groupStart + groupRows;
          if (inGroup.some((r) => r >= first && r < end)) {
            count++;
            bytes += pages[p].compressed_page_size;
          }
        }
      }
    }
    groupStart += groupRows;
  }
  return { count, bytes };
}
