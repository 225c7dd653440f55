/**
 * The value of Thanos' `--min-time` and `--max-time` (pkg/model `TimeOrDurationValue`): an RFC3339
 * time, or a Prometheus duration (units `ms`, `s`, `m`, `h`, `d`, `w`, `y`, largest first, e.g.
 * `2h45m`), optionally negative, relative to the moment it is read.
 *
 * @module
 */

/** A fixed time or an offset from now, both in ms. */
export type TimeOrDuration =
  | { readonly time: number; readonly offset?: undefined }
  | { readonly offset: number; readonly time?: undefined };

const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{1,2}):(\d{2}):(\d{2})(?:[.,](\d+))?(?:Z|([+-])(\d{2}):(\d{2}))$/;

/** Prometheus duration units: ns per unit, in the order they must appear. */
const UNITS: readonly [string, bigint][] = [
  ["y", 365n * 86_400_000_000_000n],
  ["w", 7n * 86_400_000_000_000n],
  ["d", 86_400_000_000_000n],
  ["h", 3_600_000_000_000n],
  ["m", 60_000_000_000n],
  ["s", 1_000_000_000n],
  ["ms", 1_000_000n],
];
const MAX_NS = (1n << 63n) - 1n;

/** Days of `month` (1-12) in `year`, proleptic Gregorian. */
function daysIn(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/**
 * An RFC3339 time as Go's `time.Parse(time.RFC3339, ...)` reads it, in ms since the epoch
 * (fractions of a millisecond dropped); undefined when it is not one.
 */
function parseRfc3339(text: string): number | undefined {
  const m = RFC3339.exec(text);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number);
  if (month < 1 || month > 12 || day < 1 || day > daysIn(year, month)) return undefined;
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  let offset = 0;
  if (m[8]) {
    const [oh, om] = [Number(m[9]), Number(m[10])];
    if (oh > 23 || om > 59) return undefined;
    offset = (m[8] === "-" ? -1 : 1) * (oh * 60 + om) * 60_000;
  }
  // Go reads at most nine fractional digits; a millisecond timestamp keeps three.
  const millis = m[7] ? Number(m[7].slice(0, 3).padEnd(3, "0")) : 0;
  // setUTCFullYear, unlike Date.UTC, takes years 0-99 literally.
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  return date.getTime() + ((hour * 60 + minute) * 60 + second) * 1000 + millis - offset;
}

/**
 * A non-negative Prometheus duration (`model.ParseDuration`) in ms; undefined when it is not
 * one. Like Prometheus, `0` needs no unit and the total must fit in int64 nanoseconds.
 */
function parsePromDuration(text: string): number | undefined {
  if (text === "0") return 0;
  const parts = /^(?:\d+[a-z]+)+$/.test(text) ? text.match(/\d+[a-z]+/g)! : undefined;
  if (!parts) return undefined;
  let ns = 0n;
  let next = 0;
  for (const part of parts) {
    const [, digits, unit] = /^(\d+)([a-z]+)$/.exec(part)!;
    const at = UNITS.findIndex(([u]) => u === unit);
    if (at < next) return undefined;
    next = at + 1;
    const value = BigInt(digits);
    const mult = UNITS[at][1];
    if (value > (1n << 63n) / mult) return undefined;
    ns += value * mult;
    if (ns > MAX_NS) return undefined;
  }
  return Number(ns / 1_000_000n);
}

/**
 * Parses `--min-time`/`--max-time`: an RFC3339 time first, else an optionally negative
 * duration. Throws a `RangeError` naming the input when it is neither.
 */
export function parseTimeOrDuration(text: string): TimeOrDuration {
  const time = parseRfc3339(text);
  if (time !== undefined) return { time };
  const negative = text.startsWith("-");
  const ms = parsePromDuration(negative ? text.slice(1) : text);
  if (ms === undefined) {
    throw new RangeError(
      `${JSON.stringify(text)} is neither an RFC3339 time nor a duration (examples: ` +
        "2024-01-31T00:00:00Z, -2w, -36h, 1d12h)",
    );
  }
  return { offset: negative ? -ms : ms };
}

/** The time `value` names when read at `now`, in ms since the epoch. */
export function resolveTimeOrDuration(value: TimeOrDuration, now = Date.now()): number {
  return value.time ?? now + value.offset!;
}
