/**
 * A stand-in for the Microsoft Entra ID (Azure AD) token endpoint, the Instance Metadata
 * Service and the App Service identity endpoint, for tests only, on 127.0.0.1. No real Azure AD
 * can be reached from the tests, so this plays its part: it records every request, checks the
 * fields and headers the real endpoints require (refusing with their error shapes otherwise),
 * and issues JWT-shaped tokens with the claims Azure Storage and azurite's `--oauth basic` read
 * (`aud`, `iss`, `iat`, `nbf`, `exp`). The tokens are not signed: azurite does not check
 * signatures and nothing else here does either.
 *
 * Routes: `POST /<tenant>/oauth2/v2.0/token` (client secret or client assertion),
 * `GET /metadata/identity/oauth2/token` (IMDS, needs `Metadata: true`) and `GET /msi/token`
 * (App Service, needs `X-IDENTITY-HEADER`).
 *
 * @module
 */

/** A request as the stand-in saw it. */
export interface SeenRequest {
  /** HTTP method. */
  method: string;
  /** URL path. */
  path: string;
  /** Query parameters. */
  query: Record<string, string>;
  /** Headers, names in lower case. */
  headers: Record<string, string>;
  /** Form fields of a POST body. */
  form: Record<string, string>;
}

/** What the stand-in accepts and how it answers. */
export interface AadStandInOptions {
  /** Client secrets by client ID. */
  secrets?: Record<string, string>;
  /** Client assertions (federated tokens) by client ID. */
  assertions?: Record<string, string>;
  /** The `X-IDENTITY-HEADER` value App Service requests must carry. */
  identityHeader?: string;
  /** Token lifetime, seconds (default 3600). */
  lifetimeSeconds?: number;
  /** The `aud` claim instead of the resource asked for. */
  audience?: string;
  /** Delay before each answer, ms. */
  delayMs?: number;
}

/** A running stand-in. */
export interface AadStandIn {
  /** Base URL, e.g. `http://127.0.0.1:40123` (the authority host, IMDS host). */
  url: string;
  /** The App Service identity endpoint (`IDENTITY_ENDPOINT`). */
  appServiceEndpoint: string;
  /** Requests seen, in order. */
  requests: SeenRequest[];
  /** Answers to give before the normal ones, in order (e.g. a 503). */
  queued: Response[];
  /** Holds every answer until {@linkcode AadStandIn.release} (to test timeouts). */
  hold(): void;
  /** Lets held answers go. */
  release(): void;
  /** Stops the server. */
  stop(): Promise<void>;
}

function base64url(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
}

/** An unsigned JWT with the given claims. */
export function unsignedJwt(claims: Record<string, unknown>): string {
  const enc = new TextEncoder();
  const part = (o: unknown) => base64url(enc.encode(JSON.stringify(o)));
  return `${part({ alg: "RS256", typ: "JWT" })}.${part(claims)}.${base64url(enc.encode("sig"))}`;
}

/** The claims of a JWT (its signature unchecked). */
export function jwtClaims(token: string): Record<string, unknown> {
  const payload = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
  const bin = atob(payload + "=".repeat((4 - payload.length % 4) % 4));
  return JSON.parse(new TextDecoder().decode(Uint8Array.from(bin, (c) => c.charCodeAt(0))));
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json" },
  });
}

/** The AAD v2.0 error shape. */
function aadError(status: number, error: string, description: string): Response {
  return json(status, { error, error_description: description, error_codes: [1] });
}

/** Starts the stand-in on a free port of 127.0.0.1. */
export function startAadStandIn(options: AadStandInOptions = {}): AadStandIn {
  const requests: SeenRequest[] = [];
  const queued: Response[] = [];
  let held: Promise<void> | undefined;
  let releaseHeld = () => {};
  let issued = 0;
  const lifetime = options.lifetimeSeconds ?? 3600;

  const mint = (resource: string, tenant: string, appid: string) => {
    const now = Math.floor(Date.now() / 1000);
    issued++;
    return unsignedJwt({
      aud: options.audience ?? resource,
      iss: `https://sts.windows.net/${tenant}/`,
      iat: now,
      nbf: now,
      exp: now + lifetime,
      appid,
      tid: tenant,
      n: issued,
    });
  };

  const answer = (req: SeenRequest): Response => {
    const next = queued.shift();
    if (next) return next;
    const aad = /^\/([^/]+)\/oauth2\/v2\.0\/token$/.exec(req.path);
    if (aad && req.method === "POST") {
      const f = req.form;
      if (req.headers["content-type"] !== "application/x-www-form-urlencoded") {
        return aadError(400, "invalid_request", "AADSTS900144: the body must be a form");
      }
      if (f.grant_type !== "client_credentials") {
        return aadError(400, "unsupported_grant_type", "AADSTS70003: grant type not supported");
      }
      if (!f.scope?.endsWith("/.default")) {
        return aadError(400, "invalid_scope", "AADSTS1002012: scope must end in /.default");
      }
      if (f.client_assertion !== undefined) {
        const ok = f.client_assertion_type ===
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" &&
          options.assertions?.[f.client_id] === f.client_assertion;
        if (!ok) return aadError(401, "invalid_client", "AADSTS700213: assertion rejected");
      } else if (options.secrets?.[f.client_id] !== f.client_secret) {
        return aadError(
          401,
          "invalid_client",
          "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the " +
            `request is the client secret value, not the client secret ID, for app '${f.client_id}'.`,
        );
      }
      const resource = f.scope.slice(0, -"/.default".length);
      return json(200, {
        token_type: "Bearer",
        expires_in: lifetime,
        ext_expires_in: lifetime,
        access_token: mint(resource, aad[1], f.client_id),
      });
    }
    if (req.path === "/metadata/identity/oauth2/token" && req.method === "GET") {
      if (req.headers["metadata"] !== "true") {
        return json(400, {
          error: "invalid_request",
          error_description: "Required metadata header not specified",
        });
      }
      if (req.query["api-version"] !== "2018-02-01" || !req.query.resource) {
        return json(400, { error: "invalid_request", error_description: "bad query" });
      }
      const now = Math.floor(Date.now() / 1000);
      // IMDS gives numbers as strings.
      return json(200, {
        access_token: mint(req.query.resource, "imds-tenant", req.query.client_id ?? "system"),
        expires_in: String(lifetime),
        expires_on: String(now + lifetime),
        not_before: String(now),
        resource: req.query.resource,
        token_type: "Bearer",
      });
    }
    if (req.path === "/msi/token" && req.method === "GET") {
      if (req.headers["x-identity-header"] !== options.identityHeader) {
        return json(401, { statusCode: 401, message: "Unauthorized: bad X-IDENTITY-HEADER" });
      }
      if (req.query["api-version"] !== "2019-08-01" || !req.query.resource) {
        return json(400, { statusCode: 400, message: "bad query" });
      }
      const now = Math.floor(Date.now() / 1000);
      return json(200, {
        access_token: mint(req.query.resource, "app-tenant", req.query.client_id ?? "system"),
        expires_on: String(now + lifetime),
        resource: req.query.resource,
        token_type: "Bearer",
        client_id: req.query.client_id ?? "system",
      });
    }
    return json(404, { error: "not_found", error_description: `no route ${req.path}` });
  };

  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (request) => {
      const url = new URL(request.url);
      const body = await request.text();
      const seen: SeenRequest = {
        method: request.method,
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        headers: Object.fromEntries(request.headers),
        form: request.method === "POST" ? Object.fromEntries(new URLSearchParams(body)) : {},
      };
      requests.push(seen);
      if (options.delayMs) await new Promise((r) => setTimeout(r, options.delayMs));
      if (held) await held;
      return answer(seen);
    },
  );
  const url = `http://127.0.0.1:${server.addr.port}`;
  return {
    url,
    appServiceEndpoint: `${url}/msi/token`,
    requests,
    queued,
    hold() {
      held = new Promise((r) => releaseHeld = r);
    },
    release() {
      held = undefined;
      releaseHeld();
    },
    async stop() {
      this.release();
      await server.shutdown();
    },
  };
}
