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

// Units in the only order Prometheus accepts them.
const UNIT_ORDER: readonly Unit[] = ["y", "w", "d", "h", "m", "s", "ms"];

// Go's time.Duration is int64 nanoseconds; Prometheus rejects durations beyond it.
const MAX_DURATION_MS = 9223372036854;

/**
 * Parses a Prometheus duration such as `1h30m`, `5m`, `90s`, `1y2w`, `250ms` or `0` into
 * milliseconds.
 *
 * @example
 * ```ts
 * parseDuration("1h30m"); // 5400000
 * ```
 */
export function parseDuration(s: string): number {
  if (s === "") throw new DurationError(s, "empty duration string");
  if (s === "0") return 0;
  let pos = 0;
  let next = 0; // index into UNIT_ORDER of the smallest unit still allowed
  let total = 0;
  while (pos < s.length) {
    const digitsStart = pos;
    while (pos < s.length && s.charCodeAt(pos) >= 48 && s.charCodeAt(pos) <= 57) pos++;
    if (pos === digitsStart) throw invalid(s);
    const digits = s.slice(digitsStart, pos);
    let unit: Unit;
    if (s.startsWith("ms", pos)) unit = "ms";
    else {
      const c = s[pos];
      if (c !== "y" && c !== "w" && c !== "d" && c !== "h" && c !== "m" && c !== "s") {
        throw invalid(s);
      }
      unit = c;
    }
    pos += unit.length;
    const idx = UNIT_ORDER.indexOf(unit, next);
    if (idx < 0) throw invalid(s);
    next = idx + 1;
    const n = Number(digits);
    total += n * MS_PER_UNIT[unit];
    if (!Number.isSafeInteger(n) || total > MAX_DURATION_MS) {
      throw new DurationError(s, "duration out of range");
    }
  }
  return total;
}

function invalid(s: string): DurationError {
  return new DurationError(s, `not a valid duration string: ${goQuoteAscii(s)}`);
}

// Enough of Go's %q for error messages about duration input.
function goQuoteAscii(s: string): string {
  return JSON.stringify(s);
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
