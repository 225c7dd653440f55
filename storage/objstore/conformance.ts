/**
 * The provider-independent bucket conformance suite. Every provider's test runs it against a
 * real server (or directory) so that all providers behave alike for convert and serve.
 *
 * @example
 * ```ts ignore
 * Deno.test("FILESYSTEM conformance", async (t) => {
 *   await runBucketConformance(t, async () => new FilesystemBucket(await Deno.makeTempDir()));
 * });
 * ```
 *
 * @module
 */
import assert from "node:assert/strict";
import type { Bucket } from "./bucket.ts";
import { isObjectNotFound, listAll } from "./bucket.ts";

/** Options of {@linkcode runBucketConformance}. */
export interface ConformanceOptions {
  /** Size of the large-object test, bytes. Default 12 MiB (above S3's 5 MiB part minimum). */
  largeObjectSize?: number;
  /** Skip named steps the server is known to get wrong, with the reason (reported). */
  knownServerBugs?: Record<string, string>;
}

/** Deterministic pseudo-random bytes, so that failures are reproducible. */
export function patternBytes(size: number, seed = 1): Uint8Array {
  const out = new Uint8Array(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

async function rejectsNotFound(p: Promise<unknown>, what: string): Promise<void> {
  await assert.rejects(p, (e) => {
    assert.ok(isObjectNotFound(e), `${what}: expected ObjectNotFoundError, got ${e}`);
    return true;
  });
}

/**
 * Runs the suite as test steps of `t` on a fresh bucket from `makeBucket` (closed at the end).
 */
export async function runBucketConformance(
  t: Deno.TestContext,
  makeBucket: () => Promise<Bucket>,
  options: ConformanceOptions = {},
): Promise<void> {
  const bucket = await makeBucket();
  const bugs = options.knownServerBugs ?? {};
  const step = (name: string, fn: () => Promise<void>) =>
    t.step({
      name: bugs[name] ? `${name} (skipped: ${bugs[name]})` : name,
      ignore: bugs[name] !== undefined,
      fn,
    });
  try {
    await step("upload then get returns the same bytes; overwrite replaces", async () => {
      const data = patternBytes(1000, 7);
      await bucket.upload("a/obj.bin", data);
      assert.deepEqual(await bucket.get("a/obj.bin"), data);
      await bucket.upload("a/obj.bin", new TextEncoder().encode("v2"));
      assert.equal(new TextDecoder().decode(await bucket.get("a/obj.bin")), "v2");
      await bucket.upload("a/empty", new Uint8Array(0));
      assert.equal((await bucket.get("a/empty")).length, 0);
    });

    await step("ranged reads at the edges", async () => {
      const data = patternBytes(4096, 3);
      await bucket.upload("range/obj", data);
      const cases: Array<[number, number]> = [
        [0, 1],
        [0, 4096],
        [0, 10_000],
        [1, 10],
        [4095, 1],
        [4095, 100],
        [1000, 3000],
        [2048, 2048],
      ];
      for (const [off, len] of cases) {
        const got = await bucket.getRange("range/obj", off, len);
        assert.deepEqual(got, data.subarray(off, Math.min(4096, off + len)), `range ${off}+${len}`);
      }
      assert.equal((await bucket.getRange("range/obj", 4096, 10)).length, 0, "offset at end");
      assert.equal((await bucket.getRange("range/obj", 5000, 10)).length, 0, "offset past end");
      assert.equal((await bucket.getRange("range/obj", 10, 0)).length, 0, "zero length");
    });

    await step("missing keys give the typed not-found error", async () => {
      await rejectsNotFound(bucket.get("missing/key"), "get");
      await rejectsNotFound(bucket.getRange("missing/key", 0, 10), "getRange");
      await rejectsNotFound(bucket.getStream("missing/key"), "getStream");
      await rejectsNotFound(bucket.attributes("missing/key"), "attributes");
      await rejectsNotFound(bucket.delete("missing/key"), "delete");
      assert.equal(await bucket.exists("missing/key"), false);
      // A "directory" is not an object.
      await bucket.upload("dir-only/child", new Uint8Array([1]));
      assert.equal(await bucket.exists("dir-only"), false);
      await rejectsNotFound(bucket.get("dir-only"), "get of a directory");
      await rejectsNotFound(bucket.getRange("dir-only", 0, 10), "getRange of a directory");
      await rejectsNotFound(
        bucket.getRange("dir-only", 0, 4 << 20),
        "large getRange of a directory",
      );
    });

    await step("exists and attributes", async () => {
      const before = Date.now();
      await bucket.upload("attr/obj", patternBytes(1234));
      assert.equal(await bucket.exists("attr/obj"), true);
      const attrs = await bucket.attributes("attr/obj");
      assert.equal(attrs.size, 1234);
      const skew = 5 * 60_000;
      assert.ok(
        Math.abs(attrs.lastModified.getTime() - before) < skew,
        `lastModified ${attrs.lastModified.toISOString()} not near now`,
      );
    });

    await step("listing one level and recursively", async () => {
      for (
        const key of [
          "ls/b/2.txt",
          "ls/a/1.txt",
          "ls/a/deep/x/y.txt",
          "ls/top.txt",
          "ls/c.txt",
          "lsx/other.txt",
        ]
      ) {
        await bucket.upload(key, new Uint8Array([1, 2, 3]));
      }
      assert.deepEqual(await listAll(bucket, "ls/"), ["ls/a/", "ls/b/", "ls/c.txt", "ls/top.txt"]);
      assert.deepEqual(
        await listAll(bucket, "ls"),
        ["ls/a/", "ls/b/", "ls/c.txt", "ls/top.txt"],
        "prefix without trailing slash is a directory",
      );
      assert.deepEqual(await listAll(bucket, "ls/", { recursive: true }), [
        "ls/a/1.txt",
        "ls/a/deep/x/y.txt",
        "ls/b/2.txt",
        "ls/c.txt",
        "ls/top.txt",
      ]);
      assert.deepEqual(await listAll(bucket, "nothing-here/"), []);
      const root = await listAll(bucket, "");
      assert.ok(root.includes("ls/") && root.includes("lsx/"), `root listing: ${root}`);
    });

    await step("listing shows a directory that holds only deeper objects", async () => {
      // Relies on the keys of the previous step: ls/a/deep/ has no object of its own.
      assert.deepEqual(await listAll(bucket, "ls/a/"), ["ls/a/1.txt", "ls/a/deep/"]);
      assert.deepEqual(await listAll(bucket, "ls/a/deep/"), ["ls/a/deep/x/"]);
    });

    await step("listing many keys (pagination)", async () => {
      const keys = Array.from({ length: 1100 }, (_, i) => `many/k${String(i).padStart(5, "0")}`);
      for (let i = 0; i < keys.length; i += 50) {
        await Promise.all(keys.slice(i, i + 50).map((k) => bucket.upload(k, new Uint8Array([1]))));
      }
      assert.deepEqual(await listAll(bucket, "many/"), keys);
      assert.deepEqual(await listAll(bucket, "many/", { recursive: true }), keys);
    });

    await step("large streamed upload and ranged read back", async () => {
      const size = options.largeObjectSize ?? 12 * 1024 * 1024;
      const data = patternBytes(size, 11);
      const chunks = async function* () {
        for (let off = 0; off < size; off += 1024 * 1024 - 17) {
          yield data.slice(off, Math.min(size, off + 1024 * 1024 - 17));
        }
      };
      await bucket.upload("large/obj", chunks(), { size });
      assert.equal((await bucket.attributes("large/obj")).size, size);
      const got = await bucket.get("large/obj");
      assert.equal(got.length, size);
      assert.ok(got.every((b, i) => b === data[i]), "large object content differs");
      const mid = Math.floor(size / 2) - 5;
      assert.deepEqual(await bucket.getRange("large/obj", mid, 100), data.subarray(mid, mid + 100));
      // A range of megabytes running past the end: the rest of the object.
      const rest = await bucket.getRange("large/obj", 7, size);
      assert.equal(rest.length, size - 7);
      assert.ok(rest.every((b, i) => b === data[i + 7]), "large range content differs");
      const stream = await bucket.getStream("large/obj");
      let total = 0;
      for await (const chunk of stream) total += chunk.length;
      assert.equal(total, size);
    });

    await step("concurrent readers see consistent data", async () => {
      const data = patternBytes(256 * 1024, 5);
      await bucket.upload("concurrent/obj", data);
      let seed = 42;
      const rnd = (n: number) => {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        return seed % n;
      };
      const reads = Array.from({ length: 64 }, () => {
        const off = rnd(data.length);
        const len = 1 + rnd(16 * 1024);
        return bucket.getRange("concurrent/obj", off, len).then((got) => {
          assert.deepEqual(got, data.subarray(off, Math.min(data.length, off + len)));
        });
      });
      await Promise.all(reads);
    });

    await step("keys with special characters", async () => {
      const keys = ["special/with space.txt", "special/ünïcødé-日本", "special/a=b&c+d%20"];
      for (const k of keys) await bucket.upload(k, new TextEncoder().encode(k));
      for (const k of keys) assert.equal(new TextDecoder().decode(await bucket.get(k)), k);
      assert.deepEqual(await listAll(bucket, "special/"), [...keys].sort());
    });

    await step("delete removes the object and its now-empty directory", async () => {
      await bucket.upload("del/sub/obj", new Uint8Array([9]));
      await bucket.delete("del/sub/obj");
      assert.equal(await bucket.exists("del/sub/obj"), false);
      assert.deepEqual(await listAll(bucket, "del/"), []);
      assert.ok(!(await listAll(bucket, "")).includes("del/"), "empty directory still listed");
    });
  } finally {
    await bucket.close();
  }
}
