/**
 * Aggregation operators (`sum`, `avg`, `count`, `min`, `max`, `group`, `stddev`, `stdvar`,
 * `quantile`, `topk`, `bottomk`, `limitk`, `limit_ratio`, `count_values`). Input series are
 * assigned to groups once; each step then folds the present samples into per-group typed
 * arrays.
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
import { FLOAT, HIST, SeriesBuilder, type StepSeries, type StepValue } from "./step_vector.ts";
import { formatGoFloat } from "./format.ts";
import { goQuote } from "./lexer.ts";
import { labelsHash, sampleOffset } from "./xxhash.ts";
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

/** Evaluates an aggregation over all steps. */
export async function evalAggregate(ev: StepEvaluator, e: AggregateExpr): Promise<StepValue> {
  const grouping = [...e.grouping].sort();
  if (e.op === "count_values") return await countValues(ev, e, grouping);
  let param: Float64Array | undefined;
  if (e.param !== undefined) param = await ev.evalScalar(e.param);
  const input = await ev.evalVector(e.expr);
  const n = ev.n;
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
  switch (e.op) {
    case "topk":
    case "bottomk":
    case "limitk":
    case "limit_ratio":
      return selectK(ev, e, input, groupOf, groupLabels.length, param!);
  }
  return foldGroups(ev, e, input, groupOf, groupLabels, param, n);
}

function foldGroups(
  ev: StepEvaluator,
  e: AggregateExpr,
  input: StepSeries[],
  groupOf: Int32Array,
  groupLabels: Labels[],
  param: Float64Array | undefined,
  n: number,
): StepValue {
  const op = e.op;
  const G = groupLabels.length;
  const seen = new Uint8Array(G);
  const value = new Float64Array(G);
  const comp = new Float64Array(G);
  const mean = new Float64Array(G);
  const count = new Float64Array(G);
  const incremental = new Uint8Array(G);
  const hasFloat = new Uint8Array(G);
  const hasHist = new Uint8Array(G);
  const dropName = new Uint8Array(G);
  const members: number[][] = op === "quantile" ? groupLabels.map(() => []) : [];
  let scratch = new Float64Array(16);
  const out = new SeriesBuilder(n);
  const outIdx = new Int32Array(G).fill(-1);
  if (op === "quantile" && param) {
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
  }
  // Per-group histogram sums of the current step (sum and avg only).
  const hagg: (HistogramAggregator | undefined)[] = new Array(G);
  const haggName: string[] = new Array(G);
  for (let i = 0; i < n; i++) {
    if ((i & 63) === 0) ev.checkAbort();
    seen.fill(0);
    hasFloat.fill(0);
    hasHist.fill(0);
    hagg.fill(undefined);
    for (const m of members) m.length = 0;
    for (let j = 0; j < input.length; j++) {
      const s = input[j];
      const kind = s.k[i];
      if (kind === 0) continue;
      const g = groupOf[j];
      const f = s.f[i];
      if (kind === HIST) {
        switch (op) {
          case "count":
          case "group":
            break;
          case "sum":
          case "avg":
            hasHist[g] = 1;
            if (!seen[g]) {
              seen[g] = 1;
              dropName[g] = s.dropName ? 1 : 0;
              count[g] = 1;
              value[g] = 0;
              comp[g] = 0;
              mean[g] = 0;
              incremental[g] = 0;
            } else {
              count[g]++;
              if (s.dropName) dropName[g] = 1;
            }
            if (hagg[g] === undefined) {
              hagg[g] = new HistogramAggregator(op);
              haggName[g] = getLabel(s.labels, METRIC_NAME);
            }
            hagg[g]!.add(s.h![i]!);
            continue;
          default:
            ev.info(`ignored histogram in ${op} aggregation`, e.expr.pos);
            continue;
        }
      }
      if (!seen[g]) {
        seen[g] = 1;
        dropName[g] = s.dropName ? 1 : 0;
        value[g] = f;
        mean[g] = f;
        comp[g] = 0;
        count[g] = 1;
        incremental[g] = 0;
        if (kind === FLOAT) hasFloat[g] = 1;
        switch (op) {
          case "stddev":
          case "stdvar":
            value[g] = Number.isFinite(f) ? 0 : NaN;
            break;
          case "group":
            value[g] = 1;
            break;
          case "quantile":
            members[g].push(f);
            break;
        }
        continue;
      }
      if (s.dropName) dropName[g] = 1;
      if (kind === FLOAT) hasFloat[g] = 1;
      switch (op) {
        case "sum":
          kahanInc(f, value[g], comp[g]);
          value[g] = kahanOut[0];
          comp[g] = kahanOut[1];
          break;
        case "avg": {
          const cnt = ++count[g];
          if (!incremental[g]) {
            kahanInc(f, value[g], comp[g]);
            if (kahanOut[0] !== Infinity && kahanOut[0] !== -Infinity) {
              value[g] = kahanOut[0];
              comp[g] = kahanOut[1];
              break;
            }
            incremental[g] = 1;
            mean[g] = value[g] / (cnt - 1);
            comp[g] /= cnt - 1;
          }
          const q = (cnt - 1) / cnt;
          kahanInc(f / cnt, q * mean[g], q * comp[g]);
          mean[g] = kahanOut[0];
          comp[g] = kahanOut[1];
          break;
        }
        case "max":
          if (value[g] < f || Number.isNaN(value[g])) value[g] = f;
          break;
        case "min":
          if (value[g] > f || Number.isNaN(value[g])) value[g] = f;
          break;
        case "count":
          count[g]++;
          break;
        case "stddev":
        case "stdvar": {
          const cnt = ++count[g];
          const delta = f - mean[g];
          mean[g] += delta / cnt;
          value[g] += delta * (f - mean[g]);
          break;
        }
        case "quantile":
          members[g].push(f);
          break;
      }
    }
    for (let g = 0; g < G; g++) {
      if (!seen[g]) continue;
      let v = value[g];
      switch (op) {
        case "sum":
        case "avg":
          if (hasHist[g]) {
            if (hasFloat[g]) {
              ev.warn(`encountered a mix of histograms and floats for aggregation`, e.expr.pos);
              continue;
            }
            const agg = hagg[g]!;
            const h = agg.result();
            if (agg.counterResetCollision) {
              ev.warn("conflicting counter resets during histogram aggregation", e.expr.pos);
            }
            if (agg.nhcbBoundsReconciled) {
              ev.info(
                "mismatched custom buckets were reconciled during aggregation",
                e.expr.pos,
              );
            }
            if (h === undefined) {
              ev.warn(
                `vector contains a mix of histograms with exponential and custom buckets schemas for metric name "${
                  haggName[g]
                }"`,
                e.expr.pos,
              );
              continue;
            }
            if (outIdx[g] < 0) outIdx[g] = out.index(groupLabels[g], dropName[g] === 1);
            else if (dropName[g]) out.series[outIdx[g]].dropName = true;
            out.putHist(outIdx[g], i, h);
            continue;
          }
          if (op === "sum") v = value[g] + comp[g];
          else if (incremental[g]) v = mean[g] + comp[g];
          else v = value[g] / count[g] + comp[g] / count[g];
          break;
        case "count":
          v = count[g];
          break;
        case "stdvar":
          v = value[g] / count[g];
          break;
        case "stddev":
          v = Math.sqrt(value[g] / count[g]);
          break;
        case "quantile": {
          const m = members[g];
          if (scratch.length < m.length) scratch = new Float64Array(m.length * 2);
          for (let k = 0; k < m.length; k++) scratch[k] = m[k];
          v = quantileOf(param![i], scratch, m.length);
          break;
        }
      }
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
