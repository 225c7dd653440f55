import assert from "node:assert/strict";
import { type Labels, labelsFromRecord } from "../model/labels.ts";
import { mergeSeries } from "./merge.ts";
import { compareSeries } from "./series_order.ts";
import { SpillSorter } from "./spill_sort.ts";

async function entriesOf(dir: string, bufferBytes: number, sets: Labels[], sortLabels: string[]) {
  const sorter = new SpillSorter({ sortLabels, bufferBytes, tempDir: dir });
  try {
    // Two sources; source 1 repeats every third series of source 0, in reverse order.
    for (let i = 0; i < sets.length; i++) await sorter.add({ labels: sets[i], source: 0, ref: i });
    for (let i = sets.length - 1; i >= 0; i -= 3) {
      await sorter.add({ labels: sets[i], source: 1, ref: BigInt(i) << 40n });
    }
    const runs = sorter.runs;
    const out = [];
    for await (const m of mergeSeries(sorter.sortedRuns(), sortLabels)) out.push(m);
    return { runs, out };
  } finally {
    await sorter.close();
  }
}

Deno.test("a sort buffer too small for the input spills runs and sorts like one in memory", async () => {
  const dir = await Deno.makeTempDir({ prefix: "convert-spill-test-" });
  try {
    let seed = 3;
    // The high bits: an LCG's low bits repeat with short periods.
    const rnd = (n: number) => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8) % n;
    const sets: Labels[] = [];
    const seen = new Set<string>();
    while (sets.length < 500) {
      const rec: Record<string, string> = { instance: `host-${rnd(40)}` };
      if (rnd(5) > 0) rec.__name__ = `metric_${rnd(8)}`;
      if (rnd(2)) rec.job = ["api", "db", "é\u{1F600}"][rnd(3)];
      if (rnd(4) === 0) rec.Zone = `z${rnd(3)}`; // sorts before __name__ in label order
      const l = labelsFromRecord(rec);
      if (seen.has(JSON.stringify(l))) continue;
      seen.add(JSON.stringify(l));
      sets.push(l);
    }
    for (const sortLabels of [["__name__"], ["job", "__name__"]]) {
      const memory = await entriesOf(dir, 1 << 30, sets, sortLabels);
      const spilled = await entriesOf(dir, 2000, sets, sortLabels);
      assert.equal(memory.runs, 0);
      assert.ok(spilled.runs > 10, `only ${spilled.runs} runs`);
      assert.deepEqual(spilled.out, memory.out);
      const want = [...sets].sort((a, b) => compareSeries(a, b, sortLabels));
      assert.deepEqual(memory.out.map((m) => m.labels), want);
      // Every third series is in both sources, with source 1's bigint reference kept exact.
      for (const m of memory.out) {
        const i = sets.findIndex((s) => JSON.stringify(s) === JSON.stringify(m.labels));
        const both = (sets.length - 1 - i) % 3 === 0;
        assert.deepEqual(
          m.refs,
          both
            ? [{ source: 0, ref: i }, { source: 1, ref: BigInt(i) << 40n }]
            : [{ source: 0, ref: i }],
        );
      }
    }
    // Closing removed every run file.
    assert.deepEqual([...Deno.readDirSync(dir)], []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
