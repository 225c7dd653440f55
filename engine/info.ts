/**
 * The experimental `info(v, {data label selector})` function: enriches each series with the
 * data labels of the info metrics (`target_info` by default, or `*_info` metrics chosen by the
 * selector) that share its identifying labels `instance` and `job`.
 *
 * @module
 */
import type { Call, Expr, VectorSelector } from "./ast.ts";
import { QueryError } from "./errors.ts";
import { getLabel, type Labels, METRIC_NAME, setLabel } from "../model/labels.ts";
import { Matcher, MatchType } from "../model/matchers.ts";
import type { StepEvaluator } from "./step_evaluator.ts";
import { FLOAT, HIST, SeriesBuilder, type StepValue } from "./step_vector.ts";

const TARGET_INFO = "target_info";
const IDENTIFYING_LABELS = ["instance", "job"];

/** The timestamp (`@`) and offset of the first selector in `e`, for the info series lookup. */
function timestampAndOffset(e: Expr): { at?: number; offset: number } {
  const visit = (n: Expr, subqueries: { at?: number; offset: number }[]): {
    at?: number;
    offset: number;
  } | undefined => {
    switch (n.kind) {
      case "VectorSelector": {
        let at = n.timestamp;
        let offset = n.offset;
        for (let i = subqueries.length - 1; at === undefined && i >= 0; i--) {
          offset += subqueries[i].offset;
          at = subqueries[i].at;
        }
        return { at, offset };
      }
      case "MatrixSelector":
        return visit(n.vectorSelector, subqueries);
      case "SubqueryExpr":
        return visit(n.expr, [...subqueries, { at: n.timestamp, offset: n.offset }]);
      case "ParenExpr":
      case "UnaryExpr":
      case "StepInvariantExpr":
        return visit(n.expr, subqueries);
      case "AggregateExpr":
        return (n.param && visit(n.param, subqueries)) ?? visit(n.expr, subqueries);
      case "BinaryExpr":
        return visit(n.lhs, subqueries) ?? visit(n.rhs, subqueries);
      case "Call":
        for (const a of n.args) {
          const r = visit(a, subqueries);
          if (r) return r;
        }
        return undefined;
      default:
        return undefined;
    }
  };
  return visit(e, []) ?? { offset: 0 };
}

/** The `__name__` matchers that select info metrics. */
function effectiveNameMatchers(matchers: Matcher[]): Matcher[] {
  if (matchers.some((m) => m.type === MatchType.Equal || m.type === MatchType.Regexp)) {
    return matchers;
  }
  if (matchers.length > 0) {
    return [new Matcher(MatchType.Regexp, METRIC_NAME, ".+_info"), ...matchers];
  }
  return [new Matcher(MatchType.Equal, METRIC_NAME, TARGET_INFO)];
}

/** Escapes RE2 metacharacters (Go's `regexp.QuoteMeta`). */
function quoteMeta(s: string): string {
  return s.replace(/[\\.+*?()|[\]{}^$]/g, "\\$&");
}

/** Go's `labels.Labels.String()`. */
function goLabels(labels: Labels): string {
  return "{" + labels.map((l) => `${l.name}=${JSON.stringify(l.value)}`).join(", ") + "}";
}

/** Evaluates `info(v [, selector])`. */
export async function evalInfo(ev: StepEvaluator, call: Call): Promise<StepValue> {
  const n = ev.n;
  const { at, offset } = timestampAndOffset(call.args[0]);
  const base = await ev.evalVector(call.args[0]);
  const dataMatchers = new Map<string, Matcher[]>();
  let nameMatchers: Matcher[] = [];
  if (call.args.length > 1) {
    let sel = call.args[1];
    while (sel.kind === "ParenExpr") sel = sel.expr;
    for (const m of (sel as VectorSelector).matchers) {
      dataMatchers.set(m.name, [...(dataMatchers.get(m.name) ?? []), m]);
      if (m.name === METRIC_NAME) nameMatchers.push(m);
    }
  } else {
    nameMatchers = [new Matcher(MatchType.Equal, METRIC_NAME, TARGET_INFO)];
  }
  const effective = effectiveNameMatchers(nameMatchers);
  const ignored = base.map((s) => {
    const name = getLabel(s.labels, METRIC_NAME);
    return effective.every((m) => m.matches(name));
  });

  // Select the info series sharing identifying label values with the input.
  const idValues = new Map<string, Set<string>>();
  base.forEach((s, j) => {
    if (ignored[j]) return;
    for (const l of IDENTIFYING_LABELS) {
      const v = getLabel(s.labels, l);
      if (v === "") continue;
      if (!idValues.has(l)) idValues.set(l, new Set());
      idValues.get(l)!.add(v);
    }
  });
  const dataNameMatchers = dataMatchers.get(METRIC_NAME) ?? [];
  dataMatchers.delete(METRIC_NAME);
  let info: { labels: Labels; t: Float64Array; present: Uint8Array }[] = [];
  if (idValues.size > 0) {
    const matchers: Matcher[] = [];
    for (const [name, vals] of idValues) {
      matchers.push(new Matcher(MatchType.Regexp, name, [...vals].map(quoteMeta).join("|")));
    }
    for (const ms of dataMatchers.values()) matchers.push(...ms);
    matchers.push(...effectiveNameMatchers(dataNameMatchers));
    const vs: VectorSelector = {
      kind: "VectorSelector",
      name: "",
      matchers,
      offset,
      timestamp: at,
      selectHints: { func: "info" },
      pos: call.pos,
    };
    const { series, ts } = await ev.selectVector(vs, true);
    info = series.map((s, k) => ({ labels: s.labels, t: ts[k], present: s.k }));
  }

  const infoNames = [...new Set(info.map((s) => getLabel(s.labels, METRIC_NAME)))];
  const sig = (name: string, labels: Labels) => {
    let key = name;
    for (const l of IDENTIFYING_LABELS) key += "\xff" + getLabel(labels, l);
    return key;
  };
  const baseSigs = base.map((s) => infoNames.map((name) => sig(name, s.labels)));
  const infoSigs = info.map((s) => sig(getLabel(s.labels, METRIC_NAME), s.labels));
  const allMatchEmpty = [...dataMatchers.values()].every((ms) => ms.every((m) => m.matches("")));

  const out = new SeriesBuilder(n);
  const bySig = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    bySig.clear();
    for (let k = 0; k < info.length; k++) {
      if (info[k].present[i] === HIST) {
        throw new QueryError("execution", "info sample should be float");
      }
      if (info[k].present[i] !== FLOAT) continue;
      const prev = bySig.get(infoSigs[k]);
      if (prev !== undefined) {
        const pt = info[prev].t[i];
        const t = info[k].t[i];
        if (pt > t) continue;
        if (pt === t) {
          throw new QueryError(
            "execution",
            `found duplicate series for info metric: existing ${
              goLabels(info[prev].labels)
            } @ ${pt}, new ${goLabels(info[k].labels)} @ ${t}`,
          );
        }
      }
      bySig.set(infoSigs[k], k);
    }
    for (let j = 0; j < base.length; j++) {
      const s = base[j];
      if (s.k[i] === 0) continue;
      let labels = s.labels;
      if (!ignored[j]) {
        let added: Labels = [];
        let matched = 0;
        for (let x = 0; x < infoNames.length; x++) {
          const k = bySig.get(baseSigs[j][x]);
          if (k === undefined) continue;
          matched++;
          for (const l of info[k].labels) {
            if (l.name === METRIC_NAME) continue;
            if (dataMatchers.size > 0 && !dataMatchers.has(l.name)) continue;
            const have = getLabel(added, l.name);
            if (have !== "" && have !== l.value) {
              throw new QueryError("execution", `conflicting label: ${l.name}`);
            }
            if (getLabel(s.labels, l.name) !== "") continue;
            added = setLabel(added, l.name, l.value);
          }
        }
        if (matched === 0 && !allMatchEmpty) continue;
        for (const l of added) labels = setLabel(labels, l.name, l.value);
      }
      const o = out.index(labels, s.dropName);
      if (s.k[i] === FLOAT) out.putFloat(o, i, s.f[i]);
      else out.putHist(o, i, s.h![i]!);
    }
  }
  return { type: "vector", series: out.result() };
}
