/**
 * Days that should be served but are not: discovery lists them (their `meta.pb` is there) and the
 * block filter keeps them, but their files did not open. A query whose range overlaps such a day
 * is answered from the other days with a warning naming it, never with a silently partial or
 * empty result.
 *
 * @module
 */
import type { BlockMeta } from "../../storage/parquet/meta.ts";

/** A day that failed to load, with why. Plain data: it is posted to the query workers. */
export interface UnavailableDay {
  /** `H/D`, the syncer's key of the day. */
  readonly key: string;
  /** The UTC date, `YYYY-MM-DD`. */
  readonly date: string;
  /** Day start, ms. */
  readonly minT: number;
  /** Day end, ms. */
  readonly maxT: number;
  /** The stream's external labels (queries excluding them by a matcher do not warn). */
  readonly externalLabels: Readonly<Record<string, string>>;
  /** Why it did not load. */
  readonly reason: string;
}

/** Describes a day that failed to load with `err`. */
export function unavailableDay(
  hash: bigint,
  date: string,
  externalLabels: Readonly<Record<string, string>>,
  meta: BlockMeta,
  err: unknown,
): UnavailableDay {
  return {
    key: `${hash}/${date}`,
    date,
    minT: meta.mint,
    maxT: meta.maxt,
    externalLabels,
    reason: err instanceof Error ? err.message : String(err),
  };
}

/** The warning of a query over an unavailable day. */
export function unavailableDayWarning(day: UnavailableDay): string {
  const labels = Object.entries(day.externalLabels).map(([k, v]) => `${k}=${JSON.stringify(v)}`);
  const stream = labels.length > 0 ? ` of stream {${labels.join(",")}}` : "";
  return `day ${day.date}${stream} is not loaded, its data is missing from this result: ` +
    day.reason;
}
