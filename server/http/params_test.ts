import assert from "node:assert/strict";
import {
  BadDataError,
  FormValues,
  MAX_TIME_MS,
  parseDurationParam,
  parseLimitParam,
  parseTimeParam,
} from "./params.ts";

Deno.test("times: unix seconds rounded to ms, RFC 3339, the max-time string", () => {
  assert.equal(parseTimeParam("1700000000"), 1700000000000);
  assert.equal(parseTimeParam("1700000000.1234"), 1700000000123);
  assert.equal(parseTimeParam("1.5"), 1500);
  assert.equal(parseTimeParam("1e3"), 1000000);
  assert.equal(parseTimeParam("2015-07-01T20:10:51.781Z"), 1435781451781);
  assert.equal(parseTimeParam("2015-07-01T22:10:51+02:00"), 1435781451000);
  assert.equal(parseTimeParam("292277025-08-18T07:12:54.999999999Z"), MAX_TIME_MS);
  for (const bad of ["x", "", "2015-07-01", "1h"]) {
    assert.throws(
      () => parseTimeParam(bad),
      (e: Error) =>
        e instanceof BadDataError &&
        e.message === `cannot parse ${JSON.stringify(bad)} to a valid timestamp`,
    );
  }
});

Deno.test("durations: float seconds or Prometheus durations", () => {
  assert.equal(parseDurationParam("15"), 15000);
  assert.equal(parseDurationParam("0.5"), 500);
  assert.equal(parseDurationParam("5m"), 300000);
  assert.equal(parseDurationParam("1h30m"), 5400000);
  assert.throws(() => parseDurationParam("x"), /cannot parse "x" to a valid duration/);
});

Deno.test("limit: non-negative integer", () => {
  assert.equal(parseLimitParam(undefined), 0);
  assert.equal(parseLimitParam("10"), 10);
  assert.throws(() => parseLimitParam("-1"), /limit must be non-negative/);
  assert.throws(() => parseLimitParam("x"), BadDataError);
});

Deno.test("form values: POST body first, then the query string", async () => {
  const req = new Request("http://x/api/v1/series?match[]=a&start=1", {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: "match[]=b&start=2",
  });
  const form = await FormValues.from(req);
  assert.equal(form.get("start"), "2");
  assert.deepEqual(form.getAll("match[]"), ["b", "a"]);
  assert.equal(form.get("missing"), undefined);
});
