/**
 * Builds the single binary with `deno compile` and runs it. `deno compile` needs Deno's runtime
 * binary (denort), which cannot be downloaded on an offline machine, so this test runs only when
 * DENORT_BIN points at one.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

const denort = Deno.env.get("DENORT_BIN");
const ROOT = fileURLToPath(new URL("..", import.meta.url));

Deno.test({
  name: "compiled binary runs (needs DENORT_BIN)",
  ignore: !denort,
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      const out = `${dir}/parquet-gateway`;
      // The task's own command line, with the output redirected into the temp dir.
      const denoJson = JSON.parse(await Deno.readTextFile(`${ROOT}/deno.json`));
      const task: string = denoJson.tasks.compile;
      const args = task.replace("--output parquet-gateway", `--output ${out}`).split(" ").slice(1);
      const build = await new Deno.Command(Deno.execPath(), {
        args,
        cwd: ROOT,
        env: { DENORT_BIN: denort! },
      }).output();
      assert.equal(build.code, 0, new TextDecoder().decode(build.stderr));
      const version = await new Deno.Command(out, { args: ["--version"] }).output();
      assert.equal(version.code, 0);
      assert.match(new TextDecoder().decode(version.stdout), /^parquet-gateway \d/);
      const bad = await new Deno.Command(out, { args: ["serve", "--query.lookback=x"] }).output();
      assert.equal(bad.code, 2);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

if (!denort) console.log("compile_test: DENORT_BIN is not set; the compiled binary is not tested");
