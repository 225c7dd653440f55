import assert from "node:assert/strict";
import { concatBytes } from "../../internal/bytes.ts";
import { firstParts, fixedSizeParts, sendParts } from "./parts.ts";
import { patternBytes } from "./conformance.ts";

async function sizes(body: Uint8Array | AsyncIterable<Uint8Array>, size: number) {
  const parts: Uint8Array[] = [];
  for await (const p of fixedSizeParts(body, size)) parts.push(p.slice());
  return parts;
}

async function* chunked(data: Uint8Array, step: number) {
  for (let off = 0; off < data.length; off += step) yield data.subarray(off, off + step);
}

Deno.test("fixedSizeParts cuts bytes and streams into equal parts, the last shorter", async () => {
  const data = patternBytes(1000, 9);
  for (const body of [data, chunked(data, 7), chunked(data, 1000), chunked(data, 333)]) {
    const parts = await sizes(body, 300);
    assert.deepEqual(parts.map((p) => p.length), [300, 300, 300, 100]);
    assert.deepEqual(concatBytes(parts), data);
  }
  assert.deepEqual((await sizes(chunked(data, 10), 500)).map((p) => p.length), [500, 500]);
});

Deno.test("fixedSizeParts yields one empty part for an empty body", async () => {
  assert.deepEqual((await sizes(new Uint8Array(0), 4)).map((p) => p.length), [0]);
  assert.deepEqual((await sizes(chunked(new Uint8Array(0), 1), 4)).map((p) => p.length), [0]);
  await assert.rejects(sizes(new Uint8Array(1), 0), RangeError);
});

Deno.test("firstParts reads two parts ahead and says when one request suffices", async () => {
  const stream = async function* (sizes: number[]) {
    for (const n of sizes) yield new Uint8Array(n).fill(n);
  };
  for (const body of [new Uint8Array(4), stream([1, 3])]) {
    const p = await firstParts(body, 4);
    assert.equal(p.first.length, 4);
    assert.equal(p.second, undefined, "exactly one part");
  }
  const empty = await firstParts(new Uint8Array(0), 4);
  assert.deepEqual([empty.first.length, empty.second], [0, undefined]);
  const many = await firstParts(stream([5, 5]), 4);
  assert.deepEqual([many.first.length, many.second?.length], [4, 4]);
  const rest: number[] = [];
  for await (const part of many.rest) rest.push(part.length);
  assert.deepEqual(rest, [2]);
});

Deno.test("sendParts sends in order, one at a time, reading the next part meanwhile", async () => {
  let read = 0;
  async function* body() {
    for (let i = 0; i < 5; i++) {
      read++;
      yield new Uint8Array(10).fill(i);
    }
  }
  const sent: number[] = [];
  let inFlight = 0;
  await sendParts(await firstParts(body(), 10), async (n, part) => {
    inFlight++;
    assert.equal(inFlight, 1);
    const readBefore = read;
    await new Promise((r) => setTimeout(r, 5));
    // The body moved on while this part was being sent (except after the last one).
    if (n >= 1 && n < 4) assert.ok(read > readBefore, `part ${n}`);
    assert.equal(part[0], n);
    sent.push(n);
    inFlight--;
  });
  assert.deepEqual(sent, [0, 1, 2, 3, 4]);

  const failing = sendParts(await firstParts(body(), 10), (n) => {
    return n === 2 ? Promise.reject(new Error("part 2 refused")) : Promise.resolve();
  });
  await assert.rejects(failing, /part 2 refused/);
});
