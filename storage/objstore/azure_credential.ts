/**
 * Microsoft Entra ID (Azure AD) access tokens for Azure Blob Storage, over `fetch`, in the
 * `TokenCredential` shape that `@azure/storage-blob` takes (`getToken(scopes, options)`):
 *
 * - {@linkcode ClientSecretCredential}: OAuth2 client credentials with a client secret;
 * - {@linkcode WorkloadIdentityCredential}: client credentials with the federated token that
 *   Kubernetes workload identity writes to `AZURE_FEDERATED_TOKEN_FILE` as the client assertion;
 * - {@linkcode ManagedIdentityCredential}: App Service / Functions (`IDENTITY_ENDPOINT` with
 *   `IDENTITY_HEADER`) or the Instance Metadata Service (IMDS), system- or user-assigned;
 * - {@linkcode DefaultAzureCredential}: the Azure SDKs' default chain without the developer
 *   tools (Azure CLI, PowerShell, azd): environment client secret, then workload identity, then
 *   managed identity.
 *
 * Each credential caches its token and asks again about five minutes before it expires
 * (halfway through shorter lifetimes); concurrent callers share one request; each request has a
 * timeout. Errors name the credential, the endpoint and the HTTP status with the answer's
 * `error_description`; secrets, assertions and tokens never appear in them.
 *
 * Not supported: client certificates and username/password (`AZURE_CLIENT_CERTIFICATE_PATH`,
 * `AZURE_USERNAME`), and the Azure Arc, Service Fabric, Cloud Shell and Azure ML managed
 * identity endpoints; each is reported as such rather than tried.
 *
 * @module
 */

/** The public cloud's authority; `AZURE_AUTHORITY_HOST` names another one. */
export const DEFAULT_AUTHORITY_HOST = "https://login.microsoftonline.com";
/** The Instance Metadata Service; `AZURE_POD_IDENTITY_AUTHORITY_HOST` names another host. */
export const DEFAULT_IMDS_HOST = "http://169.254.169.254";
/** The scope `@azure/storage-blob` asks tokens for. */
export const STORAGE_SCOPE = "https://storage.azure.com/.default";

const IMDS_PATH = "/metadata/identity/oauth2/token";
const IMDS_API_VERSION = "2018-02-01";
const APP_SERVICE_API_VERSION = "2019-08-01";
const JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/** A cached token is replaced this long before it expires (or halfway, if it lives shorter). */
const REFRESH_BEFORE_EXPIRY_MS = 5 * 60_000;
/** After a failed refresh the cached token is still handed out while it lives this long. */
const STILL_VALID_MARGIN_MS = 30_000;
const DEFAULT_TIMEOUT_MS = 30_000;
/** The chain's first look at IMDS: off Azure nothing answers and the chain should end fast. */
const IMDS_PROBE_TIMEOUT_MS = 1_000;

/** A bearer token and when it expires, as `@azure/core-auth` defines it. */
export interface AccessToken {
  /** The token. */
  token: string;
  /** When it expires, ms since the epoch. */
  expiresOnTimestamp: number;
  /** When to ask for a new one, ms since the epoch. */
  refreshAfterTimestamp?: number;
  /** Always `"Bearer"`. */
  tokenType?: "Bearer";
}

/** What `getToken` reads of the options the Azure SDK passes. */
export interface GetTokenOptions {
  /** Gives up waiting for the token (a request shared with other callers goes on). */
  abortSignal?: AbortSignal;
}

/** The credential shape `@azure/storage-blob` accepts (`TokenCredential` of `@azure/core-auth`). */
export interface TokenCredential {
  /** Returns a token for the one scope given. */
  getToken(scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken | null>;
}

/** The credential is not set up here (variables missing, no endpoint answers); a chain goes on. */
export class CredentialUnavailableError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "CredentialUnavailableError";
  }
}

/** What an {@linkcode AuthenticationError} carries besides its message. */
export interface AuthenticationErrorDetails {
  /** The token endpoint's HTTP status, when it answered. */
  statusCode?: number;
  /** `"REQUEST_SEND_ERROR"` when no answer came (the code `@azure/core-rest-pipeline` uses). */
  code?: string;
  /** The underlying failure. */
  cause?: unknown;
}

/**
 * A token endpoint refused, failed or did not answer. `statusCode` and `code` follow the Azure
 * SDK's errors, so that the bucket's retries treat throttling, 5xx and send failures alike.
 */
export class AuthenticationError extends Error {
  /** The endpoint's HTTP status, when it answered. */
  readonly statusCode?: number;
  /** `"REQUEST_SEND_ERROR"` when no answer came. */
  readonly code?: string;

  /** Creates the error. */
  constructor(message: string, details: AuthenticationErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = "AuthenticationError";
    this.statusCode = details.statusCode;
    this.code = details.code;
  }
}

/** Options every credential takes. */
export interface CredentialOptions {
  /** Reads an environment variable; defaults to `Deno.env.get`. */
  env?: (name: string) => string | undefined;
  /** Time allowed for one token request, ms (default 30 s). */
  timeoutMs?: number;
  /** The clock, ms since the epoch; defaults to `Date.now`. */
  now?: () => number;
}

function envOf(o: CredentialOptions): (name: string) => string | undefined {
  return o.env ?? ((name) => Deno.env.get(name));
}

/** The single scope of a `getToken` call. */
function singleScope(scopes: string | string[]): string {
  const list = typeof scopes === "string" ? [scopes] : scopes;
  if (list.length !== 1) throw new TypeError(`one scope expected, got ${JSON.stringify(list)}`);
  return list[0];
}

/** The resource managed identity endpoints take for a `<resource>/.default` scope. */
function resourceOf(scope: string): string {
  return scope.endsWith("/.default") ? scope.slice(0, -"/.default".length) : scope;
}

/** A token as an endpoint issued it. */
interface IssuedToken {
  token: string;
  /** ms since the epoch. */
  expiresOn: number;
  /** When the issuer suggests asking again (`refresh_in`), ms since the epoch. */
  refreshOn?: number;
}

/** Rejects as soon as `signal` fires; `promise` itself goes on. */
function abandonable<T>(promise: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

/**
 * Tokens by scope: handed out from the cache until their refresh time, then fetched again with
 * one request shared by concurrent callers. When that request fails, a cached token that still
 * lives a while is handed out instead, so a brief outage of the issuer costs nothing.
 */
class TokenCache {
  readonly #tokens = new Map<string, AccessToken>();
  readonly #pending = new Map<string, Promise<AccessToken>>();
  readonly #issue: (scope: string) => Promise<IssuedToken>;
  readonly #now: () => number;

  constructor(issue: (scope: string) => Promise<IssuedToken>, now: () => number) {
    this.#issue = issue;
    this.#now = now;
  }

  async get(scope: string, signal?: AbortSignal): Promise<AccessToken> {
    const cached = this.#tokens.get(scope);
    if (cached && this.#now() < cached.refreshAfterTimestamp!) return cached;
    let pending = this.#pending.get(scope);
    if (!pending) {
      const requestedAt = this.#now();
      pending = Promise.resolve()
        .then(() => this.#issue(scope))
        .then((issued) => {
          const token = toAccessToken(issued, requestedAt);
          this.#tokens.set(scope, token);
          return token;
        })
        .finally(() => this.#pending.delete(scope));
      this.#pending.set(scope, pending);
    }
    try {
      return await abandonable(pending, signal);
    } catch (e) {
      if (signal?.aborted) throw e;
      if (cached && this.#now() < cached.expiresOnTimestamp - STILL_VALID_MARGIN_MS) return cached;
      throw e;
    }
  }
}

function toAccessToken(issued: IssuedToken, requestedAt: number): AccessToken {
  const lifetime = issued.expiresOn - requestedAt;
  const refreshAt = Math.min(
    issued.expiresOn - Math.min(REFRESH_BEFORE_EXPIRY_MS, lifetime / 2),
    issued.refreshOn ?? Infinity,
  );
  return {
    token: issued.token,
    expiresOnTimestamp: issued.expiresOn,
    refreshAfterTimestamp: refreshAt,
    tokenType: "Bearer",
  };
}

/** One token request: who asks, where, and which values must never show in an error. */
interface TokenRequest {
  credential: string;
  url: URL;
  method: "GET" | "POST";
  headers?: Record<string, string>;
  form?: Record<string, string>;
  secrets: string[];
  timeoutMs: number;
  requestedAt: number;
}

function redact(text: string, secrets: string[]): string {
  let out = text;
  for (const s of secrets) if (s !== "") out = out.replaceAll(s, "[redacted]");
  return out;
}

/** The most telling part of an error answer, per the AAD, IMDS and App Service formats. */
function errorDetail(text: string): string {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    const line = text.trim().replace(/\s+/g, " ");
    return line.length > 200 ? `${line.slice(0, 200)}...` : line;
  }
  const o = (body ?? {}) as Record<string, unknown>;
  const error = o.error as Record<string, unknown> | string | undefined;
  const nested = typeof error === "object" && error !== null ? error : undefined;
  const detail = o.error_description ?? o.message ?? o.Message ?? nested?.message ??
    (typeof error === "string" ? error : undefined) ?? nested?.code;
  return typeof detail === "string" ? detail : "";
}

function issuedToken(body: Record<string, unknown>, requestedAt: number): IssuedToken | undefined {
  if (typeof body.access_token !== "string" || body.access_token === "") return undefined;
  // expires_in is relative, so clock skew does not matter; App Service gives only expires_on
  // (seconds since the epoch, or a date in older API versions).
  let expiresOn = NaN;
  const expiresIn = Number(body.expires_in);
  if (body.expires_in !== undefined && body.expires_in !== "" && Number.isFinite(expiresIn)) {
    expiresOn = requestedAt + expiresIn * 1000;
  } else if (body.expires_on !== undefined) {
    const seconds = Number(body.expires_on);
    expiresOn = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(String(body.expires_on));
  }
  if (!Number.isFinite(expiresOn)) return undefined;
  const refreshIn = Number(body.refresh_in);
  return {
    token: body.access_token,
    expiresOn,
    refreshOn: refreshIn > 0 ? requestedAt + refreshIn * 1000 : undefined,
  };
}

/** Sends one token request and reads the token from its answer. */
async function requestToken(r: TokenRequest): Promise<IssuedToken> {
  const where = `${r.credential}: ${r.method} ${r.url.origin}${r.url.pathname}`;
  const headers: Record<string, string> = { accept: "application/json", ...r.headers };
  if (r.form) headers["content-type"] = "application/x-www-form-urlencoded";
  const signal = AbortSignal.timeout(r.timeoutMs);
  let res: Response;
  let text: string;
  try {
    res = await fetch(r.url, {
      method: r.method,
      headers,
      body: r.form ? new URLSearchParams(r.form).toString() : undefined,
      signal,
    });
    text = await res.text();
  } catch (e) {
    const why = signal.aborted ? `no answer in ${r.timeoutMs} ms` : String(e);
    throw new AuthenticationError(`${where}: ${redact(why, r.secrets)}`, {
      code: "REQUEST_SEND_ERROR",
      cause: signal.aborted ? undefined : e,
    });
  }
  if (!res.ok) {
    const detail = redact(errorDetail(text), r.secrets);
    throw new AuthenticationError(`${where}: HTTP ${res.status}${detail ? `: ${detail}` : ""}`, {
      statusCode: res.status,
    });
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  const issued = typeof body === "object" && body !== null
    ? issuedToken(body as Record<string, unknown>, r.requestedAt)
    : undefined;
  if (!issued) {
    throw new AuthenticationError(`${where}: the answer has no access_token with an expiry`);
  }
  return issued;
}

function isLoopback(hostname: string): boolean {
  return hostname === "localhost" || hostname === "[::1]" || /^127(\.\d{1,3}){3}$/.test(hostname);
}

/**
 * The v2.0 token endpoint of a tenant. Only https authorities are taken (plain http only on a
 * loopback address, for local stand-ins), and a tenant must be an ID or a domain name.
 */
function tokenEndpoint(credential: string, authorityHost: string, tenantId: string): URL {
  let authority: URL;
  try {
    authority = new URL(authorityHost);
  } catch {
    throw new AuthenticationError(`${credential}: authority host ${authorityHost} is not a URL`);
  }
  if (authority.protocol !== "https:" && !isLoopback(authority.hostname)) {
    throw new AuthenticationError(
      `${credential}: authority host ${authorityHost} must use https (the secret would travel ` +
        "in clear)",
    );
  }
  if (!/^[0-9A-Za-z.-]+$/.test(tenantId)) {
    throw new AuthenticationError(
      `${credential}: tenant ID ${JSON.stringify(tenantId)} is invalid`,
    );
  }
  return new URL(`${authority.href.replace(/\/+$/, "")}/${tenantId}/oauth2/v2.0/token`);
}

/** Options of {@linkcode ClientSecretCredential}. */
export interface ClientSecretCredentialOptions extends CredentialOptions {
  /** The directory (tenant) ID. */
  tenantId: string;
  /** The application (client) ID. */
  clientId: string;
  /** The client secret. */
  clientSecret: string;
  /** The authority; default `AZURE_AUTHORITY_HOST`, else {@linkcode DEFAULT_AUTHORITY_HOST}. */
  authorityHost?: string;
}

/** A service principal's token, by OAuth2 client credentials with a client secret. */
export class ClientSecretCredential implements TokenCredential {
  readonly #cache: TokenCache;

  /** Creates the credential; nothing is sent before the first `getToken`. */
  constructor(o: ClientSecretCredentialOptions) {
    const name = "ClientSecretCredential";
    const now = o.now ?? Date.now;
    const authority = o.authorityHost ?? envOf(o)("AZURE_AUTHORITY_HOST") ??
      DEFAULT_AUTHORITY_HOST;
    this.#cache = new TokenCache(async (scope) =>
      await requestToken({
        credential: name,
        url: tokenEndpoint(name, authority, o.tenantId),
        method: "POST",
        form: {
          grant_type: "client_credentials",
          client_id: o.clientId,
          client_secret: o.clientSecret,
          scope,
        },
        secrets: [o.clientSecret],
        timeoutMs: o.timeoutMs ?? DEFAULT_TIMEOUT_MS,
        requestedAt: now(),
      }), now);
  }

  /** Returns the cached token, or asks the tenant's token endpoint for one. */
  async getToken(scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken> {
    return await this.#cache.get(singleScope(scopes), options?.abortSignal);
  }
}

/** Options of {@linkcode WorkloadIdentityCredential}. */
export interface WorkloadIdentityCredentialOptions extends CredentialOptions {
  /** The directory (tenant) ID. */
  tenantId: string;
  /** The application (client) ID the federated credential belongs to. */
  clientId: string;
  /** The file holding the service account token, rewritten as it rotates. */
  tokenFilePath: string;
  /** The authority; default `AZURE_AUTHORITY_HOST`, else {@linkcode DEFAULT_AUTHORITY_HOST}. */
  authorityHost?: string;
}

/**
 * A token by OAuth2 client credentials whose client assertion is the federated token of
 * Kubernetes workload identity, read from its file for every request (the file rotates).
 */
export class WorkloadIdentityCredential implements TokenCredential {
  readonly #cache: TokenCache;

  /** Creates the credential; the file is first read at the first `getToken`. */
  constructor(o: WorkloadIdentityCredentialOptions) {
    const name = "WorkloadIdentityCredential";
    const now = o.now ?? Date.now;
    const authority = o.authorityHost ?? envOf(o)("AZURE_AUTHORITY_HOST") ??
      DEFAULT_AUTHORITY_HOST;
    this.#cache = new TokenCache(async (scope) => {
      const url = tokenEndpoint(name, authority, o.tenantId);
      let assertion: string;
      try {
        assertion = (await Deno.readTextFile(o.tokenFilePath)).trim();
      } catch (e) {
        throw new AuthenticationError(
          `${name}: cannot read the federated token file ${o.tokenFilePath}: ${e}`,
        );
      }
      if (assertion === "") {
        throw new AuthenticationError(
          `${name}: the federated token file ${o.tokenFilePath} is empty`,
        );
      }
      return await requestToken({
        credential: name,
        url,
        method: "POST",
        form: {
          grant_type: "client_credentials",
          client_id: o.clientId,
          client_assertion_type: JWT_BEARER,
          client_assertion: assertion,
          scope,
        },
        secrets: [assertion],
        timeoutMs: o.timeoutMs ?? DEFAULT_TIMEOUT_MS,
        requestedAt: now(),
      });
    }, now);
  }

  /** Returns the cached token, or exchanges the federated token for one. */
  async getToken(scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken> {
    return await this.#cache.get(singleScope(scopes), options?.abortSignal);
  }
}

/** Options of {@linkcode ManagedIdentityCredential}. */
export interface ManagedIdentityCredentialOptions extends CredentialOptions {
  /** The client ID of a user-assigned identity; none for the system-assigned one. */
  clientId?: string;
  /**
   * Before the first IMDS request, check within a second that anything answers there, and
   * report the credential unavailable if not (what the default chain does).
   */
  probeImds?: boolean;
}

/** Where a managed identity's token comes from, by the variables Azure hosts set. */
type ManagedIdentitySource =
  | { kind: "app-service"; endpoint: string; secret: string }
  | { kind: "imds"; host: string }
  | { kind: "unsupported"; what: string };

function managedIdentitySource(env: (name: string) => string | undefined): ManagedIdentitySource {
  const endpoint = env("IDENTITY_ENDPOINT");
  const header = env("IDENTITY_HEADER");
  if (endpoint && header && env("IDENTITY_SERVER_THUMBPRINT")) {
    return { kind: "unsupported", what: "Service Fabric" };
  }
  if (endpoint && header) return { kind: "app-service", endpoint, secret: header };
  if (env("MSI_ENDPOINT")) return { kind: "unsupported", what: "Cloud Shell / Azure ML" };
  if (endpoint && env("IMDS_ENDPOINT")) return { kind: "unsupported", what: "Azure Arc" };
  return { kind: "imds", host: env("AZURE_POD_IDENTITY_AUTHORITY_HOST") || DEFAULT_IMDS_HOST };
}

/**
 * A managed identity's token: from the App Service / Functions identity endpoint when
 * `IDENTITY_ENDPOINT` and `IDENTITY_HEADER` are set, else from IMDS.
 */
export class ManagedIdentityCredential implements TokenCredential {
  readonly #cache: TokenCache;
  readonly #source: ManagedIdentitySource;
  readonly #timeoutMs: number;
  #probed?: Promise<void>;

  /** Creates the credential from the environment; nothing is sent before `getToken`. */
  constructor(o: ManagedIdentityCredentialOptions = {}) {
    const now = o.now ?? Date.now;
    this.#source = managedIdentitySource(envOf(o));
    this.#timeoutMs = o.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#cache = new TokenCache(async (scope) => {
      const source = this.#source;
      const name = "ManagedIdentityCredential";
      const query: Record<string, string> = { resource: resourceOf(scope) };
      if (o.clientId) query.client_id = o.clientId;
      let url: URL;
      let headers: Record<string, string>;
      let secrets: string[] = [];
      if (source.kind === "unsupported") {
        throw new CredentialUnavailableError(
          `${name}: the ${source.what} managed identity endpoint is not supported`,
        );
      } else if (source.kind === "app-service") {
        url = new URL(source.endpoint);
        url.search = new URLSearchParams({ "api-version": APP_SERVICE_API_VERSION, ...query })
          .toString();
        headers = { "X-IDENTITY-HEADER": source.secret };
        secrets = [source.secret];
      } else {
        if (o.probeImds) await this.#probe(source.host);
        url = new URL(IMDS_PATH, source.host);
        url.search = new URLSearchParams({ "api-version": IMDS_API_VERSION, ...query })
          .toString();
        headers = { Metadata: "true" };
      }
      return await requestToken({
        credential: name,
        url,
        method: "GET",
        headers,
        secrets,
        timeoutMs: this.#timeoutMs,
        requestedAt: now(),
      });
    }, now);
  }

  /**
   * Whether IMDS is there: any answer to a request without the `Metadata` header counts (IMDS
   * refuses it at once), except a proxy's 403 saying the host is unreachable.
   */
  #probe(host: string): Promise<void> {
    this.#probed ??= (async () => {
      const url = new URL(IMDS_PATH, host);
      const unavailable = (why: string) =>
        new CredentialUnavailableError(
          `ManagedIdentityCredential: IMDS at ${url.origin}${url.pathname} ${why}`,
        );
      const signal = AbortSignal.timeout(IMDS_PROBE_TIMEOUT_MS);
      let res: Response;
      try {
        res = await fetch(url, { signal });
      } catch (e) {
        throw unavailable(
          signal.aborted
            ? `did not answer in ${IMDS_PROBE_TIMEOUT_MS} ms`
            : `cannot be reached: ${e}`,
        );
      }
      const text = await res.text().catch(() => "");
      if (res.status === 403 && text.includes("unreachable")) throw unavailable("is unreachable");
    })().catch((e) => {
      this.#probed = undefined;
      throw e;
    });
    return this.#probed;
  }

  /** Returns the cached token, or asks the managed identity endpoint for one. */
  async getToken(scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken> {
    return await this.#cache.get(singleScope(scopes), options?.abortSignal);
  }
}

/** One link of the default chain: a credential, or why it cannot be used here. */
interface ChainLink {
  name: string;
  credential: TokenCredential | string;
}

/**
 * The default chain of the Azure SDKs without their developer-tool credentials, in their order:
 *
 * 1. environment: `AZURE_TENANT_ID`, `AZURE_CLIENT_ID` and `AZURE_CLIENT_SECRET`;
 * 2. workload identity: `AZURE_FEDERATED_TOKEN_FILE`, `AZURE_CLIENT_ID`, `AZURE_TENANT_ID`;
 * 3. managed identity, user-assigned when `AZURE_CLIENT_ID` is set, probing IMDS first.
 *
 * A credential that is not set up, or finds no endpoint, passes to the next; one that is
 * refused ends the chain with its error. The first that returns a token is used from then on.
 * The error when none can be used names each credential tried and why it failed.
 */
export class DefaultAzureCredential implements TokenCredential {
  readonly #links: ChainLink[];
  #chosen?: TokenCredential;

  /** Builds the chain from the environment; nothing is sent before `getToken`. */
  constructor(o: CredentialOptions = {}) {
    const env = envOf(o);
    const tenantId = env("AZURE_TENANT_ID");
    const clientId = env("AZURE_CLIENT_ID");
    const secret = env("AZURE_CLIENT_SECRET");
    const tokenFile = env("AZURE_FEDERATED_TOKEN_FILE");
    const missing = (vars: Record<string, string | undefined>) =>
      Object.entries(vars).filter(([, v]) => !v).map(([k]) => k).join(", ") + " not set";
    const secretUnset = missing({
      AZURE_TENANT_ID: tenantId,
      AZURE_CLIENT_ID: clientId,
      AZURE_CLIENT_SECRET: secret,
    });
    const environment = tenantId && clientId && secret
      ? new ClientSecretCredential({ ...o, tenantId, clientId, clientSecret: secret })
      : env("AZURE_CLIENT_CERTIFICATE_PATH") || env("AZURE_USERNAME")
      ? `client certificates and username/password are not supported; ${secretUnset}`
      : secretUnset;
    const workload = tenantId && clientId && tokenFile
      ? new WorkloadIdentityCredential({ ...o, tenantId, clientId, tokenFilePath: tokenFile })
      : missing({
        AZURE_FEDERATED_TOKEN_FILE: tokenFile,
        AZURE_CLIENT_ID: clientId,
        AZURE_TENANT_ID: tenantId,
      });
    this.#links = [
      { name: "EnvironmentCredential", credential: environment },
      { name: "WorkloadIdentityCredential", credential: workload },
      {
        name: "ManagedIdentityCredential",
        credential: new ManagedIdentityCredential({ ...o, clientId, probeImds: true }),
      },
    ];
  }

  /** Returns a token from the first credential of the chain that can give one. */
  async getToken(scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken> {
    if (this.#chosen) return (await this.#chosen.getToken(scopes, options))!;
    const tried: string[] = [];
    for (const link of this.#links) {
      if (typeof link.credential === "string") {
        tried.push(`${link.name}: ${link.credential}`);
        continue;
      }
      try {
        const token = await link.credential.getToken(scopes, options);
        this.#chosen = link.credential;
        return token!;
      } catch (e) {
        if (options?.abortSignal?.aborted) throw e;
        const message = e instanceof Error ? e.message : String(e);
        tried.push(message.startsWith(`${link.name}:`) ? message : `${link.name}: ${message}`);
        if (!(e instanceof CredentialUnavailableError)) {
          const err = e as AuthenticationError;
          throw new AuthenticationError(`DefaultAzureCredential: ${tried.join("; ")}`, {
            statusCode: err.statusCode,
            code: err.code,
            cause: e,
          });
        }
      }
    }
    throw new CredentialUnavailableError(
      "DefaultAzureCredential: no credential could be used (developer tools such as the Azure " +
        `CLI are not tried): ${tried.join("; ")}`,
    );
  }
}
