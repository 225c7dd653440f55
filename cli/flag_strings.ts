/**
 * Flag values as text, the way Prometheus' `/api/v1/status/flags` reports its own: every flag,
 * given or defaulted, by name, in the form a user would type it back.
 *
 * @module
 */
import { formatBytes, formatDuration } from "../internal/units.ts";
import type { FlagDef, FlagValues } from "./flags.ts";

/** What a secret flag's value is replaced with (Prometheus' placeholder for secrets). */
export const SECRET_PLACEHOLDER = "<secret>";

/**
 * Returns every flag of `defs` with its value in `values` as text: durations and sizes in their
 * canonical units (`5m`, `64MiB`), unset flags as `""`, repeated flags joined with `,` (as kingpin
 * does), `KEY=VALUE` flags as `k=v,k2=v2`. Values of `secret` flags read {@linkcode
 * SECRET_PLACEHOLDER} when set.
 */
export function flagStrings(
  defs: readonly FlagDef[],
  values: FlagValues,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const def of defs) {
    const text = flagText(def, values[def.name]);
    out[def.name] = def.secret && text !== "" ? SECRET_PLACEHOLDER : text;
  }
  return out;
}

function flagText(def: FlagDef, value: FlagValues[string]): string {
  if (value === undefined) return "";
  switch (def.kind) {
    case "duration":
      return formatDuration(value as number);
    case "bytes":
      return formatBytes(value as number);
    case "strings":
      return (value as string[]).join(",");
    case "keyValues":
      return Object.entries(value as Record<string, string>)
        .map(([name, text]) => `${name}=${text}`)
        .join(",");
    default:
      return String(value);
  }
}
