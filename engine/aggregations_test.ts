import assert from "node:assert/strict";
import { Engine } from "./engine.ts";
import { getLabel, labelsFromRecord } from "../model/labels.ts";
import { MemoryQueryable } from "./memory_queryable.ts";

/** limit_ratio's choices that testdata/stringlabels_hash.go computed with Prometheus' algorithm. */
interface Expectations {
  metric: string;
  series: string[];
  selections: { ratio: number; withName: string[]; withoutName: string[] }[];
}

const expected: Expectations = JSON.parse(
  await Deno.readTextFile(new URL("../model/testdata/stringlabels_hash.json", import.meta.url)),
);

const storage = new MemoryQueryable();
for (const i of expected.series) {
  storage.append(labelsFromRecord({ __name__: expected.metric, i }), 0, Number(i));
}

/** The `i` labels of the series an instant query at 0 returns, in numeric order. */
async function kept(engine: Engine, query: string): Promise<string[]> {
  const res = await engine.instantQuery(storage, query, 0);
  assert.equal(res.value.type, "vector");
  if (res.value.type !== "vector") return [];
  return res.value.samples.map((s) => getLabel(s.labels, "i")).sort((a, b) => +a - +b);
}

Deno.test("limit_ratio keeps the series Prometheus keeps", async () => {
  const engine = new Engine({ delayedNameRemoval: false });
  for (const { ratio, withName, withoutName } of expected.selections) {
    assert.deepEqual(await kept(engine, `limit_ratio(${ratio}, ${expected.metric})`), withName);
    // Without delayed name removal, unary minus drops __name__ before limit_ratio hashes.
    assert.deepEqual(
      await kept(engine, `limit_ratio(${ratio}, -${expected.metric})`),
      withoutName,
      `ratio ${ratio}`,
    );
  }
});

Deno.test("limit_ratio hashes __name__ while its removal is delayed", async () => {
  const engine = new Engine({ delayedNameRemoval: true });
  for (const { ratio, withName } of expected.selections) {
    assert.deepEqual(await kept(engine, `limit_ratio(${ratio}, -${expected.metric})`), withName);
  }
});

Deno.test("limit_ratio picks the same series at every step of a range query", async () => {
  const engine = new Engine({ delayedNameRemoval: false });
  const { ratio, withName } = expected.selections.find((s) => s.ratio === 0.5)!;
  const res = await engine.rangeQuery(
    storage,
    `limit_ratio(${ratio}, ${expected.metric})`,
    0,
    120_000,
    60_000,
  );
  assert.equal(res.value.type, "matrix");
  if (res.value.type !== "matrix") return;
  const series = res.value.series.map((s) => getLabel(s.labels, "i")).sort((a, b) => +a - +b);
  assert.deepEqual(series, withName);
  // Each series' one sample at 0 stays within the lookback at all three steps.
  for (const s of res.value.series) {
    const v = Number(getLabel(s.labels, "i"));
    assert.deepEqual(s.floatValues, [v, v, v]);
  }
});
