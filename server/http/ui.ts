/**
 * The query UI on the Prometheus port: `/graph` (PromQL editor, table and graph), `/blocks` (the
 * block browser) and `/status` all serve the one page, whose script picks the view by path; `/`
 * redirects to `/graph` as Prometheus does; `/assets/*` are its script, styles and the licenses
 * of the bundled libraries.
 *
 * The files are built from `ui/src` into `ui/dist/assets.ts` (see `ui/build.mjs`) and imported,
 * so they are part of the program: no read permission, nothing to `--include` in `deno compile`,
 * nothing fetched by the browser from elsewhere (the content security policy allows this origin
 * only). They are kept gzip-compressed, sent so to clients that accept gzip and decompressed
 * once for the others, with an `ETag` so that browsers revalidate cheaply.
 *
 * @module
 */
import { UI_ASSETS, type UiAsset } from "../../ui/dist/assets.ts";
import type { RoutedHandler } from "./server.ts";

/** The paths of the UI's views, each served the page. */
export const UI_PAGES: readonly string[] = ["/graph", "/blocks", "/status"];

const CONTENT_SECURITY_POLICY = "default-src 'self'; style-src 'self' 'unsafe-inline'; " +
  "img-src 'self' data:; object-src 'none'; base-uri 'self'; frame-ancestors 'none'";

/** An asset's bytes, compressed as stored and (on first need) plain. */
interface LoadedAsset {
  readonly asset: UiAsset;
  readonly etag: string;
  readonly gzip: Uint8Array<ArrayBuffer>;
  plain?: Promise<Uint8Array<ArrayBuffer>>;
}

async function gunzip(bytes: Uint8Array<ArrayBuffer>): Promise<Uint8Array<ArrayBuffer>> {
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** Whether `Accept-Encoding` lists gzip without refusing it (`;q=0`). */
function acceptsGzip(header: string | null): boolean {
  return (header ?? "").split(",").some((entry) => {
    const [coding, ...params] = entry.trim().toLowerCase().split(";").map((s) => s.trim());
    return (coding === "gzip" || coding === "*") && !params.some((p) => /^q=0(\.0*)?$/.test(p));
  });
}

/** Whether `If-None-Match` names `etag`. */
function matchesEtag(header: string | null, etag: string): boolean {
  if (header === null) return false;
  return header.trim() === "*" ||
    header.split(",").some((tag) => tag.trim().replace(/^W\//, "") === etag);
}

/** Creates the handler of the UI's paths; its `route` is `other` for any other path. */
export function createUiHandler(): RoutedHandler {
  const assets = new Map<string, LoadedAsset>();
  for (const [path, asset] of Object.entries(UI_ASSETS)) {
    assets.set(path, {
      asset,
      etag: `"${asset.digest}"`,
      gzip: Uint8Array.from(atob(asset.gzipBase64), (c) => c.charCodeAt(0)),
    });
  }
  const pages = new Set(UI_PAGES);
  const fileOf = (path: string) =>
    pages.has(path)
      ? assets.get("/index.html")
      : path.startsWith("/assets/")
      ? assets.get(path)
      : undefined;
  const route = (path: string) =>
    path === "/" ? "/" : pages.has(path) ? "/graph" : fileOf(path) ? "/assets/*" : "other";

  const handler = async (req: Request): Promise<Response> => {
    const path = new URL(req.url).pathname;
    if (req.method !== "GET" && req.method !== "HEAD") {
      return new Response("Method Not Allowed\n", { status: 405 });
    }
    if (path === "/") {
      // Relative, so that the UI also works behind a reverse proxy's path prefix.
      return new Response(null, { status: 302, headers: { location: "graph" } });
    }
    const file = fileOf(path);
    if (!file) return new Response("404 page not found\n", { status: 404 });
    const headers = new Headers({
      "content-type": file.asset.type,
      etag: file.etag,
      // Revalidated on every load: the assets change whenever the program does.
      "cache-control": "no-cache",
      vary: "Accept-Encoding",
      "x-content-type-options": "nosniff",
      "content-security-policy": CONTENT_SECURITY_POLICY,
    });
    if (matchesEtag(req.headers.get("if-none-match"), file.etag)) {
      return new Response(null, { status: 304, headers });
    }
    if (acceptsGzip(req.headers.get("accept-encoding"))) {
      headers.set("content-encoding", "gzip");
      return new Response(req.method === "HEAD" ? null : file.gzip, { headers });
    }
    file.plain ??= gunzip(file.gzip);
    return new Response(req.method === "HEAD" ? null : await file.plain, { headers });
  };
  return Object.assign(handler, { route });
}
