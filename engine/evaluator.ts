/**
 * The PromQL evaluator core: evaluates an (already prepared) expression over all steps of a
 * query at once. Vector selectors walk each series' iterator a single time for all steps;
 * matrix selectors and subqueries load a series once and slide a window over it. Operators live
 * in `functions.ts`, `range_functions.ts`, `aggregations.ts` and `binary_ops.ts`; they see the
 * evaluator through the {@linkcode StepEvaluator} interface it implements.
 *
 * @module
 */
import type { Expr, MatrixSelector, PositionRange, SubqueryExpr, VectorSelector } from "./ast.ts";
import { QueryError } from "./errors.ts";
import type { FloatHistogram } from "../model/histogram.ts";
import { getLabel, type Labels, METRIC_NAME } from "../model/labels.ts";
import type { SelectHints, SeriesSet } from "../model/queryable.ts";
import { isStaleNaN, type Series, startTimestampOf, ValueType } from "../model/series.ts";
import {
  ABSENT,
  countValue,
  FLOAT,
  HIST,
  mergeSameLabels,
  newStepSeries,
  type RangeSeries,
  setHist,
  type StepSeries,
  type StepValue,
} from "./step_vector.ts";
import type {
  QueryContext,
  RangeBatch,
  RangeInput,
  SelectedVector,
  StepEvaluator,
} from "./step_evaluator.ts";
import { type SeriesStream, type StepBatch, streamOf } from "./series_stream.ts";
import { dropMetricName } from "./metric_name.ts";
import { evalCall, streamCall } from "./functions.ts";
import { evalAggregate } from "./aggregations.ts";
import { evalBinary } from "./binary_ops.ts";
import { detectReset, HistogramError, mulHistogram, usesCustomBuckets } from "./histogram_ops.ts";
import { interpolateHistograms } from "./range_functions.ts";
import { extendFloats, interpolateAt, lowerIndex, searchAtLeast } from "./windows.ts";
import { CounterResetHint } from "../model/histogram.ts";

/** Evaluates expressions for the steps `start, start+interval, ..., end`. */
export class Evaluator implements StepEvaluator {
  /** Number of steps. */
  readonly n: number;

  /**
   * @param ctx the query's shared settings and accounting
   * @param start first step, ms
   * @param end last possible step, ms
   * @param interval step width, ms (1 for instant queries)
   * @throws {QueryError} `too_many_samples` when the steps alone exceed the sample limit
   */
  constructor(
    readonly ctx: QueryContext,
    readonly start: number,
    readonly end: number,
    readonly interval: number,
  ) {
    this.n = end < start ? 0 : Math.floor((end - start) / interval) + 1;
    // Every step of a series takes a slot; more steps than samples allowed cannot fit.
    if (this.n > ctx.maxSamples) {
      throw new QueryError(
        "too_many_samples",
        "query processing would load too many samples into memory in query execution",
      );
    }
  }

  /** Timestamp of step `i`. */
  time(i: number): number {
    return this.start + i * this.interval;
  }

  /** The timestamp of the last step. */
  get lastTime(): number {
    return this.start + (this.n - 1) * this.interval;
  }

  /** Throws if the query was canceled or timed out. */
  checkAbort(): void {
    const signal = this.ctx.signal;
    if (signal?.aborted) {
      // AbortSignal.timeout() aborts with a TimeoutError: report that as a timeout.
      if (signal.reason instanceof DOMException && signal.reason.name === "TimeoutError") {
        throw new QueryError("timeout", "query timed out in expression evaluation");
      }
      throw new QueryError("canceled", "query was canceled in expression evaluation");
    }
    if (Date.now() > this.ctx.deadline) {
      throw new QueryError("timeout", "query timed out in expression evaluation");
    }
  }

  /** Accounts `n` more samples held in memory; throws when over the limit. */
  addSamples(n: number): void {
    const c = this.ctx;
    c.currentSamples += n;
    if (c.currentSamples > c.peakSamples) c.peakSamples = c.currentSamples;
    if (c.currentSamples > c.maxSamples) {
      throw new QueryError(
        "too_many_samples",
        "query processing would load too many samples into memory in query execution",
      );
    }
  }

  /** Accounts `n` samples no longer held. */
  releaseSamples(n: number): void {
    this.ctx.currentSamples -= n;
  }

  /** Adds a warning. */
  warn(message: string, pos?: PositionRange): void {
    this.ctx.annotations.warn(message, pos);
  }

  /** Adds an info annotation. */
  info(message: string, pos?: PositionRange): void {
    this.ctx.annotations.info(message, pos);
  }

  /** Labels of a result whose name is dropped: now, or at the end with delayed removal. */
  nameDropped(labels: Labels): Labels {
    return this.ctx.delayedNameRemoval ? labels : dropMetricName(labels);
  }

  /** Creates an evaluator for other steps sharing this query's context. */
  child(start: number, end: number, interval: number): Evaluator {
    return new Evaluator(this.ctx, start, end, interval);
  }

  /** Evaluates `expr`, keeping the sample accounting of its result. */
  async eval(expr: Expr): Promise<StepValue> {
    this.checkAbort();
    const before = this.ctx.currentSamples;
    const v = await this.#evalNode(expr);
    this.ctx.currentSamples = before;
    this.addSamples(countValue(v));
    return v;
  }

  /** Evaluates an instant-vector expression. */
  async evalVector(expr: Expr): Promise<StepSeries[]> {
    const v = await this.eval(expr);
    if (v.type !== "vector") {
      throw new QueryError("execution", `expected instant vector, got ${v.type}`);
    }
    return v.series;
  }

  /** Evaluates a scalar expression to one value per step. */
  async evalScalar(expr: Expr): Promise<Float64Array> {
    const v = await this.eval(expr);
    if (v.type !== "scalar") throw new QueryError("execution", `expected scalar, got ${v.type}`);
    return v.v;
  }

  /**
   * Evaluates an instant-vector expression a batch of series at a time: vector selectors and
   * range-vector functions per storage batch, anything else whole as one batch.
   */
  async stream(expr: Expr): Promise<SeriesStream> {
    this.checkAbort();
    switch (expr.kind) {
      case "ParenExpr":
        return await this.stream(expr.expr);
      case "VectorSelector":
        return this.#selectorStream(expr, false, false);
      case "Call": {
        const s = await streamCall(this, expr);
        if (s !== undefined) return s;
        break;
      }
    }
    const v = await this.eval(expr);
    if (v.type !== "vector") {
      throw new QueryError("execution", `expected instant vector, got ${v.type}`);
    }
    return streamOf(v.series, countValue(v));
  }

  async #evalNode(e: Expr): Promise<StepValue> {
    switch (e.kind) {
      case "NumberLiteral":
        return { type: "scalar", v: new Float64Array(this.n).fill(e.value) };
      case "StringLiteral":
        return { type: "string", v: e.value };
      case "ParenExpr":
        return await this.eval(e.expr);
      case "StepInvariantExpr":
        return await this.#evalStepInvariant(e.expr);
      case "UnaryExpr":
        return await this.#evalUnary(e.op, e.expr);
      case "VectorSelector":
        return { type: "vector", series: (await this.selectVector(e)).series };
      case "MatrixSelector":
      case "SubqueryExpr":
        return { type: "matrix", series: await this.#matrixAt(e, this.time(0)) };
      case "Call":
        return await evalCall(this, e);
      case "AggregateExpr":
        return await evalAggregate(this, e);
      case "BinaryExpr":
        return await evalBinary(this, e);
    }
  }

  async #evalStepInvariant(inner: Expr): Promise<StepValue> {
    const once = this.child(this.start, this.start, this.interval);
    const v = await once.eval(inner);
    if (v.type === "matrix" || v.type === "string") return v;
    const n = this.n;
    if (v.type === "scalar") return { type: "scalar", v: new Float64Array(n).fill(v.v[0]) };
    const out: StepSeries[] = [];
    for (const s of v.series) {
      if (s.k[0] === ABSENT) continue;
      const r = newStepSeries(s.labels, s.dropName, n);
      if (s.k[0] === FLOAT) {
        r.f.fill(s.f[0]);
        r.k.fill(FLOAT);
      } else {
        r.h = new Array(n).fill(s.h![0]);
        r.k.fill(HIST);
      }
      out.push(r);
    }
    return { type: "vector", series: out };
  }

  async #evalUnary(op: "+" | "-", inner: Expr): Promise<StepValue> {
    const v = await this.eval(inner);
    if (op === "+") return v;
    if (v.type === "scalar") return { type: "scalar", v: v.v.map((x) => -x) };
    if (v.type !== "vector") return v;
    const out: StepSeries[] = [];
    for (const s of v.series) {
      const r = newStepSeries(this.nameDropped(s.labels), true, this.n);
      for (let i = 0; i < this.n; i++) {
        if (s.k[i] === FLOAT) {
          r.k[i] = FLOAT;
          r.f[i] = -s.f[i];
        } else if (s.k[i] === HIST) {
          setHist(r, i, mulHistogram(s.h![i]!, -1));
        }
      }
      out.push(r);
    }
    return { type: "vector", series: this.ctx.delayedNameRemoval ? out : mergeSameLabels(out) };
  }

  /**
   * Opens the storage selection of a selector: the set opened before evaluation when it covers
   * `hints`, else a new one. Storage failures become query errors.
   */
  #open(vs: VectorSelector, hints: SelectHints): Selection {
    this.checkAbort();
    const planned = this.ctx.planned?.get(vs);
    if (planned && planned.hints.start <= hints.start && hints.end <= planned.hints.end) {
      this.ctx.planned!.delete(vs);
      return new Selection(this, planned.set);
    }
    let set: SeriesSet;
    try {
      set = this.ctx.queryable.select(vs.matchers, hints, this.ctx.signal);
    } catch (err) {
      throw storageError(err);
    }
    this.ctx.openSets.add(set);
    return new Selection(this, set);
  }

  /**
   * Evaluates a vector selector at every step: the newest sample within the lookback window
   * `(t - lookback, t]` unless it is a stale marker. With `timestamps`, also returns each
   * step's sample timestamp (for `timestamp()`); with `startTimestamps`, each step's sample
   * start timestamp in `st` (for `start_timestamp()`, 0 when unknown).
   */
  async selectVector(
    vs: VectorSelector,
    timestamps = false,
    startTimestamps = false,
  ): Promise<SelectedVector> {
    const stream = this.#selectorStream(vs, timestamps, startTimestamps);
    const out: SelectedVector = { series: [], ts: [], st: [] };
    try {
      for (let b = await stream.next(); b !== null; b = await stream.next()) {
        out.series.push(...b.series);
        out.ts.push(...b.ts);
        out.st.push(...b.st);
      }
    } finally {
      await stream.close();
    }
    return out;
  }

  /** A vector selector evaluated a storage batch at a time (see {@linkcode selectVector}). */
  #selectorStream(
    vs: VectorSelector,
    timestamps: boolean,
    startTimestamps: boolean,
  ): SelectorStream {
    const lookback = this.ctx.lookbackDelta;
    const first = (vs.timestamp ?? this.start) - vs.offset;
    const last = (vs.timestamp ?? this.lastTime) - vs.offset;
    // A smoothed selector also reads a lookback delta past the last step, to interpolate.
    const selection = this.#open(vs, {
      ...vs.selectHints,
      start: first - lookback + 1,
      end: vs.smoothed ? last + lookback : last,
      step: this.interval,
    });
    const read = vs.smoothed
      ? (s: Series) => this.#smoothedSeries(vs, s)
      : (s: Series) => this.#instantSeries(vs, s, timestamps, startTimestamps);
    return new SelectorStream(this, selection, read);
  }

  /** One series of an instant vector selector at every step (`undefined`: no value at all). */
  #instantSeries(
    vs: VectorSelector,
    series: Series,
    timestamps: boolean,
    startTimestamps: boolean,
  ): SelectedSeries | undefined {
    const n = this.n;
    const lookback = this.ctx.lookbackDelta;
    const off = vs.offset;
    const at = vs.timestamp;
    const it = series.iterator();
    const hints = vs.histogramStats ? new ResetHints() : undefined;
    const s = newStepSeries(series.labels, false, n);
    const tsArr = timestamps ? new Float64Array(n) : undefined;
    const stArr = startTimestamps ? new Float64Array(n) : undefined;
    let typ: ValueType = it.next();
    let lastT = -Infinity;
    let lastST = 0;
    let lastKind = 0;
    let lastV = 0;
    let lastH: FloatHistogram | undefined;
    let loaded = 0;
    for (let i = 0; i < n; i++) {
      const ref = (at ?? this.time(i)) - off;
      const minT = ref - lookback;
      if (typ !== ValueType.None && it.atT() <= minT) {
        typ = it.seek(minT + 1);
        lastKind = 0;
        hints?.reset();
      }
      while (typ !== ValueType.None && it.atT() <= ref) {
        lastT = it.atT();
        if (stArr) lastST = startTimestampOf(it);
        if (typ === ValueType.Float) {
          lastV = it.atFloat();
          lastKind = FLOAT;
        } else {
          lastH = it.atFloatHistogram();
          if (hints) lastH = hints.next(lastH);
          lastKind = HIST;
        }
        typ = it.next();
      }
      if (lastKind === 0 || lastT <= minT) continue;
      if (lastKind === FLOAT) {
        if (isStaleNaN(lastV)) continue;
        s.k[i] = FLOAT;
        s.f[i] = lastV;
      } else {
        if (isStaleNaN(lastH!.sum)) continue;
        setHist(s, i, lastH!);
      }
      if (tsArr) tsArr[i] = lastT;
      if (stArr) stArr[i] = lastST;
      loaded++;
    }
    if (loaded === 0) return undefined;
    return { series: s, ts: tsArr, st: stArr, samples: loaded };
  }

  /**
   * One series of a `smoothed` instant selector: the value at each step is interpolated between
   * the samples around it (within a lookback delta on either side), or the last sample carried
   * forward.
   */
  #smoothedSeries(vs: VectorSelector, series: Series): SelectedSeries | undefined {
    const n = this.n;
    const lb = this.ctx.lookbackDelta;
    const first = (vs.timestamp ?? this.start) - vs.offset;
    const last = (vs.timestamp ?? this.lastTime) - vs.offset;
    const pos = vs.pos;
    const r = readRange(series, first - lb, last + lb);
    const { ft, fv, ht, hv } = r;
    const name = getLabel(series.labels, METRIC_NAME);
    const s = newStepSeries(series.labels, false, n);
    let present = 0;
    for (let i = 0; i < n; i++) {
      const t = (vs.timestamp ?? this.time(i)) - vs.offset;
      const a = lowerIndex(ft, t - lb);
      const b = lowerIndex(ft, t + lb);
      const ha = lowerIndex(ht, t - lb);
      const hb = lowerIndex(ht, t + lb);
      if (b > a && hb > ha) {
        this.warn(`encountered a mix of histograms and floats for metric name "${name}"`, pos);
        continue;
      }
      if (hb > ha) {
        const k = searchAtLeast(ht, ha, hb, t);
        let h: FloatHistogram;
        if (k < hb && ht[k] === t) h = hv[k];
        else if (k > ha && k < hb) {
          const prev = hv[k - 1];
          const next = hv[k];
          const gauge = CounterResetHint.Gauge;
          try {
            if (usesCustomBuckets(prev) !== usesCustomBuckets(next)) {
              throw new HistogramError("mixed");
            }
            const isCounter = prev.counterResetHint !== gauge || next.counterResetHint !== gauge;
            h = interpolateHistograms(this, pos, prev, ht[k - 1], next, ht[k], t, isCounter);
          } catch (e) {
            if (!(e instanceof HistogramError)) throw e;
            this.warn(
              `vector contains a mix of histograms with exponential and custom buckets schemas for metric name "${name}"`,
              pos,
            );
            continue;
          }
        } else if (k > ha) h = { ...hv[k - 1], counterResetHint: CounterResetHint.Unknown };
        else continue;
        setHist(s, i, h);
        present++;
        continue;
      }
      const k = searchAtLeast(ft, a, b, t);
      if (k < b && ft[k] === t) s.f[i] = fv[k];
      else if (k > a && k < b) s.f[i] = interpolateAt(ft, fv, k - 1, k, t, false);
      else if (k > a) s.f[i] = fv[k - 1];
      else continue;
      s.k[i] = FLOAT;
      present++;
    }
    if (present === 0) return undefined;
    return { series: s, samples: present };
  }

  /**
   * Opens what a range function `func` (or a matrix result) reads from a matrix selector or
   * subquery: every sample of the time span the windows of all steps cover, a series at a time,
   * plus how to place the window of each step.
   */
  async rangeInput(e: MatrixSelector | SubqueryExpr, func?: string): Promise<RangeInput> {
    if (e.kind === "SubqueryExpr") return await this.#subqueryInput(e);
    const vs = e.vectorSelector;
    const range = e.range;
    const at = vs.timestamp;
    // Anchored and smoothed selectors also need samples up to a lookback delta before the
    // window (and, smoothed, after it) to pick or interpolate the boundary values.
    const lb = this.ctx.lookbackDelta;
    const extendLow = vs.anchored || vs.smoothed ? lb : 0;
    const extendHigh = vs.smoothed ? lb : 0;
    const first = (at ?? this.start) - vs.offset - extendLow;
    const last = (at ?? this.lastTime) - vs.offset + extendHigh;
    const selection = this.#open(vs, {
      ...vs.selectHints,
      start: first - range + 1,
      end: last,
      step: this.interval,
      range,
      func: func ?? vs.selectHints?.func,
    });
    // Only these functions read start timestamps (subqueries never carry them).
    const withST = this.ctx.useStartTimestamps === true && func !== undefined &&
      ST_FUNCTIONS.has(func);
    const ctx = this.ctx;
    return {
      range,
      offset: vs.offset,
      at,
      selector: vs,
      extendLow,
      extendHigh,
      async next(): Promise<RangeBatch | null> {
        const batch = await selection.next();
        if (batch === null) return null;
        return {
          length: batch.length,
          samples: 0,
          read(i: number): RangeSeries | undefined {
            const r = readRange(batch[i], first - range, last, vs.histogramStats, withST);
            const loaded = r.ft.length + r.ht.length;
            if (loaded === 0) return undefined;
            ctx.totalSamples += loaded;
            return r;
          },
        };
      },
      close: () => selection.close(),
    };
  }

  /**
   * A subquery as a range input: its expression evaluated at the subquery's steps (aligned to
   * multiples of its step), a batch of series at a time.
   */
  async #subqueryInput(sq: SubqueryExpr): Promise<RangeInput> {
    const off = sq.offset;
    const range = sq.range;
    const step = sq.step > 0 ? sq.step : this.ctx.noStepSubqueryInterval;
    const outerStart = sq.timestamp ?? this.start;
    const outerEnd = sq.timestamp ?? this.lastTime;
    const lo = outerStart - off - range;
    let subStart = step * Math.trunc(lo / step);
    if (subStart <= lo) subStart += step;
    const subEnd = outerEnd - off;
    const inner = this.child(subStart, subEnd, step);
    const stream = inner.n > 0 ? await inner.stream(sq.expr) : streamOf([], 0);
    return {
      range,
      offset: off,
      at: sq.timestamp,
      extendLow: 0,
      extendHigh: 0,
      async next(): Promise<RangeBatch | null> {
        const b = await stream.next();
        if (b === null) return null;
        return {
          length: b.series.length,
          samples: b.samples,
          read: (i) => subquerySeries(inner, b.series[i]),
        };
      },
      close: () => stream.close(),
    };
  }

  /** A matrix selector's or subquery's value at evaluation time `t` (a matrix result). */
  async #matrixAt(e: MatrixSelector | SubqueryExpr, t: number): Promise<RangeSeries[]> {
    const input = await this.rangeInput(e);
    const out: RangeSeries[] = [];
    try {
      for (let b = await input.next(); b !== null; b = await input.next()) {
        let held = 0;
        for (let i = 0; i < b.length; i++) {
          this.checkAbort();
          const s = b.read(i);
          const w = s && windowOf(input, s, t);
          if (w === undefined) continue;
          out.push(w);
          held += w.ft.length + w.ht.length;
        }
        this.releaseSamples(b.samples);
        this.addSamples(held);
      }
    } finally {
      await input.close();
    }
    return out;
  }
}

/** One series of a selector over every step, with the timestamps asked for. */
interface SelectedSeries {
  series: StepSeries;
  ts?: Float64Array;
  st?: Float64Array;
  /** Present values. */
  samples: number;
}

/** A selector's batch: series and, when asked for, their per-step timestamps. */
interface SelectorBatch extends StepBatch {
  ts: Float64Array[];
  st: Float64Array[];
}

/** A vector selector's series a storage batch at a time (the batches' samples accounted). */
class SelectorStream implements SeriesStream {
  constructor(
    readonly ev: Evaluator,
    readonly selection: Selection,
    readonly read: (s: Series) => SelectedSeries | undefined,
  ) {}

  async next(): Promise<SelectorBatch | null> {
    const ev = this.ev;
    for (let batch = await this.selection.next(); batch !== null;) {
      const out: SelectorBatch = { series: [], ts: [], st: [], samples: 0 };
      let samples = 0;
      for (const s of batch) {
        ev.checkAbort();
        const r = this.read(s);
        if (r === undefined) continue;
        out.series.push(r.series);
        if (r.ts) out.ts.push(r.ts);
        if (r.st) out.st.push(r.st);
        samples += r.samples;
      }
      ev.ctx.totalSamples += samples;
      // Check the limit batch by batch, before a huge selection is fully materialized.
      ev.addSamples(samples);
      if (out.series.length > 0) return { ...out, samples };
      batch = await this.selection.next();
    }
    return null;
  }

  close(): Promise<void> {
    return this.selection.close();
  }
}

/** Turns a storage failure into the query error Prometheus reports. */
export function storageError(err: unknown): QueryError {
  if (err instanceof QueryError) return err;
  return new QueryError("storage", `expanding series: ${(err as Error).message ?? err}`, {
    cause: err,
  });
}

/**
 * A storage set read by the evaluator: failures become query errors (or the query's own
 * cancellation), and the set's warnings join the query's once it is read to its end.
 */
class Selection {
  #done = false;

  constructor(readonly ev: Evaluator, readonly set: SeriesSet) {}

  /** The next batch of series, or `null` at the end. */
  async next(): Promise<readonly Series[] | null> {
    if (this.#done) return null;
    let batch;
    try {
      batch = await this.set.next();
    } catch (err) {
      await this.close();
      this.ev.checkAbort();
      throw storageError(err);
    }
    if (batch === null) {
      this.#done = true;
      this.ev.ctx.openSets.delete(this.set);
      for (const w of this.set.warnings()) this.ev.ctx.annotations.warnings.add(w);
    }
    return batch;
  }

  /** Stops reading the set. */
  async close(): Promise<void> {
    if (this.#done) return;
    this.#done = true;
    this.ev.ctx.openSets.delete(this.set);
    await this.set.close();
  }
}

/** A subquery result series as a range series (`undefined` when it has no point). */
function subquerySeries(inner: Evaluator, s: StepSeries): RangeSeries | undefined {
  const ft: number[] = [];
  const fv: number[] = [];
  const ht: number[] = [];
  const hv: FloatHistogram[] = [];
  for (let i = 0; i < inner.n; i++) {
    if (s.k[i] === FLOAT) {
      ft.push(inner.time(i));
      fv.push(s.f[i]);
    } else if (s.k[i] === HIST) {
      ht.push(inner.time(i));
      const h = s.h![i]!;
      // Counter reset hints of subquery points are unreliable; treat them as unknown.
      hv.push(
        h.counterResetHint === 1 || h.counterResetHint === 2 ? { ...h, counterResetHint: 0 } : h,
      );
    }
  }
  if (ft.length + hv.length === 0) return undefined;
  return {
    labels: s.labels,
    dropName: s.dropName,
    ft: Float64Array.from(ft),
    fv: Float64Array.from(fv),
    ht: Float64Array.from(ht),
    hv,
  };
}

/**
 * Derives counter reset hints from consecutive histogram samples, as Prometheus' histogram
 * statistics iterator does when only counts and sums are needed: an unknown hint becomes
 * "reset" or "not reset" by comparing with the previous sample.
 */
class ResetHints {
  #last: FloatHistogram | undefined;

  /** Forgets the previous sample (after skipping samples). */
  reset(): void {
    this.#last = undefined;
  }

  /** Returns `h` with its hint derived (a copy when it changes). */
  next(h: FloatHistogram): FloatHistogram {
    if (isStaleNaN(h.sum)) return h;
    let out = h;
    if (h.counterResetHint === CounterResetHint.Unknown && this.#last !== undefined) {
      const hint = detectReset(h, this.#last)
        ? CounterResetHint.CounterReset
        : CounterResetHint.NotCounterReset;
      out = { ...h, counterResetHint: hint };
    }
    this.#last = out;
    return out;
  }
}

/** The range functions that use start timestamps under `use-start-timestamps`. */
const ST_FUNCTIONS: ReadonlySet<string> = new Set(["rate", "irate", "increase", "resets"]);

// Scratch buffers for reading float samples (see readRange).
let scratchT = new Float64Array(1024);
let scratchV = new Float64Array(1024);
let scratchST = new Float64Array(1024);

/**
 * Reads all non-stale samples of `s` with `minT < t <= maxT`; with `withST`, also their start
 * timestamps. The float arrays are views of scratch buffers, valid until the next call: series
 * are read and used one at a time, so reading a day of samples allocates nothing per series.
 */
function readRange(
  s: Series,
  minT: number,
  maxT: number,
  histogramStats = false,
  withST = false,
): RangeSeries {
  const it = s.iterator();
  const hints = histogramStats ? new ResetHints() : undefined;
  let nf = 0;
  let ht: number[] | undefined;
  let hv: FloatHistogram[] | undefined;
  let hst: number[] | undefined;
  if (withST && scratchST.length < scratchT.length) scratchST = new Float64Array(scratchT.length);
  for (let typ = it.seek(minT + 1); typ !== ValueType.None; typ = it.next()) {
    const t = it.atT();
    if (t > maxT) break;
    if (t <= minT) continue;
    if (typ === ValueType.Float) {
      const v = it.atFloat();
      if (isStaleNaN(v)) continue;
      if (nf === scratchT.length) {
        const t2 = new Float64Array(nf * 2);
        t2.set(scratchT);
        scratchT = t2;
        const v2 = new Float64Array(nf * 2);
        v2.set(scratchV);
        scratchV = v2;
        if (withST) {
          const st2 = new Float64Array(nf * 2);
          st2.set(scratchST);
          scratchST = st2;
        }
      }
      if (withST) scratchST[nf] = startTimestampOf(it);
      scratchT[nf] = t;
      scratchV[nf++] = v;
    } else {
      let h = it.atFloatHistogram();
      if (isStaleNaN(h.sum)) continue;
      if (hints) h = hints.next(h);
      (ht ??= []).push(t);
      (hv ??= []).push(h);
      if (withST) (hst ??= []).push(startTimestampOf(it));
    }
  }
  const r: RangeSeries = {
    labels: s.labels,
    dropName: false,
    ft: scratchT.subarray(0, nf),
    fv: scratchV.subarray(0, nf),
    ht: ht ? Float64Array.from(ht) : EMPTY,
    hv: hv ?? [],
  };
  if (withST) {
    r.fst = scratchST.subarray(0, nf);
    r.hst = hst ? Float64Array.from(hst) : EMPTY;
  }
  return r;
}

const EMPTY = new Float64Array(0);

/**
 * The samples of one series within the window of evaluation time `t` (a matrix result), or
 * `undefined` when the window is empty.
 */
function windowOf(m: RangeInput, s: RangeSeries, t: number): RangeSeries | undefined {
  const ref = (m.at ?? t) - m.offset;
  const lo = ref - m.range;
  if (m.extendLow > 0) {
    if (s.ht.length > 0) {
      const mod = m.selector?.smoothed ? "smoothed" : "anchored";
      throw new QueryError("execution", `${mod} modifier is not supported with histograms`);
    }
    const fa = lowerIndex(s.ft, lo - m.extendLow);
    const fb = lowerIndex(s.ft, ref + m.extendHigh);
    if (fb === fa) return undefined;
    const ext = extendFloats(s.ft, s.fv, fa, fb, lo, ref, m.extendHigh > 0);
    if (ext === undefined) return undefined;
    return { labels: s.labels, dropName: s.dropName, ft: ext[0], fv: ext[1], ht: s.ht, hv: [] };
  }
  const fa = lowerIndex(s.ft, lo);
  const fb = lowerIndex(s.ft, ref);
  const ha = lowerIndex(s.ht, lo);
  const hb = lowerIndex(s.ht, ref);
  if (fb - fa + hb - ha === 0) return undefined;
  return {
    labels: s.labels,
    dropName: s.dropName,
    ft: s.ft.slice(fa, fb),
    fv: s.fv.slice(fa, fb),
    ht: s.ht.slice(ha, hb),
    hv: s.hv.slice(ha, hb),
  };
}
