import assert from "node:assert/strict";
import { join } from "node:path";
import { BucketError, listAll } from "./bucket.ts";
import { runBucketConformance } from "./conformance.ts";
import { FilesystemBucket } from "./filesystem.ts";
import { withPrefix } from "./prefixed.ts";

Deno.test("FILESYSTEM bucket passes the conformance suite", async (t) => {
  const dir = await Deno.makeTempDir();
  try {
    await runBucketConformance(t, () => Promise.resolve(new FilesystemBucket(dir)));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("FILESYSTEM bucket with a prefix passes the conformance suite", async (t) => {
  const dir = await Deno.makeTempDir();
  try {
    await runBucketConformance(
      t,
      () => Promise.resolve(withPrefix(new FilesystemBucket(dir), "tenant/a")),
      { largeObjectSize: 2 * 1024 * 1024 },
    );
    // Everything landed below the prefix.
    const root = await listAll(new FilesystemBucket(dir), "");
    assert.deepEqual(root, ["tenant/"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("FILESYSTEM keys cannot escape the root", async () => {
  const dir = await Deno.makeTempDir();
  const outside = join(dir, "..", `outside-${crypto.randomUUID()}`);
  try {
    const bucket = new FilesystemBucket(join(dir, "root"));
    for (const key of ["../x", "a/../../x", "/etc/passwd", "a/./b", "", "a\\..\\b"]) {
      await assert.rejects(bucket.upload(key, new Uint8Array([1])), BucketError, key);
      await assert.rejects(bucket.get(key), BucketError, key);
    }
    await assert.rejects(Deno.stat(outside), Deno.errors.NotFound);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("FILESYSTEM upload is atomic: a failed stream leaves no object", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const bucket = new FilesystemBucket(dir);
    await bucket.upload("day/meta.pb", new TextEncoder().encode("old"));
    const failing = async function* () {
      yield new Uint8Array(1000);
      throw new Error("network broke");
    };
    await assert.rejects(bucket.upload("day/meta.pb", failing()), /network broke/);
    await assert.rejects(bucket.upload("day/new.pb", failing()), /network broke/);
    assert.equal(new TextDecoder().decode(await bucket.get("day/meta.pb")), "old");
    assert.equal(await bucket.exists("day/new.pb"), false);
    assert.deepEqual(await listAll(bucket, "day/"), ["day/meta.pb"]);
    // No temporary files left behind on disk either.
    const names = [...Deno.readDirSync(join(dir, "day"))].map((e) => e.name);
    assert.deepEqual(names, ["meta.pb"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
