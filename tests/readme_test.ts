/**
 * The README: its flag reference equals `--help`, its `deno run ... cli/main.ts` lines parse and
 * name files that exist, and the "Using it" commands, run as printed on the demo's blocks, answer
 * with data.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { parseConvertConfig } from "../cli/convert_config.ts";
import { parseServeConfig } from "../cli/serve_config.ts";
import { writeDemoBlocks } from "../examples/demo.ts";
import {
  type GatewayProcess,
  gatewayV8Flags,
  runGateway,
  startGateway,
} from "./gateway_process.ts";
import { README_URL, renderReadme } from "./readme.ts";
import { allShellBlocks, gatewayLine, readReadme, shellBlocks } from "./readme_examples.ts";

const DAY = 86_400_000;

async function found(program: string): Promise<boolean> {
  try {
    return (await new Deno.Command(program, { args: ["--version"], stdout: "null" }).output())
      .success;
  } catch {
    return false;
  }
}

const CURL = await found("curl");
if (!CURL) console.log("curl not found: skipping the README's curl examples");

Deno.test("README flag reference equals --help (run `deno task readme` to update)", async () => {
  const readme = await Deno.readTextFile(README_URL);
  assert.equal(readme, renderReadme(readme));
});

Deno.test("README's cli/main.ts command lines parse and name existing files", async () => {
  const lines = allShellBlocks(await readReadme()).flat().map(gatewayLine).filter((l) =>
    l !== undefined
  );
  assert.ok(lines.length >= 3, "the README's deno run lines");
  for (const { line, args } of lines) {
    const [command, ...flags] = args;
    assert.ok(command === "serve" || command === "convert", line);
    assert.doesNotThrow(
      () => command === "serve" ? parseServeConfig(flags) : parseConvertConfig(flags),
      line,
    );
    for (const flag of flags) {
      const file = /^--[\w.-]+-file=(.+)$/.exec(flag)?.[1];
      if (file) assert.ok(existsSync(file), `${line}: ${file}`);
    }
  }
});

Deno.test({
  name: "README's Using it commands run as printed on the demo's blocks and the query has data",
  ignore: !CURL,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    // The section's first two blocks: the commands, then the queries.
    const [commands, queries] = shellBlocks(await readReadme(), "## Using it");
    const cwd = await Deno.makeTempDir({ prefix: "readme-using-" });
    let serve: GatewayProcess | undefined;
    try {
      await Deno.mkdir(`${cwd}/data/tsdb`, { recursive: true });
      const now = Date.now();
      await writeDemoBlocks(`${cwd}/data/tsdb`, now);
      for (const line of commands) {
        const gateway = gatewayLine(line);
        assert.ok(gateway, line);
        // startGateway adds the binary's V8 flags; the line must carry the same.
        assert.deepEqual(gateway.v8Flags, gatewayV8Flags(), `${line}: the compile task's V8 flags`);
        // Its listen grants name the default ports; the test listens on free ones (the grants of
        // each port are tested in permissions_test.ts).
        const permissions = gateway.permissions.map((p) =>
          p.startsWith("--allow-net=") ? "--allow-net=0.0.0.0" : p
        );
        const opts = { permissions, cwd };
        if (gateway.args[0] === "serve") {
          serve = await startGateway(gateway.args, opts);
          continue;
        }
        // The internal port of the one-shot commands: a free one instead of 6060.
        const out = await runGateway([...gateway.args, "--http.internal.port=0"], opts);
        assert.equal(out.code, 0, `${line}\n${out.stderr}`);
        if (gateway.args.includes("--convert.dry-run")) assert.match(out.stdout, /stream=/);
      }
      assert.ok(serve, "the commands start serve");

      // The queries as printed, on the test's ports, one answer per line.
      const script = queries.map((q) =>
        q.replaceAll("localhost:9000", new URL(serve!.url).host)
          .replaceAll("localhost:6060", new URL(serve!.internalUrl).host) +
        (q.startsWith("curl ") ? "; echo" : "")
      ).join("\n");
      const out = await new Deno.Command("bash", { args: ["-c", script], stdout: "piped" })
        .output();
      assert.equal(out.code, 0);
      const answers = new TextDecoder().decode(out.stdout).split("\n").filter((l) => l !== "");
      assert.equal(answers.length, queries.filter((q) => q.startsWith("curl ")).length);
      const [ready, query] = answers;
      assert.ok(ready !== "", "ready answers");
      const body = JSON.parse(query);
      assert.equal(body.status, "success", query);
      assert.equal(body.data.result.length, 1, query);
      const [t, value] = body.data.result[0].value;
      assert.equal(t, (Math.floor(now / DAY) * DAY - 1.5 * DAY) / 1000);
      assert.ok(Number(value) > 0, query);
      assert.equal(await serve.stop(), 0);
      serve = undefined;
    } finally {
      await serve?.stop();
      await Deno.remove(cwd, { recursive: true });
    }
  },
});
