/**
 * COS (Tencent Cloud) and OSS (Alibaba Cloud) served through their S3-compatible APIs by the S3
 * provider, so that one client, retry layer and multipart path serve all three.
 *
 * Mapping of the Thanos fields:
 *
 * | Thanos field | S3 client setting |
 * |---|---|
 * | COS `bucket` + `app_id` | bucket `<bucket>-<app_id>` (COS bucket names carry the APPID) |
 * | COS `region` | signing region; endpoint `https://cos.<region>.myqcloud.com` |
 * | COS `endpoint` (a bucket URL such as `https://b-1250000000.cos.ap-beijing.myqcloud.com`) | bucket and region read from the host, virtual-host addressing on `https://cos.<region>.myqcloud.com`; any other host is used as the service URL with `bucket`(`-app_id`) |
 * | COS `secret_id` / `secret_key` | access key id / secret |
 * | COS `max_retries`, `http_config` | as for S3 |
 * | OSS `endpoint` (e.g. `oss-cn-hangzhou.aliyuncs.com`, scheme optional, https by default) | service URL; the region (`cn-hangzhou`) is read from `oss-<region>[-internal].aliyuncs.com` |
 * | OSS `bucket` | bucket, virtual-host addressing (OSS accepts no path style) |
 * | OSS `access_key_id` / `access_key_secret` | access key id / secret |
 *
 * Hosts that are IP addresses or `localhost` (test servers) use path-style addressing. Listing
 * uses ListObjects v1, as the upstream COS and OSS SDKs do. Multipart parts are 64 MiB (COS)
 * and 128 MiB (OSS, upstream's part size).
 *
 * @module
 */
import { DEFAULT_HTTP_CONFIG, type HttpConfig } from "./http_agent.ts";
import { DEFAULT_RETRY_POLICY } from "./retry.ts";
import { S3ConfigError, type S3Options } from "./s3.ts";

const COS_HOST = /^(.+)\.cos\.([a-z0-9-]+)\.myqcloud\.com$/;
const OSS_HOST = /^(?:s3\.)?oss-([a-z0-9-]+?)(?:-internal)?\.aliyuncs\.com$/;

function isLocal(host: string): boolean {
  return host === "localhost" || /^\d+\.\d+\.\d+\.\d+$/.test(host) || host.startsWith("[");
}

function parseUrl(field: string, value: string): URL {
  try {
    const url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `https://${value}`);
    if (url.protocol !== "http:" && url.protocol !== "https:") throw new Error("not http(s)");
    return url;
  } catch {
    throw new S3ConfigError(`${field} ${JSON.stringify(value)} is not a valid URL or host`);
  }
}

function base(provider: string, partSize: number, http: HttpConfig, retries: number) {
  return {
    provider,
    followRegionRedirects: false,
    partSize,
    disableMultipart: false,
    listObjectsV1: true,
    sendContentMd5: true,
    userMetadata: {},
    httpConfig: http,
    retry: {
      ...DEFAULT_RETRY_POLICY,
      maxAttempts: retries > 0 ? retries : DEFAULT_RETRY_POLICY.maxAttempts,
      attemptTimeoutMs: http.response_header_timeout || DEFAULT_RETRY_POLICY.attemptTimeoutMs,
    },
  };
}

/** S3 client settings for a validated COS config (see the mapping above). */
export function cosOptionsFromConfig(c: Record<string, unknown>): S3Options {
  const s = (k: string) => c[k] as string;
  const credentials = { accessKeyId: s("secret_id"), secretAccessKey: s("secret_key") };
  const common = base(
    "COS",
    64 * 1024 * 1024,
    c.http_config as HttpConfig,
    c.max_retries as number,
  );
  const named = s("app_id") === "" ? s("bucket") : `${s("bucket")}-${s("app_id")}`;
  if (s("endpoint") === "") {
    return {
      ...common,
      bucket: named,
      endpoint: `https://cos.${s("region")}.myqcloud.com`,
      region: s("region"),
      forcePathStyle: false,
      credentials,
    };
  }
  const url = parseUrl("endpoint", s("endpoint"));
  const m = COS_HOST.exec(url.hostname);
  if (m) {
    return {
      ...common,
      bucket: m[1],
      endpoint: `${url.protocol}//cos.${m[2]}.myqcloud.com${url.port ? ":" + url.port : ""}`,
      region: m[2],
      forcePathStyle: false,
      credentials,
    };
  }
  if (named === "") {
    throw new S3ConfigError(
      `endpoint ${JSON.stringify(s("endpoint"))} names no bucket: set bucket (and app_id)`,
    );
  }
  return {
    ...common,
    bucket: named,
    endpoint: url.origin,
    region: s("region") || "us-east-1",
    forcePathStyle: isLocal(url.hostname),
    credentials,
  };
}

/** S3 client settings for a validated OSS config (see the mapping above). */
export function ossOptionsFromConfig(c: Record<string, unknown>): S3Options {
  const s = (k: string) => c[k] as string;
  const url = parseUrl("endpoint", s("endpoint"));
  const m = OSS_HOST.exec(url.hostname);
  return {
    ...base("OSS", 128 * 1024 * 1024, DEFAULT_HTTP_CONFIG, 0),
    bucket: s("bucket"),
    endpoint: url.origin,
    region: m ? m[1] : "us-east-1",
    forcePathStyle: isLocal(url.hostname),
    credentials: { accessKeyId: s("access_key_id"), secretAccessKey: s("access_key_secret") },
  };
}
