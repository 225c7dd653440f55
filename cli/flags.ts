/**
 * Declarative command-line flags in Thanos' style (`--query.lookback=5m`, repeatable flags,
 * `--no-<bool>`), parsed with `node:util` `parseArgs` into typed values, with help text
 * generated from the same definitions.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { parseBytes, parseDuration } from "../internal/units.ts";

/** The value kinds a flag can have. */
export type FlagKind =
  | "string"
  | "int"
  | "float"
  | "bool"
  | "duration"
  | "bytes"
  | "enum"
  | "strings"
  | "keyValues";

/** One flag's definition. */
export interface FlagDef {
  /** Long name without dashes, e.g. `query.lookback`. */
  name: string;
  /** Value kind. */
  kind: FlagKind;
  /** One-line help. */
  help: string;
  /**
   * Default in the flag's own text form (as a user would type it); omitted for flags without a
   * default. For `strings`, the default list when the flag is not given at all.
   */
  default?: string | string[];
  /** Allowed values of an `enum` flag (matched case-sensitively, as kingpin does). */
  values?: readonly string[];
  /** Placeholder shown in help, e.g. `SELECTOR`. */
  placeholder?: string;
  /** Help text shown in `--help` for where the default comes from, when not a literal. */
  defaultHelp?: string;
  /** The value may hold credentials: reported as `<secret>` where flag values are shown. */
  secret?: boolean;
  /**
   * Other names of the same flag, e.g. the Go gateway's spelling of a renamed flag. Given under
   * several names, the flag takes the last value (a repeatable flag collects all, in order).
   */
  aliases?: readonly string[];
}

/** Parsed flag values by name: numbers for int/float/duration(ms)/bytes, etc. */
export type FlagValues = Record<
  string,
  string | number | boolean | string[] | Record<string, string> | undefined
>;

/** A usage error: bad flag, bad value, missing argument. The CLI exits with code 2. */
export class UsageError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

function convert(def: FlagDef, raw: string, spelled = def.name): string | number | boolean {
  const bad = (why: string): never => {
    throw new UsageError(`--${spelled}: ${why}`);
  };
  switch (def.kind) {
    case "string":
    case "strings":
    case "keyValues":
      return raw;
    case "int": {
      const clean = raw.replaceAll("_", "");
      if (!/^-?\d+$/.test(clean) || !Number.isSafeInteger(Number(clean))) {
        return bad(`invalid integer ${JSON.stringify(raw)}`);
      }
      return Number(clean);
    }
    case "float": {
      const n = Number(raw);
      return raw.trim() === "" || Number.isNaN(n)
        ? bad(`invalid number ${JSON.stringify(raw)}`)
        : n;
    }
    case "bool":
      if (raw === "true") return true;
      if (raw === "false") return false;
      return bad(`invalid boolean ${JSON.stringify(raw)} (want true or false)`);
    case "duration":
      try {
        return parseDuration(raw);
      } catch {
        return bad(`invalid duration ${JSON.stringify(raw)} (examples: 30s, 5m, 1h30m)`);
      }
    case "bytes":
      try {
        return parseBytes(raw);
      } catch {
        return bad(`invalid byte size ${JSON.stringify(raw)} (examples: 0B, 2MiB, 64MiB)`);
      }
    case "enum":
      if (def.values?.includes(raw)) return raw;
      return bad(
        `invalid value ${JSON.stringify(raw)}, expected one of ${
          def.values?.map((v) => JSON.stringify(v)).join(", ")
        }`,
      );
  }
}

/** What {@linkcode parseFlagsSpelled} returns. */
export interface ParsedFlags {
  /** Values by each flag's (canonical) name. */
  readonly values: FlagValues;
  /** For each flag given, the name it was last given under: its own or one of its aliases. */
  readonly spelling: ReadonlyMap<string, string>;
}

/**
 * Parses `args` against `defs`. Unknown flags, missing values, stray positional arguments and
 * bad values throw {@linkcode UsageError} naming the flag and the value.
 */
export function parseFlags(defs: readonly FlagDef[], args: readonly string[]): FlagValues {
  return parseFlagsSpelled(defs, args).values;
}

/**
 * Parses as {@linkcode parseFlags} does and also tells which name each given flag was spelled
 * with, so that later messages can name the flag as the user typed it.
 */
export function parseFlagsSpelled(defs: readonly FlagDef[], args: readonly string[]): ParsedFlags {
  const byName = new Map<string, FlagDef>();
  const options: Record<string, { type: "string" | "boolean"; multiple?: boolean }> = {};
  for (const def of defs) {
    for (const name of [def.name, ...def.aliases ?? []]) {
      byName.set(name, def);
      options[name] = def.kind === "strings" || def.kind === "keyValues"
        ? { type: "string", multiple: true }
        : { type: def.kind === "bool" ? "boolean" : "string" };
    }
  }
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      options,
      strict: true,
      allowPositionals: false,
      allowNegative: true,
      tokens: true,
    });
  } catch (e) {
    throw new UsageError(describeParseArgsError(e, byName));
  }
  // Tokens, not `parsed.values`: aliases are separate options there, and only the tokens keep
  // the order in which a flag's names were given.
  const raw = new Map<string, string | boolean | string[]>();
  const spelling = new Map<string, string>();
  for (const token of parsed.tokens) {
    if (token.kind !== "option") continue;
    const negated = !byName.has(token.name) && token.name.startsWith("no-");
    const name = negated ? token.name.slice(3) : token.name;
    const def = byName.get(name)!;
    spelling.set(def.name, name);
    if (def.kind === "bool") {
      raw.set(def.name, !negated);
    } else if (def.kind === "strings" || def.kind === "keyValues") {
      const list = (raw.get(def.name) ?? []) as string[];
      raw.set(def.name, [...list, token.value!]);
    } else {
      raw.set(def.name, token.value!);
    }
  }
  const values: FlagValues = {};
  for (const def of defs) {
    const given = raw.get(def.name);
    if (given === undefined) {
      values[def.name] = defaultValue(def);
    } else if (def.kind === "bool" || def.kind === "strings") {
      values[def.name] = given;
    } else if (def.kind === "keyValues") {
      const map: Record<string, string> = {};
      for (const item of given as string[]) {
        const eq = item.indexOf("=");
        if (eq <= 0) {
          throw new UsageError(
            `--${spelling.get(def.name)}: expected KEY=VALUE, got ${JSON.stringify(item)}`,
          );
        }
        map[item.slice(0, eq)] = item.slice(eq + 1);
      }
      values[def.name] = map;
    } else {
      values[def.name] = convert(def, given as string, spelling.get(def.name)!);
    }
  }
  return { values, spelling };
}

/** What {@linkcode splitAtCommand} returns. */
export interface CommandLine {
  /** The arguments before the command: global flags and their values. */
  readonly before: string[];
  /** The command, if any. */
  readonly command?: string;
  /** The arguments after the command. */
  readonly after: string[];
}

/**
 * Splits `args` at the command: the first argument that is neither a flag nor a flag's value.
 * As with kingpin, only application-wide flags may come before it: those of `globals` and the
 * bare switches in `switches` (e.g. `--help`). Anything else there throws a
 * {@linkcode UsageError}; values are checked later, when the command parses them.
 */
export function splitAtCommand(
  globals: readonly FlagDef[],
  switches: readonly string[],
  args: readonly string[],
): CommandLine {
  const byName = new Map<string, FlagDef>();
  for (const def of globals) {
    for (const name of [def.name, ...def.aliases ?? []]) byName.set(name, def);
  }
  const before: string[] = [];
  let i = 0;
  while (i < args.length && args[i].startsWith("-")) {
    const arg = args[i++];
    before.push(arg);
    if (switches.includes(arg)) continue;
    const eq = arg.indexOf("=");
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    const def = byName.get(name) ?? byName.get(name.replace(/^no-/, ""));
    if (!arg.startsWith("--") || !def) {
      throw new UsageError(
        `unknown flag ${eq < 0 ? arg : arg.slice(0, eq)} before the command; ` +
          "a command's own flags go after it",
      );
    }
    // `--flag value`: the value is the next argument, even if it looks like a command.
    if (eq < 0 && def.kind !== "bool" && byName.has(name) && i < args.length) {
      before.push(args[i++]);
    }
  }
  return { before, command: args[i], after: args.slice(i + 1) };
}

function defaultValue(def: FlagDef): FlagValues[string] {
  if (def.kind === "strings") {
    return def.default === undefined ? [] : [...(def.default as string[])];
  }
  if (def.kind === "keyValues") return {};
  if (def.default === undefined) return def.kind === "bool" ? false : undefined;
  return convert(def, def.default as string);
}

function describeParseArgsError(e: unknown, defs: Map<string, FlagDef>): string {
  const message = e instanceof Error ? e.message : String(e);
  const code = (e as { code?: string }).code;
  const flag = /'(-{1,2}[^' ]+)/.exec(message)?.[1];
  switch (code) {
    case "ERR_PARSE_ARGS_UNKNOWN_OPTION": {
      const name = flag?.replace(/^-+/, "").replace(/^no-/, "") ?? "";
      const def = defs.get(name);
      if (def && flag?.startsWith("--no-")) return `--${name}: is not a boolean flag`;
      const suggestion = closest(name, [...defs.keys()]);
      return `unknown flag ${flag ?? message}` +
        (suggestion ? `, did you mean --${suggestion}?` : "");
    }
    case "ERR_PARSE_ARGS_INVALID_OPTION_VALUE":
      if (flag && /argument missing/.test(message)) return `${flag}: expected a value`;
      if (flag) return `${flag.split("=")[0]}: does not take a value`;
      return message;
    case "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL":
      return `unexpected argument ${/'([^']*)'/.exec(message)?.[1] ?? message}`;
    default:
      return message;
  }
}

function closest(name: string, names: string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(3, Math.floor(name.length / 4));
  for (const candidate of names) {
    const d = editDistance(name, candidate);
    if (d <= bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length];
}

/** Formats a flag's default for help output, as the user would type it. */
export function formatDefault(def: FlagDef): string | undefined {
  if (def.defaultHelp) return def.defaultHelp;
  if (def.default === undefined) return undefined;
  return Array.isArray(def.default) ? def.default.join(", ") : def.default;
}

const HELP_WIDTH = 100;

function wrap(text: string, indent: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/)) {
    if (line !== "" && indent + line.length + 1 + word.length > HELP_WIDTH) {
      lines.push(line);
      line = word;
    } else {
      line = line === "" ? word : `${line} ${word}`;
    }
  }
  if (line !== "") lines.push(line);
  return lines;
}

/** Renders help text: usage line, description, then one entry per flag with its default. */
export function formatHelp(usage: string, description: string, defs: readonly FlagDef[]): string {
  return [`usage: ${usage}`, "", description, "", "Flags:", ...formatFlags(defs)].join("\n") + "\n";
}

/** Renders one help entry per flag: its names, then its help and default, indented. */
export function formatFlags(defs: readonly FlagDef[]): string[] {
  const lines: string[] = [];
  for (const d of defs) {
    const placeholder = d.placeholder ??
      (d.kind === "bool"
        ? ""
        : d.kind === "enum"
        ? d.values!.map((v) => v === "" ? '""' : v).join("|")
        : d.kind === "keyValues"
        ? "KEY=VALUE"
        : d.kind === "strings"
        ? "STRING"
        : d.kind.toUpperCase());
    const spell = (name: string) =>
      `--${d.kind === "bool" ? "[no-]" : ""}${name}${placeholder ? `=${placeholder}` : ""}`;
    lines.push(`  ${[d.name, ...d.aliases ?? []].map(spell).join(", ")}`);
    const dflt = formatDefault(d);
    const repeat = d.kind === "strings" || d.kind === "keyValues" ? " Repeatable." : "";
    const text = `${d.help}${repeat}${dflt !== undefined ? ` Default: ${dflt || '""'}.` : ""}`;
    for (const l of wrap(text, 8)) lines.push(`        ${l}`);
  }
  return lines;
}
