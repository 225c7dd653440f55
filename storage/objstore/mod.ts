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
import type { Logger } from "../../internal/log.ts";
import type { Bucket } from "./bucket.ts";
import type { BucketConfig } from "./config.ts";
import { ObjstoreConfigError, ProviderConfigError } from "./config.ts";
import { FilesystemBucket } from "./filesystem.ts";
import { withPrefix } from "./prefixed.ts";
import { SwiftAuthError } from "./swift_auth.ts";

export * from "./bucket.ts";
export * from "./config.ts";
export { FilesystemBucket } from "./filesystem.ts";
export { withPrefix } from "./prefixed.ts";
export { instrumentBucket } from "./instrumented.ts";
// The cloud providers' modules pull in their SDKs (about 50 MiB of resident memory together), so
// only their types are re-exported here and createBucket loads the one a config names.
export type { S3Encryption, S3Options } from "./s3.ts";
export type { AzureAuth, AzureOptions } from "./azure.ts";
export type { AccessToken, TokenCredential } from "./azure_credential.ts";
export type { GcsOptions } from "./gcs.ts";
export type { SwiftOptions } from "./swift.ts";
export type { LogFields, Logger } from "../../internal/log.ts";
export type { HttpConfig } from "./http_agent.ts";
export type { SwiftAuthConfig } from "./swift_auth.ts";
export { DEFAULT_RETRY_POLICY, type RetryPolicy } from "./retry.ts";

/** Options of {@linkcode createBucket}. */
export interface CreateBucketOptions {
  /** Where providers report retries (debug level). Credentials are never logged. */
  logger?: Logger;
}

/**
 * Creates the bucket a validated config describes, with its prefix applied. Rejects with
 * {@linkcode ObjstoreConfigError} (naming the provider) when the fields cannot be used, and with
 * a `BucketError` when a provider that checks its container on start (AZURE, SWIFT) cannot.
 */
export async function createBucket(
  config: BucketConfig,
  options: CreateBucketOptions = {},
): Promise<Bucket> {
  const c = config.config;
  let bucket: Bucket;
  try {
    switch (config.type) {
      case "FILESYSTEM":
        bucket = new FilesystemBucket(c.directory as string);
        break;
      case "S3": {
        const { S3Bucket, s3OptionsFromConfig } = await import("./s3.ts");
        bucket = new S3Bucket(s3OptionsFromConfig(c), options.logger);
        break;
      }
      case "AZURE": {
        const { AzureBucket, azureOptionsFromConfig } = await import("./azure.ts");
        bucket = await AzureBucket.create(azureOptionsFromConfig(c), options.logger);
        break;
      }
      case "GCS": {
        const { GcsBucket, gcsOptionsFromConfig } = await import("./gcs.ts");
        bucket = new GcsBucket(gcsOptionsFromConfig(c), options.logger);
        break;
      }
      case "COS": {
        const [{ S3Bucket }, { cosOptionsFromConfig }] = await Promise.all([
          import("./s3.ts"),
          import("./s3_compatible.ts"),
        ]);
        bucket = new S3Bucket(cosOptionsFromConfig(c), options.logger);
        break;
      }
      case "OSS": {
        const [{ S3Bucket }, { ossOptionsFromConfig }] = await Promise.all([
          import("./s3.ts"),
          import("./s3_compatible.ts"),
        ]);
        bucket = new S3Bucket(ossOptionsFromConfig(c), options.logger);
        break;
      }
      case "SWIFT": {
        const { SwiftBucket, swiftOptionsFromConfig } = await import("./swift.ts");
        bucket = await SwiftBucket.create(swiftOptionsFromConfig(c), options.logger);
        break;
      }
    }
  } catch (e) {
    // A Swift auth error without an HTTP status is a config the auth step could not use.
    if (
      e instanceof ProviderConfigError || (e instanceof SwiftAuthError && e.status === undefined)
    ) {
      throw new ObjstoreConfigError(config.type, e.message);
    }
    throw e;
  }
  return withPrefix(bucket, config.prefix);
}
