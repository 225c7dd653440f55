/**
 * The Deno permissions behind the gateway's flags. Each subcommand lists what its flags make it
 * touch (bucket directories, `--block.labelfilepath`, `--convert.tempdir`, listen ports, ...) as
 * {@linkcode PermissionScope}s, checks them before it starts anything ({@linkcode
 * checkPermissions}: a run without them must not come up "ready" with nothing loaded), and turns
 * any permission Deno refuses later into one line that names the permission, the resource, the
 * flag that asked for it and the `--allow-*` flag to add ({@linkcode explainDenial}).
 *
 * @module
 */
import { resolve } from "node:path";
import { type PermissionDenial, permissionDenial } from "../internal/permission.ts";
import type { BucketConfig } from "../storage/objstore/config.ts";
import type { ObjstoreSource } from "./objstore.ts";

/** Something a flag makes the gateway touch. */
export interface PermissionScope {
  /** The Deno permission. */
  readonly permission: "read" | "write" | "net";
  /** An absolute path (everything below it is covered) or a `host:port`. */
  readonly resource: string;
  /** What asks for it, e.g. `the label file directory of --block.labelfilepath`. */
  readonly origin: string;
}

/** A permission the gateway needs was refused; the message is the line to print. */
export class PermissionDeniedError extends Error {
  /** The error's name, for logs. */
  override readonly name = "PermissionDeniedError";
  /**
   * Creates the error.
   *
   * @param denial what Deno refused
   * @param grant the flag that grants it, e.g. `--allow-read=/var/lib/pq`, when known
   * @param origin what asked for it, when a flag did
   */
  constructor(
    readonly denial: PermissionDenial,
    readonly grant?: string,
    readonly origin?: string,
    options?: ErrorOptions,
  ) {
    super(PermissionDeniedError.#describe(denial, grant, origin), options);
  }

  static #describe(denial: PermissionDenial, grant?: string, origin?: string): string {
    if (denial.permission === undefined || grant === undefined) {
      return `permission denied: ${denial.message}`;
    }
    const what = denial.resource === undefined ? "" : ` to ${JSON.stringify(denial.resource)}`;
    // A compiled binary's permissions are fixed by `deno compile`, not by its command line.
    const how = Deno.build.standalone ? "compile" : "run";
    return `permission denied: ${denial.permission} access${what}${
      origin ? ` (${origin})` : ""
    }; ` +
      `${how} with ${grant}`;
  }
}

/** Read (and for `write`, write) access to `path`, resolved against the working directory. */
export function pathScopes(
  path: string,
  origin: string,
  write: boolean,
): PermissionScope[] {
  const resource = resolve(path);
  const read: PermissionScope = { permission: "read", resource, origin };
  return write ? [read, { permission: "write", resource, origin }] : [read];
}

/** The flag that configured a bucket, as typed (the file wins, as when loading), if any did. */
export function objstoreFlag(source: ObjstoreSource): string | undefined {
  return source.file ? `${source.flag}-file` : source.inline ? source.flag : undefined;
}

/** Reading the objstore YAML file, when `--<flag>-file` gives one. */
export function configFileScopes(source: ObjstoreSource): PermissionScope[] {
  return source.file ? pathScopes(source.file, `--${source.flag}-file`, false) : [];
}

/**
 * The directory of a FILESYSTEM bucket (nothing for other providers: their endpoints come from
 * the YAML and their SDKs' needs are reported when refused). `flag` is the objstore flag that
 * configured it, or undefined for the subcommand's default bucket.
 */
export function bucketScopes(
  config: BucketConfig,
  flag: string | undefined,
  write: boolean,
): PermissionScope[] {
  if (config.type !== "FILESYSTEM") return [];
  const directory = config.config.directory as string;
  const origin = flag
    ? `the FILESYSTEM bucket of --${flag}`
    : `the default FILESYSTEM bucket ${directory}`;
  return pathScopes(directory, origin, write);
}

/** Listening on `port` of every interface, as the gateway's servers do. */
export function listenScope(port: number, flag: string): PermissionScope {
  return { permission: "net", resource: `0.0.0.0:${port}`, origin: `--${flag}` };
}

function descriptor(scope: PermissionScope): Deno.PermissionDescriptor {
  return scope.permission === "net"
    ? { name: "net", host: scope.resource }
    : { name: scope.permission, path: scope.resource };
}

/**
 * Requests every scope (Deno prompts on a terminal unless `--no-prompt`) and throws a
 * {@linkcode PermissionDeniedError} for the first one not granted.
 */
export function checkPermissions(scopes: readonly PermissionScope[]): void {
  for (const scope of scopes) {
    if (Deno.permissions.requestSync(descriptor(scope)).state === "granted") continue;
    throw new PermissionDeniedError(
      {
        permission: scope.permission,
        resource: scope.resource,
        message: `${scope.permission} access to ${scope.resource} not granted`,
      },
      `--allow-${scope.permission}=${scope.resource}`,
      scope.origin,
    );
  }
}

function covers(scope: PermissionScope, denial: PermissionDenial): boolean {
  if (scope.permission !== denial.permission || denial.resource === undefined) return false;
  if (scope.permission === "net") return scope.resource === denial.resource;
  const root = scope.resource.endsWith("/") ? scope.resource : `${scope.resource}/`;
  return denial.resource === scope.resource || denial.resource.startsWith(root);
}

/**
 * The {@linkcode PermissionDeniedError} for `err` when a permission refusal is behind it
 * (undefined otherwise). A refused path below a scope's path is granted by that scope's path, so
 * that one flag covers the whole bucket or directory.
 */
export function explainDenial(
  err: unknown,
  scopes: readonly PermissionScope[],
): PermissionDeniedError | undefined {
  if (err instanceof PermissionDeniedError) return err;
  const denial = permissionDenial(err);
  if (!denial) return undefined;
  if (denial.permission === undefined) {
    return new PermissionDeniedError(denial, undefined, undefined, { cause: err });
  }
  const scope = scopes.find((s) => covers(s, denial));
  const value = scope?.resource ?? denial.resource;
  // Placeholders such as `<CWD>` are no flag value.
  const grant = value === undefined || value.startsWith("<")
    ? `--allow-${denial.permission}`
    : `--allow-${denial.permission}=${value}`;
  return new PermissionDeniedError(denial, grant, scope?.origin, { cause: err });
}
