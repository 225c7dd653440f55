/**
 * Retention of converted days (`--convert.retention-days`, gateway.md 3.9), in two steps so that a
 * `serve` that loaded a day never loses its files mid-query:
 *
 * 1. mark: a day whose midnight lies before `now - retention` gets a `deletion-marker.pb`;
 *    discovery hides it from then on;
 * 2. delete: once a marker is older than the consistency delay (12 h), the day's `meta.pb` goes
 *    first (so an interrupted deletion never leaves a committed but incomplete day), then its shard
 *    files, then the marker. Unlike the Go gateway this also finds `D/meta.pb` of the stream
 *    without external labels.
 *
 * Converters that split the plan (`--convert.shard`) each apply retention to their own days only,
 * so that no two of them mark or delete the same day.
 *
 * @module
 */
import { DAY_MS } from "../storage/parquet/days.ts";
import type { Logger } from "../internal/log.ts";
import type { Bucket } from "../storage/objstore/bucket.ts";
import { isObjectNotFound } from "../storage/objstore/bucket.ts";
import type { DiscoveredStream } from "../storage/parquet/discovery.ts";
import {
  DELETION_MARKER_FILE,
  deletionMarkerKey,
  metaFileKey,
  parseBlockKey,
} from "../storage/parquet/layout.ts";
import { encodeDeletionMark, RETENTION_REASON } from "../storage/parquet/meta.ts";

/** How long a marker waits before the day's files are deleted (readers may still use them). */
export const DELETE_CONSISTENCY_DELAY_MS = 12 * 3600_000;

/** Selects the days of stream `hash` that a converter looks after, by date (`YYYY-MM-DD`). */
export type DaySelector = (hash: bigint, date: string) => boolean;

/**
 * Marks every discovered day older than the retention (of those `owns` selects, by default all);
 * returns the marked `H/D` keys.
 */
export async function markExpiredDays(
  bucket: Bucket,
  streams: Iterable<DiscoveredStream>,
  retentionDays: number,
  now: number,
  logger: Logger,
  signal?: AbortSignal,
  owns: DaySelector = () => true,
): Promise<string[]> {
  const cutoff = now - retentionDays * DAY_MS;
  const marked: string[] = [];
  for (const stream of streams) {
    for (const [date, { day }] of stream.days) {
      if (day.start >= cutoff || !owns(stream.hash, date)) continue;
      await bucket.upload(
        deletionMarkerKey(stream.hash, date),
        encodeDeletionMark(RETENTION_REASON),
        undefined,
        signal,
      );
      marked.push(`${stream.hash}/${date}`);
      logger.info("marked day for deletion", { stream: String(stream.hash), day: date });
    }
  }
  return marked;
}

async function deleteIfPresent(bucket: Bucket, key: string, signal?: AbortSignal) {
  try {
    await bucket.delete(key, signal);
  } catch (err) {
    if (!isObjectNotFound(err)) throw err;
  }
}

/**
 * Deletes the days whose markers are older than `delayMs` (of those `owns` selects, by default
 * all); returns the deleted `H/D` keys.
 */
export async function deleteMarkedDays(
  bucket: Bucket,
  now: number,
  logger: Logger,
  delayMs = DELETE_CONSISTENCY_DELAY_MS,
  signal?: AbortSignal,
  owns: DaySelector = () => true,
): Promise<string[]> {
  const markers: string[] = [];
  for await (const key of bucket.list("", { recursive: true }, signal)) {
    const parsed = parseBlockKey(key);
    if (parsed?.file === DELETION_MARKER_FILE && owns(parsed.hash, parsed.day.date)) {
      markers.push(key);
    }
  }
  const deleted: string[] = [];
  for (const marker of markers) {
    const { hash, day } = parseBlockKey(marker)!;
    let age: number;
    try {
      age = now - (await bucket.attributes(marker, signal)).lastModified.getTime();
    } catch (err) {
      if (isObjectNotFound(err)) continue;
      throw err;
    }
    if (age < delayMs) continue;
    await deleteIfPresent(bucket, metaFileKey(hash, day.date), signal);
    const dir = marker.slice(0, marker.length - DELETION_MARKER_FILE.length);
    for await (const key of bucket.list(dir, { recursive: true }, signal)) {
      if (key !== marker) await deleteIfPresent(bucket, key, signal);
    }
    await deleteIfPresent(bucket, marker, signal);
    deleted.push(`${hash}/${day.date}`);
    logger.info("deleted expired day", { stream: String(hash), day: day.date });
  }
  return deleted;
}
