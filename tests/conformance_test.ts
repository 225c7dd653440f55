/**
 * Runs the PromQL conformance CLI over `../shared/promqltest` as a subprocess and checks its
 * report: every eval of the stable scripts passes, and at least 95% of each experimental
 * feature's script (`start_timestamps.test` among them: its start timestamps come from the
 * in-memory store the runner loads; TSDB blocks converted by this gateway carry none).
 * Skipped (with a message) when the scripts or the evaluator are absent.
 */
import assert from "node:assert/strict";
import { basename } from "node:path";
import { DEFAULT_TEST_DIR, listTestFiles, PROJECT_ROOT } from "./conformance.ts";

const files = await listTestFiles(DEFAULT_TEST_DIR);
const engineExists = await Deno.stat(`${PROJECT_ROOT}/engine/engine.ts`).then(
  () => true,
  () => false,
);
const skipReason = files === undefined
  ? `${DEFAULT_TEST_DIR} does not exist`
  : !engineExists
  ? "engine/engine.ts (the evaluator) is not present"
  : undefined;
if (skipReason) console.log(`PromQL conformance skipped: ${skipReason}`);

/** Scripts of experimental features (Prometheus runs them behind feature flags). */
const EXPERIMENTAL = new Set([
  "duration_expression",
  "extended_vectors",
  "fill-modifier",
  "info",
  "type_and_unit",
  "name_label_dropping",
  "start_timestamps",
]);

// Generous: every eval of every file runs up to twelve queries on a shared machine.
const TIMEOUT_MS = 60 * 60_000;

Deno.test({
  name: "PromQL conformance over ../shared/promqltest runs to completion",
  ignore: skipReason !== undefined,
  async fn() {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "tests/conformance.ts"],
      cwd: PROJECT_ROOT,
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(TIMEOUT_MS),
    }).output();
    const stdout = new TextDecoder().decode(out.stdout);
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, `conformance exited with ${out.code}:\n${stderr}`);
    const lines = stdout.trimEnd().split("\n");
    const fileLines = lines.filter((l) => /^\S+\.test: \d+\/\d+$/.test(l));
    assert.deepEqual(fileLines.map((l) => l.split(":")[0]), files!.map((f) => basename(f)));
    const total = /^total: (\d+)\/(\d+)$/.exec(lines[lines.length - 1]);
    assert.ok(total, `no total line in:\n${stdout}`);
    assert.ok(Number(total[2]) > 0);
    console.log(lines.filter((l) => !l.startsWith(" ")).join("\n"));
    const failures: string[] = [];
    for (const line of fileLines) {
      const [, file, passed, all] = /^(\S+)\.test: (\d+)\/(\d+)$/.exec(line)!;
      const needed = EXPERIMENTAL.has(file) ? Math.ceil(0.95 * Number(all)) : Number(all);
      if (Number(passed) < needed) failures.push(`${line} (needs ${needed})`);
    }
    assert.deepEqual(failures, []);
  },
});
