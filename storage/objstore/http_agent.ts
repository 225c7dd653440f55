/**
 * The objstore `http_config:` block (as validated by config.ts, durations in ms) mapped onto
 * `node:http`/`node:https` agents, which the AWS, Azure and GCS SDKs use under Deno.
 *
 * @module
 */
import { Agent as HttpAgent } from "node:http";
import { Agent as HttpsAgent } from "node:https";
import { readFileSync } from "node:fs";

/** The validated `http_config` fields this module reads. */
export interface HttpConfig {
  /** How long an idle keep-alive connection stays open, ms. */
  idle_conn_timeout: number;
  /** Time allowed until response headers, ms (used as the per-attempt timeout). */
  response_header_timeout: number;
  /** Skip TLS certificate verification. */
  insecure_skip_verify: boolean;
  /** TLS handshake limit, ms (used as the connection timeout). */
  tls_handshake_timeout: number;
  /** Idle connections kept per host. */
  max_idle_conns_per_host: number;
  /** Connections per host, 0 for unlimited. */
  max_conns_per_host: number;
  /** Custom CA, client certificate, server name. */
  tls_config: {
    ca_file: string;
    cert_file: string;
    key_file: string;
    server_name: string;
    insecure_skip_verify: boolean;
  };
}

/** Agents for plain and TLS connections built from one `http_config`. */
export interface Agents {
  /** For `http://` endpoints. */
  http: HttpAgent;
  /** For `https://` endpoints. */
  https: HttpsAgent;
}

function readOptional(path: string, field: string): string | undefined {
  if (path === "") return undefined;
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    throw new Error(`http_config.tls_config.${field}: cannot read ${path}: ${e}`);
  }
}

/** Builds the agents; reads the TLS files named in the config (errors name the field). */
export function agentsFromHttpConfig(c: HttpConfig): Agents {
  const common = {
    keepAlive: true,
    maxSockets: c.max_conns_per_host > 0 ? c.max_conns_per_host : Infinity,
    maxFreeSockets: c.max_idle_conns_per_host > 0 ? c.max_idle_conns_per_host : 256,
    timeout: c.idle_conn_timeout > 0 ? c.idle_conn_timeout : undefined,
  };
  const tls = c.tls_config;
  return {
    http: new HttpAgent(common),
    https: new HttpsAgent({
      ...common,
      ca: readOptional(tls.ca_file, "ca_file"),
      cert: readOptional(tls.cert_file, "cert_file"),
      key: readOptional(tls.key_file, "key_file"),
      servername: tls.server_name || undefined,
      rejectUnauthorized: !(c.insecure_skip_verify || tls.insecure_skip_verify),
    }),
  };
}

/** Upstream's default `http_config` (exthttp.DefaultHTTPConfig), durations in ms. */
export const DEFAULT_HTTP_CONFIG: HttpConfig = {
  idle_conn_timeout: 90_000,
  response_header_timeout: 120_000,
  insecure_skip_verify: false,
  tls_handshake_timeout: 10_000,
  max_idle_conns_per_host: 100,
  max_conns_per_host: 0,
  tls_config: {
    ca_file: "",
    cert_file: "",
    key_file: "",
    server_name: "",
    insecure_skip_verify: false,
  },
};
