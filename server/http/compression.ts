/**
 * Response compression of the Prometheus API, negotiated as Prometheus' `CompressionHandler`
 * does: the first `Accept-Encoding` entry that is exactly `gzip` or `deflate` (zlib format)
 * wins, whatever its size; anything else (`br`, `*`, entries with parameters) leaves the body as
 * it is. `Vary: Accept-Encoding` is always set, as current Prometheus does, so caches keep the
 * variants apart.
 *
 * @module
 */

/** A content coding this API can produce. */
export type ContentEncoding = "gzip" | "deflate";

/** Picks the coding for an `Accept-Encoding` header value; `undefined` means identity. */
export function negotiateEncoding(acceptEncoding: string | null): ContentEncoding | undefined {
  for (const entry of (acceptEncoding ?? "").split(",")) {
    const coding = entry.trim();
    if (coding === "gzip" || coding === "deflate") return coding;
  }
  return undefined;
}

/**
 * Returns `res` compressed as `req` asks. Bodyless responses (204 to `OPTIONS`) stay as they are
 * but for `Vary`: a `Content-Encoding` on no content would only confuse clients.
 */
export function compressResponse(req: Request, res: Response): Response {
  const headers = new Headers(res.headers);
  headers.append("vary", "Accept-Encoding");
  const encoding = negotiateEncoding(req.headers.get("accept-encoding"));
  if (encoding === undefined || res.body === null) {
    return new Response(res.body, { status: res.status, statusText: res.statusText, headers });
  }
  headers.set("content-encoding", encoding);
  headers.delete("content-length");
  return new Response(res.body.pipeThrough(new CompressionStream(encoding)), {
    status: res.status,
    statusText: res.statusText,
    headers,
  });
}
