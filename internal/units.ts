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
 * as Thanos' flags do), or a sum of them as {@linkcode formatBytes} and Go's `units.Base2Bytes`
 * write it (`1GiB512MiB`). Throws a `RangeError` naming the input when it is not a size.
 */
export function parseBytes(input: string): number {
  const text = input.trim();
  const bad = () => new RangeError(`invalid byte size ${JSON.stringify(input)}`);
  if (/^\d+(?:\.\d+)?$/.test(text)) return checkedBytes(Number(text), input);
  const part = /(\d+(?:\.\d+)?)\s*([A-Za-z]+)/y;
  let total = 0;
  let pos = 0;
  while (pos < text.length) {
    part.lastIndex = pos;
    const m = part.exec(text);
    const unit = m ? BYTE_UNITS[m[2].toUpperCase()] : undefined;
    if (!m || unit === undefined) throw bad();
    total += Number(m[1]) * unit;
    pos = part.lastIndex;
  }
  if (text === "") throw bad();
  return checkedBytes(total, input);
}

function checkedBytes(value: number, input: string): number {
  if (!Number.isSafeInteger(Math.floor(value))) {
    throw new RangeError(`byte size ${JSON.stringify(input)} is too large`);
  }
  return Math.floor(value);
}

// Largest first; years and weeks are only used when they divide the duration exactly.
const DURATION_FORMAT_UNITS: [string, number, boolean][] = [
  ["y", DURATION_UNITS_MS.y, true],
  ["w", DURATION_UNITS_MS.w, true],
  ["d", DURATION_UNITS_MS.d, false],
  ["h", DURATION_UNITS_MS.h, false],
  ["m", DURATION_UNITS_MS.m, false],
  ["s", DURATION_UNITS_MS.s, false],
  ["ms", DURATION_UNITS_MS.ms, false],
];

/**
 * Formats milliseconds the way Prometheus prints its durations (`model.Duration`): `5m`,
 * `1h30m`, `1d12h`, `2w`, `0s`. Fractions of a millisecond are dropped, as there.
 */
export function formatDuration(ms: number): string {
  let rest = Math.floor(ms);
  if (rest <= 0) return "0s";
  let out = "";
  for (const [unit, size, exactOnly] of DURATION_FORMAT_UNITS) {
    if (exactOnly && rest % size !== 0) continue;
    const count = Math.floor(rest / size);
    if (count > 0) {
      out += `${count}${unit}`;
      rest -= count * size;
    }
  }
  return out;
}

const BYTE_FORMAT_UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];

/**
 * Formats a byte size the way Thanos and Prometheus print base-2 sizes (`units.Base2Bytes`):
 * each non-zero base-1024 digit with its unit, largest first: `64MiB`, `1KiB512B`, `0B`.
 */
export function formatBytes(bytes: number): string {
  let rest = Math.floor(bytes);
  if (rest <= 0) return "0B";
  const parts: string[] = [];
  for (const unit of BYTE_FORMAT_UNITS) {
    const digit = rest % 1024;
    if (digit !== 0) parts.unshift(`${digit}${unit}`);
    rest = Math.floor(rest / 1024);
    if (rest === 0) break;
  }
  return parts.join("");
}
