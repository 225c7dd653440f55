/**
 * Runs the real `convert --convert.once` and starts the real `serve` over FILESYSTEM buckets
 * under one root directory (`<root>/tsdb`, `<root>/parquet`) on free 127.0.0.1 ports, for
 * end-to-end tests and benchmarks.
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import { freePort } from "./prometheus.ts";

const MAIN = fileURLToPath(new URL("../../cli/main.ts", import.meta.url));

/**
 * Runs `convert --convert.once` from `<root>/tsdb` into `<root>/parquet` (temporary files under
 * `<root>`); throws with the converter's standard error when it fails.
 */
export async function convertOnce(root: string, extraFlags: string[] = []): Promise<void> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      MAIN,
      "convert",
      "--convert.once",
      `--tsdb.objstore.config=type: FILESYSTEM\nconfig: {directory: ${root}/tsdb}`,
      `--parquet.objstore.config=type: FILESYSTEM\nconfig: {directory: ${root}/parquet}`,
      `--http.internal.port=${freePort()}`,
      `--convert.tempdir=${root}`,
      "--log.level=warn",
      ...extraFlags,
    ],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(`convert failed (${out.code}): ${new TextDecoder().decode(out.stderr)}`);
  }
}

/** A running `serve`. */
export interface GatewayServer {
  /** Base URL of the Prometheus HTTP API. */
  url: string;
  /** Base URL of the internal server (metrics, health). */
  internalUrl: string;
  /** The gRPC port. */
  grpcPort: number;
  /** What the process logged so far. */
  stderr(): string;
  /** Stops the process (SIGTERM, by PID). */
  stop(): Promise<void>;
}

/** Starts `serve` on `<root>/parquet`, keeping label files under `<root>/labels`. */
export async function startServe(root: string, extraFlags: string[] = []): Promise<GatewayServer> {
  const port = freePort();
  const internalPort = freePort();
  const grpcPort = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      MAIN,
      "serve",
      `--objstore.config=type: FILESYSTEM\nconfig: {directory: ${root}/parquet}`,
      `--http.prometheus.port=${port}`,
      `--http.thanos.port=${grpcPort}`,
      `--http.internal.port=${internalPort}`,
      `--block.labelfilepath=${root}/labels`,
      "--log.level=warn",
      ...extraFlags,
    ],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const stderr: string[] = [];
  const pump = (async () => {
    for await (const c of child.stderr) stderr.push(new TextDecoder().decode(c));
  })();
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    try {
      Deno.kill(child.pid, "SIGTERM");
    } catch { /* gone */ }
    await child.status;
    await pump;
  };
  for (let i = 0; i < 300; i++) {
    try {
      const res = await fetch(`http://127.0.0.1:${internalPort}/-/ready`);
      await res.body?.cancel();
      if (res.ok) {
        return {
          url,
          internalUrl: `http://127.0.0.1:${internalPort}`,
          grpcPort,
          stderr: () => stderr.join(""),
          stop,
        };
      }
    } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  await stop();
  throw new Error(`serve did not start: ${stderr.join("")}`);
}
