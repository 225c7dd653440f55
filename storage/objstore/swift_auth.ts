/**
 * OpenStack Swift authentication over fetch: tempauth/v1 (`X-Auth-User`/`X-Auth-Key`),
 * Keystone v2 (`POST /tokens`) and Keystone v3 (`POST /auth/tokens`, password or application
 * credential, project or domain scope), with the object-store endpoint taken from the catalog.
 * `auth_version: 0` picks the version from the URL's ending (`/v1.0`, `/v2.0`, `/v3`) as the Go
 * client upstream uses does. Secrets go only into request bodies and headers, never into errors.
 *
 * @module
 */

/** The validated SWIFT auth fields (see config.ts). */
export interface SwiftAuthConfig {
  /** 0 picks the version from the URL's ending; else 1, 2 or 3. */
  auth_version: number;
  /** Identity endpoint (tempauth `/auth/v1.0`, Keystone `/v2.0` or `/v3`). */
  auth_url: string;
  /** User name (tempauth `account:user`, Keystone user name). */
  username: string;
  /** Keystone v3: domain of the user named by `username`. */
  user_domain_name: string;
  /** Keystone v3: domain ID of the user named by `username`. */
  user_domain_id: string;
  /** Keystone v3: user ID (instead of `username`). */
  user_id: string;
  /** Password (tempauth key); never logged. */
  password: string;
  /** Keystone v3: domain ID to scope the token to (instead of a project). */
  domain_id: string;
  /** Keystone v3: domain name to scope the token to (instead of a project). */
  domain_name: string;
  /** Keystone v3: application credential ID (instead of a password). */
  application_credential_id: string;
  /** Keystone v3: application credential name, with the user. */
  application_credential_name: string;
  /** Keystone v3: application credential secret; never logged. */
  application_credential_secret: string;
  /** Project (tenant) ID to scope the token to. */
  project_id: string;
  /** Project (tenant) name to scope the token to. */
  project_name: string;
  /** Keystone v3: domain ID of the project named by `project_name`. */
  project_domain_id: string;
  /** Keystone v3: domain name of the project named by `project_name`. */
  project_domain_name: string;
  /** Catalog region of the object-store endpoint (empty: the first one). */
  region_name: string;
}

/** What authentication yields. */
export interface SwiftSession {
  /** The account's storage URL, e.g. `https://swift.example.com/v1/AUTH_project`. */
  storageUrl: string;
  /** The token for `X-Auth-Token`. */
  token: string;
}

/** Authentication failed; the message never contains a secret. */
export class SwiftAuthError extends Error {
  /** Creates the error; `status` is the HTTP status when there was an answer. */
  constructor(message: string, readonly status?: number) {
    super(message);
    this.name = "SwiftAuthError";
  }
}

/** The auth version for a config: explicit, or read from the URL's last path segment. */
export function authVersion(c: SwiftAuthConfig): 1 | 2 | 3 {
  if (c.auth_version === 1 || c.auth_version === 2 || c.auth_version === 3) return c.auth_version;
  if (c.auth_version !== 0) {
    throw new SwiftAuthError(`auth_version ${c.auth_version}: want 0 (detect), 1, 2 or 3`);
  }
  const path = c.auth_url.replace(/\/+$/, "");
  if (/\/v3$/.test(path)) return 3;
  if (/\/v2(\.0)?$/.test(path)) return 2;
  return 1;
}

async function failure(what: string, res: Response): Promise<SwiftAuthError> {
  await res.body?.cancel();
  return new SwiftAuthError(`${what}: HTTP ${res.status} ${res.statusText}`, res.status);
}

interface CatalogEndpoint {
  region?: string;
  region_id?: string;
  interface?: string;
  url?: string;
  publicURL?: string;
}

function pickEndpoint(
  catalog: { type?: string; endpoints?: CatalogEndpoint[] }[] | undefined,
  region: string,
  urlOf: (e: CatalogEndpoint) => string | undefined,
): string {
  for (const service of catalog ?? []) {
    if (service.type !== "object-store") continue;
    for (const e of service.endpoints ?? []) {
      if (region !== "" && e.region !== region && e.region_id !== region) continue;
      const url = urlOf(e);
      if (url) return url;
    }
  }
  throw new SwiftAuthError(
    `no public object-store endpoint${region ? ` in region ${region}` : ""} in the catalog`,
  );
}

function joinUrl(base: string, path: string): string {
  return base.replace(/\/+$/, "") + path;
}

async function authV1(c: SwiftAuthConfig, signal?: AbortSignal): Promise<SwiftSession> {
  const res = await fetch(c.auth_url, {
    headers: { "X-Auth-User": c.username, "X-Auth-Key": c.password },
    signal,
  });
  if (!res.ok) throw await failure("tempauth v1", res);
  await res.body?.cancel();
  const storageUrl = res.headers.get("x-storage-url");
  const token = res.headers.get("x-auth-token");
  if (!storageUrl || !token) {
    throw new SwiftAuthError("tempauth v1: answer lacks X-Storage-Url or X-Auth-Token");
  }
  return { storageUrl, token };
}

async function authV2(c: SwiftAuthConfig, signal?: AbortSignal): Promise<SwiftSession> {
  const auth: Record<string, unknown> = {
    passwordCredentials: { username: c.username, password: c.password },
  };
  if (c.project_id) auth.tenantId = c.project_id;
  else if (c.project_name) auth.tenantName = c.project_name;
  const res = await fetch(joinUrl(c.auth_url, "/tokens"), {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json" },
    body: JSON.stringify({ auth }),
    signal,
  });
  if (!res.ok) throw await failure("keystone v2", res);
  const body = await res.json() as {
    access?: { token?: { id?: string }; serviceCatalog?: [] };
  };
  const token = body.access?.token?.id;
  if (!token) throw new SwiftAuthError("keystone v2: answer has no access.token.id");
  const storageUrl = pickEndpoint(body.access?.serviceCatalog, c.region_name, (e) => e.publicURL);
  return { storageUrl, token };
}

function domain(id: string, name: string): Record<string, string> | undefined {
  if (id) return { id };
  if (name) return { name };
  return undefined;
}

async function authV3(c: SwiftAuthConfig, signal?: AbortSignal): Promise<SwiftSession> {
  let identity: Record<string, unknown>;
  if (c.application_credential_id || c.application_credential_name) {
    const cred: Record<string, unknown> = { secret: c.application_credential_secret };
    if (c.application_credential_id) cred.id = c.application_credential_id;
    else {
      cred.name = c.application_credential_name;
      cred.user = c.user_id ? { id: c.user_id } : {
        name: c.username,
        domain: domain(c.user_domain_id || c.domain_id, c.user_domain_name || c.domain_name),
      };
    }
    identity = { methods: ["application_credential"], application_credential: cred };
  } else {
    const user: Record<string, unknown> = { password: c.password };
    if (c.user_id) user.id = c.user_id;
    else {
      user.name = c.username;
      user.domain = domain(c.user_domain_id || c.domain_id, c.user_domain_name || c.domain_name);
    }
    identity = { methods: ["password"], password: { user } };
  }
  const auth: Record<string, unknown> = { identity };
  // Application credentials carry their own scope.
  if (!identity.application_credential) {
    if (c.project_id) auth.scope = { project: { id: c.project_id } };
    else if (c.project_name) {
      auth.scope = {
        project: {
          name: c.project_name,
          domain: domain(
            c.project_domain_id || c.domain_id,
            c.project_domain_name || c.domain_name,
          ),
        },
      };
    } else if (c.domain_id || c.domain_name) {
      auth.scope = { domain: domain(c.domain_id, c.domain_name) };
    }
  }
  const res = await fetch(joinUrl(c.auth_url, "/auth/tokens"), {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json" },
    body: JSON.stringify({ auth }),
    signal,
  });
  if (!res.ok) throw await failure("keystone v3", res);
  const token = res.headers.get("x-subject-token");
  const body = await res.json() as { token?: { catalog?: [] } };
  if (!token) throw new SwiftAuthError("keystone v3: answer has no X-Subject-Token");
  const storageUrl = pickEndpoint(
    body.token?.catalog,
    c.region_name,
    (e) => e.interface === "public" ? e.url : undefined,
  );
  return { storageUrl, token };
}

/** Authenticates with the configured version. Rejects with {@linkcode SwiftAuthError}. */
export function authenticate(c: SwiftAuthConfig, signal?: AbortSignal): Promise<SwiftSession> {
  switch (authVersion(c)) {
    case 1:
      return authV1(c, signal);
    case 2:
      return authV2(c, signal);
    case 3:
      return authV3(c, signal);
  }
}
