import assert from "node:assert/strict";
import { selfTimes } from "./cpuprofile_top.ts";

Deno.test("selfTimes puts a real profile's busy-loop function first, with its file and line", async () => {
  const dir = await Deno.makeTempDir({ prefix: "cpuprofile-top-" });
  try {
    // A script whose CPU time goes to one named function, profiled by a real deno.
    await Deno.writeTextFile(
      `${dir}/hot.js`,
      [
        "let x = 0;",
        "function spin(n) { for (let i = 0; i < n; i++) x = (x * 31 + i) % 1000003; }",
        "const end = Date.now() + 300;",
        "while (Date.now() < end) spin(100000);",
        "console.log(x >= 0);",
      ].join("\n"),
    );
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--cpu-prof", `--cpu-prof-dir=${dir}/prof`, `${dir}/hot.js`],
      stdout: "null",
      stderr: "piped",
    }).output();
    assert.ok(out.success, new TextDecoder().decode(out.stderr));
    const [file] = [...Deno.readDirSync(`${dir}/prof`)].map((e) => e.name);
    const profile = JSON.parse(await Deno.readTextFile(`${dir}/prof/${file}`));
    const rows = selfTimes(profile, "hot.js");
    assert.match(rows[0].where, /^spin .*hot\.js:2$/);
    assert.ok(rows[0].share > 0.5, `spin has ${rows[0].share} of hot.js's samples`);
    const sum = rows.reduce((a, r) => a + r.share, 0);
    assert.ok(Math.abs(sum - 1) < 1e-9);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
