/**
 * The flags that name a bucket (`--<name>-file=FILE` or `--<name>=YAML`, each also under the Go
 * gateway's spelling) and loading its objstore config from them, with a FILESYSTEM fallback
 * that is announced in the log.
 *
 * @module
 */
import type { Logger } from "../internal/log.ts";
import { type BucketConfig, loadBucketConfig } from "../storage/objstore/config.ts";
import type { FlagDef, ParsedFlags } from "./flags.ts";

/** Where a bucket's objstore config comes from. */
export interface ObjstoreSource {
  /** The YAML file (`--<flag>-file`). */
  readonly file?: string;
  /** The YAML itself (`--<flag>`); the file wins when both are given. */
  readonly inline?: string;
  /** The flag pair as the user spelled it (ours or the Go gateway's), for messages. */
  readonly flag: string;
}

/**
 * The two flags of one bucket: `--<name>-file` and `--<name>`, with `--<goName>-file` and
 * `--<goName>` as aliases. `what` describes the bucket; `fallback` is the directory used without
 * either flag.
 */
export function objstoreFlags(
  name: string,
  goName: string,
  what: string,
  fallback: string,
): FlagDef[] {
  return [
    {
      name: `${name}-file`,
      aliases: [`${goName}-file`],
      kind: "string",
      placeholder: "FILE",
      help: `YAML file with the object store configuration of ${what} (Thanos objstore format). ` +
        `Without it and --${name}, a FILESYSTEM bucket under ${fallback}.`,
    },
    {
      name,
      aliases: [goName],
      kind: "string",
      placeholder: "YAML",
      help: `Alternative to --${name}-file: the YAML content itself.`,
      secret: true,
    },
  ];
}

/** Reads the flags of {@linkcode objstoreFlags}`(name, ...)`. */
export function objstoreSource(parsed: ParsedFlags, name: string): ObjstoreSource {
  const file = parsed.values[`${name}-file`] as string | undefined;
  const inline = parsed.values[name] as string | undefined;
  // Messages name the flag whose value is used (the file wins), as it was typed.
  const flag = file
    ? parsed.spelling.get(`${name}-file`)!.replace(/-file$/, "")
    : inline
    ? parsed.spelling.get(name)!
    : name;
  return { file, inline, flag };
}

/**
 * Loads the bucket config of `source`; without a file or YAML it is `fallback`, and the log says
 * so, since a process replacing the Go gateway (which requires the flag) would otherwise quietly
 * read or write a local directory.
 */
export async function loadObjstore(
  source: ObjstoreSource,
  fallback: BucketConfig,
  logger: Logger,
): Promise<BucketConfig> {
  const config = await loadBucketConfig(source.file, source.inline, source.flag, fallback);
  if (config === fallback) {
    const where = fallback.type === "FILESYSTEM" ? ` at ${fallback.config.directory}` : "";
    logger.info(`no --${source.flag}(-file) given: using ${fallback.type} bucket${where}`);
  }
  return config;
}
