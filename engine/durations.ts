/**
 * Prometheus duration strings (`model.ParseDuration` / `model.Duration.String`): a sequence of
 * `<integer><unit>` parts in decreasing unit order, units `y w d h m s ms`, or the bare `0`.
 * Durations are integer milliseconds here.
 *
 * @module
 */

/** Thrown when a duration string is malformed or out of range; names the input. */
export class DurationError extends Error {
  /** Creates the error for `input`. */
  constructor(readonly input: string, message: string) {
    super(message);
    this.name = "DurationError";
  }
}

const MS_PER_UNIT = {
  y: 365 * 24 * 3600_000,
  w: 7 * 24 * 3600_000,
  d: 24 * 3600_000,
  h: 3600_000,
  m: 60_000,
  s: 1000,
  ms: 1,
} as const;

type Unit = keyof typeof MS_PER_UNIT;

// Units in the only order Prometheus accepts them, biggest first.
const UNIT_ORDER: readonly Unit[] = ["y", "w", "d", "h", "m", "s", "ms"];

// Go's time.Duration is int64 nanoseconds; Prometheus rejects durations beyond it.
const MAX_DURATION_NS = (1n << 63n) - 1n;

/**
 * Parses a Prometheus duration such as `1h30m`, `5m`, `90s`, `1y2w`, `250ms` or `0` into
 * milliseconds. Units must appear at most once each, biggest first.
 *
 * @example
 * ```ts
 * parseDuration("1h30m"); // 5400000
 * ```
 * @throws {DurationError} for malformed or out-of-range input.
 */
export function parseDuration(s: string): number {
  if (s === "0") return 0;
  if (s === "") throw new DurationError(s, "empty duration string");
  let pos = 0;
  let lastUnit = -1;
  let totalNs = 0n;
  while (pos < s.length) {
    const digitsStart = pos;
    while (pos < s.length && isDigit(s[pos])) pos++;
    if (pos === digitsStart) throw invalid(s);
    const value = BigInt(s.slice(digitsStart, pos));
    const unitStart = pos;
    while (pos < s.length && !isDigit(s[pos])) pos++;
    if (pos === unitStart) throw invalid(s);
    const unit = s.slice(unitStart, pos);
    const idx = UNIT_ORDER.indexOf(unit as Unit);
    if (idx < 0) {
      throw new DurationError(
        s,
        `unknown unit ${JSON.stringify(unit)} in duration ${JSON.stringify(s)}`,
      );
    }
    if (idx <= lastUnit) throw invalid(s);
    lastUnit = idx;
    const multNs = BigInt(MS_PER_UNIT[unit as Unit]) * 1_000_000n;
    if (value > (1n << 63n) / multNs) throw new DurationError(s, "duration out of range");
    totalNs += value * multNs;
    if (totalNs > MAX_DURATION_NS) throw new DurationError(s, "duration out of range");
  }
  return Number(totalNs / 1_000_000n);
}

function isDigit(c: string): boolean {
  return c >= "0" && c <= "9";
}

function invalid(s: string): DurationError {
  return new DurationError(s, `not a valid duration string: ${JSON.stringify(s)}`);
}

/**
 * Formats milliseconds the way Prometheus prints durations: `0s`, `1h30m`, `1d2h`, `1w`, `1y`,
 * `1s500ms`. Years and weeks are used only when they divide the duration exactly.
 * Negative durations get a leading `-`.
 */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) throw new DurationError(String(ms), "duration out of range");
  let rest = Math.trunc(ms);
  if (rest === 0) return "0s";
  let out = "";
  if (rest < 0) {
    out = "-";
    rest = -rest;
  }
  for (const unit of UNIT_ORDER) {
    const mult = MS_PER_UNIT[unit];
    if ((unit === "y" || unit === "w") && rest % mult !== 0) continue;
    const v = Math.floor(rest / mult);
    if (v > 0) {
      out += `${v}${unit}`;
      rest -= v * mult;
    }
  }
  return out;
}
