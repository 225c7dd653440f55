/**
 * Compares two Prometheus HTTP API `data` objects (query results, series lists, string lists)
 * and describes the first difference. Series are compared as sets (sorted by labels) unless the
 * query orders them; floats with a small relative tolerance; `"NaN"` equals `"NaN"`.
 *
 * @module
 */

/** Relative tolerance of float comparisons. */
export const EPSILON = 1e-6;

type Json = unknown;

function labelKey(metric: Record<string, string>): string {
  return JSON.stringify(Object.entries(metric).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function floatsEqual(a: string, b: string): boolean {
  if (a === b) return true;
  const x = Number(a), y = Number(b);
  if (Number.isNaN(x) || Number.isNaN(y)) return false;
  if (!Number.isFinite(x) || !Number.isFinite(y)) return x === y;
  if (x === 0 || y === 0) return Math.abs(x - y) < 1e-12;
  return Math.abs(x - y) <= EPSILON * Math.max(Math.abs(x), Math.abs(y));
}

function comparePoint(a: Json, b: Json, where: string): string | undefined {
  const [ta, va] = a as [number, string];
  const [tb, vb] = b as [number, string];
  if (ta !== tb) return `${where}: timestamp ${ta} != ${tb}`;
  if (!floatsEqual(va, vb)) return `${where} @${ta}: value ${va} != ${vb}`;
  return undefined;
}

interface ResultSeries {
  metric: Record<string, string>;
  value?: [number, string];
  values?: [number, string][];
}

/**
 * Returns `undefined` when `got` and `want` (the `data` of query responses) agree, else a
 * one-line description of the first difference.
 */
export function compareQueryData(got: Json, want: Json, ordered = false): string | undefined {
  const ge = (got as { error?: string }).error, we = (want as { error?: string }).error;
  if (ge !== undefined || we !== undefined) {
    return ge === we ? undefined : `error ${JSON.stringify(got)} != ${JSON.stringify(want)}`;
  }
  const g = got as { resultType: string; result: Json };
  const w = want as { resultType: string; result: Json };
  if (g.resultType !== w.resultType) return `resultType ${g.resultType} != ${w.resultType}`;
  if (g.resultType === "scalar" || g.resultType === "string") {
    return comparePoint(g.result, w.result, g.resultType);
  }
  let gs = g.result as ResultSeries[];
  let ws = w.result as ResultSeries[];
  if (gs.length !== ws.length) {
    return `${gs.length} series != ${ws.length}: got ${
      gs.slice(0, 3).map((s) => labelKey(s.metric)).join(" ")
    } want ${ws.slice(0, 3).map((s) => labelKey(s.metric)).join(" ")}`;
  }
  if (ordered) {
    // The order of the values must match; series with equal values may come in any order (Go's
    // sort is not stable), so labels are then compared as sets.
    for (let i = 0; i < gs.length; i++) {
      const gv = gs[i].value?.[1], wv = ws[i].value?.[1];
      if (gv !== undefined && wv !== undefined && !floatsEqual(gv, wv)) {
        return `position ${i}: value ${gv} != ${wv}`;
      }
    }
  }
  {
    const byKey = (x: ResultSeries, y: ResultSeries) => {
      const a = labelKey(x.metric), b = labelKey(y.metric);
      return a < b ? -1 : a > b ? 1 : 0;
    };
    gs = [...gs].sort(byKey);
    ws = [...ws].sort(byKey);
  }
  for (let i = 0; i < gs.length; i++) {
    const kg = labelKey(gs[i].metric), kw = labelKey(ws[i].metric);
    if (kg !== kw) return `series ${i}: labels ${kg} != ${kw}`;
    if (gs[i].value || ws[i].value) {
      const d = comparePoint(gs[i].value, ws[i].value, kg);
      if (d) return d;
    }
    const gv = gs[i].values ?? [], wv = ws[i].values ?? [];
    if (gv.length !== wv.length) {
      return `${kg}: ${gv.length} points != ${wv.length} (first got ${gv[0]?.[0]}, want ${
        wv[0]?.[0]
      })`;
    }
    for (let j = 0; j < gv.length; j++) {
      const d = comparePoint(gv[j], wv[j], kg);
      if (d) return d;
    }
  }
  return undefined;
}

/** Compares `/api/v1/series` data (label sets, order ignored). */
export function compareSeriesData(got: Json, want: Json): string | undefined {
  const g = (got as Record<string, string>[]).map(labelKey).sort();
  const w = (want as Record<string, string>[]).map(labelKey).sort();
  if (g.length !== w.length) return `${g.length} series != ${w.length}`;
  for (let i = 0; i < g.length; i++) if (g[i] !== w[i]) return `series ${g[i]} != ${w[i]}`;
  return undefined;
}

/** Compares string lists (labels, label values), which both sides return sorted. */
export function compareStrings(got: Json, want: Json): string | undefined {
  const g = got as string[], w = want as string[];
  if (g.length !== w.length) return `${g.length} values != ${w.length}: ${g.join(",")} vs ${w}`;
  for (let i = 0; i < g.length; i++) if (g[i] !== w[i]) return `value ${i}: ${g[i]} != ${w[i]}`;
  return undefined;
}
