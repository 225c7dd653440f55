/**
 * Go's regexp replacement templates (`Regexp.Expand`), which Prometheus' relabeling and
 * `label_replace` use: `$1`, `${1}`, `$name`, `${name}`, and `$$` for a literal `$`.
 *
 * @module
 */

/** A name character of a `$name` reference: a Unicode letter or decimal digit, or `_`. */
const NAME_CHAR = /[\p{L}\p{Nd}_]/u;

/** The reference after a `$` at `from`: its name, where it ends, or undefined when malformed. */
function reference(template: string, from: number): { name: string; end: number } | undefined {
  const brace = template[from] === "{";
  let i = brace ? from + 1 : from;
  const start = i;
  while (i < template.length) {
    const cp = template.codePointAt(i)!;
    const ch = String.fromCodePoint(cp);
    if (!NAME_CHAR.test(ch)) break;
    i += ch.length;
  }
  if (i === start) return undefined;
  const name = template.slice(start, i);
  if (brace) {
    if (template[i] !== "}") return undefined;
    i++;
  }
  return { name, end: i };
}

/**
 * The group number a reference names, or -1 for a group name: ASCII digits without a leading
 * zero, below 10^8 while being read (Go's rule, so `$01` names a group called "01").
 */
function groupNumber(name: string): number {
  let num = 0;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c < 48 || c > 57 || num >= 1e8) return -1;
    num = num * 10 + c - 48;
  }
  return name[0] === "0" && name.length > 1 ? -1 : num;
}

/**
 * Expands `template` as Go's `Regexp.Expand`: `capture` gets a group number, or a group name
 * when the reference is not a number, and returns the captured text ("" for a group that does
 * not exist or did not take part in the match). A `$` not followed by a valid reference is
 * kept as text.
 */
export function expandTemplate(
  template: string,
  capture: (group: number | string) => string,
): string {
  let out = "";
  let i = 0;
  while (i < template.length) {
    const dollar = template.indexOf("$", i);
    if (dollar < 0) break;
    out += template.slice(i, dollar);
    i = dollar + 1;
    if (template[i] === "$") {
      out += "$";
      i++;
      continue;
    }
    const ref = reference(template, i);
    if (!ref) {
      out += "$";
      continue;
    }
    const num = groupNumber(ref.name);
    out += capture(num >= 0 ? num : ref.name);
    i = ref.end;
  }
  return out + template.slice(i);
}
