/**
 * The systemd units in `examples/`: `systemd-analyze verify` accepts them without a warning and
 * `systemd-analyze security` rates them "OK"; their ExecStart command lines, with the units'
 * directories moved under a temporary directory, run with the compiled binary's permissions
 * (`convert` converts the demo's blocks, `serve` answers from them and keeps label files in its
 * CacheDirectory, both stop with 0 on SIGTERM); a bad configuration exits with the code the units
 * do not restart on. Under strace, the processes make no system call outside the units'
 * SystemCallFilter, open no socket family outside RestrictAddressFamilies and write no file
 * outside the units' writable directories (ProtectSystem=strict).
 *
 * No systemd runs as PID 1 here, so the units themselves are not started.
 */
import assert from "node:assert/strict";
import { writeDemoBlocks } from "../examples/demo.ts";
import { type GatewayProcess, ROOT, runGateway, startGateway } from "./gateway_process.ts";
import { readReadme, shellBlocks, shellWords } from "./readme_examples.ts";

const UNITS = ["parquet-gateway-serve.service", "parquet-gateway-convert.service"];
/** Where the README installs the binary. */
const BINARY = "/usr/local/bin/parquet-gateway";

async function works(program: string, args: string[]): Promise<boolean> {
  try {
    const out = await new Deno.Command(program, { args, stdout: "null", stderr: "null" }).output();
    return out.success;
  } catch {
    return false;
  }
}

const SYSTEMD_ANALYZE = await works("systemd-analyze", ["--version"]);
// Tracing can be forbidden (no ptrace in some containers) even where strace is installed.
const STRACE = await works("strace", ["-f", "-qq", "-o", "/dev/null", "true"]);
if (!SYSTEMD_ANALYZE) console.log("systemd-analyze not found: skipping the unit verification");
if (!STRACE) console.log("strace cannot trace here: skipping the system call and file checks");

/** A unit file's `[Service]` settings; a repeated key keeps every value. */
function serviceSettings(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let section = "";
  for (const line of text.replace(/\\\n/g, " ").split("\n")) {
    const trimmed = line.trim();
    if (trimmed === "" || trimmed.startsWith("#") || trimmed.startsWith(";")) continue;
    const header = /^\[(.+)\]$/.exec(trimmed);
    if (header) {
      section = header[1];
      continue;
    }
    if (section !== "Service") continue;
    const eq = trimmed.indexOf("=");
    const key = trimmed.slice(0, eq);
    out.set(key, [...out.get(key) ?? [], trimmed.slice(eq + 1).trim()]);
  }
  return out;
}

function one(settings: Map<string, string[]>, key: string): string {
  const values = settings.get(key);
  assert.equal(values?.length, 1, `one ${key}=`);
  return values![0];
}

async function run(program: string, args: string[]) {
  const out = await new Deno.Command(program, { args, stdout: "piped", stderr: "piped" })
    .output();
  const dec = new TextDecoder();
  return { code: out.code, output: dec.decode(out.stdout) + dec.decode(out.stderr) };
}

Deno.test("README's systemd install puts files where the units read them", async () => {
  const block = shellBlocks(await readReadme(), "## Setups").find((b) =>
    b.some((l) => l.includes("systemctl enable"))
  );
  assert.ok(block, "README's Setups has the systemd install commands");
  const words = block.flatMap((l) => l.split("&&")).map((l) => shellWords(l.trim()));
  const installed = words.filter((w) => w[0] === "sudo" && w[1] === "install")
    .map((w) => w[w.length - 1]);
  assert.ok(installed.includes(BINARY.slice(0, BINARY.lastIndexOf("/") + 1)), "the binary");
  const user = words.find((w) => w[1] === "useradd")?.at(-1);
  const enabled = words.find((w) => w.includes("enable"))!.slice(4);
  for (const unit of UNITS) {
    const text = await Deno.readTextFile(`${ROOT}/examples/${unit}`);
    const s = serviceSettings(text);
    assert.equal(one(s, "User"), user, unit);
    assert.ok(enabled.includes(unit.replace(/\.service$/, "")), `${unit} enabled`);
    for (const config of one(s, "ExecStart").matchAll(/=(\/etc\/[^\s]+\.yaml)/g)) {
      assert.ok(installed.includes(config[1]), `${unit} reads ${config[1]}`);
    }
  }
  assert.ok(installed.includes("/etc/systemd/system/"), "the units");
});

Deno.test({
  name: "systemd-analyze verifies the units without a warning and rates their exposure OK",
  ignore: !SYSTEMD_ANALYZE,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "systemd-verify-" });
    try {
      // verify checks that ExecStart's program exists: stand in for the installed binary.
      const binary = `${dir}/parquet-gateway`;
      await Deno.writeTextFile(binary, "#!/bin/sh\n", { mode: 0o755 });
      for (const unit of UNITS) {
        const text = await Deno.readTextFile(`${ROOT}/examples/${unit}`);
        assert.ok(text.includes(`ExecStart=${BINARY} `), unit);
        await Deno.writeTextFile(`${dir}/${unit}`, text.replaceAll(BINARY, binary));
        const verify = await run("systemd-analyze", ["verify", `${dir}/${unit}`]);
        assert.deepEqual(verify, { code: 0, output: "" }, unit);
        // Exposure at most 2.0 of 10 ("OK"; 10 is an unhardened service).
        const security = await run("systemd-analyze", [
          "security",
          "--offline=yes",
          "--threshold=20",
          `${dir}/${unit}`,
        ]);
        assert.equal(security.code, 0, security.output);
        assert.match(security.output, /Overall exposure level for .*: \d\.\d OK/);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

/** The unit's system call allow list, expanded by systemd-analyze. */
async function allowedSyscalls(filter: string): Promise<Set<string>> {
  const out = new Set<string>();
  const expand = async (group: string) => {
    const listed = await run("systemd-analyze", ["syscall-filter", group]);
    assert.equal(listed.code, 0, listed.output);
    for (const line of listed.output.split("\n").slice(1)) {
      const name = line.trim();
      if (name === "" || name.startsWith("#")) continue;
      if (name.startsWith("@")) await expand(name);
      else out.add(name);
    }
  };
  for (const item of filter.split(/\s+/)) {
    if (item.startsWith("@")) await expand(item);
    else out.add(item);
  }
  return out;
}

/**
 * Files and directories a `strace -y` log shows being created, opened for writing, renamed or
 * removed (successfully, or in a call whose result is in another line); relative paths resolve
 * against the directory descriptor or `cwd`.
 */
function writtenPaths(trace: string, cwd: string): string[] {
  const out = new Set<string>();
  const add = (dir: string | undefined, path: string) =>
    out.add(path.startsWith("/") ? path : `${dir ?? cwd}/${path}`);
  const dirAndPath = /^(?:AT_FDCWD|\d+)(?:<([^>]*)>)?, "([^"]*)"/;
  for (const line of trace.split("\n")) {
    if (/ = -1 /.test(line)) continue;
    const at = /\b(openat|mkdirat|unlinkat|renameat2?)\((.*)/.exec(line);
    if (at) {
      const first = dirAndPath.exec(at[2]);
      if (!first) continue;
      const rest = at[2].slice(first[0].length + 2);
      if (at[1] === "openat" && !/^[A-Z_|]*(O_WRONLY|O_RDWR|O_CREAT)/.test(rest)) continue;
      add(first[1], first[2]);
      const second = at[1].startsWith("renameat") ? dirAndPath.exec(rest) : null;
      if (second) add(second[1], second[2]);
      continue;
    }
    const plain = /\b(?:mkdir|rmdir|unlink|rename)\("([^"]*)"(?:, "([^"]*)")?/.exec(line);
    if (plain) {
      add(undefined, plain[1]);
      if (plain[2] !== undefined) add(undefined, plain[2]);
    }
  }
  return [...out];
}

Deno.test({
  name: "the units' ExecStart lines run with the binary's permissions within the units' limits",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const tmp = await Deno.makeTempDir({ prefix: "systemd-run-" });
    const units = new Map<string, Map<string, string[]>>();
    for (const unit of UNITS) {
      units.set(unit, serviceSettings(await Deno.readTextFile(`${ROOT}/examples/${unit}`)));
    }
    // The units' absolute paths, moved under tmp.
    const moved = (arg: string) =>
      arg.replace("/etc/parquet-gateway/", `${tmp}/etc/`).replace("/var/cache/", `${tmp}/cache/`);
    const commandOf = (unit: string) => {
      const [program, ...args] = one(units.get(unit)!, "ExecStart").split(/\s+/);
      assert.equal(program, BINARY);
      return args.map(moved);
    };
    // Directories systemd makes writable for the unit (ProtectSystem=strict makes the rest
    // read-only); PrivateTmp gives it its own /tmp.
    const writable = (unit: string) => {
      const s = units.get(unit)!;
      assert.equal(one(s, "ProtectSystem"), "strict");
      assert.equal(one(s, "PrivateTmp"), "yes");
      return [
        ...(s.get("CacheDirectory") ?? []).flatMap((v) => v.split(/\s+/)).map((d) =>
          `/var/cache/${d}`
        ),
        ...(s.get("ReadWritePaths") ?? []).flatMap((v) => v.split(/\s+/)),
      ];
    };
    const traces: { unit: string; file: string; allowedWrites: string[] }[] = [];
    const wrapperFor = (unit: string, allowedWrites: string[]) => {
      if (!STRACE) return undefined;
      const file = `${tmp}/${unit}.strace`;
      traces.push({ unit, file, allowedWrites });
      return ["strace", "-f", "-qq", "-y", "-o", file];
    };

    const serveArgs = commandOf("parquet-gateway-serve.service");
    const convertArgs = commandOf("parquet-gateway-convert.service");
    let gateway: GatewayProcess | undefined;
    try {
      await t.step("the directories the commands write to are the units' writable ones", () => {
        for (
          const [unit, flag] of [
            ["parquet-gateway-serve.service", "--block.labelfilepath="],
            ["parquet-gateway-convert.service", "--convert.tempdir="],
          ]
        ) {
          const arg = one(units.get(unit)!, "ExecStart").split(/\s+/).find((a) =>
            a.startsWith(flag)
          );
          assert.ok(arg, `${unit} sets ${flag}`);
          const dir = arg.slice(flag.length);
          assert.ok(writable(unit).some((w) => dir === w || dir.startsWith(`${w}/`)), dir);
        }
      });

      for (const dir of ["etc", "cache/parquet-gateway", "cache/parquet-gateway-convert", "tsdb"]) {
        await Deno.mkdir(`${tmp}/${dir}`, { recursive: true });
      }
      await writeDemoBlocks(`${tmp}/tsdb`);
      await Deno.writeTextFile(
        `${tmp}/etc/tsdb.yaml`,
        `type: FILESYSTEM\nconfig:\n  directory: ${tmp}/tsdb\n`,
      );
      await Deno.writeTextFile(
        `${tmp}/etc/objstore.yaml`,
        `type: FILESYSTEM\nconfig:\n  directory: ${tmp}/parquet\n`,
      );

      await t.step("convert's command converts days and stops with 0 on SIGTERM", async () => {
        const unit = "parquet-gateway-convert.service";
        // The FILESYSTEM Parquet bucket is written: the unit's comment says to add it to
        // ReadWritePaths.
        const allowed = [...writable(unit).map(moved), `${tmp}/parquet`];
        gateway = await startGateway(convertArgs, { wrapper: wrapperFor(unit, allowed) });
        // The first run is over when it converted days and none is left to do.
        let converted = false;
        for (let i = 0; i < 600 && !converted; i++) {
          const metrics = await (await fetch(`${gateway.internalUrl}/metrics`)).text();
          converted = /^convert_days_converted_total [1-9]/m.test(metrics) &&
            /^todo_convert_steps 0$/m.test(metrics);
          if (!converted) await new Promise((r) => setTimeout(r, 100));
        }
        assert.ok(converted, `the first run converts the demo's days:\n${gateway.stderr()}`);
        const code = await gateway.stop();
        const log = gateway.stderr();
        gateway = undefined;
        assert.equal(code, 0, log);
        const days = [...Deno.readDirSync(`${tmp}/parquet`)];
        assert.ok(days.length > 0, "converted days in the Parquet bucket");
      });

      await t.step("serve's command answers and keeps label files in its cache", async () => {
        const unit = "parquet-gateway-serve.service";
        gateway = await startGateway(serveArgs, {
          wrapper: wrapperFor(unit, writable(unit).map(moved)),
        });
        const res = await fetch(`${gateway.url}/api/v1/label/cluster/values`);
        assert.deepEqual(await res.json(), { status: "success", data: ["eu-1", "us-1"] });
        const code = await gateway.stop();
        const log = gateway.stderr();
        gateway = undefined;
        assert.equal(code, 0, log);
        assert.ok([...Deno.readDirSync(`${tmp}/cache/parquet-gateway`)].length > 0);
      });

      await t.step("a bad configuration exits with RestartPreventExitStatus", async () => {
        await Deno.writeTextFile(
          `${tmp}/etc/objstore.yaml`,
          "type: FILESYSTEM\nconfig: {dir: x}\n",
        );
        for (const unit of UNITS) {
          const args = unit.includes("serve") ? serveArgs : convertArgs;
          const out = await runGateway([...args, "--http.internal.port=0"]);
          assert.equal(String(out.code), one(units.get(unit)!, "RestartPreventExitStatus"), unit);
          assert.match(out.stderr, /dir/);
        }
      });

      await t.step({
        name: "system calls, socket families and written files stay within the units' limits",
        ignore: !STRACE || !SYSTEMD_ANALYZE,
        fn: async () => {
          // `deno run` also writes its module cache; the compiled binary has none.
          const info = JSON.parse((await run(Deno.execPath(), ["info", "--json"])).output);
          for (const { unit, file, allowedWrites } of traces) {
            const s = units.get(unit)!;
            const trace = await Deno.readTextFile(file);
            const allowed = await allowedSyscalls(one(s, "SystemCallFilter"));
            const used = new Set(
              [...trace.matchAll(/^\d+ +([a-z0-9_]+)\(/gm)].map((m) => m[1]),
            );
            assert.ok(used.size > 20, `${unit}: strace logged the system calls`);
            assert.deepEqual([...used].filter((c) => !allowed.has(c)), [], unit);
            const families = new Set([...trace.matchAll(/socket\((AF_\w+)/g)].map((m) => m[1]));
            const restricted = one(s, "RestrictAddressFamilies").split(/\s+/);
            assert.deepEqual([...families].filter((f) => !restricted.includes(f)), [], unit);
            const writes = writtenPaths(trace, ROOT).filter((p) =>
              ![...allowedWrites, "/tmp", "/dev", info.denoDir].some((d) =>
                p === d || p.startsWith(`${d}/`)
              )
            );
            assert.deepEqual(writes, [], `${unit} writes outside its writable directories`);
          }
        },
      });
    } finally {
      await gateway?.stop();
      await Deno.remove(tmp, { recursive: true });
    }
  },
});
