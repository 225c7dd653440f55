/**
 * Prometheus relabeling (`relabel_configs`, model/relabel): the YAML list of rules and their
 * application to a label set, as Thanos applies `--selector.relabel-config` to the external
 * labels of what a store may serve.
 *
 * Each rule has Prometheus' fields and defaults: `source_labels` (none), `separator` (`;`),
 * `regex` (`(.*)`, RE2 syntax, fully anchored, `.` matching newlines), `modulus`,
 * `target_label`, `replacement` (`$1`, with Go's `$1`/`${name}` references) and `action`
 * (`replace`, case-insensitive). Supported actions: `replace`, `keep`, `drop`, `keepequal`,
 * `dropequal`, `hashmod`, `labelmap`, `labeldrop` and `labelkeep` (Thanos' store selector itself
 * accepts only `keep`, `drop` and `hashmod`); `lowercase` and `uppercase` are refused. Label
 * names are validated as UTF-8 names (Thanos' choice). Unlike Prometheus and Thanos, an unknown
 * field is an error rather than ignored, so a misspelt key cannot quietly select everything.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { RE2JS } from "re2js";
import { isMap, isScalar, isSeq, type Node, parseDocument, type Scalar } from "yaml";
import { type Labels, labelsFromPairs } from "./labels.ts";
import { expandTemplate } from "./regexp_template.ts";

/** The relabel actions this implementation applies. */
export type RelabelAction =
  | "replace"
  | "keep"
  | "drop"
  | "keepequal"
  | "dropequal"
  | "hashmod"
  | "labelmap"
  | "labeldrop"
  | "labelkeep";

const ACTIONS: ReadonlySet<string> = new Set<RelabelAction>([
  "replace",
  "keep",
  "drop",
  "keepequal",
  "dropequal",
  "hashmod",
  "labelmap",
  "labeldrop",
  "labelkeep",
]);

/** Prometheus' actions that are not applied here. */
const UNSUPPORTED_ACTIONS: ReadonlySet<string> = new Set(["lowercase", "uppercase"]);

const FIELDS = [
  "source_labels",
  "separator",
  "regex",
  "modulus",
  "target_label",
  "replacement",
  "action",
] as const;

/** The default regex, separator and replacement. */
const DEFAULT_REGEX = "(.*)";
const DEFAULT_SEPARATOR = ";";
const DEFAULT_REPLACEMENT = "$1";

/** A relabel configuration is invalid. */
export class RelabelConfigError extends Error {
  /** The error's name, for logs. */
  override readonly name = "RelabelConfigError";
}

/** One relabel rule, with Prometheus' defaults filled in and its regex compiled. */
export class RelabelRule {
  /** Labels whose values, joined by {@linkcode separator}, are the rule's input. */
  readonly sourceLabels: readonly string[];
  /** Joins the source values. */
  readonly separator: string;
  /** The regex as written (unanchored). */
  readonly regex: string;
  /** Modulus of `hashmod` (0 when unset). */
  readonly modulus: number;
  /** Label written by `replace`, `hashmod`, or compared by `keepequal`/`dropequal`. */
  readonly targetLabel: string;
  /** Replacement template of `replace` and `labelmap`. */
  readonly replacement: string;
  /** What the rule does. */
  readonly action: RelabelAction;
  readonly #re: RE2JS;
  readonly #groups: Readonly<Record<string, number>>;

  /**
   * Creates a rule; unset fields take Prometheus' defaults. Throws
   * {@linkcode RelabelConfigError} for a rule Prometheus' validation rejects.
   */
  constructor(fields: {
    sourceLabels?: readonly string[];
    separator?: string;
    regex?: string;
    modulus?: number;
    targetLabel?: string;
    replacement?: string;
    action?: string;
  }) {
    const action = (fields.action ?? "replace").toLowerCase();
    if (action === "") throw new RelabelConfigError("relabel action cannot be empty");
    if (UNSUPPORTED_ACTIONS.has(action)) {
      throw new RelabelConfigError(`relabel action "${action}" is not supported here`);
    }
    if (!ACTIONS.has(action)) {
      throw new RelabelConfigError(`unknown relabel action "${fields.action}"`);
    }
    this.action = action as RelabelAction;
    this.sourceLabels = fields.sourceLabels ?? [];
    this.separator = fields.separator ?? DEFAULT_SEPARATOR;
    this.regex = fields.regex ?? DEFAULT_REGEX;
    this.modulus = fields.modulus ?? 0;
    this.targetLabel = fields.targetLabel ?? "";
    this.replacement = fields.replacement ?? DEFAULT_REPLACEMENT;
    validate(this, fields);
    try {
      this.#re = RE2JS.compile(`^(?s:${this.regex})$`);
    } catch (e) {
      throw new RelabelConfigError(
        `invalid regex ${JSON.stringify(this.regex)}: ${e instanceof Error ? e.message : e}`,
      );
    }
    this.#groups = this.#re.namedGroups();
  }

  /** Whether the regex matches all of `value`. */
  matches(value: string): boolean {
    return this.#re.matches(value);
  }

  /**
   * Expands `template` with the groups of the regex's match of `value`; undefined when it does
   * not match.
   */
  expand(template: string, value: string): string | undefined {
    const m = this.#re.matcher(value);
    if (!m.matches()) return undefined;
    return expandTemplate(template, (group) => {
      const index = typeof group === "number"
        ? group
        : Object.hasOwn(this.#groups, group)
        ? this.#groups[group]
        : undefined;
      if (index === undefined || index > m.groupCount()) return "";
      return m.group(index) ?? "";
    });
  }
}

/** A UTF-8 label name, as Thanos validates relabel configs. */
function validName(name: string): boolean {
  return name.length > 0 && name.isWellFormed();
}

function validate(rule: RelabelRule, given: { regex?: string; sourceLabels?: unknown }): void {
  const { action, targetLabel } = rule;
  const fail = (msg: string): never => {
    throw new RelabelConfigError(msg);
  };
  if (action === "hashmod" && rule.modulus === 0) {
    fail("relabel configuration for hashmod requires non-zero modulus");
  }
  const needsTarget = ["replace", "hashmod", "keepequal", "dropequal"].includes(action);
  if (needsTarget && targetLabel === "") {
    fail(`relabel configuration for ${action} action requires 'target_label' value`);
  }
  if (needsTarget && !validName(targetLabel)) {
    fail(`${JSON.stringify(targetLabel)} is invalid 'target_label' for ${action} action`);
  }
  if (action === "labelmap" && !validName(rule.replacement)) {
    fail(`${JSON.stringify(rule.replacement)} is invalid 'replacement' for ${action} action`);
  }
  if (
    (action === "keepequal" || action === "dropequal") &&
    (given.regex !== undefined || rule.modulus !== 0 || rule.separator !== DEFAULT_SEPARATOR ||
      rule.replacement !== DEFAULT_REPLACEMENT)
  ) {
    fail(
      `${action} action requires only 'source_labels' and \`target_label\`, and no other fields`,
    );
  }
  if (
    (action === "labeldrop" || action === "labelkeep") &&
    (given.sourceLabels !== undefined || targetLabel !== "" || rule.modulus !== 0 ||
      rule.separator !== DEFAULT_SEPARATOR || rule.replacement !== DEFAULT_REPLACEMENT)
  ) {
    fail(`${action} action requires only 'regex', and no other fields`);
  }
}

/**
 * `hashmod`'s value: the MD5 of `value`'s UTF-8 bytes, its last 8 bytes read as a big-endian
 * unsigned integer, modulo `modulus`.
 */
export function hashmod(value: string, modulus: number): number {
  const digest = createHash("md5").update(value, "utf8").digest();
  const low = new DataView(digest.buffer, digest.byteOffset, digest.byteLength).getBigUint64(8);
  return Number(low % BigInt(modulus));
}

/** Sets `name` (an empty value removes it, as Prometheus' label builder does). */
function set(labels: Map<string, string>, name: string, value: string): void {
  if (value === "") labels.delete(name);
  else labels.set(name, value);
}

/** Applies one rule; false when it drops the label set. */
function apply(rule: RelabelRule, labels: Map<string, string>): boolean {
  const value = rule.sourceLabels.map((n) => labels.get(n) ?? "").join(rule.separator);
  switch (rule.action) {
    case "drop":
      return !rule.matches(value);
    case "keep":
      return rule.matches(value);
    case "dropequal":
      return (labels.get(rule.targetLabel) ?? "") !== value;
    case "keepequal":
      return (labels.get(rule.targetLabel) ?? "") === value;
    case "replace": {
      const target = rule.expand(rule.targetLabel, value);
      if (target === undefined || !validName(target)) return true;
      set(labels, target, rule.expand(rule.replacement, value)!);
      return true;
    }
    case "hashmod":
      set(labels, rule.targetLabel, String(hashmod(value, rule.modulus)));
      return true;
    case "labelmap":
      for (const [name, v] of [...labels]) {
        const mapped = rule.expand(rule.replacement, name);
        if (mapped !== undefined) set(labels, mapped, v);
      }
      return true;
    case "labeldrop":
      for (const name of [...labels.keys()]) if (rule.matches(name)) labels.delete(name);
      return true;
    case "labelkeep":
      for (const name of [...labels.keys()]) if (!rule.matches(name)) labels.delete(name);
      return true;
  }
}

/**
 * Applies `rules` in order to `labels` (Prometheus' `relabel.Process`): the resulting labels,
 * sorted, or `undefined` when a rule dropped the set.
 */
export function relabel(labels: Labels, rules: readonly RelabelRule[]): Labels | undefined {
  const working = new Map(labels.map((l) => [l.name, l.value]));
  for (const rule of rules) if (!apply(rule, working)) return undefined;
  return labelsFromPairs(working);
}

/** A scalar's text as Go's YAML decoder gives a string field: null is "", others verbatim. */
function scalarText(node: Scalar, field: string): string {
  if (node.value === null) return "";
  if (typeof node.value === "string") return node.value;
  if (node.source !== undefined) return node.source;
  throw new RelabelConfigError(`${field}: expected a string`);
}

function fieldValue(node: Node | null, field: (typeof FIELDS)[number]): string | number | string[] {
  if (field === "source_labels") {
    if (!isSeq(node)) throw new RelabelConfigError("source_labels: expected a list of names");
    return node.items.map((item) => {
      const name = isScalar(item) ? scalarText(item, field) : "";
      if (!validName(name)) {
        throw new RelabelConfigError(`source_labels: invalid label name ${JSON.stringify(name)}`);
      }
      return name;
    });
  }
  if (node !== null && !isScalar(node)) throw new RelabelConfigError(`${field}: expected a value`);
  const text = node === null ? "" : scalarText(node, field);
  if (field !== "modulus") return text;
  if (text === "") return 0;
  // Decimal only: Go's YAML 1.1 decoder would read a leading zero as octal.
  if (!/^(0|[1-9][0-9]*)$/.test(text) || !Number.isSafeInteger(Number(text))) {
    throw new RelabelConfigError(
      `modulus: expected a decimal integer, got ${JSON.stringify(text)}`,
    );
  }
  return Number(text);
}

/**
 * Parses a YAML list of relabel rules (Prometheus' `relabel_config` format). An empty document
 * is no rules. Throws {@linkcode RelabelConfigError} naming the rule (1-based) at fault.
 */
export function parseRelabelConfigs(yamlText: string): RelabelRule[] {
  const doc = parseDocument(yamlText, { uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new RelabelConfigError(`invalid YAML: ${doc.errors[0].message.split("\n")[0]}`);
  }
  const root = doc.contents;
  if (root === null || (isScalar(root) && root.value === null)) return [];
  if (!isSeq(root)) throw new RelabelConfigError("expected a list of relabel rules");
  return root.items.map((item, i) => {
    const where = `relabel rule ${i + 1}`;
    if (!isMap(item)) throw new RelabelConfigError(`${where}: expected a mapping`);
    const fields: Record<string, string | number | string[]> = {};
    try {
      for (const pair of item.items) {
        const key = isScalar(pair.key) ? String(pair.key.value) : "";
        if (!(FIELDS as readonly string[]).includes(key)) {
          throw new RelabelConfigError(
            `unknown field ${JSON.stringify(key)} (want ${FIELDS.join(", ")})`,
          );
        }
        const value = pair.value as Node | null;
        // A null list is no list, as in Go (labeldrop and labelkeep refuse even an empty one).
        if (
          key === "source_labels" && (value === null || isScalar(value) && value.value === null)
        ) {
          continue;
        }
        fields[key] = fieldValue(value, key as (typeof FIELDS)[number]);
      }
      return new RelabelRule({
        sourceLabels: fields.source_labels as string[] | undefined,
        separator: fields.separator as string | undefined,
        regex: fields.regex as string | undefined,
        modulus: fields.modulus as number | undefined,
        targetLabel: fields.target_label as string | undefined,
        replacement: fields.replacement as string | undefined,
        action: fields.action as string | undefined,
      });
    } catch (e) {
      if (e instanceof RelabelConfigError) throw new RelabelConfigError(`${where}: ${e.message}`);
      throw e;
    }
  });
}
