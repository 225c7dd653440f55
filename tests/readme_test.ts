import assert from "node:assert/strict";
import { README_URL, renderReadme } from "./readme.ts";

Deno.test("README flag reference equals --help (run `deno task readme` to update)", async () => {
  const readme = await Deno.readTextFile(README_URL);
  assert.equal(readme, renderReadme(readme));
});
