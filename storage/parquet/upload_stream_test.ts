import assert from "node:assert/strict";
import { FilesystemBucket } from "../objstore/filesystem.ts";
import { StreamingWriter } from "./upload_stream.ts";

Deno.test("StreamingWriter hands over pieces as they fill; the object has every byte in order", async () => {
  const dir = await Deno.makeTempDir({ prefix: "pq-upload-test-" });
  const bucket = new FilesystemBucket(dir);
  try {
    const w = new StreamingWriter(bucket, "a/b.bin", 64);
    const want: number[] = [];
    for (let i = 0; i < 50; i++) {
      // Writes smaller than, equal to and larger than a piece.
      const bytes = Uint8Array.from({ length: (i * 37) % 150 }, (_, k) => (i * 31 + k) & 0xff);
      w.appendBytes(bytes);
      w.appendUint32(i);
      want.push(...bytes, i, 0, 0, 0);
      if (i % 10 === 9) await w.flush();
    }
    assert.equal(w.offset, want.length);
    await w.finish();
    assert.deepEqual([...await bucket.get("a/b.bin")], want);
    // An aborted upload leaves no object.
    const aborted = new StreamingWriter(bucket, "a/c.bin", 64);
    aborted.appendBytes(new Uint8Array(500));
    await aborted.abort(new Error("stop"));
    assert.equal(await bucket.exists("a/c.bin"), false);
  } finally {
    await bucket.close();
    await Deno.remove(dir, { recursive: true });
  }
});
