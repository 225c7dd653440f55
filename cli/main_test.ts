import assert from "node:assert/strict";
import { main } from "./main.ts";

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  l.close();
  return l.addr.port;
}

function bindable(port: number): boolean {
  try {
    Deno.listen({ hostname: "127.0.0.1", port }).close();
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.AddrInUse) return false;
    throw e;
  }
}

// In process: after main() returns, the ports of the listeners it had opened before the clash
// must be free again. (tests/cli_test.ts checks the line the process prints.)
Deno.test("serve exits 1 on a port clash and closes the listeners it had opened", async () => {
  const dir = await Deno.makeTempDir();
  const busy = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    for (const clash of ["internal", "prometheus", "thanos"]) {
      const ports: Record<string, number> = {};
      for (const name of ["internal", "prometheus", "thanos"]) {
        ports[name] = name === clash ? busy.addr.port : freePort();
      }
      const code = await main([
        "--log.level=error",
        "serve",
        `--objstore.config=type: FILESYSTEM\nconfig: {directory: ${dir}}`,
        ...Object.entries(ports).map(([name, port]) => `--http.${name}.port=${port}`),
      ]);
      assert.equal(code, 1, clash);
      for (const [name, port] of Object.entries(ports)) {
        if (name !== clash) assert.ok(bindable(port), `${name} port ${port} still bound`);
      }
    }
  } finally {
    busy.close();
    await Deno.remove(dir, { recursive: true });
  }
});
