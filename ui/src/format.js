// Formatting shared by the pages: label sets as PromQL writes them, times in UTC, durations as
// PromQL writes them, byte sizes and counts.

/** Escapes a label value as PromQL string literals (and Prometheus' UI) show it. */
function quote(value) {
  return JSON.stringify(value);
}

/** `name{a="1", b="2"}`; `{}` when there are no labels. */
export function formatSeries(metric) {
  const name = metric.__name__ ?? "";
  const rest = Object.keys(metric).filter((k) => k !== "__name__").sort();
  if (rest.length === 0 && name) return name;
  return `${name}{${rest.map((k) => `${k}=${quote(metric[k])}`).join(", ")}}`;
}

/** `YYYY-MM-DD HH:MM:SS` (UTC) of ms since the epoch; milliseconds when there are any. */
export function formatTime(ms) {
  const iso = new Date(ms).toISOString();
  const text = `${iso.slice(0, 10)} ${iso.slice(11, 19)}`;
  return ms % 1000 === 0 ? text : `${text}.${iso.slice(20, 23)}`;
}

const UNITS = [
  ["y", 365 * 86_400_000],
  ["w", 7 * 86_400_000],
  ["d", 86_400_000],
  ["h", 3_600_000],
  ["m", 60_000],
  ["s", 1000],
  ["ms", 1],
];

/** A duration as PromQL writes it: `1h30m`, `2d`, `15s`. */
export function formatDuration(ms) {
  if (ms === 0) return "0s";
  let rest = ms;
  let out = "";
  for (const [unit, size] of UNITS) {
    const n = Math.floor(rest / size);
    if (n > 0) {
      out += `${n}${unit}`;
      rest -= n * size;
    }
  }
  return out;
}

/** Parses a PromQL duration (`1h30m`, `90s`) or plain seconds (`15`, `0.5`) into ms. */
export function parseDuration(text) {
  const s = text.trim();
  if (/^\d+(\.\d+)?$/.test(s)) return Math.round(Number(s) * 1000);
  const re = /(\d+)(ms|y|w|d|h|m|s)/gy;
  let total = 0;
  let end = 0;
  for (let m = re.exec(s); m; m = re.exec(s)) {
    total += Number(m[1]) * UNITS.find(([u]) => u === m[2])[1];
    end = re.lastIndex;
  }
  return end === s.length && end > 0 ? total : undefined;
}

/** Parses `YYYY-MM-DD HH:MM[:SS]`, `YYYY-MM-DDTHH:MM[:SS]` (UTC) or RFC 3339 into ms. */
export function parseTime(text) {
  const s = text.trim().replace(" ", "T");
  if (
    !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?$/
      .test(s)
  ) {
    return undefined;
  }
  const ms = Date.parse(/(Z|[+-]\d{2}:\d{2})$/.test(s) ? s : `${s}Z`);
  return Number.isNaN(ms) ? undefined : ms;
}

/** `1.5 MiB`. */
export function formatBytes(n) {
  if (n === undefined || n === null) return "";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(v < 10 ? 2 : 1)} ${units[i]}`;
}

/** `1,234,567`. */
export function formatCount(n) {
  return n === undefined || n === null ? "" : n.toLocaleString("en-US");
}

/** Short numbers for axis ticks: `1.5k`, `2M`, `0.001`. */
export function formatAxisValue(v) {
  if (v === null || v === undefined) return "";
  const a = Math.abs(v);
  const si = [[1e12, "T"], [1e9, "G"], [1e6, "M"], [1e3, "k"]];
  for (const [size, suffix] of si) {
    if (a >= size) return `${+(v / size).toPrecision(3)}${suffix}`;
  }
  return a === 0 ? "0" : `${+v.toPrecision(3)}`;
}

/** Creates an element with attributes and children (strings become text). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}
