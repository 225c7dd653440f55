/** Costs of the histogram operations the engine runs per sample. */
import { CounterResetHint, type FloatHistogram } from "../model/histogram.ts";
import {
  addHistograms,
  detectReset,
  HistogramAggregator,
  histogramQuantile,
  kahanAddHistogram,
} from "./histogram_ops.ts";

// A schema-3 histogram with 40 populated buckets on each side in two spans.
function sample(scale: number): FloatHistogram {
  const buckets = Float64Array.from({ length: 40 }, (_, i) => (i + 1) * scale);
  return {
    counterResetHint: CounterResetHint.Unknown,
    schema: 3,
    zeroThreshold: 0.001,
    zeroCount: scale,
    count: 1 + 2 * buckets.reduce((a, b) => a + b, 0),
    sum: 100 * scale,
    positiveSpans: [{ offset: -5, length: 20 }, { offset: 3, length: 20 }],
    negativeSpans: [{ offset: 0, length: 40 }],
    positiveBuckets: buckets,
    negativeBuckets: buckets.slice(),
    customValues: new Float64Array(0),
  };
}

const a = sample(1);
const b = sample(2);

Deno.bench("addHistograms, 80 buckets", () => {
  addHistograms(a, b);
});

Deno.bench("kahanAddHistogram, 80 buckets", () => {
  kahanAddHistogram(a, b);
});

Deno.bench("HistogramAggregator sum of 100 histograms", () => {
  const acc = new HistogramAggregator("sum");
  for (let i = 0; i < 100; i++) acc.add(i % 2 ? a : b);
  acc.result();
});

Deno.bench("detectReset, 80 buckets", () => {
  detectReset(b, a);
});

Deno.bench("histogramQuantile(0.9), 80 buckets", () => {
  histogramQuantile(0.9, b);
});
