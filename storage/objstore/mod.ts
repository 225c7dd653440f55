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
import { ObjstoreConfigError } from "./config.ts";
import { FilesystemBucket } from "./filesystem.ts";
import { withPrefix } from "./prefixed.ts";
import { S3Bucket, S3ConfigError, s3OptionsFromConfig } from "./s3.ts";
import { AzureBucket, azureOptionsFromConfig } from "./azure.ts";
import { GcsBucket, GcsConfigError, gcsOptionsFromConfig } from "./gcs.ts";
import { cosOptionsFromConfig, ossOptionsFromConfig } from "./s3_compatible.ts";
import { SwiftBucket, swiftOptionsFromConfig } from "./swift.ts";
import { SwiftAuthError } from "./swift_auth.ts";

export * from "./bucket.ts";
export * from "./config.ts";
export { FilesystemBucket } from "./filesystem.ts";
export { withPrefix } from "./prefixed.ts";
export { instrumentBucket } from "./instrumented.ts";
export { S3Bucket, type S3Encryption, type S3Options, s3OptionsFromConfig } from "./s3.ts";
export { type AzureAuth, AzureBucket, type AzureOptions, azureOptionsFromConfig } from "./azure.ts";
export type { AccessToken, TokenCredential } from "./azure_credential.ts";
export { GcsBucket, type GcsOptions, gcsOptionsFromConfig } from "./gcs.ts";
export { cosOptionsFromConfig, ossOptionsFromConfig } from "./s3_compatible.ts";
export { SwiftBucket, type SwiftOptions, swiftOptionsFromConfig } from "./swift.ts";
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
      case "S3":
        bucket = new S3Bucket(s3OptionsFromConfig(c), options.logger);
        break;
      case "AZURE":
        bucket = await AzureBucket.create(azureOptionsFromConfig(c), options.logger);
        break;
      case "GCS":
        bucket = new GcsBucket(gcsOptionsFromConfig(c), options.logger);
        break;
      case "COS":
        bucket = new S3Bucket(cosOptionsFromConfig(c), options.logger);
        break;
      case "OSS":
        bucket = new S3Bucket(ossOptionsFromConfig(c), options.logger);
        break;
      case "SWIFT":
        bucket = await SwiftBucket.create(swiftOptionsFromConfig(c), options.logger);
        break;
    }
  } catch (e) {
    if (
      e instanceof S3ConfigError || e instanceof GcsConfigError ||
      (e instanceof SwiftAuthError && e.status === undefined)
    ) {
      throw new ObjstoreConfigError(config.type, e.message);
    }
    throw e;
  }
  return withPrefix(bucket, config.prefix);
}
