// The query UI's shell: pages by path (graph, blocks, status), the query page with its URL state
// (Prometheus' `g0.*` parameters, so links are shareable), query history and keyboard shortcuts.
import "./style.css";
import { api } from "./api.js";
import { blocksPage } from "./blocks.js";
import { createEditor } from "./editor.js";
import { formatDuration, formatTime, h, parseDuration, parseTime } from "./format.js";
import { renderGraph } from "./graph.js";
import { statusPage } from "./status.js";
import { renderTable } from "./table.js";

const RANGES = [
  "1m",
  "5m",
  "15m",
  "30m",
  "1h",
  "2h",
  "6h",
  "12h",
  "1d",
  "2d",
  "1w",
  "2w",
  "4w",
  "8w",
  "26w",
  "52w",
].map((r) => parseDuration(r));
const HISTORY_KEY = "parquet-gateway.history";
const HISTORY_SIZE = 50;
const YEAR_MS = 365 * 86_400_000;

/** The data's time range, from the block listing (fetched once). */
let dataRangePromise;
function dataRange() {
  dataRangePromise ??= api("api/v1/gateway/blocks").then(({ data }) => {
    const days = data.streams.flatMap((s) => s.days).filter((d) => d.state === "loaded");
    if (days.length === 0) return undefined;
    return {
      min: Math.min(...days.map((d) => d.minTime)),
      max: Math.max(...days.map((d) => d.maxTime)),
    };
  }).catch(() => undefined);
  return dataRangePromise;
}

function loadHistory() {
  try {
    const list = JSON.parse(localStorage.getItem(HISTORY_KEY) ?? "[]");
    return Array.isArray(list) ? list.filter((q) => typeof q === "string") : [];
  } catch {
    return [];
  }
}

function remember(expr) {
  const list = [expr, ...loadHistory().filter((q) => q !== expr)].slice(
    0,
    HISTORY_SIZE,
  );
  try {
    localStorage.setItem(HISTORY_KEY, JSON.stringify(list));
  } catch {
    // Storage may be disabled; history then lasts for the page only.
  }
  return list;
}

/** The query page's state from the URL (Prometheus 2's `g0.*` parameters). */
function stateFromUrl(url) {
  const p = url.searchParams;
  const endText = p.get("g0.end_input") || p.get("g0.moment_input") || "";
  return {
    expr: p.get("g0.expr") ?? "",
    tab: p.get("g0.tab") === "0" ? "graph" : "table",
    rangeMs: parseDuration(p.get("g0.range_input") ?? "") ||
      parseDuration("1h"),
    endMs: endText ? parseTime(endText) ?? null : null,
    stepMs: parseDuration(p.get("g0.step_input") ?? "") || null,
    stacked: p.get("g0.stacked") === "1",
  };
}

function urlOfState(s) {
  const p = new URLSearchParams();
  p.set("g0.expr", s.expr);
  p.set("g0.tab", s.tab === "graph" ? "0" : "1");
  p.set("g0.stacked", s.stacked ? "1" : "0");
  p.set("g0.range_input", formatDuration(s.rangeMs));
  if (s.endMs !== null) {
    p.set("g0.end_input", formatTime(s.endMs));
    p.set("g0.moment_input", formatTime(s.endMs));
  }
  if (s.stepMs !== null) p.set("g0.step_input", String(s.stepMs / 1000));
  return `graph?${p}`;
}

/** Prometheus' automatic resolution: about 250 points, at least 1 s. */
function autoStepMs(rangeMs) {
  return Math.max(Math.floor(rangeMs / 250 / 1000), 1) * 1000;
}

function toLocalInput(ms) {
  return new Date(ms).toISOString().slice(0, 19);
}

/** The query page. */
async function queryPage(page) {
  const state = stateFromUrl(new URL(location.href));
  const range = await dataRange();
  const now = Date.now();
  // Long-term data usually ends before now: without an end in the URL, end where the data ends.
  if (state.endMs === null && range && range.max < now) state.endMs = range.max;
  const endOf = () => state.endMs ?? Date.now();

  let pastQueries = loadHistory();
  let recallAt = -1;
  let inflight;
  let chart;
  // The first run only completes the URL (e.g. with the default end); later ones are history.
  let firstRun = true;

  const runButton = h("button", {
    type: "button",
    class: "primary",
    title: "Run (Enter)",
  }, "Execute");
  const historySelect = h("select", { "aria-label": "Query history" });
  const stats = h("span", { class: "stats", "aria-live": "polite" });
  const messages = h("div", { class: "messages" });
  const result = h("div", { class: "result-area" });
  const tableTab = h("button", {
    type: "button",
    role: "tab",
    class: "tab",
    title: "Table (t)",
  }, "Table");
  const graphTab = h("button", {
    type: "button",
    role: "tab",
    class: "tab",
    title: "Graph (g)",
  }, "Graph");
  const rangeInput = h("input", {
    type: "text",
    size: 6,
    class: "range",
    "aria-label": "Range",
    title: "Range, e.g. 1h, 2d",
  });
  const endInput = h("input", {
    type: "datetime-local",
    step: 1,
    class: "end",
    "aria-label": "End time (UTC)",
  });
  const stepInput = h("input", {
    type: "text",
    size: 8,
    class: "step",
    "aria-label": "Resolution",
    title: "Step: seconds or a duration; empty for automatic",
  });
  const linesButton = h("button", { type: "button", class: "seg" }, "Lines");
  const stackedButton = h(
    "button",
    { type: "button", class: "seg" },
    "Stacked",
  );
  const button = (text, title, onclick) => h("button", { type: "button", title, onclick }, text);

  const graphControls = h(
    "span",
    { class: "graph-only" },
    h(
      "label",
      {},
      "Range ",
      button("−", "Shorter range (-)", () => zoom(-1)),
      rangeInput,
      button("+", "Longer range (+)", () => zoom(1)),
    ),
    h("label", {}, "Res. ", stepInput),
    h(
      "span",
      { class: "segmented", title: "Lines or stacked (s)" },
      linesButton,
      stackedButton,
    ),
  );
  const timeControls = h(
    "span",
    {},
    h(
      "label",
      {},
      h("span", { class: "time-label" }, "End"),
      " ",
      button("◀", "Earlier ([)", () => shift(-1)),
      endInput,
      button("▶", "Later (])", () => shift(1)),
      button("now", "End now", () => {
        state.endMs = null;
        sync();
        run();
      }),
      " UTC",
    ),
  );
  const editorHost = h("div", { class: "editor" });
  page.replaceChildren(
    h("div", { class: "expr-row" }, editorHost, runButton),
    h("div", { class: "toolbar" }, historySelect, stats),
    messages,
    h("div", { class: "tabs", role: "tablist" }, tableTab, graphTab),
    h("div", { class: "controls" }, timeControls, graphControls),
    result,
  );

  const fillHistory = () => {
    historySelect.replaceChildren(
      h("option", { value: "" }, `History (${pastQueries.length})`),
      ...pastQueries.map((q) =>
        h("option", { value: q }, q.length > 100 ? `${q.slice(0, 100)}…` : q)
      ),
    );
  };
  fillHistory();

  const editor = createEditor(editorHost, {
    doc: state.expr,
    apiBase: new URL(".", document.baseURI).href.replace(/\/$/, ""),
    lookbackMs: range ? Math.max(now - range.min, 0) + 86_400_000 : YEAR_MS,
    onRun: () => run(),
    recall: (dir) => {
      const next = recallAt - dir;
      if (next < -1 || next >= pastQueries.length) return undefined;
      recallAt = next;
      return next === -1 ? "" : pastQueries[next];
    },
  });

  const sync = () => {
    const graph = state.tab === "graph";
    tableTab.classList.toggle("active", !graph);
    graphTab.classList.toggle("active", graph);
    tableTab.setAttribute("aria-selected", String(!graph));
    graphTab.setAttribute("aria-selected", String(graph));
    graphControls.hidden = !graph;
    timeControls.querySelector(".time-label").textContent = graph ? "End" : "Evaluation time";
    rangeInput.value = formatDuration(state.rangeMs);
    endInput.value = state.endMs === null ? "" : toLocalInput(state.endMs);
    stepInput.value = state.stepMs === null ? "" : formatDuration(state.stepMs);
    stepInput.placeholder = `auto: ${formatDuration(autoStepMs(state.rangeMs))}`;
    linesButton.classList.toggle("active", !state.stacked);
    stackedButton.classList.toggle("active", state.stacked);
  };

  const zoom = (dir) => {
    const i = RANGES.findIndex((r) => r >= state.rangeMs);
    const at = i < 0
      ? RANGES.length - 1
      : RANGES[i] === state.rangeMs
      ? i + dir
      : dir > 0
      ? i
      : i - 1;
    state.rangeMs = RANGES[Math.max(0, Math.min(RANGES.length - 1, at))];
    sync();
    run();
  };
  const shift = (dir) => {
    state.endMs = endOf() + dir * Math.floor(state.rangeMs / 2);
    sync();
    run();
  };

  const message = (kind, text) =>
    messages.append(h("div", { class: `alert ${kind}`, role: "alert" }, text));

  async function run() {
    state.expr = editor.text;
    recallAt = -1;
    inflight?.abort();
    chart?.destroy();
    chart = undefined;
    messages.replaceChildren();
    stats.textContent = "";
    const target = urlOfState(state);
    if (new URL(target, document.baseURI).href !== location.href) {
      globalThis.history[firstRun ? "replaceState" : "pushState"](
        null,
        "",
        target,
      );
    }
    firstRun = false;
    if (state.expr.trim() === "") {
      result.replaceChildren();
      return;
    }
    pastQueries = remember(state.expr);
    fillHistory();
    const controller = inflight = new AbortController();
    const end = endOf();
    const started = performance.now();
    result.classList.add("busy");
    try {
      if (state.tab === "table") {
        const answer = await api("api/v1/query", {
          form: { query: state.expr, time: String(end / 1000) },
          signal: controller.signal,
        });
        const ms = Math.round(performance.now() - started);
        showAnnotations(answer);
        const rows = renderTable(result, answer.data);
        stats.textContent = `Load time: ${ms} ms · Result series: ${rows}`;
      } else {
        const step = state.stepMs ?? autoStepMs(state.rangeMs);
        const start = end - state.rangeMs;
        const answer = await api("api/v1/query_range", {
          form: {
            query: state.expr,
            start: String(start / 1000),
            end: String(end / 1000),
            step: String(step / 1000),
          },
          signal: controller.signal,
        });
        const ms = Math.round(performance.now() - started);
        showAnnotations(answer);
        chart = renderGraph(result, answer.data, {
          start: start / 1000,
          end: end / 1000,
          step: step / 1000,
          stacked: state.stacked,
        });
        stats.textContent = `Load time: ${ms} ms · Resolution: ${formatDuration(step)} · ` +
          `Result series: ${answer.data.result.length}`;
      }
    } catch (err) {
      if (err.name === "AbortError") return;
      result.replaceChildren();
      message("error", `Error executing query: ${err.message}`);
    } finally {
      result.classList.remove("busy");
    }
  }

  function showAnnotations(answer) {
    for (const w of answer.warnings) message("warning", w);
    for (const i of answer.infos) message("info", i);
  }

  tableTab.addEventListener("click", () => setTab("table"));
  graphTab.addEventListener("click", () => setTab("graph"));
  const setTab = (tab) => {
    if (state.tab === tab) return;
    state.tab = tab;
    sync();
    run();
  };
  const setStacked = (stacked) => {
    state.stacked = stacked;
    sync();
    if (state.tab === "graph") run();
  };
  linesButton.addEventListener("click", () => setStacked(false));
  stackedButton.addEventListener("click", () => setStacked(true));
  rangeInput.addEventListener("change", () => {
    const ms = parseDuration(rangeInput.value);
    if (ms) state.rangeMs = ms;
    sync();
    run();
  });
  endInput.addEventListener("change", () => {
    state.endMs = endInput.value ? parseTime(endInput.value) ?? state.endMs : null;
    sync();
    run();
  });
  stepInput.addEventListener("change", () => {
    state.stepMs = stepInput.value.trim() === ""
      ? null
      : parseDuration(stepInput.value) || state.stepMs;
    sync();
    run();
  });
  historySelect.addEventListener("change", () => {
    if (historySelect.value) {
      editor.text = historySelect.value;
      historySelect.value = "";
      run();
    }
  });
  runButton.addEventListener("click", () => run());

  sync();
  if (state.expr) run();
  editor.focus();
  return {
    keys: {
      "/": () => editor.focus(),
      t: () => setTab("table"),
      g: () => setTab("graph"),
      s: () => setStacked(!state.stacked),
      "-": () => zoom(-1),
      "+": () => zoom(1),
      "[": () => shift(-1),
      "]": () => shift(1),
    },
    destroy() {
      inflight?.abort();
      chart?.destroy();
    },
  };
}

const PAGES = { graph: queryPage, blocks: blocksPage, status: statusPage };
let current;

function pageName() {
  const last = location.pathname.split("/").pop();
  return last === "blocks" || last === "status" ? last : "graph";
}

async function render() {
  current?.destroy?.();
  current = undefined;
  const name = pageName();
  for (const a of document.querySelectorAll("a.nav")) {
    a.classList.toggle("active", a.dataset.page === name);
  }
  const page = document.getElementById("page");
  page.className = `page-${name}`;
  current = await PAGES[name](page);
}

function navigate(path) {
  globalThis.history.pushState(null, "", path);
  render();
}

document.addEventListener("click", (ev) => {
  const a = ev.target.closest?.("a.nav, a.brand");
  if (!a || ev.ctrlKey || ev.metaKey || ev.shiftKey || ev.button !== 0) return;
  ev.preventDefault();
  navigate(a.getAttribute("href"));
});
globalThis.addEventListener("popstate", () => render());

const help = document.getElementById("help");
document.querySelector(".help-toggle").addEventListener(
  "click",
  () => help.showModal(),
);
document.addEventListener("keydown", (ev) => {
  const t = ev.target;
  if (ev.ctrlKey || ev.metaKey || ev.altKey || help.open) return;
  if (
    t instanceof HTMLInputElement || t instanceof HTMLSelectElement ||
    t.isContentEditable
  ) return;
  const global = {
    "?": () => help.showModal(),
    q: () => navigate("graph"),
    b: () => navigate("blocks"),
    i: () => navigate("status"),
  };
  const action = current?.keys?.[ev.key] ?? global[ev.key];
  if (action) {
    ev.preventDefault();
    action();
  }
});

render();
