import assert from "node:assert/strict";
import type { FloatHistogram } from "../model/histogram.ts";
import { ParseError } from "./errors.ts";
import { labelsToRecord } from "../model/labels.ts";
import { isStaleNaN } from "../model/series.ts";
import { parseSeriesDescription } from "./series_desc.ts";

function hists(line: string): FloatHistogram[] {
  return parseSeriesDescription(line).values as FloatHistogram[];
}

Deno.test("parseSeriesDescription expands floats, gaps and stale markers", () => {
  const d = parseSeriesDescription('m{a="b"} 1+2x2 _x2 -1-1x1 stale 3x1');
  assert.deepEqual(labelsToRecord(d.labels), { __name__: "m", a: "b" });
  assert.deepEqual(d.values.slice(0, 7), [1, 3, 5, null, null, -1, -2]);
  assert.ok(isStaleNaN(d.values[7] as number));
  assert.deepEqual(d.values.slice(8), [3, 3]);
});

Deno.test("histogram expansions add and subtract with Prometheus' histogram arithmetic", () => {
  const up = hists("m {{sum:1 count:2 buckets:[1 1]}}+{{sum:1 count:1 buckets:[1]}}x2");
  assert.deepEqual(up.map((h) => [h.count, h.sum, [...h.positiveBuckets]]), [
    [2, 1, [1, 1]],
    [3, 2, [2, 1]],
    [4, 3, [3, 1]],
  ]);
  const down = hists("m {{count:5 buckets:[5]}}-{{count:1 buckets:[1]}}x2");
  assert.deepEqual(down.map((h) => h.count), [5, 4, 3]);
  // The wider zero bucket wins and swallows the (0.5,1] bucket: 1 + 2, plus the other 1.
  const [, z] = hists(
    "m {{z_bucket_w:0.5 z_bucket:1 count:3 buckets:[2]}}+{{z_bucket_w:1 z_bucket:1 count:1}}x1",
  );
  assert.deepEqual([z.zeroThreshold, z.zeroCount, z.count], [1, 4, 4]);
  // Different custom bounds meet on the common ones: ≤1 and (1,2] both fall into ≤2.
  const [, c] = hists(
    "m {{schema:-53 count:2 custom_values:[1 2] buckets:[1 1]}}+{{schema:-53 count:1 custom_values:[2] buckets:[1]}}x1",
  );
  assert.deepEqual([...c.customValues], [2]);
  assert.deepEqual([...c.positiveBuckets], [3]);
  assert.throws(
    () => hists("m {{count:1}}+{{schema:-53 count:1 custom_values:[1]}}x1"),
    (e) => e instanceof ParseError && /cannot merge from schema -53 to 0/.test(e.message),
  );
  assert.throws(
    () => hists("m {{schema:-53 count:1 custom_values:[1]}}+{{count:1}}x1"),
    /mix of exponential and custom bucket schemas/,
  );
});
