/**
 * Object storage: the {@linkcode Bucket} contract, the Thanos objstore YAML, providers, and the
 * prefix and metrics wrappers.
 *
 * @example
 * ```ts ignore
 * import { createBucket, parseBucketConfig } from "./mod.ts";
 * const cfg = parseBucketConfig("type: FILESYSTEM\nconfig:\n  directory: ./data", "inline");
 * const bucket = await createBucket(cfg);
 * ```
 *
 * @module
 */
import type { Bucket } from "./bucket.ts";
import type { BucketConfig } from "./config.ts";
import { ObjstoreConfigError } from "./config.ts";
import { FilesystemBucket } from "./filesystem.ts";
import { withPrefix } from "./prefixed.ts";

export * from "./bucket.ts";
export * from "./config.ts";
export { FilesystemBucket } from "./filesystem.ts";
export { withPrefix } from "./prefixed.ts";
export { instrumentBucket } from "./instrumented.ts";

/**
 * Creates the bucket a validated config describes, with its prefix applied.
 * Throws {@linkcode ObjstoreConfigError} for providers this build cannot serve yet.
 */
export function createBucket(config: BucketConfig): Promise<Bucket> {
  switch (config.type) {
    case "FILESYSTEM":
      return Promise.resolve(
        withPrefix(new FilesystemBucket(config.config.directory as string), config.prefix),
      );
    default:
      return Promise.reject(
        new ObjstoreConfigError(
          config.type,
          `the ${config.type} provider is not available in this build yet`,
        ),
      );
  }
}
