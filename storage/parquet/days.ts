/**
 * UTC days: the unit of conversion and of the Parquet layout (one folder per day). A day is the
 * half-open interval `[midnight, next midnight)`, so a sample at exactly midnight belongs to
 * exactly one day (the Go gateway counts it twice).
 *
 * @module
 */

/** Milliseconds per day. */
export const DAY_MS = 86_400_000;

/** One UTC day. */
export interface Day {
  /** `YYYY-MM-DD`. */
  readonly date: string;
  /** Midnight, ms (inclusive). */
  readonly start: number;
  /** Next midnight, ms (exclusive). */
  readonly end: number;
}

/** The day containing `ms`. */
export function dayOf(ms: number): Day {
  const start = Math.floor(ms / DAY_MS) * DAY_MS;
  return { date: new Date(start).toISOString().slice(0, 10), start, end: start + DAY_MS };
}

/** The day named `YYYY-MM-DD`; throws a RangeError for anything else. */
export function parseDay(date: string): Day {
  const m = /^(\d{4})-(\d{1,2})-(\d{1,2})$/.exec(date);
  if (!m) throw new RangeError(`invalid date ${JSON.stringify(date)}, want YYYY-MM-DD`);
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const start = Date.UTC(y, mo - 1, d);
  const check = new Date(start);
  if (
    mo < 1 || mo > 12 || check.getUTCFullYear() !== y || check.getUTCMonth() !== mo - 1 ||
    check.getUTCDate() !== d
  ) {
    throw new RangeError(`invalid date ${JSON.stringify(date)}`);
  }
  return dayOf(start);
}

/** The days that the half-open interval `[minTime, maxTime)` touches, oldest first. */
export function daysInRange(minTime: number, maxTime: number): Day[] {
  const out: Day[] = [];
  if (maxTime <= minTime) return out;
  for (let day = dayOf(minTime); day.start < maxTime; day = dayOf(day.end)) out.push(day);
  return out;
}
