/**
 * Object names of the gateway's Parquet bucket:
 *
 * | object | key |
 * |---|---|
 * | stream descriptor | `H/stream.pb` |
 * | day metadata, the commit marker | `H/D/meta.pb`, but `D/meta.pb` when `H` is 0 |
 * | shard files | `H/D/<i>.labels.parquet`, `H/D/<i>.chunks.parquet` (also `0/D/...`) |
 * | retention marker | `H/D/deletion-marker.pb` |
 *
 * `H` is the decimal external-labels hash (uint64, no padding), `D` the UTC date `YYYY-MM-DD`.
 *
 * @module
 */
import { type Day, parseDay } from "./days.ts";

/** Name of a day's metadata file (written last: its presence commits the day). */
export const META_FILE = "meta.pb";
/** Name of a stream's descriptor file. */
export const STREAM_FILE = "stream.pb";
/** Name of a day's retention deletion marker. */
export const DELETION_MARKER_FILE = "deletion-marker.pb";

const MAX_U64 = 0xffffffffffffffffn;

function hashDir(hash: bigint): string {
  if (hash < 0n || hash > MAX_U64) throw new RangeError(`stream hash ${hash} is not a uint64`);
  return hash.toString(10);
}

/** `H/stream.pb`. */
export function streamFileKey(hash: bigint): string {
  return `${hashDir(hash)}/${STREAM_FILE}`;
}

/** `H/D/meta.pb`, or `D/meta.pb` for the stream without external labels (hash 0). */
export function metaFileKey(hash: bigint, date: string): string {
  return hash === 0n ? `${date}/${META_FILE}` : `${hashDir(hash)}/${date}/${META_FILE}`;
}

/** `H/D/<shard>.labels.parquet`. */
export function labelsFileKey(hash: bigint, date: string, shard: number): string {
  return `${hashDir(hash)}/${date}/${shard}.labels.parquet`;
}

/** `H/D/<shard>.chunks.parquet`. */
export function chunksFileKey(hash: bigint, date: string, shard: number): string {
  return `${hashDir(hash)}/${date}/${shard}.chunks.parquet`;
}

/** `H/D/deletion-marker.pb` (always with the hash directory, also for hash 0). */
export function deletionMarkerKey(hash: bigint, date: string): string {
  return `${hashDir(hash)}/${date}/${DELETION_MARKER_FILE}`;
}

const STREAM_RE = /^(\d{1,64})\/stream\.pb$/;
const BLOCK_RE = /^(?:(\d{1,64})\/)?(\d{4}-\d{1,2}-\d{1,2})\/([^/]+)$/;

/** Parses a key; a hash that does not fit a uint64 is rejected (the Go code maps it to 0). */
function parseHash(digits: string | undefined): bigint | undefined {
  if (digits === undefined) return 0n;
  const h = BigInt(digits);
  return h > MAX_U64 ? undefined : h;
}

/** The stream hash of a `H/stream.pb` key, or `undefined` for any other key. */
export function parseStreamKey(key: string): bigint | undefined {
  const m = STREAM_RE.exec(key);
  return m ? parseHash(m[1]) : undefined;
}

/** A file inside a day directory. */
export interface BlockFileKey {
  /** Stream hash (0 when the key has no hash directory). */
  readonly hash: bigint;
  /** The UTC day. */
  readonly day: Day;
  /** File name inside the day directory, e.g. `meta.pb` or `0.labels.parquet`. */
  readonly file: string;
}

/**
 * Parses `[H/]YYYY-MM-DD/<file>` (1- or 2-digit month and day accepted, invalid dates rejected),
 * or returns `undefined`.
 */
export function parseBlockKey(key: string): BlockFileKey | undefined {
  const m = BLOCK_RE.exec(key);
  if (!m) return undefined;
  const hash = parseHash(m[1]);
  if (hash === undefined) return undefined;
  let day: Day;
  try {
    day = parseDay(m[2]);
  } catch {
    return undefined;
  }
  return { hash, day, file: m[3] };
}
