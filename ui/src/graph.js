// The graph view of a range query's result: uPlot lines or stacked areas on the query's step
// grid, a legend of label sets (click shows one series alone, Ctrl/Cmd+click toggles one), and a
// hover box with the time and the value of the series nearest to the cursor.
import { uPlot } from "./npm.js";
import { formatAxisValue, formatSeries, formatTime, h } from "./format.js";

/** Series drawn at most; the rest is counted in the legend. */
const MAX_SERIES = 1000;

/** A distinct color per series index (golden-angle hues). */
function color(i, alpha = 1) {
  return `hsla(${Math.round((i * 137.508) % 360)}, 70%, 45%, ${alpha})`;
}

function numeric(v) {
  if (v === "+Inf") return Infinity;
  if (v === "-Inf") return -Infinity;
  return Number(v);
}

/**
 * Aligns the matrix `result` on the grid `start..end` (seconds) by `step`: one x array, one value
 * array per series (null where a series has no point). Native histograms are drawn by count.
 */
export function alignSeries(result, start, end, step) {
  const n = Math.floor((end - start) / step) + 1;
  const xs = Array.from({ length: n }, (_, i) => start + i * step);
  const ys = result.slice(0, MAX_SERIES).map((s) => {
    const ys = new Array(n).fill(null);
    for (const [t, v] of s.values ?? []) {
      ys[Math.round((t - start) / step)] = numeric(v);
    }
    for (const [t, hist] of s.histograms ?? []) {
      ys[Math.round((t - start) / step)] = numeric(hist.count);
    }
    return ys.map((v) => (v !== null && Number.isFinite(v) ? v : null));
  });
  return { xs, ys };
}

/** Running sums for a stacked graph (a missing point adds nothing and is not drawn). */
function stack(ys) {
  const sums = new Array(ys[0]?.length ?? 0).fill(0);
  return ys.map((values) =>
    values.map((v, i) => {
      if (v === null) return null;
      sums[i] += v;
      return sums[i];
    })
  );
}

/**
 * Draws `data` (a `matrix` answer of a range query over `start..end` by `step`, seconds) into
 * `container`; returns a handle with `destroy()`. The chart element carries the drawn series
 * count in `data-series`.
 */
export function renderGraph(container, data, { start, end, step, stacked }) {
  container.replaceChildren();
  const result = data.result;
  if (result.length === 0) {
    container.append(h("p", { class: "empty" }, "Empty query result"));
    return { destroy() {} };
  }
  const { xs, ys } = alignSeries(result, start, end, step);
  const names = result.slice(0, MAX_SERIES).map((s) => formatSeries(s.metric));
  const drawn = stacked ? stack(ys) : ys;
  const chartEl = h("div", { class: "chart", "data-series": ys.length });
  const hover = h("div", { class: "hover", hidden: true });
  const legend = h("div", { class: "legend" });
  container.append(chartEl, legend);
  chartEl.append(hover);

  const series = [
    {},
    ...names.map((name, i) => ({
      label: name,
      stroke: color(i),
      width: 1.5,
      fill: stacked ? color(i, 0.35) : undefined,
      points: { show: xs.length < 60 },
      spanGaps: false,
    })),
  ];
  const bands = stacked ? ys.slice(1).map((_, i) => ({ series: [i + 2, i + 1] })) : undefined;
  const opts = {
    width: Math.max(300, container.clientWidth),
    height: 360,
    series,
    bands,
    legend: { show: false },
    cursor: { focus: { prox: 24 }, drag: { x: false, y: false } },
    focus: { alpha: 0.35 },
    scales: { x: { time: true, min: start, max: end } },
    axes: [
      { space: 80 },
      { values: (_, ticks) => ticks.map(formatAxisValue), size: 60 },
    ],
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"),
    hooks: {
      setCursor: [(u) => showHover(u)],
    },
  };

  const showHover = (u) => {
    const { idx, left, top } = u.cursor;
    if (idx === null || idx === undefined || left < 0) {
      hover.hidden = true;
      return;
    }
    // The series whose point at this time is nearest to the cursor (vertically).
    let best = -1;
    let bestDistance = Infinity;
    for (let i = 1; i < u.series.length; i++) {
      const v = drawn[i - 1][idx];
      if (v === null || !u.series[i].show) continue;
      const d = Math.abs(u.valToPos(v, "y") - top);
      if (d < bestDistance) {
        bestDistance = d;
        best = i;
      }
    }
    if (best < 0) {
      hover.hidden = true;
      return;
    }
    hover.replaceChildren(
      h("div", { class: "hover-time" }, `${formatTime(xs[idx] * 1000)} UTC`),
      h(
        "div",
        {},
        h("span", { class: "swatch", style: `background:${color(best - 1)}` }),
        h("b", {}, String(ys[best - 1][idx])),
      ),
      h("div", { class: "hover-series" }, names[best - 1]),
    );
    hover.hidden = false;
    const x = left + 12 + hover.offsetWidth > u.over.clientWidth
      ? left - hover.offsetWidth - 12
      : left + 12;
    hover.style.transform = `translate(${x + u.over.offsetLeft}px, ${
      top + u.over.offsetTop + 12
    }px)`;
  };

  const plot = new uPlot(opts, [xs, ...drawn], chartEl);

  // Legend: click shows only that series (again: all), Ctrl/Cmd+click toggles it.
  let isolated = -1;
  const items = names.map((name, i) => {
    const item = h(
      "button",
      {
        type: "button",
        class: "legend-item",
        title: "Click: only this series; Ctrl+click: toggle",
      },
      h("span", { class: "swatch", style: `background:${color(i)}` }),
      name,
    );
    item.addEventListener("click", (ev) => {
      if (ev.ctrlKey || ev.metaKey) {
        plot.setSeries(i + 1, { show: !plot.series[i + 1].show });
        isolated = -1;
      } else {
        const all = isolated === i;
        isolated = all ? -1 : i;
        plot.batch(() => {
          for (let j = 0; j < names.length; j++) {
            plot.setSeries(j + 1, { show: all || j === i });
          }
        });
      }
      items.forEach((el, j) => el.classList.toggle("off", !plot.series[j + 1].show));
    });
    item.addEventListener(
      "mouseenter",
      () => plot.setSeries(i + 1, { focus: true }),
    );
    item.addEventListener(
      "mouseleave",
      () => plot.setSeries(null, { focus: false }),
    );
    return item;
  });
  legend.append(...items);
  if (result.length > MAX_SERIES) {
    legend.append(
      h(
        "p",
        { class: "note" },
        `Showing ${MAX_SERIES} of ${result.length} series.`,
      ),
    );
  }

  const resize = new ResizeObserver(() => {
    plot.setSize({ width: Math.max(300, container.clientWidth), height: 360 });
  });
  resize.observe(container);
  return {
    destroy() {
      resize.disconnect();
      plot.destroy();
    },
  };
}
