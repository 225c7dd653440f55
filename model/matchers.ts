/**
 * Label matchers (`=`, `!=`, `=~`, `!~`) with Prometheus semantics: regular expressions are
 * Go RE2 syntax, fully anchored, evaluated by re2js; compiled matchers are cached.
 *
 * @module
 */
import { RE2JS } from "re2js";
import type { Labels } from "./labels.ts";
import { getLabel } from "./labels.ts";

/** The four matcher types, numbered as in Prometheus and in Thanos' storepb. */
export const MatchType = {
  /** `=` */
  Equal: 0,
  /** `!=` */
  NotEqual: 1,
  /** `=~` */
  Regexp: 2,
  /** `!~` */
  NotRegexp: 3,
} as const;

/** One of {@linkcode MatchType}'s values. */
export type MatchType = typeof MatchType[keyof typeof MatchType];

const OPERATORS = ["=", "!=", "=~", "!~"] as const;

/** Thrown when a regular expression does not compile under RE2 rules. */
export class RegexpError extends Error {
  /** Creates the error for `pattern`, with the compiler's reason. */
  constructor(readonly pattern: string, reason: string) {
    // re2js reports like Go's regexp package, prefix included; add it only when missing.
    super(reason.startsWith("error parsing regexp: ") ? reason : `error parsing regexp: ${reason}`);
    this.name = "RegexpError";
  }
}

/** A compiled label matcher. Immutable; safe to share between queries. */
export class Matcher {
  /** The matcher type. */
  readonly type: MatchType;
  /** The label name it tests. */
  readonly name: string;
  /** The literal value or the regular expression source. */
  readonly value: string;
  readonly #test: (value: string) => boolean;

  /** Creates a matcher; throws {@linkcode RegexpError} for a bad regular expression. */
  constructor(type: MatchType, name: string, value: string) {
    this.type = type;
    this.name = name;
    this.value = value;
    switch (type) {
      case MatchType.Equal:
        this.#test = (v) => v === value;
        break;
      case MatchType.NotEqual:
        this.#test = (v) => v !== value;
        break;
      case MatchType.Regexp: {
        const re = compileAnchored(value);
        this.#test = re;
        break;
      }
      case MatchType.NotRegexp: {
        const re = compileAnchored(value);
        this.#test = (v) => !re(v);
        break;
      }
      default:
        throw new TypeError(`unknown matcher type ${type}`);
    }
  }

  /** Reports whether a label value (`""` for an absent label) satisfies the matcher. */
  matches(value: string): boolean {
    return this.#test(value);
  }

  /** Reports whether the matcher accepts the label set. */
  matchesLabels(labels: Labels): boolean {
    return this.#test(getLabel(labels, this.name));
  }

  /** The operator as written in PromQL. */
  get operator(): string {
    return OPERATORS[this.type];
  }

  /** Formats the matcher as PromQL, e.g. `job=~"api|web"`. */
  toString(): string {
    const name = /^[a-zA-Z_][a-zA-Z0-9_]*$/.test(this.name) ? this.name : JSON.stringify(this.name);
    return `${name}${this.operator}${JSON.stringify(this.value)}`;
  }
}

/** Reports whether every matcher accepts the label set. */
export function matchesAll(matchers: readonly Matcher[], labels: Labels): boolean {
  for (const m of matchers) if (!m.matchesLabels(labels)) return false;
  return true;
}

const REGEX_CACHE_LIMIT = 4096;
const regexCache = new Map<string, (value: string) => boolean>();

/**
 * Compiles a fully anchored RE2 matcher function, with fast paths for literals and plain
 * alternations (re2js is an order of magnitude slower than a string compare).
 */
export function compileAnchored(pattern: string): (value: string) => boolean {
  const cached = regexCache.get(pattern);
  if (cached) return cached;
  let fn: (value: string) => boolean;
  // Since Prometheus 3.0 `.` matches newlines too, hence the (?s) flag below.
  if (pattern === ".*") fn = () => true;
  else if (pattern === ".+") fn = (v) => v.length > 0;
  else if (/^[A-Za-z0-9_:\- ]*$/.test(pattern)) fn = (v) => v === pattern;
  else if (/^[A-Za-z0-9_:\- ]+(\|[A-Za-z0-9_:\- ]+)+$/.test(pattern)) {
    const set = new Set(pattern.split("|"));
    fn = (v) => set.has(v);
  } else {
    let re: RE2JS;
    try {
      re = RE2JS.compile(`^(?s:${pattern})$`);
    } catch (e) {
      throw new RegexpError(pattern, e instanceof Error ? e.message : String(e));
    }
    fn = (v) => re.matches(v);
  }
  if (regexCache.size >= REGEX_CACHE_LIMIT) regexCache.clear();
  regexCache.set(pattern, fn);
  return fn;
}
