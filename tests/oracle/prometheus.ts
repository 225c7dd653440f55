/**
 * The reference Prometheus for comparisons: Debian's `promtool` builds TSDB blocks from
 * OpenMetrics text, and a `prometheus` server (2.42) started on 127.0.0.1 answers queries over
 * those blocks. Both binaries are installed by `.ci/install_packages.sh`; callers skip when
 * {@linkcode prometheusAvailable} is false.
 *
 * @module
 */

/** Reports whether `promtool` and `prometheus` are on PATH. */
export async function prometheusAvailable(): Promise<boolean> {
  for (const bin of ["promtool", "prometheus"]) {
    try {
      const out = await new Deno.Command(bin, {
        args: ["--version"],
        stdout: "null",
        stderr: "null",
      })
        .output();
      if (!out.success) return false;
    } catch {
      return false;
    }
  }
  return true;
}

/**
 * Runs `promtool tsdb create-blocks-from openmetrics` and returns the ULIDs of the blocks it wrote
 * into `outDir`.
 */
export async function createBlocks(openMetricsFile: string, outDir: string): Promise<string[]> {
  await Deno.mkdir(outDir, { recursive: true });
  const before = new Set(await blockDirs(outDir));
  const out = await new Deno.Command("promtool", {
    args: ["tsdb", "create-blocks-from", "openmetrics", "--quiet", openMetricsFile, outDir],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(`promtool create-blocks-from failed: ${new TextDecoder().decode(out.stderr)}`);
  }
  return (await blockDirs(outDir)).filter((b) => !before.has(b));
}

async function blockDirs(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    if (e.isDirectory && /^[0-9A-HJKMNP-TV-Z]{26}$/.test(e.name)) out.push(e.name);
  }
  return out.sort();
}

/**
 * Adds Thanos' `thanos` section (external labels, source, resolution 0) to a block's meta.json, as
 * a Thanos sidecar or receiver would have uploaded it.
 */
export async function setExternalLabels(
  blockDir: string,
  labels: Record<string, string>,
): Promise<void> {
  const path = `${blockDir}/meta.json`;
  const meta = JSON.parse(await Deno.readTextFile(path));
  meta.thanos = { labels, downsample: { resolution: 0 }, source: "sidecar" };
  await Deno.writeTextFile(path, JSON.stringify(meta, null, "\t") + "\n");
}

/** A running reference Prometheus. */
export interface PrometheusServer {
  /** Base URL, e.g. `http://127.0.0.1:40123`. */
  url: string;
  /** Stops the process (by PID) and removes its working directory. */
  stop(): Promise<void>;
}

/** Options of {@linkcode startPrometheus}. */
export interface StartOptions {
  /** Directories of TSDB blocks to copy into the server's data directory. */
  blocks: string[];
  /** `--query.lookback-delta`; default 5m. */
  lookbackDelta?: string;
  /** Extra flags. */
  flags?: string[];
  /** The configuration file's content; default: a global section only. */
  config?: string;
}

/** Ports {@linkcode freePort} handed out in this process. */
const handedOut = new Set<number>();

/**
 * Returns a TCP port that was free a moment ago on `hostname` and that this process was not given
 * before: the kernel may hand the same free port to two binds in a row, and a gateway given it
 * for two of its listeners refused to start.
 */
export function freePort(hostname = "127.0.0.1"): number {
  for (;;) {
    const l = Deno.listen({ hostname, port: 0 });
    const port = (l.addr as Deno.NetAddr).port;
    l.close();
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
}

async function copyDir(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const e of Deno.readDir(from)) {
    if (e.isDirectory) await copyDir(`${from}/${e.name}`, `${to}/${e.name}`);
    else await Deno.copyFile(`${from}/${e.name}`, `${to}/${e.name}`);
  }
}

/**
 * Starts `prometheus` on 127.0.0.1 over copies of the given blocks (no scrape targets, retention
 * long enough to keep any test data) and waits until it is ready.
 */
export async function startPrometheus(opts: StartOptions): Promise<PrometheusServer> {
  const dir = await Deno.makeTempDir({ prefix: "oracle-prometheus-" });
  const data = `${dir}/data`;
  await Deno.mkdir(data);
  for (const b of opts.blocks) await copyDir(b, `${data}/${b.split("/").pop()}`);
  await Deno.writeTextFile(
    `${dir}/prometheus.yml`,
    opts.config ?? "global:\n  scrape_interval: 1m\n",
  );
  const port = freePort();
  const child = new Deno.Command("prometheus", {
    args: [
      `--config.file=${dir}/prometheus.yml`,
      `--storage.tsdb.path=${data}`,
      `--storage.tsdb.retention.time=36500d`,
      `--web.listen-address=127.0.0.1:${port}`,
      `--query.lookback-delta=${opts.lookbackDelta ?? "5m"}`,
      "--log.level=warn",
      ...(opts.flags ?? []),
    ],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const stderr: string[] = [];
  const pump = (async () => {
    const dec = new TextDecoder();
    for await (const c of child.stderr) stderr.push(dec.decode(c));
  })();
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    try {
      Deno.kill(child.pid, "SIGTERM");
    } catch { /* already gone */ }
    await child.status;
    await pump;
    await Deno.remove(dir, { recursive: true });
  };
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`${url}/-/ready`);
      await res.body?.cancel();
      if (res.status === 200) return { url, stop };
    } catch { /* not listening yet */ }
    await new Promise((r) => setTimeout(r, 200));
  }
  await stop();
  throw new Error(`prometheus did not become ready: ${stderr.join("").slice(-2000)}`);
}
