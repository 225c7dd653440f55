/**
 * Aggregation operators (`sum`, `avg`, `count`, `min`, `max`, `group`, `stddev`, `stdvar`,
 * `quantile`, `topk`, `bottomk`, `limitk`, `limit_ratio`, `count_values`). The first eight fold
 * their input a series at a time into per-group, per-step typed arrays while it streams in;
 * the others need every input series of a step at once and evaluate their input whole.
 *
 * @module
 */
import type { AggregateExpr } from "./ast.ts";
import { QueryError } from "./errors.ts";
import { getLabel, type Labels, labelsKey, METRIC_NAME, setLabel } from "../model/labels.ts";
import { HistogramAggregator } from "./histogram_ops.ts";
import type { StepEvaluator } from "./step_evaluator.ts";
import { kahanInc, kahanOut } from "./kahan.ts";
import { quantileOf } from "./quantile.ts";
import {
  ABSENT,
  FLOAT,
  HIST,
  SeriesBuilder,
  setHist,
  type StepSeries,
  type StepValue,
} from "./step_vector.ts";
import { formatGoFloat } from "./format.ts";
import { goQuote } from "./lexer.ts";
import { labelsHash, sampleOffset } from "../model/labels_hash.ts";
import { histogramToString } from "./histogram_functions.ts";

/** Computes the grouping labels of `labels` for `by (grouping)` / `without (grouping)`. */
export function groupingLabels(
  labels: Labels,
  grouping: readonly string[],
  without: boolean,
): Labels {
  if (without) {
    return labels.filter((l) => l.name !== METRIC_NAME && !grouping.includes(l.name));
  }
  if (grouping.length === 0) return [];
  return labels.filter((l) => grouping.includes(l.name));
}

/** Aggregations folded one input series at a time (each step's value needs no other input). */
const FOLDED: ReadonlySet<string> = new Set([
  "sum",
  "avg",
  "count",
  "min",
  "max",
  "group",
  "stddev",
  "stdvar",
]);

/** Evaluates an aggregation over all steps. */
export async function evalAggregate(ev: StepEvaluator, e: AggregateExpr): Promise<StepValue> {
  const grouping = [...e.grouping].sort();
  if (e.op === "count_values") return await countValues(ev, e, grouping);
  if (FOLDED.has(e.op)) return await foldAggregate(ev, e, grouping);
  const param = await ev.evalScalar(e.param!);
  const input = await ev.evalVector(e.expr);
  // Assign every input series to its group once.
  const groupOf = new Int32Array(input.length);
  const groupLabels: Labels[] = [];
  const keys = new Map<string, number>();
  for (let j = 0; j < input.length; j++) {
    const gl = groupingLabels(input[j].labels, grouping, e.without);
    const key = labelsKey(gl);
    let g = keys.get(key);
    if (g === undefined) {
      g = groupLabels.length;
      groupLabels.push(gl);
      keys.set(key, g);
    }
    groupOf[j] = g;
  }
  if (e.op === "quantile") return quantileAggregate(ev, e, input, groupOf, groupLabels, param);
  return selectK(ev, e, input, groupOf, groupLabels.length, param);
}

// Per-step flags of a folded group.
const SEEN = 1;
const INCREMENTAL = 2;
const HAS_FLOAT = 4;
const HAS_HIST = 8;
const DROP_NAME = 16;

/** The running state of one output group of a folded aggregation, per step. */
interface FoldGroup {
  readonly labels: Labels;
  /**
   * Per step: the sum (sum, avg), the extreme (min, max), the count (count), 1 (group) or the
   * sum of squared deviations (stddev, stdvar); turned into the output values in place.
   */
  readonly value: Float64Array;
  /** Kahan compensation (sum, avg). */
  readonly comp: Float64Array | undefined;
  /** Running mean (avg once incremental, stddev, stdvar). */
  readonly mean: Float64Array | undefined;
  /** Samples folded (avg, stddev, stdvar). */
  readonly count: Float64Array | undefined;
  /** {@linkcode SEEN} and the other flags; turned into the output presence in place. */
  readonly flags: Uint8Array;
  /** Histogram sums per step (sum, avg), allocated with the first histogram. */
  hist: (HistogramAggregator | undefined)[] | undefined;
  /** The metric name of each step's first histogram, for annotations. */
  histName: string[] | undefined;
}

/**
 * `sum`, `avg`, `count`, `min`, `max`, `group`, `stddev` and `stdvar`: the input is read a
 * batch at a time and each series folded into its group's per-step state, then dropped, so
 * the aggregation holds its groups and one batch, not the whole input vector. Within a group
 * and step, samples are folded in input order, as when all input is at hand.
 */
async function foldAggregate(
  ev: StepEvaluator,
  e: AggregateExpr,
  grouping: readonly string[],
): Promise<StepValue> {
  const op = e.op;
  const n = ev.n;
  const groups: FoldGroup[] = [];
  const byKey = new Map<string, FoldGroup>();
  const withComp = op === "sum" || op === "avg";
  const withMean = op === "avg" || op === "stddev" || op === "stdvar";
  const input = await ev.stream(e.expr);
  try {
    for (let b = await input.next(); b !== null; b = await input.next()) {
      for (const s of b.series) {
        ev.checkAbort();
        const gl = groupingLabels(s.labels, grouping, e.without);
        const key = labelsKey(gl);
        let g = byKey.get(key);
        if (g === undefined) {
          g = {
            labels: gl,
            value: new Float64Array(n),
            comp: withComp ? new Float64Array(n) : undefined,
            mean: withMean ? new Float64Array(n) : undefined,
            count: withMean ? new Float64Array(n) : undefined,
            flags: new Uint8Array(n),
            hist: undefined,
            histName: undefined,
          };
          byKey.set(key, g);
          groups.push(g);
        }
        foldSeries(ev, e, g, s);
      }
      // The batch is folded: its samples are no longer held.
      ev.releaseSamples(b.samples);
    }
  } finally {
    await input.close();
  }
  const out: StepSeries[] = [];
  for (const g of groups) {
    const s = finishGroup(ev, e, g);
    if (s !== undefined) out.push(s);
  }
  return { type: "vector", series: out };
}

/** Folds the samples of `s` into group `g`, step by step. */
function foldSeries(ev: StepEvaluator, e: AggregateExpr, g: FoldGroup, s: StepSeries): void {
  const op = e.op;
  const { value, flags } = g;
  const comp = g.comp!, mean = g.mean!, count = g.count!;
  const dropName = s.dropName ? DROP_NAME : 0;
  for (let i = 0; i < flags.length; i++) {
    const kind = s.k[i];
    if (kind === ABSENT) continue;
    let fl = flags[i];
    if (kind === HIST) {
      if (op === "sum" || op === "avg") {
        fl |= HAS_HIST | dropName;
        if (!(fl & SEEN)) {
          fl |= SEEN;
          value[i] = 0;
          comp[i] = 0;
          if (op === "avg") {
            count[i] = 1;
            mean[i] = 0;
          }
        } else if (op === "avg") count[i]++;
        const hist = g.hist ??= new Array(flags.length);
        if (hist[i] === undefined) {
          hist[i] = new HistogramAggregator(op);
          (g.histName ??= new Array(flags.length))[i] = getLabel(s.labels, METRIC_NAME);
        }
        hist[i]!.add(s.h![i]!);
        flags[i] = fl;
        continue;
      }
      if (op !== "count" && op !== "group") {
        ev.info(`ignored histogram in ${op} aggregation`, e.expr.pos);
        continue;
      }
    }
    const f = s.f[i];
    if (kind === FLOAT) fl |= HAS_FLOAT;
    if (!(fl & SEEN)) {
      flags[i] = fl | SEEN | dropName;
      switch (op) {
        case "sum":
          value[i] = f;
          comp[i] = 0;
          break;
        case "avg":
          value[i] = f;
          mean[i] = f;
          comp[i] = 0;
          count[i] = 1;
          break;
        case "min":
        case "max":
          value[i] = f;
          break;
        case "count":
        case "group":
          value[i] = 1;
          break;
        case "stddev":
        case "stdvar":
          value[i] = Number.isFinite(f) ? 0 : NaN;
          mean[i] = f;
          count[i] = 1;
          break;
      }
      continue;
    }
    fl |= dropName;
    switch (op) {
      case "sum":
        kahanInc(f, value[i], comp[i]);
        value[i] = kahanOut[0];
        comp[i] = kahanOut[1];
        break;
      case "avg": {
        const cnt = ++count[i];
        if (!(fl & INCREMENTAL)) {
          kahanInc(f, value[i], comp[i]);
          if (kahanOut[0] !== Infinity && kahanOut[0] !== -Infinity) {
            value[i] = kahanOut[0];
            comp[i] = kahanOut[1];
            break;
          }
          fl |= INCREMENTAL;
          mean[i] = value[i] / (cnt - 1);
          comp[i] /= cnt - 1;
        }
        const q = (cnt - 1) / cnt;
        kahanInc(f / cnt, q * mean[i], q * comp[i]);
        mean[i] = kahanOut[0];
        comp[i] = kahanOut[1];
        break;
      }
      case "max":
        if (value[i] < f || Number.isNaN(value[i])) value[i] = f;
        break;
      case "min":
        if (value[i] > f || Number.isNaN(value[i])) value[i] = f;
        break;
      case "count":
        value[i]++;
        break;
      case "stddev":
      case "stdvar": {
        const cnt = ++count[i];
        const delta = f - mean[i];
        mean[i] += delta / cnt;
        value[i] += delta * (f - mean[i]);
        break;
      }
    }
    flags[i] = fl;
  }
}

/** The output series of a folded group (`undefined` when no step has a value). */
function finishGroup(ev: StepEvaluator, e: AggregateExpr, g: FoldGroup): StepSeries | undefined {
  const op = e.op;
  const { value, flags, comp, mean, count } = g;
  // The state arrays become the output: values in `value`, presence in `flags`.
  const out: StepSeries = { labels: g.labels, dropName: false, f: value, k: flags, h: null };
  let any = false;
  for (let i = 0; i < flags.length; i++) {
    const fl = flags[i];
    flags[i] = ABSENT;
    if (!(fl & SEEN)) continue;
    if (fl & HAS_HIST) {
      if (fl & HAS_FLOAT) {
        ev.warn(`encountered a mix of histograms and floats for aggregation`, e.expr.pos);
        continue;
      }
      const agg = g.hist![i]!;
      const h = agg.result();
      if (agg.counterResetCollision) {
        ev.warn("conflicting counter resets during histogram aggregation", e.expr.pos);
      }
      if (agg.nhcbBoundsReconciled) {
        ev.info("mismatched custom buckets were reconciled during aggregation", e.expr.pos);
      }
      if (h === undefined) {
        ev.warn(
          `vector contains a mix of histograms with exponential and custom buckets schemas for metric name "${
            g.histName![i]
          }"`,
          e.expr.pos,
        );
        continue;
      }
      setHist(out, i, h);
    } else {
      switch (op) {
        case "sum":
          value[i] += comp![i];
          break;
        case "avg":
          value[i] = fl & INCREMENTAL
            ? mean![i] + comp![i]
            : value[i] / count![i] + comp![i] / count![i];
          break;
        case "stdvar":
          value[i] = value[i] / count![i];
          break;
        case "stddev":
          value[i] = Math.sqrt(value[i] / count![i]);
          break;
      }
      flags[i] = FLOAT;
    }
    any = true;
    if (fl & DROP_NAME) out.dropName = true;
  }
  return any ? out : undefined;
}

/** `quantile`: per step and group, the φ-quantile of the group's float samples. */
function quantileAggregate(
  ev: StepEvaluator,
  e: AggregateExpr,
  input: StepSeries[],
  groupOf: Int32Array,
  groupLabels: Labels[],
  param: Float64Array,
): StepValue {
  const n = ev.n;
  const G = groupLabels.length;
  let warnedNaN = false;
  let maxQ = -Infinity;
  let minQ = Infinity;
  for (let i = 0; i < n; i++) {
    const q = param[i];
    if (Number.isNaN(q)) warnedNaN = true;
    else {
      maxQ = Math.max(maxQ, q);
      minQ = Math.min(minQ, q);
    }
  }
  if (warnedNaN) ev.warn("quantile value should be between 0 and 1, got NaN", e.param!.pos);
  if (maxQ > 1) ev.warn(`quantile value should be between 0 and 1, got ${maxQ}`, e.param!.pos);
  if (minQ < 0) ev.warn(`quantile value should be between 0 and 1, got ${minQ}`, e.param!.pos);
  const members: number[][] = groupLabels.map(() => []);
  const seen = new Uint8Array(G);
  const dropName = new Uint8Array(G);
  const out = new SeriesBuilder(n);
  const outIdx = new Int32Array(G).fill(-1);
  let scratch = new Float64Array(16);
  for (let i = 0; i < n; i++) {
    if ((i & 63) === 0) ev.checkAbort();
    seen.fill(0);
    for (const m of members) m.length = 0;
    for (let j = 0; j < input.length; j++) {
      const s = input[j];
      const kind = s.k[i];
      if (kind === ABSENT) continue;
      if (kind === HIST) {
        ev.info("ignored histogram in quantile aggregation", e.expr.pos);
        continue;
      }
      const g = groupOf[j];
      if (!seen[g]) {
        seen[g] = 1;
        dropName[g] = s.dropName ? 1 : 0;
      } else if (s.dropName) dropName[g] = 1;
      members[g].push(s.f[i]);
    }
    for (let g = 0; g < G; g++) {
      if (!seen[g]) continue;
      const m = members[g];
      if (scratch.length < m.length) scratch = new Float64Array(m.length * 2);
      for (let k = 0; k < m.length; k++) scratch[k] = m[k];
      const v = quantileOf(param[i], scratch, m.length);
      if (outIdx[g] < 0) outIdx[g] = out.index(groupLabels[g], dropName[g] === 1);
      else if (dropName[g]) out.series[outIdx[g]].dropName = true;
      out.putFloat(outIdx[g], i, v);
    }
  }
  return { type: "vector", series: out.result() };
}

const MAX_INT64 = 9223372036854775807;

function selectK(
  ev: StepEvaluator,
  e: AggregateExpr,
  input: StepSeries[],
  groupOf: Int32Array,
  G: number,
  param: Float64Array,
): StepValue {
  const op = e.op;
  const n = ev.n;
  const out = new SeriesBuilder(n);
  let maxP = -Infinity;
  let minP = Infinity;
  let anyNaN = false;
  for (let i = 0; i < n; i++) {
    const p = param[i];
    if (Number.isNaN(p)) anyNaN = true;
    else {
      maxP = Math.max(maxP, p);
      minP = Math.min(minP, p);
    }
  }
  if (op === "limit_ratio") {
    if (maxP === 0 && minP === 0 && !anyNaN) return { type: "vector", series: [] };
    if (anyNaN) throw new QueryError("execution", "Ratio value is NaN");
    if (maxP > 1) {
      ev.warn(`ratio value should be between -1 and 1, got ${maxP}, capping to 1`, e.param!.pos);
    }
    if (minP < -1) {
      ev.warn(`ratio value should be between -1 and 1, got ${minP}, capping to -1`, e.param!.pos);
    }
  } else {
    if (maxP < 1 && !anyNaN) return { type: "vector", series: [] };
    if (anyNaN) throw new QueryError("execution", "Parameter value is NaN");
    if (minP <= -MAX_INT64) {
      throw new QueryError("execution", `Scalar value ${minP} underflows int64`);
    }
    if (maxP >= MAX_INT64) {
      throw new QueryError("execution", `Scalar value ${maxP} overflows int64`);
    }
  }
  const outIdx = new Int32Array(input.length).fill(-1);
  // limit_ratio hashes each input series' labels as they are, __name__ included while its
  // removal is delayed, as Prometheus hashes the sample's metric.
  const ratioOffset = op === "limit_ratio"
    ? input.map((s) => sampleOffset(labelsHash(s.labels)))
    : [];
  const members: number[][] = Array.from({ length: G }, () => []);
  const desc = op === "topk";
  for (let i = 0; i < n; i++) {
    if ((i & 63) === 0) ev.checkAbort();
    for (const m of members) m.length = 0;
    const p = param[i];
    let k = 0;
    let r = 0;
    if (op === "limit_ratio") {
      if (p === 0) continue;
      r = Math.max(-1, Math.min(1, p));
    } else {
      k = Math.min(Math.trunc(p), input.length);
      if (k < 1) continue;
    }
    for (let j = 0; j < input.length; j++) {
      const kind = input[j].k[i];
      if (kind === 0) continue;
      if (kind === HIST && (op === "topk" || op === "bottomk")) {
        ev.info(`ignored histogram in ${op} aggregation`, e.pos);
        continue;
      }
      members[groupOf[j]].push(j);
    }
    for (let g = 0; g < G; g++) {
      let m = members[g];
      if (m.length === 0) continue;
      if (op === "topk" || op === "bottomk") {
        m = selectTop(m, k, input, i, desc);
      } else if (op === "limitk") {
        m = m.slice(0, k);
      } else {
        // A ratio r >= 0 keeps offsets in [0, r), a negative one the complementary [1 + r, 1].
        m = m.filter((j) => r >= 0 ? ratioOffset[j] < r : ratioOffset[j] >= 1 + r);
      }
      for (const j of m) {
        const s = input[j];
        if (outIdx[j] < 0) outIdx[j] = out.index(s.labels, s.dropName);
        if (s.k[i] === FLOAT) out.putFloat(outIdx[j], i, s.f[i]);
        else out.putHist(outIdx[j], i, s.h![i]!);
      }
    }
  }
  return { type: "vector", series: out.result() };
}

/** Whether `x` ranks before `y`: higher (topk) or lower (bottomk) first, NaN always last. */
function ranksBefore(x: number, y: number, desc: boolean): boolean {
  if (x !== x) return false;
  if (y !== y) return true;
  return desc ? x > y : x < y;
}

/**
 * The `k` best-ranked members at step `i`, best first. Small `k` keeps a sorted insertion
 * buffer (O(n·k), no sort of the whole group); ties keep input order.
 */
function selectTop(
  m: number[],
  k: number,
  input: StepSeries[],
  i: number,
  desc: boolean,
): number[] {
  if (k >= m.length || k > 32) {
    const sorted = [...m].sort((a, b) => {
      const x = input[a].f[i];
      const y = input[b].f[i];
      return ranksBefore(x, y, desc) ? -1 : ranksBefore(y, x, desc) ? 1 : 0;
    });
    return sorted.slice(0, k);
  }
  const best: number[] = [];
  for (const j of m) {
    const v = input[j].f[i];
    if (best.length === k && !ranksBefore(v, input[best[k - 1]].f[i], desc)) continue;
    let p = best.length < k ? best.length : k - 1;
    while (p > 0 && ranksBefore(v, input[best[p - 1]].f[i], desc)) {
      if (p < k) best[p] = best[p - 1];
      p--;
    }
    best[p] = j;
  }
  return best;
}

async function countValues(
  ev: StepEvaluator,
  e: AggregateExpr,
  grouping: string[],
): Promise<StepValue> {
  const p = e.param!;
  const valueLabel = p.kind === "StringLiteral" ? p.value : "";
  if (valueLabel === "" || !valueLabel.isWellFormed()) {
    throw new QueryError("execution", `invalid label name ${goQuote(valueLabel)}`);
  }
  if (!e.without) grouping = [...grouping, valueLabel].sort();
  const input = await ev.evalVector(e.expr);
  const n = ev.n;
  const out = new SeriesBuilder(n);
  const counts = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    if ((i & 63) === 0) ev.checkAbort();
    counts.clear();
    for (const s of input) {
      if (s.k[i] === 0) continue;
      const value = s.k[i] === FLOAT ? formatGoFloat(s.f[i]) : histogramString(s, i);
      const labels = groupingLabels(setLabel(s.labels, valueLabel, value), grouping, e.without);
      const o = out.index(labels, false);
      counts.set(o, (counts.get(o) ?? 0) + 1);
    }
    for (const [o, c] of counts) out.putFloat(o, i, c);
  }
  return { type: "vector", series: out.result() };
}

function histogramString(s: StepSeries, i: number): string {
  return histogramToString(s.h![i]!);
}
