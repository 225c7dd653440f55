import assert from "node:assert/strict";
import { WeightedLru } from "./_lru.ts";

Deno.test("WeightedLru: a long mix of gets, sets and prefix drops matches a list-based LRU", () => {
  const c = new WeightedLru<number>(1000);
  // The reference: keys least recent first, evicted from the front while over the bound.
  let model: { key: string; bytes: number; step: number }[] = [];
  const total = () => model.reduce((n, e) => n + e.bytes, 0);
  let seed = 7;
  const rand = (n: number) => (seed = (seed * 1103515245 + 12345) % 2147483648) % n;
  for (let step = 0; step < 20_000; step++) {
    const key = `f${rand(3)}/${rand(60)}`;
    const op = rand(10);
    if (op < 5) {
      const bytes = 1 + rand(120);
      c.set(key, step, bytes);
      model = model.filter((e) => e.key !== key);
      while (total() + bytes > 1000 && model.length > 0) model.shift();
      model.push({ key, bytes, step });
    } else if (op < 9) {
      const i = model.findIndex((e) => e.key === key);
      assert.equal(c.get(key), i >= 0 ? model[i].step : undefined, `step ${step}: get ${key}`);
      if (i >= 0) model.push(...model.splice(i, 1));
    } else {
      const prefix = key.slice(0, 3);
      c.deletePrefix(prefix);
      model = model.filter((e) => !e.key.startsWith(prefix));
    }
    assert.equal(c.weight, total(), `step ${step}`);
    assert.equal(c.size, model.length, `step ${step}`);
  }
  assert.ok(c.evictions > 1000, `${c.evictions} evictions`);
});
