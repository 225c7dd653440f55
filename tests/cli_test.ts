/**
 * End-to-end tests of the real CLI process: flag and config errors, help, and the internal
 * server of `serve`.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

const MAIN = fileURLToPath(new URL("../cli/main.ts", import.meta.url));

async function runCli(args: string[], cwd?: string) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, ...args],
    cwd,
    stdout: "piped",
    stderr: "piped",
    // A process that should have failed would otherwise serve until the test runner gives up.
    signal: AbortSignal.timeout(60_000),
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("help lists every flag of both subcommands", async () => {
  const serve = await runCli(["serve", "--help"]);
  assert.equal(serve.code, 0);
  for (
    const flag of [
      "--objstore.config-file",
      "--objstore.config=",
      "--parquet.objstore-config-file=FILE",
      "--parquet.objstore-config=YAML",
      "--query.lookback",
      "--query.external-label",
      "--query.storage.select.chunk-partition.max-concurrency",
      "--http.thanos.port",
      "--log.format",
    ]
  ) assert.ok(serve.stdout.includes(flag), flag);
  assert.match(
    serve.stdout,
    /--query\.lookback=DURATION\n\s+Lookback delta of queries\. Default: 5m\./,
  );
  const convert = await runCli(["convert", "--help"]);
  assert.equal(convert.code, 0);
  for (
    const flag of [
      "--tsdb.objstore.config-file",
      "--parquet.objstore.config-file",
      "--tsdb.objstore-config-file=FILE",
      "--tsdb.objstore-config=YAML",
      "--parquet.objstore-config-file=FILE",
      "--parquet.objstore-config=YAML",
      "--convert.sorting.label",
      "--[no-]convert.recompress",
      "--[no-]convert.once",
      "--[no-]convert.dry-run",
    ]
  ) assert.ok(convert.stdout.includes(flag), flag);
  const top = await runCli(["--help"]);
  assert.equal(top.code, 0);
  assert.match(top.stdout, /serve .*\n\s+convert/);
  assert.match(top.stdout, /Global flags \(before or after the command\):\n/);
  assert.match(top.stdout, /--logger\.level=DEBUG\|INFO\|WARN\|ERROR/);
  assert.match(top.stdout, /--memlimit\.ratio=RATIO/);
  assert.equal((await runCli(["help", "convert"])).stdout, convert.stdout);
  assert.equal((await runCli(["--log.level=debug", "serve", "--help"])).stdout, serve.stdout);
});

Deno.test("bad flags and bad configs exit 2 with one line naming the problem", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      `${dir}/unknown-field.yaml`,
      "type: S3\nconfig: {bucket: b, buckit: c}\n",
    );
    await Deno.writeTextFile(`${dir}/bad.yaml`, "type: FILESYSTEM\nconfig: [\n");
    await Deno.writeTextFile(`${dir}/tsdb.yaml`, `type: FILESYSTEM\nconfig: {directory: ${dir}}\n`);
    await Deno.writeTextFile(
      `${dir}/relabel.yaml`,
      "- {source_labels: [cluster], regex: eu-.*, action: keep}\n" +
        "- {source_labels: [cluster], target_label: shard, action: hashmod}\n",
    );
    const cases: Array<[string[], RegExp]> = [
      [
        ["serve", "--query.lookbak=5m"],
        /unknown flag --query\.lookbak, did you mean --query\.lookback/,
      ],
      [["serve", "--query.lookback=5x"], /--query\.lookback: invalid duration "5x"/],
      [
        ["serve", "--block.syncer.read-buffer-size=lots"],
        /read-buffer-size: invalid byte size "lots"/,
      ],
      [["serve", "--block.filter.type=some"], /--block\.filter\.type: invalid value "some"/],
      [["convert", "--convert.rowgroup.size=x"], /--convert\.rowgroup\.size: invalid integer "x"/],
      [["serve", "--objstore.config=type: NOPE"], /type NOPE is not supported/],
      [["serve", "--objstore.config=type: FILESYSTEM"], /missing directory for filesystem bucket/],
      [
        ["serve", `--objstore.config-file=${dir}/unknown-field.yaml`],
        /unknown field "config\.buckit"/,
      ],
      [["serve", `--objstore.config-file=${dir}/bad.yaml`], /bad\.yaml: invalid YAML/],
      [["serve", `--objstore.config-file=${dir}/missing.yaml`], /missing\.yaml: cannot read file/],
      [["convert", "--tsdb.objstore.config=type: S3"], /--tsdb\.objstore\.config: missing bucket/],
      // The Go gateway's spellings work and are named as typed.
      [
        ["serve", `--parquet.objstore-config-file=${dir}/missing.yaml`],
        /--parquet\.objstore-config-file=.*missing\.yaml: cannot read file/,
      ],
      [["convert", "--tsdb.objstore-config=type: S3"], /--tsdb\.objstore-config: missing bucket/],
      [
        [
          "convert",
          `--tsdb.objstore-config-file=${dir}/tsdb.yaml`,
          "--parquet.objstore-config=type: FILESYSTEM",
        ],
        /--parquet\.objstore-config: missing directory/,
      ],
      [["serve", "--min-time=tomorrow"], /--min-time: "tomorrow" is neither an RFC3339 time/],
      [
        ["serve", "--selector.relabel-config=- {action: nope}"],
        /--selector\.relabel-config: relabel rule 1: unknown relabel action "nope"/,
      ],
      [
        ["serve", `--selector.relabel-config-file=${dir}/relabel.yaml`],
        /relabel\.yaml: relabel rule 2: relabel configuration for hashmod requires non-zero/,
      ],
      [
        ["serve", `--selector.relabel-config-file=${dir}/missing.yaml`],
        /--selector\.relabel-config-file=.*missing\.yaml: cannot read file/,
      ],
      [["frobnicate"], /unknown command "frobnicate"/],
    ];
    for (const [args, pattern] of cases) {
      const r = await runCli(args, dir);
      assert.equal(r.code, 2, `${args.join(" ")}: exit ${r.code}\n${r.stderr}`);
      const lines = r.stderr.trimEnd().split("\n");
      assert.equal(lines.length, 1, `${args.join(" ")}: one line, got\n${r.stderr}`);
      assert.match(lines[0], pattern, args.join(" "));
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("convert without objstore flags says which local buckets it uses", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const r = await runCli(["convert", "--convert.dry-run", "--http.internal.port=0"], dir);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "nothing to convert\n");
    assert.match(
      r.stderr,
      /msg="no --tsdb\.objstore\.config\(-file\) given: using FILESYSTEM bucket at \.\/data\/tsdb"/,
    );
    assert.match(
      r.stderr,
      /msg="no --parquet\.objstore\.config\(-file\) given: using FILESYSTEM bucket at \.\/data\/parquet"/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("global flags work before the command as after it, as with kingpin", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const args = ["--convert.dry-run", "--http.internal.port=0"];
    // At warn level the start-up info lines are not written, wherever the flag stands.
    for (
      const line of [
        ["--log.level=warn", "convert", ...args],
        ["--logger.level", "WARN", "convert", ...args],
        ["convert", "--log.level=warn", ...args],
        ["--memlimit.ratio=0.8", "--logger.level=ERROR", "convert", ...args],
      ]
    ) {
      const r = await runCli(line, dir);
      assert.equal(r.code, 0, `${line.join(" ")}: ${r.stderr}`);
      assert.equal(r.stdout, "nothing to convert\n");
      assert.equal(r.stderr, "", line.join(" "));
    }
    const json = await runCli(
      ["--log.level=debug", "--log.format", "json", "--memlimit.ratio=0.5", "convert", ...args],
      dir,
    );
    assert.equal(json.code, 0, json.stderr);
    const records = json.stderr.trimEnd().split("\n").map((l) => JSON.parse(l));
    assert.ok(records.some((r) => r.msg.startsWith("no --tsdb.objstore.config(-file) given")));
    assert.ok(records.some((r) => r.msg.startsWith("--memlimit.ratio has no effect here")));
    const bad = await runCli(["--convert.once", "convert"], dir);
    assert.equal(bad.code, 2);
    assert.match(
      bad.stderr,
      /^parquet-gateway: error: unknown flag --convert\.once before the command;/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a port clash exits 1 with one line naming the flag and the port", async () => {
  const dir = await Deno.makeTempDir();
  const busy = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = busy.addr.port;
  const clash = (command: string, flag: string) =>
    `parquet-gateway ${command}: error: --${flag}=${port}: address already in use ` +
    `(another process listens there; pick another port with --${flag})`;
  try {
    const free = ["--http.internal.port=0", "--http.prometheus.port=0", "--http.thanos.port=0"];
    for (const flag of ["http.internal.port", "http.prometheus.port", "http.thanos.port"]) {
      // The last value of a flag wins, so this one takes the busy port.
      const r = await runCli(["serve", ...free, `--${flag}=${port}`], dir);
      assert.equal(r.code, 1, r.stderr);
      const lines = r.stderr.trimEnd().split("\n");
      assert.equal(lines.at(-1), clash("serve", flag));
      assert.ok(!lines.some((l) => l.includes("level=error")), r.stderr);
      assert.match(
        lines[0],
        /msg="no --objstore\.config\(-file\) given: using FILESYSTEM bucket at \.\/data\/parquet"/,
      );
    }
    const bucket = (name: string) => `type: FILESYSTEM\nconfig: {directory: ${dir}/${name}}`;
    const convert = await runCli([
      "convert",
      "--convert.once",
      `--tsdb.objstore-config=${bucket("tsdb")}`,
      `--parquet.objstore-config=${bucket("pq")}`,
      `--http.internal.port=${port}`,
    ], dir);
    assert.equal(convert.code, 1, convert.stderr);
    assert.equal(convert.stderr, clash("convert", "http.internal.port") + "\n");
    // A dry run takes no port: it can run beside a converter.
    const dry = await runCli(["convert", "--convert.dry-run", `--http.internal.port=${port}`], dir);
    assert.equal(dry.code, 0, dry.stderr);
    assert.equal(dry.stdout, "nothing to convert\n");
  } finally {
    busy.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("serve process answers /metrics, /-/healthy, /-/ready and stops on SIGTERM", async () => {
  const dir = await Deno.makeTempDir();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      MAIN,
      // Global flags before the command, in the Go gateway's spelling.
      "--logger.level=DEBUG",
      "--log.format=json",
      "serve",
      "--http.internal.port=0",
      "--http.prometheus.port=0",
      "--http.thanos.port=0",
      `--objstore.config=type: FILESYSTEM\nconfig: {directory: ${dir}/bucket}`,
    ],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stdout = child.stdout.pipeTo(new WritableStream());
  const lines: string[] = [];
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  let port: number | undefined;
  const deadline = Date.now() + 30_000;
  try {
    while (port === undefined && Date.now() < deadline) {
      const { value, done } = await reader.read();
      if (done) break;
      buffered += value;
      const parts = buffered.split("\n");
      buffered = parts.pop()!;
      for (const line of parts) {
        lines.push(line);
        const rec = JSON.parse(line);
        if (rec.msg === "internal server listening") port = rec.port;
      }
    }
    assert.ok(port, `no listening line in:\n${lines.join("\n")}`);
    const base = `http://127.0.0.1:${port}`;
    let ready = 0;
    for (let i = 0; i < 100 && ready !== 200; i++) {
      const res = await fetch(`${base}/-/ready`);
      ready = res.status;
      await res.body?.cancel();
      if (ready !== 200) await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(ready, 200);
    const healthy = await fetch(`${base}/-/healthy`);
    assert.equal(await healthy.text(), "OK\n");
    const metrics = await (await fetch(`${base}/metrics`)).text();
    assert.match(metrics, /^process_cpu_seconds_total /m);
    assert.match(metrics, /^deno_memory_rss_bytes [1-9]/m);
    assert.match(
      metrics,
      /^objstore_bucket_operations_total\{bucket="parquet",operation="get"\} 0/m,
    );
    child.kill("SIGTERM");
    const status = await child.status;
    assert.equal(status.code, 0);
  } finally {
    try {
      child.kill("SIGKILL");
    } catch { /* already exited */ }
    reader.releaseLock();
    await child.stderr.cancel().catch(() => {});
    await stdout.catch(() => {});
    await child.status;
    await Deno.remove(dir, { recursive: true });
  }
});
