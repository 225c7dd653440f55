/**
 * The README's `deno run` lines of `convert` and `serve` ("Using it"), run as written: their
 * permission flags are the only grants, with the listen ports moved to free ones (in the grant
 * and by the port flags) so that the test can run beside others. The working directory lies
 * outside `/tmp`, which the lines grant for label files and downloads, so that the grants of the
 * bucket directories are what lets the commands at them. Checks that the lines convert and serve
 * data, that each of their grants is needed, and that a path flag moved outside them stops the
 * command with the one line that names the grant to add, before `serve` is ever ready. The code
 * directories the query workers load are granted relative to the checkout, where the lines run;
 * the test makes them absolute. The quick start's demo line runs too, its workers included.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { gatewayV8Flags } from "./gateway_process.ts";
import { freePort } from "./oracle/prometheus.ts";
import { README_URL } from "./readme.ts";
import { gatewayLine } from "./readme_examples.ts";
import { WORKER_CODE_DIRS } from "../server/query/worker_code.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const MAIN = `${ROOT}cli/main.ts`;
const DEMO = `${ROOT}examples/demo.ts`;
const FIXTURE = fileURLToPath(new URL("../storage/tsdb/testdata/blocks/", import.meta.url));
// The fixture's only complete day, with its 4 series (tests/convert_cli_test.ts).
const DAY = "2023-11-14";
const END_OF_DAY = Date.UTC(2023, 10, 14, 23, 59, 59) / 1000;
// Where a run with the default --block.labelfilepath keeps the fixture day's labels file.
const LABELS_COPY = `/tmp/${encodeURIComponent(`0/${DAY}/0.labels.parquet`)}`;

type Command = "convert" | "serve";
/** The ports each line listens on by default, and the flag that moves each. */
const PORT_FLAGS: Record<Command, Record<number, string>> = {
  convert: { 6060: "http.internal.port" },
  serve: { 9000: "http.prometheus.port", 9001: "http.thanos.port", 6060: "http.internal.port" },
};

/** A README line split into its V8 flags, permission flags and the gateway's arguments. */
interface ReadmeLine {
  readonly v8Flags?: string[];
  readonly permissions: string[];
  readonly args: string[];
}

async function readmeLine(command: Command): Promise<ReadmeLine> {
  const readme = await Deno.readTextFile(README_URL);
  const start = readme.indexOf("\n## Using it\n");
  const section = readme.slice(start, readme.indexOf("\n## ", start + 1));
  const lines = section.split("\n").filter((l) =>
    l.startsWith("deno run ") && l.includes(` cli/main.ts ${command}`)
  );
  assert.equal(lines.length, 1, `one "deno run ... cli/main.ts ${command}" line in Using it`);
  const { v8Flags, permissions, args } = gatewayLine(lines[0])!;
  return { v8Flags, permissions: permissions.map(codeGrantsAbsolute), args };
}

/** The quick start's demo line (after `npm ci ... &&`): its permissions. */
async function demoLine(): Promise<ReadmeLine> {
  const readme = await Deno.readTextFile(README_URL);
  const lines = readme.split("\n").filter((l) => l.includes(" examples/demo.ts"));
  assert.equal(lines.length, 1, "one line running examples/demo.ts");
  const words = lines[0].slice(lines[0].indexOf("deno run ")).split(/\s+/);
  const demo = words.indexOf("examples/demo.ts");
  assert.equal(demo, words.length - 1, "the demo takes no arguments");
  return { permissions: words.slice(2, demo).map(codeGrantsAbsolute), args: [] };
}

/** The code directories of the workers as absolute paths (the lines run from the checkout). */
function codeGrantsAbsolute(flag: string): string {
  const m = /^--allow-read=(.+)$/.exec(flag);
  if (!m) return flag;
  const items = m[1].split(",").map((i) => WORKER_CODE_DIRS.includes(i) ? ROOT + i : i);
  return `--allow-read=${items.join(",")}`;
}

/** Whether `item` of an `--allow-read` grant is a code directory of the workers. */
function isCodeGrant(item: string): boolean {
  return WORKER_CODE_DIRS.some((d) => item === ROOT + d);
}

/** The gateway's `/metrics` value of `name` (no labels), or undefined. */
async function metric(port: number, name: string): Promise<number | undefined> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

/** The warning `serve` logs when its workers cannot load their code. */
const NO_WORKERS = /query workers cannot load their code/;

/** Moves the line's ports to free ones; returns the port each default port became. */
function withFreePorts(line: ReadmeLine, command: Command): [ReadmeLine, Map<number, number>] {
  const moved = new Map(
    Object.keys(PORT_FLAGS[command]).map((p) => [Number(p), freePort("0.0.0.0")]),
  );
  const permissions = line.permissions.map((p) =>
    p.replace(/0\.0\.0\.0:(\d+)/g, (all, port) => {
      const to = moved.get(Number(port));
      assert.ok(to, `${all}: a port the test does not know`);
      return `0.0.0.0:${to}`;
    })
  );
  const args = [
    ...line.args,
    ...[...moved].map(([from, to]) => `--${PORT_FLAGS[command][from]}=${to}`),
  ];
  return [{ v8Flags: line.v8Flags, permissions, args }, moved];
}

function spawn(
  cwd: string,
  line: ReadmeLine,
  extra: string[] = [],
  script = MAIN,
): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", ...line.v8Flags ?? [], ...line.permissions, script, ...line.args, ...extra],
    cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

async function finish(child: Deno.ChildProcess) {
  const out = await child.output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** A working directory outside /tmp with the fixture blocks in `data/tsdb`. */
async function workDir(): Promise<string> {
  const cwd = await Deno.makeTempDir({ dir: "/var/tmp", prefix: "permissions-test-" });
  assert.ok(!cwd.startsWith("/tmp/"));
  await Deno.mkdir(`${cwd}/data/tsdb`, { recursive: true });
  const cp = await new Deno.Command("cp", { args: ["-r", `${FIXTURE}.`, `${cwd}/data/tsdb`] })
    .output();
  assert.equal(cp.code, 0);
  return cwd;
}

/** Standard error without the log lines (`ts=...`): what the process says when it stops. */
function errorLines(stderr: string): string[] {
  return stderr.split("\n").filter((l) => l !== "" && !l.startsWith("ts="));
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}

/** Polls `/-/ready` until the child exits; resolves to whether it ever answered 200. */
async function readyWhileRunning(port: number, child: Deno.ChildProcess): Promise<boolean> {
  let exited = false;
  child.status.then(() => exited = true);
  let ready = false;
  while (!exited) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/-/ready`);
      await res.body?.cancel();
      ready ||= res.ok;
    } catch {
      // Not listening.
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return ready;
}

async function waitReady(port: number, child: Deno.ChildProcess): Promise<void> {
  let exited = false;
  child.status.then(() => exited = true);
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline && !exited) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/-/ready`);
      await res.body?.cancel();
      if (res.ok) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const { stderr } = await finish(child).catch(() => ({ stderr: "" }));
  assert.fail(`serve did not become ready:\n${stderr}`);
}

Deno.test("README: convert and serve work under exactly the permissions of their lines", async () => {
  const cwd = await workDir();
  const hadLabelsCopy = await exists(LABELS_COPY);
  try {
    const [convert] = withFreePorts(await readmeLine("convert"), "convert");
    const converted = await finish(spawn(cwd, convert));
    assert.equal(converted.code, 0, converted.stderr);
    assert.match(converted.stderr, new RegExp(`msg="converted day" day=0/${DAY} .*series=4`));
    assert.ok(await exists(`${cwd}/data/parquet/${DAY}/meta.pb`));

    const [serve, ports] = withFreePorts(await readmeLine("serve"), "serve");
    const child = spawn(cwd, serve);
    try {
      await waitReady(ports.get(6060)!, child);
      // Queries run on the workers: the scoped grants let them load their code.
      assert.ok((await metric(ports.get(6060)!, "query_pool_workers") ?? 0) >= 1);
      const query = encodeURIComponent('count(count_over_time({__name__=~".+"}[3h]))');
      const res = await fetch(
        `http://127.0.0.1:${ports.get(9000)}/api/v1/query?query=${query}&time=${END_OF_DAY}`,
      );
      const body = await res.json();
      assert.equal(res.status, 200, JSON.stringify(body));
      assert.deepEqual(body.data.result, [{ metric: {}, value: [END_OF_DAY, "4"] }]);
    } finally {
      child.kill("SIGTERM");
      const stopped = await finish(child);
      assert.equal(stopped.code, 0, stopped.stderr);
      assert.doesNotMatch(stopped.stderr, NO_WORKERS);
      assert.match(stopped.stderr, /msg="serve started" .*query_workers=[1-9]/);
    }
  } finally {
    if (!hadLabelsCopy) await Deno.remove(LABELS_COPY).catch(() => {});
    await Deno.remove(cwd, { recursive: true });
  }
});

/**
 * `serve` without the read grant of the code directory `dir` still serves, on its own thread,
 * and says so with the grant to add. When another grant of the line covers `dir` (a checkout
 * under `/tmp`), the workers still load and nothing is said.
 */
async function assertFallsBack(
  cwd: string,
  line: ReadmeLine,
  internalPort: number,
  dir: string,
): Promise<void> {
  await Deno.mkdir(`${cwd}/data/parquet`, { recursive: true });
  const covered = line.permissions.some((flag) =>
    /^--allow-read=/.test(flag) &&
    flag.slice("--allow-read=".length).split(",").some((g) =>
      g.startsWith("/") && dir.startsWith(`${g.replace(/\/$/, "")}/`)
    )
  );
  const child = spawn(cwd, line);
  const r = await (async () => {
    await waitReady(internalPort, child);
    const workers = await metric(internalPort, "query_pool_workers");
    if (covered) assert.ok((workers ?? 0) >= 1, `${dir} is covered: workers ${workers}`);
    else assert.equal(workers, undefined);
    child.kill("SIGTERM");
    return await finish(child);
  })();
  assert.equal(r.code, 0, r.stderr);
  const warning = r.stderr.split("\n").filter((l) => NO_WORKERS.test(l));
  if (covered) {
    assert.equal(warning.length, 0, r.stderr);
    return;
  }
  assert.equal(warning.length, 1, `serve without ${dir}: the fallback warning\n${r.stderr}`);
  assert.ok(warning[0].endsWith(` grant="--allow-read=${dir}"`), warning[0]);
}

Deno.test("README: each grant of the convert and serve lines is needed", async () => {
  const cwd = await workDir();
  try {
    for (const command of ["convert", "serve"] as const) {
      const [line, ports] = withFreePorts(await readmeLine(command), command);
      assert.deepEqual(line.v8Flags, gatewayV8Flags(), `${command}: the compile task's V8 flags`);
      // Scoped file and network grants, no environment, nothing else (sys, run, ffi, -A).
      for (const flag of line.permissions) {
        assert.match(flag, /^(--allow-(read|write|net)=.+|--ignore-env)$/, `${command}: ${flag}`);
      }
      // One run per granted item, without it: the grant to add is exactly that item.
      for (const [i, flag] of line.permissions.entries()) {
        const m = /^--allow-(read|write|net)=(.+)$/.exec(flag);
        if (!m) continue;
        const [, permission, list] = m;
        for (const item of list.split(",")) {
          const rest = list.split(",").filter((x) => x !== item);
          const permissions = [...line.permissions];
          if (rest.length > 0) permissions[i] = `--allow-${permission}=${rest.join(",")}`;
          else permissions.splice(i, 1);
          if (isCodeGrant(item)) {
            await assertFallsBack(cwd, { ...line, permissions }, ports.get(6060)!, item);
            continue;
          }
          const r = await finish(spawn(cwd, { ...line, permissions }));
          const resolved = permission === "net" || item.startsWith("/") ? item : `${cwd}/${item}`;
          const lines = errorLines(r.stderr);
          const what = `${command} without ${item} in --allow-${permission}`;
          assert.equal(r.code, 1, `${what}: exit ${r.code}\n${r.stderr}`);
          assert.equal(lines.length, 1, `${what}: one line\n${r.stderr}`);
          assert.match(lines[0], new RegExp(`^parquet-gateway ${command}: permission denied: `));
          assert.ok(
            lines[0].endsWith(`; run with --allow-${permission}=${resolved}`),
            `${what}: ${lines[0]}`,
          );
        }
      }
      // Without --ignore-env the SDKs' probes of optional variables are refused at start-up.
      const envProbes = line.permissions.filter((p) => p !== "--ignore-env");
      assert.equal(envProbes.length, line.permissions.length - 1, "--ignore-env in the line");
      const r = await finish(spawn(cwd, { ...line, permissions: envProbes }));
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /Requires env access to/);
    }
  } finally {
    await Deno.remove(cwd, { recursive: true });
  }
});

Deno.test("README: a path outside the grants stops the command with one line, serve never ready", async () => {
  const cwd = await workDir();
  try {
    const [serve, ports] = withFreePorts(await readmeLine("serve"), "serve");
    const child = spawn(cwd, serve, ["--block.labelfilepath=labels"]);
    const [ready, r] = await Promise.all([
      readyWhileRunning(ports.get(6060)!, child),
      finish(child),
    ]);
    assert.equal(r.code, 1, r.stderr);
    assert.deepEqual(
      errorLines(r.stderr),
      [
        `parquet-gateway serve: permission denied: read access to "${cwd}/labels" (the label file ` +
        `directory of --block.labelfilepath); run with --allow-read=${cwd}/labels`,
      ],
    );
    assert.equal(ready, false);
    assert.equal(await exists(`${cwd}/labels`), false);

    await Deno.writeTextFile(`${cwd}/slice.yaml`, "- {source_labels: [cluster], action: keep}\n");
    const sliced = await finish(spawn(cwd, serve, ["--selector.relabel-config-file=slice.yaml"]));
    assert.equal(sliced.code, 1, sliced.stderr);
    assert.deepEqual(errorLines(sliced.stderr), [
      `parquet-gateway serve: permission denied: read access to "${cwd}/slice.yaml" ` +
      `(--selector.relabel-config-file); run with --allow-read=${cwd}/slice.yaml`,
    ]);

    const [convert] = withFreePorts(await readmeLine("convert"), "convert");
    const c = await finish(spawn(cwd, convert, ["--convert.tempdir=downloads"]));
    assert.equal(c.code, 1, c.stderr);
    assert.deepEqual(errorLines(c.stderr), [
      `parquet-gateway convert: permission denied: read access to "${cwd}/downloads" (the ` +
      `temporary directory of --convert.tempdir); run with --allow-read=${cwd}/downloads`,
    ]);
    assert.equal(await exists(`${cwd}/data/parquet`), false);
  } finally {
    await Deno.remove(cwd, { recursive: true });
  }
});

Deno.test("README: the quick start's demo runs under its line's permissions, with query workers", async () => {
  const cwd = await Deno.makeTempDir({ dir: "/var/tmp", prefix: "permissions-demo-" });
  try {
    const line = await demoLine();
    const ports = new Map([9000, 9001, 6060].map((p) => [p, freePort("0.0.0.0")]));
    const permissions = line.permissions.map((p) =>
      p.replace(/0\.0\.0\.0:(\d+)/g, (all, port) => {
        const to = ports.get(Number(port));
        assert.ok(to, `${all}: a port the test does not know`);
        return `0.0.0.0:${to}`;
      })
    );
    const args = [
      `--http.prometheus.port=${ports.get(9000)}`,
      `--http.thanos.port=${ports.get(9001)}`,
      `--http.internal.port=${ports.get(6060)}`,
    ];
    const child = spawn(cwd, { permissions, args }, [], DEMO);
    try {
      // convert answers on the internal port first: serve is there once its pool's metrics are.
      let workers: number | undefined;
      for (let i = 0; i < 600 && workers === undefined; i++) {
        await waitReady(ports.get(6060)!, child);
        // Between convert's stop and serve's start the port is closed for a moment.
        workers = await metric(ports.get(6060)!, "query_pool_workers").catch(() => undefined);
        if (workers === undefined) await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok((workers ?? 0) >= 1, `query_pool_workers ${workers}`);
      const res = await fetch(
        `http://127.0.0.1:${ports.get(9000)}/api/v1/query?query=count(up)`,
      );
      const body = await res.json();
      assert.equal(res.status, 200, JSON.stringify(body));
    } finally {
      child.kill("SIGTERM");
    }
    const r = await finish(child);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stderr, NO_WORKERS);
    assert.match(r.stderr, /msg="serve started" .*query_workers=[1-9]/);
  } finally {
    await Deno.remove(cwd, { recursive: true });
  }
});
