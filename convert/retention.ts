/**
 * Retention of Parquet days (gateway.md 3.9): days older than the retention get a
 * `deletion-marker.pb` (which hides them from discovery at once); marked days are deleted once
 * the marker is older than a consistency delay, `meta.pb` first so that a half-deleted day is
 * never visible. Unlike the Go gateway, the `meta.pb` of the stream without external labels is
 * deleted where it lives (`D/meta.pb`).
 *
 * @module
 */
import type { Bucket } from "../storage/objstore/bucket.ts";
import { isObjectNotFound } from "../storage/objstore/bucket.ts";
import {
  chunksFileKey,
  DELETION_MARKER_FILE,
  deletionMarkerKey,
  labelsFileKey,
  META_FILE,
  metaFileKey,
  parseBlockKey,
} from "../storage/parquet/layout.ts";
import { encodeDeletionMark, RETENTION_REASON } from "../storage/parquet/meta.ts";
import { DAY_MS } from "./days.ts";

/** How long a marker must exist before its day is deleted (readers may still be loading it). */
export const DELETE_CONSISTENCY_DELAY_MS = 12 * 3_600_000;

/** A day of a stream. */
export interface StreamDay {
  /** Stream hash. */
  readonly hash: bigint;
  /** `YYYY-MM-DD`. */
  readonly date: string;
}

async function listDays(bucket: Bucket, signal?: AbortSignal) {
  const days = new Map<string, StreamDay & { start: number; meta: boolean; marked: boolean }>();
  for await (const key of bucket.list("", { recursive: true }, signal)) {
    const b = parseBlockKey(key);
    if (!b) continue;
    const id = `${b.hash}/${b.day.date}`;
    let d = days.get(id);
    if (!d) {
      days.set(
        id,
        d = { hash: b.hash, date: b.day.date, start: b.day.start, meta: false, marked: false },
      );
    }
    if (b.file === META_FILE) d.meta = true;
    if (b.file === DELETION_MARKER_FILE) d.marked = true;
  }
  return [...days.values()];
}

/**
 * Marks every committed day starting strictly before `now - retentionDays` that has no marker
 * yet; returns the days marked.
 */
export async function markExpiredDays(
  bucket: Bucket,
  now: number,
  retentionDays: number,
  signal?: AbortSignal,
): Promise<StreamDay[]> {
  const cutoff = now - retentionDays * DAY_MS;
  const marked: StreamDay[] = [];
  for (const d of await listDays(bucket, signal)) {
    if (!d.meta || d.marked || !(d.start < cutoff)) continue;
    await bucket.upload(
      deletionMarkerKey(d.hash, d.date),
      encodeDeletionMark(RETENTION_REASON),
      undefined,
      signal,
    );
    marked.push({ hash: d.hash, date: d.date });
  }
  return marked;
}

async function deleteIfPresent(
  bucket: Bucket,
  key: string,
  signal?: AbortSignal,
): Promise<boolean> {
  try {
    await bucket.delete(key, signal);
    return true;
  } catch (err) {
    if (isObjectNotFound(err)) return false;
    throw err;
  }
}

/**
 * Deletes every day whose marker is older than `delay`: `meta.pb`, then shard files
 * `0, 1, ...` until a shard has neither file, then the marker. Returns the days deleted.
 */
export async function deleteMarkedDays(
  bucket: Bucket,
  now: number,
  delay = DELETE_CONSISTENCY_DELAY_MS,
  signal?: AbortSignal,
): Promise<StreamDay[]> {
  const deleted: StreamDay[] = [];
  for (const d of await listDays(bucket, signal)) {
    if (!d.marked) continue;
    const marker = deletionMarkerKey(d.hash, d.date);
    const { lastModified } = await bucket.attributes(marker, signal);
    if (now - lastModified.getTime() < delay) continue;
    await deleteIfPresent(bucket, metaFileKey(d.hash, d.date), signal);
    for (let i = 0;; i++) {
      const labels = await deleteIfPresent(bucket, labelsFileKey(d.hash, d.date, i), signal);
      const chunks = await deleteIfPresent(bucket, chunksFileKey(d.hash, d.date, i), signal);
      if (!labels && !chunks) break;
    }
    await bucket.delete(marker, signal);
    deleted.push({ hash: d.hash, date: d.date });
  }
  return deleted;
}
