import assert from "node:assert/strict";
import { hostname } from "node:os";
import { getHeapStatistics } from "node:v8";
import { rawRequest, startTestApi } from "./_api_testutil.ts";
import { rfc3339 } from "./status.ts";

Deno.test("rfc3339 writes times as Go's JSON encoding of a UTC time.Time", () => {
  assert.equal(rfc3339(0), "1970-01-01T00:00:00Z");
  assert.equal(rfc3339(Date.UTC(2025, 0, 10, 12, 0, 7, 123)), "2025-01-10T12:00:07.123Z");
  // Trailing zeros of the fraction are dropped, as Go's RFC3339Nano does.
  assert.equal(rfc3339(Date.UTC(2025, 0, 10, 12, 0, 7, 120)), "2025-01-10T12:00:07.12Z");
  assert.equal(rfc3339(Date.UTC(2025, 0, 10, 12, 0, 7) + 0.25), "2025-01-10T12:00:07.00025Z");
  assert.equal(rfc3339(1.5), "1970-01-01T00:00:00.0015Z");
});

async function getData(url: string): Promise<Record<string, unknown>> {
  const res = await fetch(url);
  assert.equal(res.status, 200, url);
  const body = await res.json();
  assert.equal(body.status, "success");
  return body.data;
}

Deno.test("buildinfo has Prometheus' keys, our version and the Deno runtime", async () => {
  const api = startTestApi({ version: "1.2.3" });
  try {
    const data = await getData(`${api.url}/api/v1/status/buildinfo`);
    assert.deepEqual(Object.keys(data).sort(), [
      "branch",
      "buildDate",
      "buildUser",
      "goVersion",
      "revision",
      "version",
    ]);
    assert.equal(data.version, "1.2.3");
    for (const key of ["revision", "branch", "buildUser", "buildDate"]) {
      assert.equal(data[key], "unknown", key);
    }
    assert.equal(
      data.goVersion,
      `deno ${Deno.version.deno} (V8 ${Deno.version.v8}, TypeScript ${Deno.version.typescript})`,
    );
  } finally {
    await api.close();
  }
});

Deno.test("runtimeinfo has current Prometheus' keys with this process's values", async () => {
  const loadedAt = Date.UTC(2025, 5, 1, 8, 30, 15, 999);
  let corrupted = 0;
  const api = startTestApi({
    configLoadedAt: loadedAt,
    corruptionCount: () => corrupted,
  });
  try {
    const before = Date.now();
    const data = await getData(`${api.url}/api/v1/status/runtimeinfo`);
    const after = Date.now();
    assert.deepEqual(Object.keys(data).sort(), [
      "CWD",
      "GODEBUG",
      "GOGC",
      "GOMAXPROCS",
      "GOMEMLIMIT",
      "corruptionCount",
      "goroutineCount",
      "hostname",
      "lastConfigTime",
      "reloadConfigSuccess",
      "serverTime",
      "startTime",
      "storageRetention",
    ]);
    assert.equal(data.CWD, Deno.cwd());
    assert.equal(data.hostname, hostname());
    // The process started before this test and the answer came while it waited.
    const started = Date.parse(data.startTime as string);
    assert.ok(Math.abs(started - performance.timeOrigin) < 1, `${data.startTime}`);
    const served = Date.parse(data.serverTime as string);
    assert.ok(before <= served && served <= after, `${data.serverTime}`);
    // Whole seconds, as Prometheus reports it.
    assert.equal(data.lastConfigTime, "2025-06-01T08:30:15Z");
    assert.equal(data.reloadConfigSuccess, true);
    assert.equal(data.corruptionCount, 0);
    assert.equal(data.goroutineCount, 1);
    assert.equal(data.GOMAXPROCS, 1);
    assert.equal(data.GOMEMLIMIT, getHeapStatistics().heap_size_limit);
    assert.equal(data.GOGC, "");
    assert.equal(data.GODEBUG, "");
    assert.equal(data.storageRetention, "");

    corrupted = 2;
    assert.equal((await getData(`${api.url}/api/v1/status/runtimeinfo`)).corruptionCount, 2);
  } finally {
    await api.close();
  }
});

Deno.test("runtimeinfo's goroutineCount counts the requests in flight", async () => {
  const api = startTestApi();
  try {
    // A POST whose body is still arriving keeps its request in flight.
    let finishBody!: (rest: string) => void;
    const held = rawRequest(`${api.url}/api/v1/query`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", "content-length": "15" },
      body: "query=up&",
      rest: new Promise((resolve) => finishBody = resolve),
    });
    // Wait until the server has the request (the count includes the runtimeinfo request).
    let count = 0;
    for (let i = 0; i < 100 && count !== 2; i++) {
      count = (await getData(`${api.url}/api/v1/status/runtimeinfo`)).goroutineCount as number;
      if (count !== 2) await new Promise((r) => setTimeout(r, 10));
    }
    assert.equal(count, 2);
    finishBody("time=0");
    const res = await held;
    assert.equal(res.status, 200);
    assert.equal((await getData(`${api.url}/api/v1/status/runtimeinfo`)).goroutineCount, 1);
  } finally {
    await api.close();
  }
});

Deno.test("flags and config show what the caller passed; status endpoints are GET only", async () => {
  const api = startTestApi({
    flags: { "query.step": "30s", "objstore.config": "<secret>", "http.prometheus.port": "0" },
    configYaml: 'type: FILESYSTEM\nconfig:\n  directory: /data\nprefix: ""\n',
  });
  try {
    const flags = await getData(`${api.url}/api/v1/status/flags`);
    assert.deepEqual(flags, {
      "http.prometheus.port": "0",
      "objstore.config": "<secret>",
      "query.step": "30s",
    });
    // Sorted by name, as Prometheus' JSON of its flag map.
    assert.deepEqual(Object.keys(flags), ["http.prometheus.port", "objstore.config", "query.step"]);
    assert.deepEqual(await getData(`${api.url}/api/v1/status/config`), {
      yaml: 'type: FILESYSTEM\nconfig:\n  directory: /data\nprefix: ""\n',
    });
    for (const endpoint of ["buildinfo", "runtimeinfo", "flags", "config"]) {
      const res = await rawRequest(`${api.url}/api/v1/status/${endpoint}`, { method: "POST" });
      assert.equal(res.status, 405, endpoint);
    }
  } finally {
    await api.close();
  }

  const bare = startTestApi();
  try {
    assert.deepEqual(await getData(`${bare.url}/api/v1/status/flags`), {});
    assert.deepEqual(await getData(`${bare.url}/api/v1/status/config`), { yaml: "" });
  } finally {
    await bare.close();
  }
});
