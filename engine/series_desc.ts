/**
 * Series descriptions, the sample notation of promtool and the PromQL test scripts
 * (`load` lines and expected results): `metric{labels} 1 2 _ 3+2x4 stale {{buckets:[1 2]}}x2`.
 *
 * Items: `_` (no sample), `_xN` (N gaps), `v` (one sample), `vxN` (N+1 copies), `a+bxN` /
 * `a-bxN` (a, a±b, ..., N+1 samples), `stale` (the staleness marker), `Inf`/`NaN`, and native
 * histograms `{{schema:0 sum:5 count:4 z_bucket:1 z_bucket_w:0.001 buckets:[1 2] offset:0
 * n_buckets:[..] n_offset:0 counter_reset_hint:gauge custom_values:[..]}}` with `{{..}}xN` and
 * `{{..}}+{{..}}xN` / `{{..}}-{{..}}xN` expansions. Histogram bucket lists are absolute counts.
 *
 * @module
 */
import type { PositionRange } from "./ast.ts";
import { ParseError } from "./errors.ts";
import type { FloatHistogram } from "../model/histogram.ts";
import { CounterResetHint, CUSTOM_BUCKETS_SCHEMA } from "../model/histogram.ts";
import type { Labels } from "../model/labels.ts";
import { labelsFromPairs } from "../model/labels.ts";
import { addHistograms, HistogramError, subHistograms } from "./histogram_ops.ts";
import { parseGoNumber, parseMetricPrefix } from "./parser.ts";
import { STALE_NAN } from "../model/series.ts";

/** A parsed series description. */
export interface SeriesDescription {
  /** The series labels, including `__name__` when a metric name was given. */
  labels: Labels;
  /** One entry per step: a float, a histogram, or `null` for an omitted sample (`_`). */
  values: (number | FloatHistogram | null)[];
  /**
   * Per entry, whether the histogram literal that produced it stated `counter_reset_hint`
   * (expected histograms compare the hint only then). False for floats and gaps.
   */
  counterResetHintSet: boolean[];
}

/**
 * Parses a series description line.
 *
 * @example
 * ```ts
 * parseSeriesDescription('up{job="a"} 1+1x2 _ stale').values; // [1, 2, 3, null, STALE_NAN]
 * ```
 * @throws {ParseError} naming the position and the offending text.
 */
export function parseSeriesDescription(line: string): SeriesDescription {
  const { labels, end } = parseSeriesDescriptionMetric(line);
  const p = new ValuesParser(line, end);
  p.parse();
  return { labels, values: p.values, counterResetHintSet: p.hintSet };
}

/**
 * Parses the metric at the start of a series description (`name`, `name{...}` or `{...}`) and
 * returns its labels and the offset where the values begin.
 *
 * @throws {ParseError} when the metric is malformed.
 */
export function parseSeriesDescriptionMetric(line: string): { labels: Labels; end: number } {
  let i = 0;
  while (i < line.length && /\s/.test(line[i])) i++;
  const nameMatch = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line.slice(i));
  let end = i + (nameMatch ? nameMatch[0].length : 0);
  // Braces belong to the metric only when they follow the name directly.
  if (line[end] === "{" && line[end + 1] !== "{") end = closingBrace(line, end) + 1;
  else if (!nameMatch) {
    throw seriesError(line, { start: i, end: line.length }, "missing metric name or labels");
  }
  const { pairs } = parseMetricPrefix(line.slice(0, end));
  return { labels: labelsFromPairs(pairs), end };
}

// Finds the `}` closing the label set that opens at `open`, skipping quoted strings.
function closingBrace(line: string, open: number): number {
  for (let i = open + 1; i < line.length; i++) {
    const c = line[i];
    if (c === "}") return i;
    if (c === '"' || c === "'" || c === "`") {
      for (i++; i < line.length && line[i] !== c; i++) {
        if (line[i] === "\\" && c !== "`") i++;
      }
    }
  }
  return line.length - 1;
}

function seriesError(line: string, pos: PositionRange, message: string): ParseError {
  return new ParseError([{ pos, message, query: line }]);
}

const NUM = String
  .raw`(?:(?:[0-9](?:_?[0-9])*(?:\.(?:[0-9](?:_?[0-9])*)?)?|\.[0-9](?:_?[0-9])*)(?:[eE][+-]?[0-9]+)?|[iI][nN][fF]|[nN][aA][nN])`;
const FLOAT_ITEM = new RegExp(
  String.raw`^(?:(stale)|([+-]?)(${NUM}))(?:([+-])(${NUM}))?(?:x([0-9]+))?$`,
);
const BLANK_ITEM = /^_(?:x([0-9]+))?$/;
const HIST_TIMES = /^x([0-9]+)/;

const HINTS: Record<string, CounterResetHint> = {
  unknown: CounterResetHint.Unknown,
  reset: CounterResetHint.CounterReset,
  not_reset: CounterResetHint.NotCounterReset,
  gauge: CounterResetHint.Gauge,
};

// Refuse absurd repetition counts instead of exhausting memory.
const MAX_REPEAT = 1_000_000;

class ValuesParser {
  readonly values: (number | FloatHistogram | null)[] = boxedArray();
  readonly hintSet: boolean[] = [];
  readonly #line: string;
  #pos: number;
  // Whether the most recently built histogram literal stated its counter reset hint.
  #lastHintSet = false;

  constructor(line: string, start: number) {
    this.#line = line;
    this.#pos = start;
  }

  #fail(start: number, end: number, message: string): never {
    throw seriesError(this.#line, { start, end }, message);
  }

  parse(): void {
    const line = this.#line;
    if (this.#pos < line.length && !/\s/.test(line[this.#pos])) {
      this.#fail(this.#pos, line.length, `unexpected character after metric: ${line[this.#pos]}`);
    }
    for (;;) {
      while (this.#pos < line.length && /\s/.test(line[this.#pos])) this.#pos++;
      if (this.#pos >= line.length) return;
      if (line.startsWith("{{", this.#pos)) this.#histogramItem();
      else this.#floatItem();
    }
  }

  #push(v: number | FloatHistogram | null, hintSet = false): void {
    this.values.push(v);
    this.hintSet.push(hintSet);
  }

  #repeat(text: string, start: number): number {
    const n = Number(text);
    if (n > MAX_REPEAT) {
      this.#fail(start, this.#pos, `invalid repetition in series values: ${text}`);
    }
    return n;
  }

  #floatItem(): void {
    const start = this.#pos;
    let end = start;
    while (end < this.#line.length && !/\s/.test(this.#line[end])) end++;
    const item = this.#line.slice(start, end);
    this.#pos = end;
    const blank = BLANK_ITEM.exec(item);
    if (blank) {
      const n = blank[1] === undefined ? 1 : this.#repeat(blank[1], start);
      for (let i = 0; i < n; i++) this.#push(null);
      return;
    }
    const m = FLOAT_ITEM.exec(item);
    if (!m) {
      this.#fail(start, end, `unexpected ${JSON.stringify(item)} in series values`);
    }
    const [, stale, numSign, num, sign, delta, times] = m;
    if (delta !== undefined && times === undefined) {
      this.#fail(start, end, `missing repetition count in series values: ${item}`);
    }
    let value = stale ? STALE_NAN : this.#number(num, start, end);
    if (numSign === "-") value = -value;
    const n = times === undefined ? 0 : this.#repeat(times, start);
    let step = delta === undefined ? 0 : this.#number(delta, start, end);
    if (sign === "-") step = -step;
    for (let i = 0; i <= n; i++) {
      this.#push(value);
      // Each value is the previous one plus the step, as Prometheus accumulates it.
      value += step;
    }
  }

  #number(text: string, start: number, end: number): number {
    const v = parseGoNumber(text);
    if (typeof v === "string") this.#fail(start, end, v);
    return v;
  }

  #histogramItem(): void {
    const start = this.#pos;
    const base = this.#histogram();
    const rest = this.#line.slice(this.#pos);
    const times = HIST_TIMES.exec(rest);
    if (times) {
      this.#pos += times[0].length;
      const n = this.#repeat(times[1], start);
      // Copies, so that a consumer mutating one sample cannot change the others.
      for (let i = 0; i <= n; i++) this.#push(cloneHistogram(base), this.#lastHintSet);
      return;
    }
    if ((rest.startsWith("+{{") || rest.startsWith("-{{"))) {
      const subtract = rest[0] === "-";
      this.#pos++;
      const inc = this.#histogram();
      const m = HIST_TIMES.exec(this.#line.slice(this.#pos));
      if (!m) this.#fail(start, this.#pos, "expected repetition (xN) after histogram increment");
      this.#pos += m[0].length;
      const n = this.#repeat(m[1], start);
      const hintSet = this.#lastHintSet;
      let cur = base;
      this.#push(cur, hintSet);
      for (let i = 1; i <= n; i++) {
        if (cur.schema > inc.schema && cur.schema !== CUSTOM_BUCKETS_SCHEMA) {
          this.#fail(
            start,
            this.#pos,
            `error combining histograms: cannot merge from schema ${inc.schema} to ${cur.schema}`,
          );
        }
        try {
          // Prometheus adds with FloatHistogram.Add/Sub, uncompacted: the same arithmetic.
          cur = (subtract ? subHistograms : addHistograms)(cur, inc).histogram;
        } catch (e) {
          if (e instanceof HistogramError) this.#fail(start, this.#pos, e.message);
          throw e;
        }
        this.#push(cur, hintSet);
      }
      return;
    }
    if (rest !== "" && !/^\s/.test(rest)) {
      this.#fail(
        this.#pos,
        this.#line.length,
        `unexpected ${JSON.stringify(rest)} after histogram`,
      );
    }
    this.#push(base, this.#lastHintSet);
  }

  // Parses `{{ key:value ... }}` at the current position.
  #histogram(): FloatHistogram {
    const line = this.#line;
    const start = this.#pos;
    const close = line.indexOf("}}", start + 2);
    if (close < 0) this.#fail(start, line.length, "histogram description incomplete: missing }}");
    const body = line.slice(start + 2, close);
    this.#pos = close + 2;
    const seen = new Set<string>();
    const h: FloatHistogram = {
      counterResetHint: CounterResetHint.Unknown,
      schema: 0,
      zeroThreshold: 0,
      zeroCount: 0,
      count: 0,
      sum: 0,
      positiveSpans: [],
      negativeSpans: [],
      positiveBuckets: new Float64Array(0),
      negativeBuckets: new Float64Array(0),
      customValues: new Float64Array(0),
    };
    let offset = 0;
    let nOffset = 0;
    this.#lastHintSet = false;
    const itemRe = /\s*([a-zA-Z_]+):\s*(\[[^\]]*\]|[^\s\]]+)\s*/y;
    let i = 0;
    while (i < body.length) {
      if (/^\s+$/.test(body.slice(i))) break;
      itemRe.lastIndex = i;
      const m = itemRe.exec(body);
      if (!m) {
        this.#fail(
          start,
          this.#pos,
          `bad histogram descriptor found: ${JSON.stringify(body.slice(i))}`,
        );
      }
      i = itemRe.lastIndex;
      const key = m[1].toLowerCase();
      const raw = m[2];
      if (seen.has(key)) this.#fail(start, this.#pos, `duplicate key "${key}" in histogram`);
      seen.add(key);
      switch (key) {
        case "schema":
          h.schema = this.#int(raw, start);
          break;
        case "sum":
          h.sum = this.#signed(raw, start);
          break;
        case "count":
          h.count = this.#signed(raw, start);
          break;
        case "z_bucket":
          h.zeroCount = this.#signed(raw, start);
          break;
        case "z_bucket_w":
          h.zeroThreshold = this.#signed(raw, start);
          break;
        case "buckets":
          h.positiveBuckets = this.#list(raw, start);
          break;
        case "n_buckets":
          h.negativeBuckets = this.#list(raw, start);
          break;
        case "custom_values":
          h.customValues = this.#list(raw, start);
          break;
        case "offset":
          offset = this.#int(raw, start);
          break;
        case "n_offset":
          nOffset = this.#int(raw, start);
          break;
        case "counter_reset_hint": {
          const hint = HINTS[raw.toLowerCase()];
          if (hint === undefined) {
            this.#fail(start, this.#pos, `error parsing counter_reset_hint: unknown value ${raw}`);
          }
          h.counterResetHint = hint;
          this.#lastHintSet = true;
          break;
        }
        default:
          this.#fail(start, this.#pos, `bad histogram descriptor found: ${JSON.stringify(m[1])}`);
      }
    }
    if (h.positiveBuckets.length > 0) {
      h.positiveSpans = [{ offset, length: h.positiveBuckets.length }];
    }
    if (h.negativeBuckets.length > 0) {
      h.negativeSpans = [{ offset: nOffset, length: h.negativeBuckets.length }];
    }
    return h;
  }

  #int(raw: string, start: number): number {
    if (!/^-?[0-9]+$/.test(raw)) {
      this.#fail(start, this.#pos, `error parsing integer in histogram: ${raw}`);
    }
    return Number(raw);
  }

  #signed(raw: string, start: number): number {
    const m = /^([+-]?)(.*)$/.exec(raw)!;
    const v = this.#number(m[2], start, this.#pos);
    return m[1] === "-" ? -v : v;
  }

  #list(raw: string, start: number): Float64Array {
    const items = raw.slice(1, -1).trim().split(/\s+/).filter((s) => s !== "");
    if (items.length === 0) this.#fail(start, this.#pos, "empty bucket list in histogram");
    return Float64Array.from(items, (s) => this.#signed(s, start));
  }
}

// The stale marker is a NaN with a payload. V8 canonicalizes NaNs stored in arrays that hold
// only doubles, which would turn a stale marker into a plain NaN; an array created with a
// non-number element keeps generic elements for good, and those hold numbers bit-exact.
function boxedArray(): (number | FloatHistogram | null)[] {
  const a: (number | FloatHistogram | null)[] = [null];
  a.length = 0;
  return a;
}

function cloneHistogram(h: FloatHistogram): FloatHistogram {
  return {
    ...h,
    positiveSpans: h.positiveSpans.map((s) => ({ ...s })),
    negativeSpans: h.negativeSpans.map((s) => ({ ...s })),
    positiveBuckets: h.positiveBuckets.slice(),
    negativeBuckets: h.negativeBuckets.slice(),
    customValues: h.customValues.slice(),
  };
}
