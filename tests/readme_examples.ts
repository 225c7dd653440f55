/**
 * The README's shell examples, for the tests that run them: `sh` code blocks by section, lines
 * with their `\` continuations joined and comments removed, and `deno run ... cli/main.ts` lines
 * as the permissions and arguments to run them with from any directory.
 *
 * @module
 */
import { ROOT } from "./gateway_process.ts";

/** The README's text. */
export function readReadme(): Promise<string> {
  return Deno.readTextFile(`${ROOT}/README.md`);
}

/**
 * The command lines of the `sh` blocks in the section that starts with `heading` (a `#` line),
 * one array per block.
 */
export function shellBlocks(readme: string, heading: string): string[][] {
  const start = readme.indexOf(`\n${heading}\n`);
  if (start < 0) throw new Error(`README.md has no section ${JSON.stringify(heading)}`);
  const level = heading.split(" ")[0];
  const rest = readme.slice(start + heading.length + 2);
  const next = rest.search(new RegExp(`^#{1,${level.length}} `, "m"));
  const section = next < 0 ? rest : rest.slice(0, next);
  return allShellBlocks(section);
}

/** The command lines of every `sh` block in `markdown`, one array per block. */
export function allShellBlocks(markdown: string): string[][] {
  return [...markdown.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map((m) =>
    m[1].replace(/\\\n\s*/g, "").split("\n").map(stripComment).filter((l) => l !== "")
  );
}

/** Removes a trailing `# comment` outside quotes. */
function stripComment(line: string): string {
  let quote = "";
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote) {
      if (c === quote) quote = "";
    } else if (c === "'" || c === '"') {
      quote = c;
    } else if (c === "#" && (i === 0 || /\s/.test(line[i - 1]))) {
      return line.slice(0, i).trimEnd();
    }
  }
  return line.trimEnd();
}

/** Splits a command line into words (quotes removed; no expansions). */
export function shellWords(line: string): string[] {
  const words: string[] = [];
  for (const m of line.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)) {
    words.push(m[1] ?? m[2] ?? m[3]);
  }
  return words;
}

/** A `deno run [v8 flags] [permissions] cli/main.ts [args]` line. */
export interface GatewayLine {
  /** The line as printed. */
  line: string;
  /** The `--v8-flags=...` between `run` and `cli/main.ts`. */
  v8Flags: string[];
  /** The other flags between `run` and `cli/main.ts`. */
  permissions: string[];
  /** What follows `cli/main.ts`, with paths of the checkout's files made absolute. */
  args: string[];
}

/** Parses a `deno run ... cli/main.ts ...` line; undefined for other lines. */
export function gatewayLine(line: string): GatewayLine | undefined {
  const words = shellWords(line);
  const main = words.indexOf("cli/main.ts");
  if (main < 0 || words[0] !== "deno" || words[1] !== "run") return undefined;
  const args = words.slice(main + 1).map((a) =>
    a.replace(/^(--[\w.-]+=)?(examples\/)/, (_, flag = "", dir) => `${flag}${ROOT}/${dir}`)
  );
  const flags = words.slice(2, main);
  const v8 = (f: string) => f.startsWith("--v8-flags=");
  return { line, v8Flags: flags.filter(v8), permissions: flags.filter((f) => !v8(f)), args };
}
