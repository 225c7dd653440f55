/**
 * Keeps the README's flag reference equal to the commands' `--help` output.
 * `deno task readme` rewrites it; `readme_test.ts` fails when it is stale.
 *
 * @module
 */
import { CONVERT_HELP, SERVE_HELP } from "../cli/main.ts";

/** The README path. */
export const README_URL: URL = new URL("../README.md", import.meta.url);

const SECTIONS: Array<[string, string]> = [["serve", SERVE_HELP], ["convert", CONVERT_HELP]];

/** Returns `readme` with each generated help block replaced by the current help text. */
export function renderReadme(readme: string): string {
  let out = readme;
  for (const [name, help] of SECTIONS) {
    const begin = `<!-- BEGIN ${name} --help -->`;
    const end = `<!-- END ${name} --help -->`;
    const from = out.indexOf(begin);
    const to = out.indexOf(end);
    if (from < 0 || to < from) throw new Error(`README.md lacks the markers ${begin} ... ${end}`);
    out = out.slice(0, from + begin.length) + "\n\n```\n" + help + "```\n\n" + out.slice(to);
  }
  return out;
}

if (import.meta.main) {
  const readme = await Deno.readTextFile(README_URL);
  await Deno.writeTextFile(README_URL, renderReadme(readme));
}
