/**
 * The two lockfiles agree: deno.lock (what running the gateway installs) holds no test server,
 * and every package it locks is locked at the same version and integrity in deno.dev.lock (what
 * the tests and `deno check` run with), so the tests exercise exactly the runtime's packages.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

interface Lock {
  specifiers: Record<string, string>;
  npm: Record<string, { integrity: string }>;
}

async function readLock(name: string): Promise<Lock> {
  return JSON.parse(await Deno.readTextFile(`${ROOT}/${name}`));
}

/** `name@version` of a lock key such as `tslib@2.9.1` or `@scope/x@1.0.0_peer@2`. */
function packageVersion(key: string): string {
  const at = key.indexOf("@", 1);
  const peers = key.indexOf("_", at);
  return peers < 0 ? key : key.slice(0, peers);
}

Deno.test("deno.lock holds the runtime only; deno.dev.lock locks its packages alike", async () => {
  const runtime = await readLock("deno.lock");
  const dev = await readLock("deno.dev.lock");
  const runtimeNames = Object.keys(runtime.npm).map(packageVersion);
  for (const testOnly of ["azurite", "s3rver"]) {
    assert.ok(
      !runtimeNames.some((p) => p.startsWith(`${testOnly}@`)),
      `${testOnly} is a test server; it must not be in deno.lock`,
    );
    assert.ok(Object.keys(dev.specifiers).some((s) => s.startsWith(`npm:${testOnly}@`)));
  }
  const devIntegrity = new Map<string, string>();
  for (const [key, entry] of Object.entries(dev.npm)) {
    devIntegrity.set(packageVersion(key), entry.integrity);
  }
  for (const [key, entry] of Object.entries(runtime.npm)) {
    assert.equal(devIntegrity.get(packageVersion(key)), entry.integrity, key);
  }
  for (const [specifier, version] of Object.entries(runtime.specifiers)) {
    assert.equal(dev.specifiers[specifier], version, specifier);
  }
});
