/**
 * Parsing and formatting of the units used in flags and configs: durations (Go's
 * `time.ParseDuration` plus Prometheus' `d`, `w`, `y`) and byte sizes (base-2, as Thanos'
 * `units.Base2Bytes`).
 *
 * @module
 */

const DURATION_UNITS_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  "µs": 1e-3,
  "μs": 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
  y: 31_536_000_000,
};

const DURATION_PART = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h|d|w|y)/y;

/**
 * Parses a non-negative duration such as `30m`, `1h30m`, `1.5h`, `250ms`, `2d` or `0` into
 * milliseconds. Throws a `RangeError` naming the input when it is not a duration.
 */
export function parseDuration(input: string): number {
  const s = input.trim();
  if (s === "0") return 0;
  if (s === "") throw new RangeError(`invalid duration ""`);
  let total = 0;
  DURATION_PART.lastIndex = 0;
  let pos = 0;
  while (pos < s.length) {
    DURATION_PART.lastIndex = pos;
    const m = DURATION_PART.exec(s);
    if (!m) throw new RangeError(`invalid duration ${JSON.stringify(input)}`);
    total += Number(m[1]) * DURATION_UNITS_MS[m[2]];
    pos = DURATION_PART.lastIndex;
  }
  if (!Number.isFinite(total)) throw new RangeError(`invalid duration ${JSON.stringify(input)}`);
  return total;
}

const BYTE_UNITS: Record<string, number> = {
  B: 1,
  K: 2 ** 10,
  KB: 2 ** 10,
  KIB: 2 ** 10,
  M: 2 ** 20,
  MB: 2 ** 20,
  MIB: 2 ** 20,
  G: 2 ** 30,
  GB: 2 ** 30,
  GIB: 2 ** 30,
  T: 2 ** 40,
  TB: 2 ** 40,
  TIB: 2 ** 40,
  P: 2 ** 50,
  PB: 2 ** 50,
  PIB: 2 ** 50,
};

/**
 * Parses a byte size such as `64MiB`, `2MiB`, `0B`, `512KB` or `1048576` (base 2: `KB` = 1024,
 * as Thanos' flags do). Throws a `RangeError` naming the input when it is not a size.
 */
export function parseBytes(input: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*$/.exec(input);
  const unit = m ? (m[2] === "" ? 1 : BYTE_UNITS[m[2].toUpperCase()]) : undefined;
  if (!m || unit === undefined) throw new RangeError(`invalid byte size ${JSON.stringify(input)}`);
  const value = Number(m[1]) * unit;
  if (!Number.isSafeInteger(Math.floor(value))) {
    throw new RangeError(`byte size ${JSON.stringify(input)} is too large`);
  }
  return Math.floor(value);
}
