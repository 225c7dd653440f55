/**
 * Test helper: parses `promtool tsdb dump` output (`{a="b", ...} value timestamp` per line)
 * into series keyed by their label string, samples in file order.
 *
 * @module
 */

/** Samples of one series from a dump. */
export interface DumpSeries {
  /** The label set as printed, e.g. `{__name__="up", job="a"}`. */
  key: string;
  /** Labels as name/value pairs in printed order. */
  labels: [string, string][];
  ts: number[];
  values: number[];
}

const LINE_RE = /^(\{.*\}) (\S+) (-?\d+)$/;
const LABEL_RE = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** Parses dump text; throws on a line that does not match the format. */
export function parseDump(text: string): Map<string, DumpSeries> {
  const out = new Map<string, DumpSeries>();
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const m = LINE_RE.exec(line);
    if (!m) throw new Error(`bad dump line: ${line}`);
    let s = out.get(m[1]);
    if (!s) {
      const labels: [string, string][] = [];
      for (const l of m[1].matchAll(LABEL_RE)) labels.push([l[1], JSON.parse(`"${l[2]}"`)]);
      s = { key: m[1], labels, ts: [], values: [] };
      out.set(m[1], s);
    }
    s.values.push(parseGoFloat(m[2]));
    s.ts.push(Number(m[3]));
  }
  return out;
}

/** Formats labels as promtool prints them. */
export function dumpKey(labels: readonly { name: string; value: string }[]): string {
  return `{${labels.map((l) => `${l.name}=${JSON.stringify(l.value)}`).join(", ")}}`;
}

/** Parses a float as Go's `strconv.FormatFloat` prints it (`+Inf`, `-Inf`, `NaN`). */
export function parseGoFloat(s: string): number {
  if (s === "+Inf") return Infinity;
  if (s === "-Inf") return -Infinity;
  return Number(s);
}
