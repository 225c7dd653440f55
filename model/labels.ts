/**
 * Label sets, the identity of every series (Prometheus' `model/labels`).
 *
 * A {@linkcode Labels} value is an array of name/value pairs sorted by name with unique names.
 * Every producer (TSDB reader, Parquet reader, engine) keeps that invariant, so comparisons and
 * lookups never need to sort again.
 *
 * @module
 */

/** One label: a name/value pair. */
export interface Label {
  /** The label name, e.g. `__name__` or `job`. */
  readonly name: string;
  /** The label value; never empty in a stored series (an empty value means "absent"). */
  readonly value: string;
}

/** A label set sorted by name, names unique. Treat as immutable. */
export type Labels = readonly Label[];

/** The name of the label that holds the metric name. */
export const METRIC_NAME = "__name__";

/** The empty label set. */
export const EMPTY_LABELS: Labels = Object.freeze([]);

/**
 * Builds a sorted label set from a record, dropping empty values as Prometheus does.
 *
 * @example
 * ```ts
 * labelsFromRecord({ job: "api", __name__: "up" }); // [{__name__:"up"},{job:"api"}]
 * ```
 */
export function labelsFromRecord(record: Record<string, string>): Labels {
  const out: Label[] = [];
  for (const name in record) {
    const value = record[name];
    if (value !== "") out.push({ name, value });
  }
  out.sort((a, b) => compareStrings(a.name, b.name));
  return out;
}

/** Builds a sorted label set from pairs, dropping empty values; later duplicates win. */
export function labelsFromPairs(pairs: Iterable<readonly [string, string]>): Labels {
  const map = new Map<string, string>();
  for (const [name, value] of pairs) map.set(name, value);
  const out: Label[] = [];
  for (const [name, value] of map) if (value !== "") out.push({ name, value });
  out.sort((a, b) => compareStrings(a.name, b.name));
  return out;
}

/** Returns the labels as a plain record (for JSON output). */
export function labelsToRecord(labels: Labels): Record<string, string> {
  const out: Record<string, string> = {};
  for (const l of labels) out[l.name] = l.value;
  return out;
}

/** Returns the value of label `name`, or `""` when the set has no such label. */
export function getLabel(labels: Labels, name: string): string {
  // Label sets are small; a linear scan beats a binary search below ~16 entries.
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i];
    if (l.name === name) return l.value;
    if (l.name > name) break;
  }
  return "";
}

/**
 * Compares two strings by UTF-8 byte order, the order Go's `strings.Compare` and Prometheus use.
 * For strings without lone surrogates, UTF-16 code unit order equals code point order except
 * for characters above U+FFFF versus U+E000..U+FFFF; this function handles that case.
 */
export function compareStrings(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const ca = a.charCodeAt(i);
    const cb = b.charCodeAt(i);
    if (ca !== cb) return fixupCodeUnit(ca) < fixupCodeUnit(cb) ? -1 : 1;
  }
  return a.length - b.length < 0 ? -1 : a.length === b.length ? 0 : 1;
}

// Code units whose UTF-16 order differs from UTF-8 byte order: surrogates (characters above
// U+FFFF), which sort before U+E000..U+FFFF as code units and after them as UTF-8.
const SURROGATE = /[\ud800-\udfff]/;

/**
 * Sorts `values` in place by UTF-8 byte order, as {@linkcode compareStrings} compares, and
 * returns them. Strings without surrogates are in that order by code unit, so the engine's own
 * comparison sorts them, several times faster than a comparator function (label values: tens of
 * thousands per call).
 */
export function sortStrings(values: string[]): string[] {
  for (const v of values) if (SURROGATE.test(v)) return values.sort(compareStrings);
  return values.sort();
}

// Maps a UTF-16 code unit so that unit order equals code point (and so UTF-8 byte) order:
// surrogates, which encode code points above U+FFFF, must sort after U+E000..U+FFFF.
function fixupCodeUnit(unit: number): number {
  if (unit < 0xd800) return unit;
  return unit >= 0xe000 ? unit - 0x800 : unit + 0x2000;
}

/** Compares label sets the Prometheus way (`labels.Compare`): label by label, name then value. */
export function compareLabels(a: Labels, b: Labels): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a[i];
    const y = b[i];
    if (x.name !== y.name) return compareStrings(x.name, y.name);
    if (x.value !== y.value) return compareStrings(x.value, y.value);
  }
  return a.length - b.length < 0 ? -1 : a.length === b.length ? 0 : 1;
}

/** Reports whether two label sets are equal. */
export function labelsEqual(a: Labels, b: Labels): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    if (a[i].name !== b[i].name || a[i].value !== b[i].value) return false;
  }
  return true;
}

/**
 * Returns a string that identifies the label set exactly (for use as a `Map` key).
 * Uses separators that cannot occur in valid UTF-8 text, so distinct sets give distinct keys.
 */
export function labelsKey(labels: Labels): string {
  let key = "";
  for (let i = 0; i < labels.length; i++) key += labels[i].name + "\xff" + labels[i].value + "\xfe";
  return key;
}

/** Formats a label set as Prometheus does: `name{a="b", c="d"}` with the metric name in front. */
export function labelsToString(labels: Labels): string {
  let name = "";
  const parts: string[] = [];
  for (const l of labels) {
    if (l.name === METRIC_NAME && isValidLegacyMetricName(l.value)) name = l.value;
    else parts.push(`${formatLabelName(l.name)}=${JSON.stringify(l.value)}`);
  }
  return parts.length === 0 && name !== "" ? name : `${name}{${parts.join(", ")}}`;
}

/** Reports whether `name` is a legacy (unquoted) metric name `[a-zA-Z_:][a-zA-Z0-9_:]*`. */
export function isValidLegacyMetricName(name: string): boolean {
  return /^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(name);
}

/** Reports whether `name` is a legacy (unquoted) label name `[a-zA-Z_][a-zA-Z0-9_]*`. */
export function isValidLegacyLabelName(name: string): boolean {
  return /^[a-zA-Z_][a-zA-Z0-9_]*$/.test(name);
}

function formatLabelName(name: string): string {
  return isValidLegacyLabelName(name) ? name : JSON.stringify(name);
}

/** Returns a copy of `labels` without the labels named in `names`. */
export function dropLabels(labels: Labels, names: ReadonlySet<string>): Labels {
  return labels.filter((l) => !names.has(l.name));
}

/** Returns a copy of `labels` keeping only the labels named in `names`. */
export function keepLabels(labels: Labels, names: ReadonlySet<string>): Labels {
  return labels.filter((l) => names.has(l.name));
}

/** Returns a copy of `labels` with `name` set to `value` (removed when `value` is empty). */
export function setLabel(labels: Labels, name: string, value: string): Labels {
  const out: Label[] = [];
  let placed = false;
  for (const l of labels) {
    if (!placed && compareStrings(l.name, name) >= 0) {
      placed = true;
      if (value !== "") out.push({ name, value });
      if (l.name === name) continue;
    }
    out.push(l);
  }
  if (!placed && value !== "") out.push({ name, value });
  return out;
}
