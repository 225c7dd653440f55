import assert from "node:assert/strict";
import { notCapable, permissionDenial } from "./permission.ts";

const MODULE = new URL("./permission.ts", import.meta.url).href;

Deno.test("permissionDenial reads what Deno itself refused, for each kind of permission", async () => {
  const dir = await Deno.makeTempDir({ prefix: "permission-test-" });
  try {
    // Each operation runs in a process granted nothing; the results are the parsed refusals.
    const script = `${dir}/refuse.ts`;
    await Deno.writeTextFile(
      script,
      `import { permissionDenial } from ${JSON.stringify(MODULE)};
const attempts: [string, () => unknown][] = [
  ["read", () => Deno.readTextFileSync(${JSON.stringify(`${dir}/in "quotes".txt`)})],
  ["write", () => Deno.writeTextFileSync(${JSON.stringify(`${dir}/out`)}, "x")],
  ["net", () => Deno.listen({ hostname: "127.0.0.1", port: 0 })],
  ["env", () => Deno.env.get("HOME")],
  ["sys", () => Deno.hostname()],
];
const out: unknown[] = [];
for (const [what, attempt] of attempts) {
  try {
    attempt();
    out.push([what, "allowed"]);
  } catch (err) {
    const d = permissionDenial(err);
    out.push([what, d?.permission, d?.resource]);
  }
}
console.log(JSON.stringify(out));
`,
    );
    const run = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-prompt", script],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(run.stderr);
    assert.equal(run.code, 0, stderr);
    assert.deepEqual(JSON.parse(new TextDecoder().decode(run.stdout)), [
      ["read", "read", `${dir}/in "quotes".txt`],
      ["write", "write", `${dir}/out`],
      ["net", "net", "127.0.0.1:0"],
      ["env", "env", "HOME"],
      ["sys", "sys", "hostname"],
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("permissionDenial finds a refusal behind causes, aggregates and copied messages", () => {
  const refusal = notCapable("read", "/var/lib/pq/0/2025-01-01/meta.pb");
  const expected = {
    permission: "read",
    resource: "/var/lib/pq/0/2025-01-01/meta.pb",
    message: refusal.message,
  };
  assert.deepEqual(permissionDenial(refusal), expected);
  const wrapped = new Error("FILESYSTEM get 0/2025-01-01/meta.pb", { cause: refusal });
  assert.deepEqual(permissionDenial(new Error("discovery failed", { cause: wrapped })), expected);
  const aggregate = new AggregateError([new Error("timeout"), wrapped], "2 days failed");
  assert.deepEqual(permissionDenial(aggregate), expected);
  // An SDK that keeps only the text (e.g. "S3 iter: NotCapable: Requires ...").
  const copied = new Error(`S3 iter "": NotCapable: ${refusal.message}`);
  assert.equal(permissionDenial(copied)?.resource, "/var/lib/pq/0/2025-01-01/meta.pb");
  assert.equal(permissionDenial(notCapable("sys", "uid"))?.permission, "sys");

  const odd = new Deno.errors.NotCapable("Requires --allow-run permissions to spawn subprocess");
  assert.deepEqual(permissionDenial(odd), { message: odd.message });

  const cyclic = new Error("a");
  cyclic.cause = new Error("b", { cause: cyclic });
  assert.equal(permissionDenial(cyclic), undefined);
  assert.equal(permissionDenial(new Deno.errors.NotFound("no such file")), undefined);
  assert.equal(permissionDenial(new Error("Requires admin access to the bucket")), undefined);
  assert.equal(permissionDenial("not an error"), undefined);
});
