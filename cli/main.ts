/**
 * The `parquet-gateway` command: `serve` answers PromQL from Parquet blocks, `convert` writes
 * them from Prometheus TSDB blocks. Entry point of `deno run -A cli/main.ts` and of the compiled
 * binary.
 *
 * Exit codes: 0 success, 1 runtime failure (a refused Deno permission is one line naming it and
 * the `--allow-*` flag to add), 2 bad flags or configuration.
 *
 * @module
 */
import denoJson from "../deno.json" with { type: "json" };
import { createLogger } from "../internal/log.ts";
import { ObjstoreConfigError } from "../storage/objstore/config.ts";
import { runConvert } from "./convert.ts";
import { explainDenial } from "./permissions.ts";
import { CONVERT_FLAGS, parseConvertConfig } from "./convert_config.ts";
import { GLOBAL_FLAGS, ListenError } from "./common.ts";
import { formatFlags, formatHelp, splitAtCommand, UsageError } from "./flags.ts";
import { runServe } from "./serve.ts";
import { parseServeConfig, SERVE_FLAGS } from "./serve_config.ts";

const NAME = "parquet-gateway";
/** The gateway's version. */
export const VERSION: string = denoJson.version;

const MAIN_HELP = `usage: ${NAME} [<global flags>] <command> [<flags>]

Converts Prometheus TSDB blocks to Parquet and serves them to PromQL, the Prometheus HTTP API
and Thanos Queriers.

Commands:
  serve     Serve PromQL and the Thanos Store/Query APIs from Parquet blocks in a bucket.
  convert   Convert TSDB blocks from one bucket into Parquet blocks in another.
  help      Show the help of a command: ${NAME} help <command>.

Global flags (before or after the command):
  --help
        Show help (also: ${NAME} <command> --help).
  --version
        Show the version.
${formatFlags(GLOBAL_FLAGS).join("\n")}
`;

const SWITCHES = ["--help", "-h", "--version"];

/** Help text of `serve`. */
export const SERVE_HELP: string = formatHelp(
  `${NAME} serve [<flags>]`,
  "Serve PromQL (Prometheus HTTP API) and the Thanos gRPC APIs from Parquet blocks.",
  SERVE_FLAGS,
);

/** Help text of `convert`. */
export const CONVERT_HELP: string = formatHelp(
  `${NAME} convert [<flags>]`,
  "Convert Prometheus TSDB blocks into Parquet blocks, one folder per UTC day and stream.",
  CONVERT_FLAGS,
);

function printOut(text: string) {
  Deno.stdout.writeSync(new TextEncoder().encode(text));
}

function printErr(text: string) {
  Deno.stderr.writeSync(new TextEncoder().encode(text));
}

/** Runs the command line `args`; resolves to the exit code. */
export async function main(args: readonly string[]): Promise<number> {
  let line;
  try {
    line = splitAtCommand(GLOBAL_FLAGS, SWITCHES, args);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    printErr(`${NAME}: error: ${e.message} (see ${NAME} --help)\n`);
    return 2;
  }
  const { before, command, after } = line;
  const given = [...before, ...after];
  const help = given.includes("--help") || given.includes("-h");
  if (given.includes("--version") && !help) {
    printOut(`${NAME} ${VERSION} (deno ${Deno.version.deno})\n`);
    return 0;
  }
  if (command === "help") {
    const topic = after[0];
    printOut(topic === "serve" ? SERVE_HELP : topic === "convert" ? CONVERT_HELP : MAIN_HELP);
    return 0;
  }
  if (command === undefined) {
    printOut(MAIN_HELP);
    return help ? 0 : 2;
  }
  if (command !== "serve" && command !== "convert") {
    printErr(`${NAME}: error: unknown command ${JSON.stringify(command)}, try --help\n`);
    return 2;
  }
  if (help) {
    printOut(command === "serve" ? SERVE_HELP : CONVERT_HELP);
    return 0;
  }
  // Global flags before the command are parsed with the command's own, which include them.
  const rest = [...before, ...after];
  try {
    const config = command === "serve" ? parseServeConfig(rest) : parseConvertConfig(rest);
    const logger = createLogger({ level: config.log.level, format: config.log.format }).with({
      component: command,
    });
    if (config.memlimitRatio !== undefined) {
      logger.info(
        "--memlimit.ratio has no effect here: V8 sizes its heap with --max-old-space-size",
      );
    }
    const shutdown = new AbortController();
    const onSignal = () => shutdown.abort();
    Deno.addSignalListener("SIGINT", onSignal);
    Deno.addSignalListener("SIGTERM", onSignal);
    try {
      return command === "serve"
        ? await runServe(config as ReturnType<typeof parseServeConfig>, logger, shutdown.signal)
        : await runConvert(
          config as ReturnType<typeof parseConvertConfig>,
          logger,
          shutdown.signal,
        );
    } catch (e) {
      // Configuration read once the command started: reported as usage errors, exit code 2.
      if (e instanceof ObjstoreConfigError || e instanceof UsageError) throw e;
      if (e instanceof ListenError) {
        printErr(`${NAME} ${command}: error: ${e.message}\n`);
        return 1;
      }
      const denied = explainDenial(e, []);
      if (denied) {
        printErr(`${NAME} ${command}: ${denied.message}\n`);
        return 1;
      }
      logger.error(`${command} failed`, { err: e });
      return 1;
    } finally {
      Deno.removeSignalListener("SIGINT", onSignal);
      Deno.removeSignalListener("SIGTERM", onSignal);
    }
  } catch (e) {
    if (e instanceof UsageError) {
      printErr(`${NAME} ${command}: error: ${e.message} (see ${NAME} ${command} --help)\n`);
      return 2;
    }
    if (e instanceof ObjstoreConfigError) {
      printErr(`${NAME} ${command}: error: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
