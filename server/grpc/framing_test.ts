import assert from "node:assert/strict";
import { concatBytes } from "../../internal/bytes.ts";
import { frameMessage, readMessages } from "./framing.ts";
import { Code, GrpcError } from "./status.ts";

async function* chunks(data: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let off = 0; off < data.length; off += size) yield data.subarray(off, off + size);
}

async function readAll(body: AsyncIterable<Uint8Array>, max = 1 << 30): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for await (const m of readMessages(body, "identity", max)) out.push(m.slice());
  return out;
}

Deno.test("readMessages frames messages however the body is chunked", async () => {
  const payloads = [0, 1, 4, 5, 300].map((n) => Uint8Array.from({ length: n }, (_, i) => i * 7));
  const body = concatBytes(payloads.map((p) => frameMessage(p, "identity")));
  for (let size = 1; size <= body.length; size++) {
    assert.deepEqual(await readAll(chunks(body, size)), payloads, `chunks of ${size}`);
  }
});

Deno.test("readMessages reassembles a large message from many small chunks", async () => {
  const payload = Uint8Array.from({ length: 4 << 20 }, (_, i) => (i * 31) & 0xff);
  const got = await readAll(chunks(frameMessage(payload, "identity"), 1000));
  assert.equal(got.length, 1);
  assert.deepEqual(got[0], payload);
});

Deno.test("readMessages: oversized headers and truncated bodies are gRPC errors", async () => {
  const frame = frameMessage(new Uint8Array(100), "identity");
  await assert.rejects(
    readAll(chunks(frame.subarray(0, 5), 2), 99),
    (e) => e instanceof GrpcError && e.code === Code.ResourceExhausted,
  );
  await assert.rejects(
    readAll(chunks(frame.subarray(0, 50), 7)),
    (e) => e instanceof GrpcError && e.code === Code.Internal,
  );
});
