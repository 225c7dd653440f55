/**
 * Deno's permission errors (`Deno.errors.NotCapable`): finding one inside the errors that wrap
 * it (bucket errors, sync failures, SDK errors that copy the message) and reading what was
 * refused. A refused permission is a deployment mistake that every retry meets again, so the
 * layers above let it through instead of retrying, skipping or logging it.
 *
 * @module
 */

/** A permission Deno refused. */
export interface PermissionDenial {
  /**
   * Deno's permission name (`read`, `write`, `net`, `env`, `sys`, `run`, `ffi`, `import`), or
   * undefined when Deno's message does not have the usual form.
   */
  readonly permission?: string;
  /** The path, `host:port`, variable or API name refused, when Deno names one. */
  readonly resource?: string;
  /** Deno's message. */
  readonly message: string;
}

// Deno 2 spells them `Requires read access to "/x", run again with the --allow-read flag` (or
// `, specify the required permissions during compilation ...` in a compiled binary), with the
// resource quoted as is or a placeholder such as `<CWD>`. The ending keeps other texts that say
// "Requires ... access" from matching.
const DENIAL = new RegExp(
  /Requires (\w+) access(?: to (?:"(.*?)"|(<\w+>)))?, /.source +
    /(?:run again with the --allow-|specify the required permissions|which cannot be granted)/
      .source,
);

function parse(message: string): PermissionDenial | undefined {
  const m = DENIAL.exec(message);
  if (!m) return undefined;
  return { permission: m[1], resource: m[2] ?? m[3], message };
}

/**
 * Finds the permission denial behind `err`: the error itself, its `cause` chain, the `errors`
 * of an `AggregateError`, or (for libraries that wrap errors by message) a message that quotes
 * Deno's. Returns undefined when no permission was refused.
 */
export function permissionDenial(err: unknown): PermissionDenial | undefined {
  const seen = new Set<unknown>();
  const queue: unknown[] = [err];
  while (queue.length > 0) {
    const e = queue.shift();
    if (!(e instanceof Error) || seen.has(e)) continue;
    seen.add(e);
    const found = parse(e.message);
    if (found) return found;
    if (e instanceof Deno.errors.NotCapable) return { message: e.message };
    queue.push(e.cause);
    if (e instanceof AggregateError) queue.push(...e.errors);
  }
  return undefined;
}

/**
 * A `Deno.errors.NotCapable` in Deno's own wording, for permissions the code checks itself
 * (e.g. an environment variable that `--ignore-env` would silently read as unset).
 */
export function notCapable(permission: string, resource: string): Deno.errors.NotCapable {
  return new Deno.errors.NotCapable(
    `Requires ${permission} access to "${resource}", run again with the --allow-${permission} flag`,
  );
}
