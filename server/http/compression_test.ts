import assert from "node:assert/strict";
import { decompress, rawRequest, startTestApi } from "./_api_testutil.ts";
import { compressResponse, negotiateEncoding, WHOLE_BODY_BYTES } from "./compression.ts";

Deno.test("negotiateEncoding takes the first exact gzip or deflate entry, as Prometheus", () => {
  const cases: [string | null, string | undefined][] = [
    ["gzip", "gzip"],
    ["deflate", "deflate"],
    // Go's HTTP client (Grafana, Thanos) sends exactly this.
    [" gzip ", "gzip"],
    ["br, gzip", "gzip"],
    // curl --compressed: the order of the list decides, not a preference of ours.
    ["deflate, gzip, br, zstd", "deflate"],
    ["gzip, deflate", "gzip"],
    ["br", undefined],
    ["*", undefined],
    ["identity", undefined],
    // Entries with parameters are not matched (Prometheus compares the whole entry).
    ["gzip;q=1.0", undefined],
    ["GZIP", undefined],
    ["", undefined],
    [null, undefined],
  ];
  for (const [header, want] of cases) assert.equal(negotiateEncoding(header), want, `${header}`);
});

const QUERY = "/api/v1/query?query=up&time=60";
const QUERY_JSON = {
  status: "success",
  data: {
    resultType: "vector",
    result: [{ metric: { __name__: "up", job: "api" }, value: [60, "1"] }],
  },
};

Deno.test("API answers are compressed as the client asks, identity without Accept-Encoding", async () => {
  const api = startTestApi();
  try {
    const plain = await rawRequest(api.url + QUERY);
    assert.equal(plain.status, 200);
    assert.equal(plain.headers["content-encoding"], undefined);
    assert.equal(plain.headers["vary"], "Accept-Encoding");
    const identity = new TextDecoder().decode(plain.body);
    assert.deepEqual(JSON.parse(identity), QUERY_JSON);

    for (
      const [accept, encoding, magic] of [
        ["gzip", "gzip", [0x1f, 0x8b]],
        ["br, deflate", "deflate", [0x78]],
      ] as const
    ) {
      const res = await rawRequest(api.url + QUERY, { headers: { "accept-encoding": accept } });
      assert.equal(res.status, 200);
      assert.equal(res.headers["content-encoding"], encoding, accept);
      assert.equal(res.headers["vary"], "Accept-Encoding");
      // Not the identity body's length, which would cut the body: the compressed one's, if any.
      const length = res.headers["content-length"];
      assert.ok(length === undefined || Number(length) === res.body.length, accept);
      assert.deepEqual([...res.body.subarray(0, magic.length)], [...magic], accept);
      assert.equal(await decompress(res.body, encoding), identity, accept);
    }

    const brotliOnly = await rawRequest(api.url + QUERY, { headers: { "accept-encoding": "br" } });
    assert.equal(brotliOnly.headers["content-encoding"], undefined);
    assert.equal(new TextDecoder().decode(brotliOnly.body), identity);
  } finally {
    await api.close();
  }
});

Deno.test("small answers and errors are compressed too; router answers are not", async () => {
  const api = startTestApi();
  const gzip = { "accept-encoding": "gzip" };
  try {
    const build = await rawRequest(api.url + "/api/v1/status/buildinfo", { headers: gzip });
    assert.equal(build.headers["content-encoding"], "gzip");
    assert.equal(JSON.parse(await decompress(build.body, "gzip")).data.version, "9.8.7");

    const bad = await rawRequest(api.url + "/api/v1/query?query=sum(", { headers: gzip });
    assert.equal(bad.status, 400);
    assert.equal(bad.headers["content-encoding"], "gzip");
    assert.equal(JSON.parse(await decompress(bad.body, "gzip")).errorType, "bad_data");

    const options = await rawRequest(api.url + "/api/v1/query", {
      method: "OPTIONS",
      headers: gzip,
    });
    assert.equal(options.status, 204);
    assert.equal(options.headers["content-encoding"], undefined);
    assert.equal(options.body.length, 0);

    for (
      const [method, path, status] of [
        ["GET", "/api/v1/nope", 404],
        ["POST", "/api/v1/status/buildinfo", 405],
      ] as const
    ) {
      const res = await rawRequest(api.url + path, { method, headers: gzip });
      assert.equal(res.status, status);
      assert.equal(res.headers["content-encoding"], undefined, path);
    }
  } finally {
    await api.close();
  }
});

Deno.test("fetch and curl decode the compressed answers", async () => {
  const api = startTestApi();
  try {
    // fetch decodes gzip itself; deflate it hands over as sent.
    const gzipped = await fetch(api.url + QUERY, { headers: { "accept-encoding": "gzip" } });
    assert.equal(gzipped.headers.get("content-encoding"), "gzip");
    assert.deepEqual(await gzipped.json(), QUERY_JSON);
    const deflated = await fetch(api.url + QUERY, { headers: { "accept-encoding": "deflate" } });
    assert.equal(deflated.headers.get("content-encoding"), "deflate");
    const bytes = new Uint8Array(await deflated.arrayBuffer());
    assert.deepEqual(JSON.parse(await decompress(bytes, "deflate")), QUERY_JSON);

    let curl: Deno.CommandOutput;
    for (const args of [["--compressed"], ["--compressed", "-H", "Accept-Encoding: gzip"]]) {
      try {
        curl = await new Deno.Command("curl", {
          args: ["-sS", "--fail", "-D", "/dev/stderr", ...args, api.url + QUERY],
          stdout: "piped",
          stderr: "piped",
        }).output();
      } catch (e) {
        if (e instanceof Deno.errors.NotFound) {
          console.log("compression_test: curl not installed; curl checks skipped");
          return;
        }
        throw e;
      }
      assert.ok(curl.success, new TextDecoder().decode(curl.stderr));
      const headers = new TextDecoder().decode(curl.stderr).toLowerCase();
      // curl --compressed lists deflate first; Prometheus (and this API) takes the first.
      const want = args.length === 1 ? "deflate" : "gzip";
      assert.match(headers, new RegExp(`^content-encoding: ${want}\r?$`, "m"));
      assert.deepEqual(JSON.parse(new TextDecoder().decode(curl.stdout)), QUERY_JSON);
    }
  } finally {
    await api.close();
  }
});

Deno.test("compressResponse: one small chunk in one call, streamed and large bodies as a stream", async () => {
  const text = (n: number) => Array.from({ length: n }, (_, i) => `"series ${i % 9973}"`).join(",");
  const small = text(100);
  const large = text(Math.ceil(WHOLE_BODY_BYTES / 10));
  assert.ok(large.length > WHOLE_BODY_BYTES);
  const streamed = [text(10), text(20), text(30)];
  const bodies: [string, () => BodyInit][] = [
    [small, () => small],
    [large, () => large],
    [
      streamed.join(""),
      () => ReadableStream.from(streamed.map((part) => new TextEncoder().encode(part))),
    ],
    ["", () => ""],
  ];
  for (const encoding of ["gzip", "deflate"] as const) {
    const req = new Request("http://x/", { headers: { "accept-encoding": encoding } });
    for (const [want, body] of bodies) {
      const res = await compressResponse(req, new Response(body(), { status: 201 }));
      assert.equal(res.status, 201);
      assert.equal(res.headers.get("content-encoding"), encoding);
      assert.equal(res.headers.get("vary"), "Accept-Encoding");
      const bytes = new Uint8Array(await res.arrayBuffer());
      assert.equal(await decompress(bytes, encoding), want, `${encoding} ${want.length}`);
    }
  }
});
