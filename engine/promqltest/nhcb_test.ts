import assert from "node:assert/strict";
import { labelsFromRecord, labelsToRecord } from "../../model/labels.ts";
import { convertClassicHistograms, NhcbError, parseLe } from "./nhcb.ts";

const at0 = (v: number) => [{ t: 0, v }];

Deno.test("convertClassicHistograms builds custom-bucket histograms per timestamp", () => {
  const out = convertClassicHistograms([
    // Given out of bound order, as map iteration may deliver them.
    {
      labels: labelsFromRecord({ __name__: "rq_bucket", le: "+Inf", job: "a" }),
      samples: [{ t: 0, v: 10 }, { t: 60, v: 12 }],
    },
    {
      labels: labelsFromRecord({ __name__: "rq_bucket", le: "0.5", job: "a" }),
      samples: [{ t: 0, v: 4 }, { t: 60, v: 4 }],
    },
    {
      labels: labelsFromRecord({ __name__: "rq_bucket", le: "1", job: "a" }),
      samples: [{ t: 0, v: 4 }, { t: 60, v: 9 }],
    },
    {
      labels: labelsFromRecord({ __name__: "rq_sum", job: "a" }),
      samples: [{ t: 0, v: 7.5 }, { t: 60, v: 9 }],
    },
    {
      labels: labelsFromRecord({ __name__: "rq_count", job: "a" }),
      samples: [{ t: 0, v: 10 }, { t: 60, v: 12 }],
    },
    { labels: labelsFromRecord({ __name__: "other", job: "a" }), samples: at0(1) },
  ]);
  assert.equal(out.length, 1);
  assert.deepEqual(labelsToRecord(out[0].labels), { __name__: "rq", job: "a" });
  const [h0, h1] = out[0].samples;
  assert.equal(h0.t, 0);
  assert.equal(h0.h.schema, -53);
  assert.deepEqual([...h0.h.customValues], [0.5, 1]);
  assert.equal(h0.h.count, 10);
  assert.equal(h0.h.sum, 7.5);
  // Per-bucket counts 4, 0, 6: the empty middle bucket is left out of the spans.
  assert.deepEqual(h0.h.positiveSpans, [{ offset: 0, length: 1 }, { offset: 1, length: 1 }]);
  assert.deepEqual([...h0.h.positiveBuckets], [4, 6]);
  assert.equal(h1.t, 60);
  // 4, 5, 3.
  assert.deepEqual(h1.h.positiveSpans, [{ offset: 0, length: 3 }]);
  assert.deepEqual([...h1.h.positiveBuckets], [4, 5, 3]);
});

Deno.test("convertClassicHistograms adds the +Inf bucket and the count when missing", () => {
  const [s] = convertClassicHistograms([
    { labels: labelsFromRecord({ __name__: "x_bucket", le: "2" }), samples: at0(3) },
    { labels: labelsFromRecord({ __name__: "x_bucket", le: "1" }), samples: at0(1) },
  ]);
  const h = s.samples[0].h;
  assert.equal(h.count, 3);
  assert.deepEqual([...h.customValues], [1, 2]);
  assert.deepEqual([...h.positiveBuckets], [1, 2]);
  // A count above the highest bucket puts the rest into an implicit +Inf bucket.
  const [c] = convertClassicHistograms([
    { labels: labelsFromRecord({ __name__: "y_bucket", le: "1" }), samples: at0(1) },
    { labels: labelsFromRecord({ __name__: "y_count" }), samples: at0(4) },
  ]);
  assert.deepEqual([...c.samples[0].h.positiveBuckets], [1, 3]);
  assert.deepEqual(c.samples[0].h.positiveSpans, [{ offset: 0, length: 2 }]);
});

Deno.test("convertClassicHistograms rejects inconsistent classic histograms", () => {
  const bucket = (le: string, v: number) => ({
    labels: labelsFromRecord({ __name__: "z_bucket", le }),
    samples: at0(v),
  });
  assert.throws(
    () => convertClassicHistograms([bucket("1", 5), bucket("2", 3)]),
    (e) => e instanceof NhcbError && /count is not cumulative: 3 < 5/.test(e.message),
  );
  assert.throws(
    () => convertClassicHistograms([bucket("2", 3), bucket("1", 5)]),
    /count is not cumulative: 5 > 3/,
  );
  assert.throws(() => convertClassicHistograms([bucket("1", -1)]), /must be non-negative/);
  assert.throws(
    () =>
      convertClassicHistograms([bucket("+Inf", 3), {
        labels: labelsFromRecord({ __name__: "z_count" }),
        samples: at0(4),
      }]),
    /count mismatch/,
  );
  assert.throws(
    () =>
      convertClassicHistograms([{
        labels: labelsFromRecord({ __name__: "q_bucket" }),
        samples: at0(1),
      }]),
    /expected bucket label/,
  );
  // A bound that is not a number is skipped rather than an error.
  assert.equal(convertClassicHistograms([bucket("abc", 1)]).length, 0);
});

Deno.test("parseLe parses like Go's ParseFloat", () => {
  assert.equal(parseLe("0.25"), 0.25);
  assert.equal(parseLe("1e3"), 1000);
  assert.equal(parseLe("+Inf"), Infinity);
  assert.equal(parseLe("-inf"), -Infinity);
  assert.equal(parseLe("Infinity"), Infinity);
  assert.ok(Number.isNaN(parseLe("NaN")));
  assert.ok(Number.isNaN(parseLe("1s")));
  assert.ok(Number.isNaN(parseLe("")));
});
