/**
 * The Thanos objstore YAML (`type:`, `config:`, `prefix:`): parsing, `$(ENV)` expansion and strict
 * validation of every provider's fields with their upstream defaults. Unknown types and unknown
 * fields are errors that name them, as with Thanos' strict YAML decoding. A validated config can
 * be written back as YAML with its credentials redacted, for display.
 *
 * @module
 */
import { parseDocument, stringify } from "yaml";
import { notCapable, permissionDenial } from "../../internal/permission.ts";
import { formatDuration, parseDuration } from "../../internal/units.ts";

/** Provider types this gateway implements. `ALIYUNOSS` is accepted as an alias of `OSS`. */
export const PROVIDER_TYPES = ["FILESYSTEM", "S3", "GCS", "AZURE", "SWIFT", "COS", "OSS"] as const;
/** One of {@linkcode PROVIDER_TYPES}. */
export type ProviderType = typeof PROVIDER_TYPES[number];

/** A bucket configuration after validation; `config` has every field, defaults filled in. */
export interface BucketConfig {
  /** The provider. */
  type: ProviderType;
  /** Provider fields; durations are milliseconds. See the `*Config` interfaces. */
  config: Record<string, unknown>;
  /** Key prefix applied to every operation (no leading or trailing `/`). */
  prefix: string;
}

/** A configuration that does not parse or validate. The message names the source and field. */
export class ObjstoreConfigError extends Error {
  /** Creates the error; `source` names where the YAML came from (a file or a flag). */
  constructor(readonly source: string, message: string) {
    super(`${source}: ${message}`);
    this.name = "ObjstoreConfigError";
  }
}

/**
 * A provider's fields that validate as YAML but cannot be used (a bad endpoint, conflicting
 * credentials); {@linkcode createBucket} reports it as an {@linkcode ObjstoreConfigError}.
 */
export class ProviderConfigError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "ProviderConfigError";
  }
}

type Spec =
  | { kind: "string"; def: string }
  | { kind: "bool"; def: boolean }
  | { kind: "int"; def: number }
  | { kind: "duration"; def: string }
  | { kind: "map"; def: Record<string, string> }
  | { kind: "object"; fields: Record<string, Spec> };

const str = (def = ""): Spec => ({ kind: "string", def });
const bool = (def = false): Spec => ({ kind: "bool", def });
const int = (def = 0): Spec => ({ kind: "int", def });
const dur = (def = "0s"): Spec => ({ kind: "duration", def });
const map = (): Spec => ({ kind: "map", def: {} });
const obj = (fields: Record<string, Spec>): Spec => ({ kind: "object", fields });

const tlsConfig = obj({
  ca_file: str(),
  cert_file: str(),
  key_file: str(),
  server_name: str(),
  insecure_skip_verify: bool(),
});

function httpConfig(defaults: boolean): Spec {
  return obj({
    idle_conn_timeout: dur(defaults ? "1m30s" : "0s"),
    response_header_timeout: dur(defaults ? "2m" : "0s"),
    insecure_skip_verify: bool(),
    tls_handshake_timeout: dur(defaults ? "10s" : "0s"),
    expect_continue_timeout: dur(defaults ? "1s" : "0s"),
    max_idle_conns: int(defaults ? 100 : 0),
    max_idle_conns_per_host: int(defaults ? 100 : 0),
    max_conns_per_host: int(),
    tls_config: tlsConfig,
    disable_compression: bool(),
  });
}

// Field lists and defaults as in thanos-io/objstore's README (generated from its Go structs).
const PROVIDER_SPECS: Record<ProviderType, Record<string, Spec>> = {
  FILESYSTEM: { directory: str() },
  S3: {
    bucket: str(),
    endpoint: str(),
    region: str(),
    disable_dualstack: bool(),
    aws_sdk_auth: bool(),
    access_key: str(),
    insecure: bool(),
    signature_version2: bool(),
    secret_key: str(),
    session_token: str(),
    put_user_metadata: map(),
    http_config: httpConfig(true),
    trace: obj({ enable: bool() }),
    list_objects_version: str(),
    bucket_lookup_type: str("auto"),
    send_content_md5: bool(true),
    disable_multipart: bool(),
    part_size: int(67108864),
    sse_config: obj({
      type: str(),
      kms_key_id: str(),
      kms_encryption_context: map(),
      encryption_key: str(),
    }),
    sts_endpoint: str(),
    max_retries: int(),
  },
  GCS: {
    bucket: str(),
    service_account: str(),
    use_grpc: bool(),
    grpc_conn_pool_size: int(),
    http_config: httpConfig(false),
    chunk_size_bytes: int(),
    max_retries: int(),
    // Not in Thanos: lets tests and GCS-compatible servers point the client elsewhere.
    endpoint: str(),
  },
  AZURE: {
    az_tenant_id: str(),
    client_id: str(),
    client_secret: str(),
    storage_account: str(),
    storage_account_key: str(),
    storage_connection_string: str(),
    storage_create_container: bool(true),
    container: str(),
    endpoint: str("blob.core.windows.net"),
    user_assigned_id: str(),
    max_retries: int(),
    reader_config: obj({ max_retry_requests: int() }),
    pipeline_config: obj({
      max_tries: int(),
      try_timeout: dur(),
      retry_delay: dur(),
      max_retry_delay: dur(),
    }),
    http_config: httpConfig(false),
    msi_resource: str(),
  },
  SWIFT: {
    auth_version: int(),
    auth_url: str(),
    username: str(),
    user_domain_name: str(),
    user_domain_id: str(),
    user_id: str(),
    password: str(),
    domain_id: str(),
    domain_name: str(),
    application_credential_id: str(),
    application_credential_name: str(),
    application_credential_secret: str(),
    project_id: str(),
    project_name: str(),
    project_domain_id: str(),
    project_domain_name: str(),
    region_name: str(),
    container_name: str(),
    large_object_chunk_size: int(1073741824),
    large_object_segments_container_name: str(),
    retries: int(3),
    connect_timeout: dur("10s"),
    timeout: dur("5m"),
    use_dynamic_large_objects: bool(),
    http_config: httpConfig(true),
  },
  COS: {
    bucket: str(),
    region: str(),
    app_id: str(),
    endpoint: str(),
    secret_key: str(),
    secret_id: str(),
    max_retries: int(),
    http_config: httpConfig(true),
  },
  OSS: {
    endpoint: str(),
    bucket: str(),
    access_key_id: str(),
    access_key_secret: str(),
  },
};

/** Fields that must be non-empty, per provider (the upstream constructors' checks). */
const REQUIRED: Record<ProviderType, (c: Record<string, unknown>) => string | undefined> = {
  FILESYSTEM: (c) => c.directory === "" ? "missing directory for filesystem bucket" : undefined,
  S3: (c) => c.bucket === "" ? "missing bucket for S3 bucket" : undefined,
  GCS: (c) => c.bucket === "" ? "missing bucket for GCS bucket" : undefined,
  AZURE: (c) =>
    c.container === ""
      ? "missing container for AZURE bucket"
      : c.storage_account === "" && c.storage_connection_string === ""
      ? "AZURE bucket needs storage_account or storage_connection_string"
      : undefined,
  SWIFT: (c) =>
    c.container_name === ""
      ? "missing container_name for SWIFT bucket"
      : c.auth_url === ""
      ? "missing auth_url for SWIFT bucket"
      : undefined,
  COS: (c) =>
    c.secret_id === "" || c.secret_key === ""
      ? "COS bucket needs secret_id and secret_key"
      : c.endpoint === "" && (c.bucket === "" || c.region === "" || c.app_id === "")
      ? "COS bucket needs either endpoint or bucket, region and app_id"
      : undefined,
  OSS: (c) =>
    c.endpoint === "" || c.bucket === ""
      ? "OSS bucket needs endpoint and bucket"
      : c.access_key_id === "" || c.access_key_secret === ""
      ? "OSS bucket needs access_key_id and access_key_secret"
      : undefined,
};

/**
 * Replaces every `$(NAME)` with the environment variable's value (missing: empty), as the Go
 * gateway does before parsing.
 */
export function expandEnv(text: string, env: (name: string) => string | undefined): string {
  return text.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (_, name: string) => env(name) ?? "");
}

function readEnv(name: string): string | undefined {
  // Under `--ignore-env` a variable that is not granted reads as unset: an expansion the YAML
  // asks for would silently become "" instead of failing as the refusal it is.
  if (Deno.permissions.requestSync({ name: "env", variable: name }).state !== "granted") {
    throw notCapable("env", name);
  }
  return Deno.env.get(name);
}

/**
 * Parses and validates objstore YAML. `source` names the input in errors (a file path or the
 * flag name). Throws {@linkcode ObjstoreConfigError}, or `Deno.errors.NotCapable` when the
 * default `env` may not read a variable that a `$(NAME)` names.
 */
export function parseBucketConfig(
  yamlText: string,
  source: string,
  env: (name: string) => string | undefined = readEnv,
): BucketConfig {
  const doc = parseDocument(expandEnv(yamlText, env), { uniqueKeys: true });
  if (doc.errors.length > 0) {
    const err = doc.errors[0];
    // The yaml library appends a code frame on further lines; keep the message to one line.
    const where = err.linePos
      ? ` at line ${err.linePos[0].line}, column ${err.linePos[0].col}`
      : "";
    const what = err.message.split("\n")[0].replace(/ at line \d+, column \d+:?$/, "");
    throw new ObjstoreConfigError(source, `invalid YAML${where}: ${what}`);
  }
  const root: unknown = doc.toJS();
  if (root === null || root === undefined) throw new ObjstoreConfigError(source, "empty config");
  if (!isRecord(root)) throw new ObjstoreConfigError(source, "config must be a YAML mapping");
  for (const key of Object.keys(root)) {
    if (!["type", "config", "prefix"].includes(key)) {
      throw new ObjstoreConfigError(source, `unknown field "${key}" (want type, config, prefix)`);
    }
  }
  if (typeof root.type !== "string" || root.type === "") {
    throw new ObjstoreConfigError(source, `missing "type" (one of ${PROVIDER_TYPES.join(", ")})`);
  }
  const upper = root.type.toUpperCase();
  const type = (upper === "ALIYUNOSS" ? "OSS" : upper) as ProviderType;
  if (!PROVIDER_TYPES.includes(type)) {
    throw new ObjstoreConfigError(
      source,
      `bucket with type ${root.type} is not supported (supported: ${PROVIDER_TYPES.join(", ")})`,
    );
  }
  const prefix = root.prefix ?? "";
  if (typeof prefix !== "string") {
    throw new ObjstoreConfigError(source, `"prefix" must be a string`);
  }
  const rawConfig = root.config ?? {};
  if (!isRecord(rawConfig)) {
    throw new ObjstoreConfigError(source, `"config" must be a mapping of ${type} fields`);
  }
  const config = validateObject(PROVIDER_SPECS[type], rawConfig, "config", source, type);
  const missing = REQUIRED[type](config);
  if (missing) throw new ObjstoreConfigError(source, missing);
  return { type, config, prefix: prefix.replace(/^\/+|\/+$/g, "") };
}

function validateObject(
  fields: Record<string, Spec>,
  raw: Record<string, unknown>,
  path: string,
  source: string,
  type: string,
): Record<string, unknown> {
  for (const key of Object.keys(raw)) {
    if (!(key in fields)) {
      throw new ObjstoreConfigError(source, `unknown field "${path}.${key}" for type ${type}`);
    }
  }
  const out: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(fields)) {
    out[name] = validateField(spec, raw[name], `${path}.${name}`, source, type);
  }
  return out;
}

function validateField(
  spec: Spec,
  value: unknown,
  path: string,
  source: string,
  type: string,
): unknown {
  const fail = (want: string): never => {
    throw new ObjstoreConfigError(
      source,
      `field "${path}" must be ${want}, got ${JSON.stringify(value)}`,
    );
  };
  if (spec.kind === "object") {
    if (value === undefined || value === null) {
      return validateObject(spec.fields, {}, path, source, type);
    }
    if (!isRecord(value)) return fail("a mapping");
    return validateObject(spec.fields, value, path, source, type);
  }
  if (value === undefined || value === null) {
    return spec.kind === "duration" ? parseDuration(spec.def) : structuredClone(spec.def);
  }
  switch (spec.kind) {
    case "string":
      // YAML turns unquoted numbers into numbers; Go would accept them for a string field.
      if (typeof value === "number") return String(value);
      return typeof value === "string" ? value : fail("a string");
    case "bool":
      return typeof value === "boolean" ? value : fail("true or false");
    case "int":
      return typeof value === "number" && Number.isSafeInteger(value) && value >= 0
        ? value
        : fail("a non-negative integer");
    case "duration":
      if (typeof value !== "string" && typeof value !== "number") return fail("a duration");
      try {
        // A bare number is nanoseconds in Go's YAML decoding of time.Duration.
        return typeof value === "number" ? value / 1e6 : parseDuration(value);
      } catch {
        return fail("a duration such as 10s or 1m30s");
      }
    case "map": {
      if (!isRecord(value)) return fail("a mapping of strings");
      const out: Record<string, string> = {};
      for (const [k, v] of Object.entries(value)) {
        if (typeof v !== "string") return fail("a mapping of strings");
        out[k] = v;
      }
      return out;
    }
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * Reads a config from a file flag or an inline flag (the file wins, as upstream). With neither,
 * returns `fallback` (the embedded default) or throws when there is none. A file that may not
 * be read is a permission error (`Deno.errors.NotCapable`), not a configuration error.
 */
export async function loadBucketConfig(
  file: string | undefined,
  inline: string | undefined,
  flagName: string,
  fallback?: BucketConfig,
): Promise<BucketConfig> {
  if (file) {
    let text: string;
    try {
      text = await Deno.readTextFile(file);
    } catch (e) {
      if (permissionDenial(e)) throw e;
      throw new ObjstoreConfigError(
        `--${flagName}-file=${file}`,
        `cannot read file: ${e instanceof Error ? e.message : e}`,
      );
    }
    return parseBucketConfig(text, `--${flagName}-file=${file}`);
  }
  if (inline) return parseBucketConfig(inline, `--${flagName}`);
  if (fallback) return fallback;
  throw new ObjstoreConfigError(
    `--${flagName}`,
    `no bucket configured: pass --${flagName}-file or --${flagName}`,
  );
}

/**
 * Fields that hold credentials, whatever the provider: keys, tokens, passwords, the GCS service
 * account JSON and the Azure connection string (it embeds the account key). Key and account IDs
 * (`access_key`, `secret_id`, `access_key_id`, `client_id`) name rather than prove an identity and
 * stay visible.
 */
const SECRET_FIELDS: ReadonlySet<string> = new Set([
  "secret_key",
  "session_token",
  "encryption_key",
  "service_account",
  "client_secret",
  "storage_account_key",
  "storage_connection_string",
  "password",
  "application_credential_secret",
  "access_key_secret",
]);

/** What a set credential reads as in {@linkcode bucketConfigYaml} (Prometheus' placeholder). */
export const REDACTED_SECRET = "<secret>";

/**
 * Writes a validated config back as objstore YAML for display: every field with its default
 * filled in, durations in Go's notation, and each non-empty credential replaced by
 * {@linkcode REDACTED_SECRET}.
 */
export function bucketConfigYaml(config: BucketConfig): string {
  return stringify({
    type: config.type,
    config: redactObject(PROVIDER_SPECS[config.type], config.config),
    prefix: config.prefix,
  });
}

function redactObject(
  fields: Record<string, Spec>,
  values: Record<string, unknown>,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(fields)) {
    const value = values[name];
    if (value === undefined) continue;
    if (spec.kind === "object") {
      out[name] = redactObject(spec.fields, value as Record<string, unknown>);
    } else if (spec.kind === "duration") {
      out[name] = formatDuration(value as number);
    } else {
      out[name] = SECRET_FIELDS.has(name) && value !== "" ? REDACTED_SECRET : value;
    }
  }
  return out;
}
