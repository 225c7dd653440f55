/**
 * End-to-end: the real `convert` process over FILESYSTEM buckets holding promtool's fixture
 * blocks, in dry-run and once modes.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { FilesystemBucket } from "../storage/objstore/filesystem.ts";
import { openBlock } from "../storage/parquet/reader.ts";

const MAIN = fileURLToPath(new URL("./main.ts", import.meta.url));
const BLOCKS = fileURLToPath(new URL("../storage/tsdb/testdata/blocks/", import.meta.url));

async function convert(root: string, ...args: string[]) {
  const bucket = (dir: string) => `type: FILESYSTEM\nconfig:\n  directory: ${root}/${dir}`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      MAIN,
      "convert",
      `--tsdb.objstore.config=${bucket("tsdb")}`,
      `--parquet.objstore.config=${bucket("pq")}`,
      `--convert.tempdir=${root}/tmp`,
      "--http.internal.port=0",
      ...args,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("convert --convert.dry-run prints the plan and --convert.once converts it", async () => {
  const root = await Deno.makeTempDir({ prefix: "pq-convert-cli-" });
  try {
    await Deno.mkdir(`${root}/tsdb`);
    const cp = await new Deno.Command("cp", { args: ["-r", `${BLOCKS}/.`, `${root}/tsdb`] })
      .output();
    assert.equal(cp.code, 0);
    // The fixture's most recent day (2023-11-15) is not covered to its end, so it waits.
    const dry = await convert(root, "--convert.dry-run");
    assert.equal(dry.code, 0, dry.stderr);
    assert.equal(dry.stdout, "2023-11-14 stream=0 blocks=01M88N5D9P8GWXTTFS4XSR85NF series<=4\n");

    const once = await convert(root, "--convert.once");
    assert.equal(once.code, 0, once.stderr);
    assert.match(once.stderr + once.stdout, /converted day.*date=2023-11-14.*rows=4/);
    const pq = new FilesystemBucket(`${root}/pq`);
    const block = await openBlock(pq, 0n, "2023-11-14");
    assert.equal(block.shards[0].numRows, 4);
    await pq.close();
    assert.deepEqual(await Array.fromAsync(Deno.readDir(`${root}/tmp/.blocks`)), []);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
