import assert from "node:assert/strict";
import { formatGoFloat } from "../../engine/format.ts";
import { labelsFromRecord } from "../../model/labels.ts";
import {
  formatFloat,
  formatTimestamp,
  goJsonEscape,
  histogramJson,
  resultJson,
  resultJsonChunks,
} from "./json.ts";
import { CounterResetHint } from "../../model/histogram.ts";

Deno.test("floats are formatted like Go's strconv with Prometheus' thresholds", () => {
  // Expected strings as Go's FormatFloat(f, 'f'|'e', -1, 64) prints them.
  const cases: Array<[number, string]> = [
    [0, "0"],
    [-0, "-0"],
    [1, "1"],
    [-2.5, "-2.5"],
    [0.1, "0.1"],
    [1e-6, "0.000001"],
    [1e-7, "1e-07"],
    [1.5e-10, "1.5e-10"],
    [123456789012345680000, "123456789012345680000"],
    [1e21, "1e+21"],
    [1.5e21, "1.5e+21"],
    [1.7976931348623157e308, "1.7976931348623157e+308"],
    [Infinity, "+Inf"],
    [-Infinity, "-Inf"],
    [NaN, "NaN"],
    [0.30000000000000004, "0.30000000000000004"],
  ];
  for (const [f, want] of cases) assert.equal(formatFloat(f), want, String(f));
});

Deno.test("scalar values use fixed notation always", () => {
  assert.equal(formatGoFloat(1e-7), "0.0000001");
  assert.equal(formatGoFloat(1.5e22), "15000000000000000000000");
  assert.equal(formatGoFloat(-1.25e-8), "-0.0000000125");
});

Deno.test("sample timestamps have exactly three millisecond digits when not whole", () => {
  assert.equal(formatTimestamp(1700003000000), "1700003000");
  assert.equal(formatTimestamp(1700003000080), "1700003000.080");
  assert.equal(formatTimestamp(1435781451781), "1435781451.781");
  assert.equal(formatTimestamp(-1500), "-1.500");
  assert.equal(formatTimestamp(0), "0");
});

Deno.test("result encodings match Prometheus' shapes", () => {
  const l = labelsFromRecord({ __name__: "up", job: 'a"b' });
  assert.equal(
    resultJson({ type: "vector", samples: [{ labels: l, t: 1000, f: 1 }] }),
    '{"resultType":"vector","result":[{"metric":{"__name__":"up","job":"a\\"b"},"value":[1,"1"]}]}',
  );
  assert.equal(
    resultJson({
      type: "matrix",
      series: [{ labels: l, floatTimes: [1000, 2500], floatValues: [NaN, 2], histograms: [] }],
    }),
    '{"resultType":"matrix","result":[{"metric":{"__name__":"up","job":"a\\"b"},' +
      '"values":[[1,"NaN"],[2.500,"2"]]}]}',
  );
  assert.equal(
    resultJson({ type: "scalar", t: 1700000000500, v: 1e-7 }),
    '{"resultType":"scalar","result":[1700000000.5,"0.0000001"]}',
  );
  assert.equal(
    resultJson({ type: "string", t: 0, v: "x" }),
    '{"resultType":"string","result":[0,"x"]}',
  );
  assert.equal(resultJson({ type: "vector", samples: [] }), '{"resultType":"vector","result":[]}');
});

Deno.test("native histogram JSON: buckets in order with boundary rules", () => {
  // schema 0: positive bucket i covers (2^(i-1), 2^i]; negative mirrored.
  const h = {
    counterResetHint: CounterResetHint.Unknown,
    schema: 0,
    zeroThreshold: 0.001,
    zeroCount: 2,
    count: 10,
    sum: 3.5,
    positiveSpans: [{ offset: 0, length: 3 }],
    positiveBuckets: new Float64Array([1, 0, 3]),
    negativeSpans: [{ offset: 1, length: 1 }],
    negativeBuckets: new Float64Array([4]),
    customValues: new Float64Array(0),
  };
  assert.equal(
    histogramJson(h),
    '{"count":"10","sum":"3.5","buckets":[' +
      '[1,"-2","-1","4"],[3,"-0.001","0.001","2"],[0,"0.5","1","1"],[0,"2","4","3"]]}',
  );
  const nhcb = {
    ...h,
    schema: -53,
    zeroThreshold: 0,
    zeroCount: 0,
    positiveSpans: [{ offset: 0, length: 3 }],
    positiveBuckets: new Float64Array([1, 2, 3]),
    negativeSpans: [],
    negativeBuckets: new Float64Array(0),
    customValues: new Float64Array([0.1, 1]),
  };
  assert.equal(
    histogramJson(nhcb),
    '{"count":"10","sum":"3.5","buckets":[' +
      '[3,"-Inf","0.1","1"],[0,"0.1","1","2"],[0,"1","+Inf","3"]]}',
  );
});

Deno.test("goJsonEscape rewrites only what Go escapes differently, inside strings", () => {
  // Go's json.Marshal of each value, written out by hand.
  const cases: Array<[unknown, string]> = [
    ["a<b>&c", '"a\\u003cb\\u003e\\u0026c"'],
    ["\b\f\n\r\t\u0001", '"\\u0008\\u000c\\n\\r\\t\\u0001"'],
    // An escaped backslash followed by "b" or "f" stays as it is.
    ["\\b\\f\\\b", '"\\\\b\\\\f\\\\\\u0008"'],
    ["\u2028\u2029\u00e9\u{1F600}", '"\\u2028\\u2029\u00e9\u{1F600}"'],
    [{ "<k>": ["&", 1.5, null] }, '{"\\u003ck\\u003e":["\\u0026",1.5,null]}'],
  ];
  for (const [value, want] of cases) {
    const got = goJsonEscape(JSON.stringify(value));
    assert.equal(got, want);
    assert.deepEqual(JSON.parse(got), value);
  }
});

Deno.test("resultJsonChunks pieces join to resultJson and stay near the chunk size", () => {
  const series = Array.from({ length: 50 }, (_, i) => ({
    labels: [{ name: "__name__", value: "m" }, { name: "i", value: String(i) }],
    floatTimes: [1000, 2000],
    floatValues: [i, i + 0.5],
    histograms: [],
  }));
  const whole = resultJson({ type: "matrix", series });
  const pieces = [...resultJsonChunks({ type: "matrix", series }, { chunkChars: 200 })];
  assert.equal(pieces.join(""), whole);
  assert.ok(pieces.length > 10, `${pieces.length} pieces`);
  // A piece is cut after the item that crosses the size: under the size plus one item.
  for (const p of pieces) assert.ok(p.length < 200 + 100, `${p.length}`);
  assert.deepEqual(JSON.parse(whole).result[49].values, [[1, "49"], [2, "49.5"]]);
  const empty = [...resultJsonChunks({ type: "vector", samples: [] }, { tail: ',"x":1' })];
  assert.deepEqual(empty, ['{"resultType":"vector","result":[],"x":1}']);
});
