/**
 * Test helper: builds the grpc-go client programs in `testdata/` offline, with Debian's
 * golang-google-grpc-dev (grpc-go 1.33) and friends from `/usr/share/gocode` in GOPATH mode.
 *
 * @module
 */

/** Where Debian's golang-*-dev packages put their sources. */
export const GOPATH = "/usr/share/gocode";

/**
 * Builds the Go program at `program` and returns the executable's path; null when the Go
 * toolchain or one of the `deps` import paths is not installed (tests then skip). Go's build
 * cache keeps later runs fast.
 */
export async function buildGoProgram(program: string, deps: string[]): Promise<string | null> {
  for (const dep of deps) {
    try {
      await Deno.stat(`${GOPATH}/src/${dep}`);
    } catch {
      return null;
    }
  }
  const dir = await Deno.makeTempDir();
  const exe = `${dir}/${program.replace(/^.*\//, "").replace(/\.go$/, "")}`;
  try {
    const out = await new Deno.Command("go", {
      args: ["build", "-o", exe, program],
      env: { GO111MODULE: "off", GOPATH },
      stdout: "null",
      stderr: "piped",
    }).output();
    if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
    return exe;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
}
