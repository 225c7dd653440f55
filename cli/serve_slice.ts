/**
 * `serve`'s slice of the bucket from its flags: `--min-time`, `--max-time` and the relabel rules
 * of `--selector.relabel-config(-file)`, read with `$(VAR)` replaced by the environment
 * variable's value (missing: empty), as Thanos reads them.
 *
 * @module
 */
import { resolve } from "node:path";
import { permissionDenial } from "../internal/permission.ts";
import { parseRelabelConfigs, RelabelConfigError } from "../model/relabel.ts";
import { GatewaySlice } from "../server/slice.ts";
import { expandEnv } from "../storage/objstore/config.ts";
import { UsageError } from "./flags.ts";
import type { ServeConfig } from "./serve_config.ts";
import { resolveTimeOrDuration } from "./time_or_duration.ts";

/**
 * The slice `config` describes. Throws a {@linkcode UsageError} for a relabel file that cannot
 * be read or rules that are invalid (a refused permission is rethrown as it is).
 */
export async function loadGatewaySlice(config: ServeConfig["slice"]): Promise<GatewaySlice> {
  const file = config.relabelConfigFile;
  const flag = file ? `--selector.relabel-config-file=${file}` : "--selector.relabel-config";
  let text = config.relabelConfig ?? "";
  if (file) {
    try {
      // Absolute, so that a refused read names the path the flag's permission scope names.
      text = await Deno.readTextFile(resolve(file));
    } catch (e) {
      if (permissionDenial(e)) throw e;
      throw new UsageError(`${flag}: cannot read file: ${(e as Error).message}`);
    }
  }
  let relabel;
  try {
    relabel = parseRelabelConfigs(expandEnv(text, (name) => Deno.env.get(name)));
  } catch (e) {
    if (e instanceof RelabelConfigError) throw new UsageError(`${flag}: ${e.message}`);
    throw e;
  }
  return new GatewaySlice({
    minTime: () => resolveTimeOrDuration(config.minTime),
    maxTime: () => resolveTimeOrDuration(config.maxTime),
    relabel,
  });
}
