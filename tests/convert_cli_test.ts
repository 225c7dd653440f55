/**
 * The real `convert` process over FILESYSTEM buckets: the plan of `--convert.dry-run`,
 * `--convert.once` converting exactly what is due, a failed day reported with a non-zero exit and
 * no `meta.pb`, a block with an unreadable `meta.json` failing the run before anything is written,
 * and a converter killed mid-day whose rerun produces the same bytes as an
 * uninterrupted conversion.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { writeDemoBlocks } from "../examples/demo.ts";

const MAIN = fileURLToPath(new URL("../cli/main.ts", import.meta.url));
const FIXTURE = fileURLToPath(new URL("../storage/tsdb/testdata/blocks/", import.meta.url));

function convertArgs(root: string, pq: string, extra: string[]): string[] {
  const bucket = (dir: string) => `type: FILESYSTEM\nconfig:\n  directory: ${root}/${dir}`;
  return [
    "run",
    "-A",
    MAIN,
    "convert",
    `--tsdb.objstore.config=${bucket("tsdb")}`,
    `--parquet.objstore.config=${bucket(pq)}`,
    `--convert.tempdir=${root}`,
    "--http.internal.port=0",
    ...extra,
  ];
}

async function convert(root: string, pq: string, ...extra: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: convertArgs(root, pq, extra),
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

async function files(dir: string, base = dir): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>();
  for await (const e of Deno.readDir(dir)) {
    // A killed upload leaves its FILESYSTEM temp file behind; no bucket listing shows it.
    if (e.name.startsWith(".upload-tmp-")) continue;
    const path = `${dir}/${e.name}`;
    if (e.isDirectory) { for (const [k, v] of await files(path, base)) out.set(k, v); }
    else out.set(path.slice(base.length + 1), await Deno.readFile(path));
  }
  return out;
}

async function copyFixture(to: string) {
  await Deno.mkdir(to, { recursive: true });
  const cp = await new Deno.Command("cp", { args: ["-r", `${FIXTURE}/.`, to] }).output();
  assert.equal(cp.code, 0);
}

Deno.test("convert: dry-run prints the plan, once converts it, a second run has nothing to do", async () => {
  const root = await Deno.makeTempDir({ prefix: "convert-cli-" });
  try {
    await copyFixture(`${root}/tsdb`);
    // The fixture spans 2023-11-14 22:13 to 2023-11-15 ~01:00: the 15th is not covered to its
    // end, so only the 14th is due.
    const dry = await convert(root, "pq", "--convert.dry-run");
    assert.equal(dry.code, 0, dry.stderr);
    assert.equal(
      dry.stdout,
      "2023-11-14 stream=0 {} blocks=01M88N5D9P8GWXTTFS4XSR85NF estimated_series<=4\n",
    );
    const once = await convert(root, "pq", "--convert.once");
    assert.equal(once.code, 0, once.stderr);
    assert.match(once.stderr, /msg="converted day" day=0\/2023-11-14 step=1\/1 series=4/);
    const written = await files(`${root}/pq`);
    assert.deepEqual([...written.keys()].sort(), [
      "0/2023-11-14/0.chunks.parquet",
      "0/2023-11-14/0.labels.parquet",
      "0/stream.pb",
      "2023-11-14/meta.pb",
    ]);
    const again = await convert(root, "pq", "--convert.dry-run");
    assert.equal(again.stdout, "nothing to convert\n");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("convert: a day's log lines count its distinct series, not the sum over its blocks", async () => {
  const root = await Deno.makeTempDir({ prefix: "convert-cli-" });
  try {
    await copyFixture(`${root}/tsdb`);
    // Let the blocks of 2023-11-15 reach from its start to its end, so that it is planned.
    const edit = async (ulid: string, field: "minTime" | "maxTime", value: number) => {
      const path = `${root}/tsdb/${ulid}/meta.json`;
      const meta = JSON.parse(await Deno.readTextFile(path));
      meta[field] = value;
      await Deno.writeTextFile(path, JSON.stringify(meta));
    };
    await edit("01M88N5DB4F62E1YJ3Z2G3ZSB2", "minTime", Date.UTC(2023, 10, 15));
    await edit("01M88N5DD8N0QG6XDTXEX68HTY", "maxTime", Date.UTC(2023, 10, 16));
    const dry = await convert(root, "pq", "--convert.dry-run");
    // The three blocks of the 15th hold 4 + 4 + 2 series by their meta.json...
    assert.match(dry.stdout, /^2023-11-15 .* estimated_series<=10$/m);
    const once = await convert(root, "pq", "--convert.once");
    assert.equal(once.code, 0, once.stderr);
    // ...but the fixture (testdata/fixture.om) has four series in all.
    assert.match(once.stderr, /msg="converting day" day=0\/2023-11-15 step=1\/2 series=4\n/);
    assert.match(once.stderr, /msg="converting day" day=0\/2023-11-14 step=2\/2 series=4\n/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("convert: a day that fails is reported, exits 1 and leaves no meta.pb", async () => {
  const root = await Deno.makeTempDir({ prefix: "convert-cli-" });
  try {
    await copyFixture(`${root}/tsdb`);
    // Damage the chunk segment of the block the day needs: its first record's CRC no longer fits.
    const seg = `${root}/tsdb/01M88N5D9P8GWXTTFS4XSR85NF/chunks/000001`;
    const bytes = await Deno.readFile(seg);
    bytes[20] ^= 0xff;
    await Deno.writeFile(seg, bytes);
    const once = await convert(root, "pq", "--convert.once");
    assert.equal(once.code, 1, once.stderr);
    assert.match(once.stderr, /failed: 0\/2023-11-14: .*000001/);
    const written = await files(`${root}/pq`).catch(() => new Map());
    assert.ok(![...written.keys()].some((k) => k.endsWith("meta.pb")));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("convert: a block with an unreadable meta.json fails the run, exits 1, writes nothing", async () => {
  const root = await Deno.makeTempDir({ prefix: "convert-cli-" });
  try {
    await copyFixture(`${root}/tsdb`);
    // A second block whose meta.json is cut short: its stream and days cannot be known, so
    // converting the fixture's day without it could silently lose its samples.
    const broken = `${root}/tsdb/01M88N5D9P8GWXTTFS4XSR85NG`;
    await Deno.mkdir(broken);
    const meta = await Deno.readTextFile(`${root}/tsdb/01M88N5D9P8GWXTTFS4XSR85NF/meta.json`);
    await Deno.writeTextFile(`${broken}/meta.json`, meta.slice(0, meta.length / 2));
    const once = await convert(root, "pq", "--convert.once");
    assert.equal(once.code, 1, once.stderr);
    assert.match(once.stderr, /01M88N5D9P8GWXTTFS4XSR85NG\/meta.json: invalid JSON/);
    const written = await files(`${root}/pq`).catch(() => new Map());
    assert.deepEqual([...written.keys()], []);
    const dry = await convert(root, "pq", "--convert.dry-run");
    assert.equal(dry.code, 1, dry.stderr);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test({
  name: "convert: killed mid-day, a rerun writes the same files as an uninterrupted run",
  sanitizeResources: false,
  async fn() {
    const root = await Deno.makeTempDir({ prefix: "convert-cli-" });
    try {
      await Deno.mkdir(`${root}/tsdb`);
      // Demo data: two complete days of two streams; small row groups make many shards.
      await writeDemoBlocks(`${root}/tsdb`, Date.now());
      const small = ["--convert.rowgroup.size=40", "--convert.rowgroup.count=1"];
      const clean = await convert(
        root,
        "clean",
        "--convert.once",
        "--convert.max-plan-days=4",
        ...small,
      );
      assert.equal(clean.code, 0, clean.stderr);
      const want = await files(`${root}/clean`);
      assert.equal([...want.keys()].filter((k) => k.endsWith("meta.pb")).length, 4);

      const child = new Deno.Command(Deno.execPath(), {
        args: convertArgs(root, "pq", ["--convert.once", "--convert.max-plan-days=4", ...small]),
        stdout: "null",
        stderr: "null",
      }).spawn();
      // Kill as soon as a day has shard files but no meta.pb yet.
      let killedMidDay = false;
      for (let i = 0; i < 2000 && !killedMidDay; i++) {
        await new Promise((r) => setTimeout(r, 5));
        const now = await files(`${root}/pq`).catch(() => new Map<string, Uint8Array>());
        const days = new Set(
          [...now.keys()].filter((k) => k.endsWith(".parquet")).map((k) =>
            k.split("/").slice(0, 2).join("/")
          ),
        );
        for (const d of days) {
          const [hash, date] = d.split("/");
          const meta = hash === "0" ? `${date}/meta.pb` : `${hash}/${date}/meta.pb`;
          if (!now.has(meta) && [...now.keys()].filter((k) => k.startsWith(d)).length >= 2) {
            Deno.kill(child.pid, "SIGKILL");
            killedMidDay = true;
            break;
          }
        }
      }
      await child.status;
      assert.ok(killedMidDay, "the converter finished before it could be killed mid-day");
      const partial = await files(`${root}/pq`);
      assert.ok(
        [...partial.keys()].filter((k) => k.endsWith("meta.pb")).length < 4,
        "some day is still uncommitted",
      );
      const rerun = await convert(
        root,
        "pq",
        "--convert.once",
        "--convert.max-plan-days=4",
        ...small,
      );
      assert.equal(rerun.code, 0, rerun.stderr);
      const got = await files(`${root}/pq`);
      assert.deepEqual([...got.keys()].sort(), [...want.keys()].sort());
      for (const [k, v] of want) assert.deepEqual(got.get(k), v, k);
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});
