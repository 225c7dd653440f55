// The table view of an instant query's result, as Prometheus shows it: one row per series (label
// set and value); range vectors list their samples; scalars and strings are one row.
import { formatSeries, formatTime, h } from "./format.js";

/** Rows shown at most; the rest is counted. */
const MAX_ROWS = 10_000;

function histogramText(hist) {
  // Boundary rules: 0 open left, 1 open right, 2 open both, 3 closed both.
  const brackets = [["(", "]"], ["[", ")"], ["(", ")"], ["[", "]"]];
  const buckets = (hist.buckets ?? []).map(([rule, lo, hi, count]) => {
    const [open, close] = brackets[rule] ?? brackets[0];
    return `${open}${lo}, ${hi}${close}: ${count}`;
  });
  return `count: ${hist.count} sum: ${hist.sum}${buckets.length ? ` ${buckets.join(" ")}` : ""}`;
}

function sampleText(s) {
  return s.value !== undefined ? s.value[1] : histogramText(s.histogram[1]);
}

function samplesText(s) {
  const points = [
    ...(s.values ?? []).map(([t, v]) => [t, v]),
    ...(s.histograms ?? []).map(([t, hist]) => [t, histogramText(hist)]),
  ].sort((a, b) => a[0] - b[0]);
  return points.map(([t, v]) => h("div", {}, `${v} @${t} (${formatTime(t * 1000)})`));
}

/** Renders `data` (the `data` of a query answer) into a table; returns its row count. */
export function renderTable(container, data) {
  container.replaceChildren();
  const rows = [];
  switch (data.resultType) {
    case "vector":
      for (const s of data.result) {
        rows.push([formatSeries(s.metric), sampleText(s)]);
      }
      break;
    case "matrix":
      for (const s of data.result) {
        rows.push([formatSeries(s.metric), samplesText(s)]);
      }
      break;
    case "scalar":
      rows.push(["scalar", data.result[1]]);
      break;
    case "string":
      rows.push(["string", data.result[1]]);
      break;
  }
  if (rows.length === 0) {
    container.append(h("p", { class: "empty" }, "Empty query result"));
    return 0;
  }
  const body = h(
    "tbody",
    {},
    rows.slice(0, MAX_ROWS).map(([series, value]) =>
      h(
        "tr",
        {},
        h("td", { class: "series" }, series),
        h("td", { class: "value" }, value),
      )
    ),
  );
  container.append(
    h(
      "table",
      { class: "result" },
      h("thead", {}, h("tr", {}, h("th", {}, "Series"), h("th", {}, "Value"))),
      body,
    ),
  );
  if (rows.length > MAX_ROWS) {
    container.append(
      h("p", { class: "note" }, `Showing ${MAX_ROWS} of ${rows.length} rows.`),
    );
  }
  return rows.length;
}
