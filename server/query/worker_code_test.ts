import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { WORKER_CODE_DIRS, workerCodePaths } from "./worker_code.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

Deno.test("WORKER_CODE_DIRS are the directories of the local modules worker.ts loads", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", "--lock=deno.dev.lock", "server/query/worker.ts"],
    cwd: ROOT,
    stdout: "piped",
    stderr: "inherit",
  }).output();
  assert.equal(out.code, 0);
  const info = JSON.parse(new TextDecoder().decode(out.stdout));
  const dirs = new Set<string>();
  for (const m of info.modules as { specifier: string }[]) {
    const path = m.specifier.startsWith("file:") ? fileURLToPath(m.specifier) : undefined;
    if (path?.startsWith(ROOT)) dirs.add(path.slice(ROOT.length).split("/")[0]);
  }
  assert.deepEqual([...dirs].sort(), [...WORKER_CODE_DIRS].sort());
  assert.deepEqual(workerCodePaths(), WORKER_CODE_DIRS.map((d) => ROOT + d));
});
