import assert from "node:assert/strict";
import { compareLabels, type Labels, labelsFromRecord } from "../model/labels.ts";
import { compareSeries } from "./series_order.ts";

Deno.test("rows order like the sort labels' values (missing first) then all labels; only equal labels tie", () => {
  // Random label sets over an alphabet with control characters, ASCII and characters beyond
  // the BMP (code point order, not UTF-16 unit order).
  const alphabet = ["\u0000", "\u0001", "\u0002", "a", "b", "_", "\u00e9", "\uffff", "\u{1F600}"];
  let seed = 7;
  const rnd = (n: number) => (seed = (seed * 1103515245 + 12345) >>> 0) % n;
  const str = () => Array.from({ length: rnd(3) }, () => alphabet[rnd(alphabet.length)]).join("");
  const sets: Labels[] = [];
  for (let i = 0; i < 400; i++) {
    const rec: Record<string, string> = {};
    for (let k = rnd(4); k > 0; k--) rec[["a", "b", "ab", "_x"][rnd(4)] + str()] = "v" + str();
    sets.push(labelsFromRecord(rec));
  }
  // The oracle compares UTF-8 bytes, Prometheus' order.
  const utf8 = new TextEncoder();
  const bytes = (a: string, b: string) => {
    const x = utf8.encode(a), y = utf8.encode(b);
    for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i] - y[i];
    return x.length - y.length;
  };
  for (const sortLabels of [["b"], ["b", "a"], []]) {
    const oracle = (x: Labels, y: Labels) => {
      for (const n of sortLabels) {
        const vx = x.find((l) => l.name === n)?.value ?? "";
        const vy = y.find((l) => l.name === n)?.value ?? "";
        if (vx !== vy) return bytes(vx, vy);
      }
      const n = Math.min(x.length, y.length);
      for (let i = 0; i < n; i++) {
        if (x[i].name !== y[i].name) return bytes(x[i].name, y[i].name);
        if (x[i].value !== y[i].value) return bytes(x[i].value, y[i].value);
      }
      return x.length - y.length;
    };
    for (let i = 0; i < sets.length; i++) {
      for (let j = 0; j < sets.length; j += 7) {
        const want = Math.sign(oracle(sets[i], sets[j]));
        const got = Math.sign(compareSeries(sets[i], sets[j], sortLabels));
        assert.equal(got, want, `${JSON.stringify(sets[i])} vs ${JSON.stringify(sets[j])}`);
      }
    }
  }
  // Without sort labels the order is compareLabels'.
  assert.equal(compareSeries(sets[0], sets[1], []), compareLabels(sets[0], sets[1]));
});
