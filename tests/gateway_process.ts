/**
 * Runs `cli/main.ts` as a child process the way a user, a service manager or a container runs the
 * gateway: with given Deno permissions (by default those `deno task compile` gives the binary),
 * environment and working directory, on free 127.0.0.1 ports, for the tests of the README's
 * examples and of `examples/`.
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import denoJson from "../deno.json" with { type: "json" };
import { freePort } from "./oracle/prometheus.ts";

/** Absolute path of the project's root directory (no trailing slash). */
export const ROOT: string = fileURLToPath(new URL("..", import.meta.url)).replace(/\/$/, "");
/** Absolute path of `cli/main.ts`. */
export const MAIN: string = `${ROOT}/cli/main.ts`;
const CONFIG = `${ROOT}/deno.json`;

/** The words of the `compile` task that start with `prefix`. */
function compileFlags(prefix: string): string[] {
  return denoJson.tasks.compile.split(/\s+/).filter((a) => a.startsWith(prefix));
}

/** The `--allow-*` flags of the `compile` task: the permissions of the compiled binary. */
export function binaryPermissions(): string[] {
  const flags = compileFlags("--allow-");
  if (flags.length === 0) throw new Error("deno.json's compile task grants no permissions");
  return flags;
}

/**
 * The `--v8-flags` of the `compile` task: the V8 settings the binary runs with, which the
 * README's `deno run` lines repeat (a smaller young generation: less memory per isolate, and no
 * slower, measured on the scale benchmark).
 */
export function gatewayV8Flags(): string[] {
  return compileFlags("--v8-flags=");
}

/** How to run the gateway. */
export interface RunOptions {
  /** Deno permission flags; default {@linkcode binaryPermissions}. */
  permissions?: string[];
  /** Environment variables added to the test's environment. */
  env?: Record<string, string>;
  /** Working directory; default the project root. */
  cwd?: string;
  /** A command line that runs Deno, e.g. `["strace", "-f", "-o", file]`. */
  wrapper?: string[];
  /**
   * Whether {@linkcode startGateway} waits for `/-/ready` to answer 200 (default) or only for
   * the internal server to answer at all.
   */
  waitReady?: boolean;
}

function command(args: string[], opts: RunOptions, piped: boolean): Deno.Command {
  const deno = [
    Deno.execPath(),
    "run",
    "--config",
    CONFIG,
    ...gatewayV8Flags(),
    ...(opts.permissions ?? binaryPermissions()),
    MAIN,
    ...args,
  ];
  const [program, ...rest] = [...(opts.wrapper ?? []), ...deno];
  return new Deno.Command(program, {
    args: rest,
    cwd: opts.cwd ?? ROOT,
    env: { NO_COLOR: "1", ...opts.env },
    stdin: "null",
    stdout: piped ? "piped" : "null",
    stderr: "piped",
  });
}

/** Runs `cli/main.ts <args>` to its end. */
export async function runGateway(
  args: string[],
  opts: RunOptions = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await command(args, opts, true).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** A running `serve` or `convert`. */
export interface GatewayProcess {
  /** Base URL of the Prometheus HTTP API (`serve` only). */
  url: string;
  /** Base URL of the internal server (metrics, health). */
  internalUrl: string;
  /** The gRPC port (`serve` only). */
  grpcPort: number;
  /** What the process logged so far. */
  stderr(): string;
  /** Sends SIGTERM and resolves to the exit code. */
  stop(): Promise<number>;
}

/** The PID of Deno: the child, or the wrapper's only child. */
async function gatewayPid(pid: number, wrapped: boolean): Promise<number> {
  if (!wrapped) return pid;
  const children = await Deno.readTextFile(`/proc/${pid}/task/${pid}/children`);
  return Number(children.trim().split(/\s+/)[0]);
}

/**
 * Starts `cli/main.ts <args>` with free ports appended (later flags win) and resolves once its
 * internal server's `/-/ready` answers 200 (or anything, without `waitReady`); throws with its
 * log if it exits or is not ready in 60 s.
 */
export async function startGateway(
  args: string[],
  opts: RunOptions = {},
): Promise<GatewayProcess> {
  const port = freePort();
  const grpcPort = freePort();
  const internalPort = freePort();
  const ports = args[0] === "serve"
    ? [`--http.prometheus.port=${port}`, `--http.thanos.port=${grpcPort}`]
    : [];
  const child = command(
    [...args, ...ports, `--http.internal.port=${internalPort}`],
    opts,
    false,
  ).spawn();
  const log: string[] = [];
  const pump = (async () => {
    for await (const c of child.stderr.pipeThrough(new TextDecoderStream())) log.push(c);
  })();
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    return s;
  });
  const stop = async () => {
    if (!exited) Deno.kill(await gatewayPid(child.pid, opts.wrapper !== undefined), "SIGTERM");
    const s = await status;
    await pump;
    return s.code;
  };
  const internalUrl = `http://127.0.0.1:${internalPort}`;
  for (let i = 0; i < 600 && !exited; i++) {
    try {
      const res = await fetch(`${internalUrl}/-/ready`);
      await res.body?.cancel();
      if (res.ok || opts.waitReady === false) {
        return {
          url: `http://127.0.0.1:${port}`,
          internalUrl,
          grpcPort,
          stderr: () => log.join(""),
          stop,
        };
      }
    } catch { /* not listening yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  const why = exited ? "exited" : "not ready in 60 s";
  const code = await stop();
  throw new Error(`${args.join(" ")}: ${why} (code ${code}):\n${log.join("")}`);
}
