/**
 * `convert --convert.once` between two S3 buckets of a real S3 server (npm `s3rver` on
 * 127.0.0.1): the Parquet objects it uploads are byte for byte those of the same conversion
 * between FILESYSTEM buckets.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { listAll } from "../storage/objstore/bucket.ts";
import { parseBucketConfig } from "../storage/objstore/config.ts";
import { createBucket } from "../storage/objstore/mod.ts";
import { startS3rver } from "../storage/objstore/testing/servers.ts";
import { freePort } from "./oracle/prometheus.ts";

const MAIN = fileURLToPath(new URL("../cli/main.ts", import.meta.url));
const FIXTURE = fileURLToPath(new URL("../storage/tsdb/testdata/blocks/", import.meta.url));

function s3Yaml(port: number, bucket: string): string {
  return `type: S3
config:
  bucket: ${bucket}
  endpoint: 127.0.0.1:${port}
  insecure: true
  access_key: S3RVER
  secret_key: S3RVER
  list_objects_version: v1
`;
}

async function convert(tsdb: string, parquet: string, tmp: string) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      MAIN,
      "convert",
      "--convert.once",
      `--tsdb.objstore.config=${tsdb}`,
      `--parquet.objstore.config=${parquet}`,
      `--convert.tempdir=${tmp}`,
      `--http.internal.port=${freePort()}`,
      "--log.level=warn",
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
}

async function localFiles(dir: string, base = dir): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    const path = `${dir}/${e.name}`;
    if (e.isDirectory) out.push(...await localFiles(path, base));
    else out.push(path.slice(base.length + 1));
  }
  return out.sort();
}

Deno.test({
  name: "convert from an S3 bucket to an S3 bucket writes what it writes on FILESYSTEM",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const root = await Deno.makeTempDir({ prefix: "convert-s3-" });
    const s3 = await startS3rver(["tsdb", "parquet"]);
    try {
      const source = await createBucket(parseBucketConfig(s3Yaml(s3.port, "tsdb"), "source"));
      for (const key of await localFiles(FIXTURE)) {
        await source.upload(key, await Deno.readFile(`${FIXTURE}/${key}`));
      }
      await source.close();

      await convert(s3Yaml(s3.port, "tsdb"), s3Yaml(s3.port, "parquet"), root);
      await convert(
        `type: FILESYSTEM\nconfig: {directory: ${FIXTURE}}`,
        `type: FILESYSTEM\nconfig: {directory: ${root}/local}`,
        root,
      );

      const want = await localFiles(`${root}/local`);
      assert.ok(want.some((k) => k.endsWith("meta.pb")), "the fixture converts a day");
      const dest = await createBucket(parseBucketConfig(s3Yaml(s3.port, "parquet"), "dest"));
      try {
        assert.deepEqual((await listAll(dest, "", { recursive: true })).sort(), want);
        for (const key of want) {
          assert.deepEqual(await dest.get(key), await Deno.readFile(`${root}/local/${key}`), key);
        }
      } finally {
        await dest.close();
      }
    } finally {
      await s3.stop();
      await Deno.remove(root, { recursive: true });
    }
  },
});
