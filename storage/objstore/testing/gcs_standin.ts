/**
 * A stand-in for the GCS JSON API, for tests only: the smallest subset of it that
 * `@google-cloud/storage` uses for objects (metadata, media download with ranges, listing with
 * prefix/delimiter/pagination, multipart and resumable uploads, delete), kept in memory on
 * 127.0.0.1. It is not GCS: it checks no auth, ACLs, preconditions or hashes, and passing tests
 * against it shows that the provider speaks the protocol as the library does, nothing more.
 *
 * @module
 */

interface StoredObject {
  data: Uint8Array;
  updated: Date;
  generation: number;
}

interface ResumableSession {
  bucket: string;
  name: string;
  chunks: Uint8Array[];
  received: number;
}

/** A running stand-in. */
export interface GcsStandIn {
  /** Base URL to use as the `endpoint`. */
  url: string;
  /** Objects by `bucket/name`. */
  objects: Map<string, StoredObject>;
  /** Requests seen, as `METHOD path?query`. */
  log: string[];
  /** Stops the server. */
  stop(): Promise<void>;
}

/** The page size of listings (GCS' default maximum is 1000). */
const PAGE_SIZE = 1000;

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json", ...headers },
  });
}

function apiError(status: number, message: string): Response {
  return json(status, { error: { code: status, message, errors: [{ message }] } });
}

function indexOf(hay: Uint8Array, needle: Uint8Array, from: number): number {
  outer: for (let i = from; i <= hay.length - needle.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

/** Splits a multipart/related body into its parts' bodies (headers dropped). */
function multipartBodies(body: Uint8Array, boundary: string): Uint8Array[] {
  const enc = new TextEncoder();
  const delim = enc.encode(`--${boundary}`);
  const headerEnd = enc.encode("\r\n\r\n");
  const out: Uint8Array[] = [];
  let pos = indexOf(body, delim, 0);
  while (pos >= 0) {
    const start = pos + delim.length;
    if (body[start] === 0x2d && body[start + 1] === 0x2d) break; // closing "--"
    const next = indexOf(body, delim, start);
    if (next < 0) break;
    const h = indexOf(body, headerEnd, start);
    // The part ends with CRLF before the next delimiter.
    out.push(body.subarray(h + headerEnd.length, next - 2));
    pos = next;
  }
  return out;
}

/** Starts the stand-in with the given buckets. */
export function startGcsStandIn(buckets: string[]): GcsStandIn {
  const objects = new Map<string, StoredObject>();
  const sessions = new Map<string, ResumableSession>();
  const log: string[] = [];
  let generation = 0;

  const meta = (bucket: string, name: string, o: StoredObject) => ({
    kind: "storage#object",
    id: `${bucket}/${name}/${o.generation}`,
    name,
    bucket,
    size: String(o.data.length),
    generation: String(o.generation),
    updated: o.updated.toISOString(),
    timeCreated: o.updated.toISOString(),
  });
  const store = (bucket: string, name: string, data: Uint8Array) => {
    const o = { data, updated: new Date(), generation: ++generation };
    objects.set(`${bucket}/${name}`, o);
    return json(200, meta(bucket, name, o));
  };

  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (req) => {
      const url = new URL(req.url);
      log.push(`${req.method} ${url.pathname}${url.search}`);
      const q = url.searchParams;
      let m = /^\/(upload\/)?storage\/v1\/b\/([^/]+)\/o(?:\/(.+))?$/.exec(url.pathname);
      if (!m) return apiError(404, `no route ${url.pathname}`);
      const [, upload, bucket, rawName] = m;
      if (!buckets.includes(bucket)) return apiError(404, "The specified bucket does not exist.");
      const name = rawName === undefined ? undefined : decodeURIComponent(rawName);

      if (upload && req.method === "POST" && q.get("uploadType") === "multipart") {
        const type = req.headers.get("content-type") ?? "";
        m = /boundary="?([^";]+)"?/.exec(type);
        if (!m) return apiError(400, "multipart body without boundary");
        const [metaPart, data] = multipartBodies(new Uint8Array(await req.arrayBuffer()), m[1]);
        const objName = q.get("name") ?? JSON.parse(new TextDecoder().decode(metaPart)).name;
        return store(bucket, objName, data.slice());
      }
      if (upload && req.method === "POST" && q.get("uploadType") === "resumable") {
        const text = await req.text();
        const objName = q.get("name") ?? JSON.parse(text || "{}").name;
        const id = crypto.randomUUID();
        sessions.set(id, { bucket, name: objName, chunks: [], received: 0 });
        const host = req.headers.get("x-forwarded-host");
        const origin = host ? `http://${host}` : url.origin;
        const location = `${origin}/upload/storage/v1/b/${bucket}/o?uploadType=resumable` +
          `&upload_id=${id}`;
        return json(200, {}, { location });
      }
      if (upload && req.method === "PUT" && q.get("upload_id")) {
        const s = sessions.get(q.get("upload_id")!);
        if (!s) return apiError(404, "no such upload");
        const data = new Uint8Array(await req.arrayBuffer());
        const range = req.headers.get("content-range") ?? "";
        m = /^bytes (?:(\d+)-(\d+)|\*)\/(\d+|\*)$/.exec(range);
        if (!m) return apiError(400, `bad Content-Range ${range}`);
        if (m[1] !== undefined) {
          if (Number(m[1]) !== s.received) {
            return apiError(400, `chunk starts at ${m[1]}, have ${s.received}`);
          }
          s.chunks.push(data);
          s.received += data.length;
        }
        if (m[3] !== "*" && Number(m[3]) === s.received) {
          sessions.delete(q.get("upload_id")!);
          const all = new Uint8Array(s.received);
          let off = 0;
          for (const c of s.chunks) {
            all.set(c, off);
            off += c.length;
          }
          return store(s.bucket, s.name, all);
        }
        const headers: Record<string, string> = s.received > 0
          ? { range: `bytes=0-${s.received - 1}` }
          : {};
        return new Response(null, { status: 308, headers });
      }
      if (upload) return apiError(400, "unsupported upload");

      if (name === undefined && req.method === "GET") {
        const prefix = q.get("prefix") ?? "";
        const delimiter = q.get("delimiter") ?? "";
        const max = Math.min(Number(q.get("maxResults") ?? PAGE_SIZE), PAGE_SIZE);
        const after = q.get("pageToken") ?? "";
        const entries = new Map<string, boolean>(); // name -> is a prefix
        for (const key of objects.keys()) {
          if (!key.startsWith(bucket + "/")) continue;
          const n = key.slice(bucket.length + 1);
          if (!n.startsWith(prefix)) continue;
          const i = delimiter ? n.indexOf(delimiter, prefix.length) : -1;
          if (i >= 0) entries.set(n.slice(0, i + delimiter.length), true);
          else entries.set(n, false);
        }
        const sorted = [...entries.keys()].filter((n) => n > after).sort();
        const page = sorted.slice(0, max);
        const body: Record<string, unknown> = {
          kind: "storage#objects",
          items: page.filter((n) => !entries.get(n)).map((n) =>
            meta(bucket, n, objects.get(`${bucket}/${n}`)!)
          ),
          prefixes: page.filter((n) => entries.get(n)),
        };
        if (sorted.length > max) body.nextPageToken = page[page.length - 1];
        return json(200, body);
      }
      if (name === undefined) return apiError(405, "method not allowed");
      const o = objects.get(`${bucket}/${name}`);
      if (!o) return apiError(404, `No such object: ${bucket}/${name}`);
      if (req.method === "DELETE") {
        objects.delete(`${bucket}/${name}`);
        return new Response(null, { status: 204 });
      }
      if (req.method !== "GET") return apiError(405, "method not allowed");
      if (q.get("alt") !== "media") return json(200, meta(bucket, name, o));
      const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.get("range") ?? "");
      if (!range) return new Response(o.data.slice(), { status: 200 });
      const start = Number(range[1]);
      const end = Math.min(range[2] === "" ? Infinity : Number(range[2]), o.data.length - 1);
      if (start >= o.data.length) return apiError(416, "The requested range cannot be satisfied.");
      return new Response(o.data.slice(start, end + 1), {
        status: 206,
        headers: { "content-range": `bytes ${start}-${end}/${o.data.length}` },
      });
    },
  );
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    objects,
    log,
    stop: () => server.shutdown(),
  };
}
