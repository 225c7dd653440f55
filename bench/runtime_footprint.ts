/**
 * What running the gateway installs: caches `cli/main.ts` (the program `serve` and `convert` run)
 * into an empty Deno cache with the runtime lockfile, then prints the npm packages that landed
 * there and their bytes, largest first, against the targets of <= 200 packages and <= 100 MiB.
 * The Deno executable itself (tools/node_modules, from npm) is not counted.
 *
 * Run: `deno run -A bench/runtime_footprint.ts [--top N]`.
 *
 * @module
 */
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const TARGET_PACKAGES = 200;
const TARGET_BYTES = 100 * 1024 * 1024;

/** Sizes of one directory tree: bytes as files hold them, and bytes allocated on disk. */
interface TreeSize {
  bytes: number;
  diskBytes: number;
  files: number;
}

async function treeSize(dir: string): Promise<TreeSize> {
  const size: TreeSize = { bytes: 0, diskBytes: 0, files: 0 };
  for await (const entry of Deno.readDir(dir)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) {
      const sub = await treeSize(path);
      size.bytes += sub.bytes;
      size.diskBytes += sub.diskBytes;
      size.files += sub.files;
    } else if (entry.isFile) {
      const info = await Deno.lstat(path);
      size.bytes += info.size;
      size.diskBytes += (info.blocks ?? 0) * 512;
      size.files++;
    }
  }
  return size;
}

/** One installed package: `name@version` and its directory. */
interface Installed {
  id: string;
  dir: string;
}

/** Lists `<registry>/<name>/<version>` and `<registry>/@scope/<name>/<version>` directories. */
async function installedPackages(registry: string): Promise<Installed[]> {
  const out: Installed[] = [];
  const versionsOf = async (name: string, dir: string) => {
    for await (const v of Deno.readDir(dir)) {
      if (v.isDirectory) out.push({ id: `${name}@${v.name}`, dir: `${dir}/${v.name}` });
    }
  };
  for await (const e of Deno.readDir(registry)) {
    if (!e.isDirectory) continue;
    const dir = `${registry}/${e.name}`;
    if (e.name.startsWith("@")) {
      for await (const s of Deno.readDir(dir)) {
        if (s.isDirectory) await versionsOf(`${e.name}/${s.name}`, `${dir}/${s.name}`);
      }
    } else {
      await versionsOf(e.name, dir);
    }
  }
  return out;
}

function mb(bytes: number): string {
  return (bytes / 1024 / 1024).toFixed(1);
}

if (import.meta.main) {
  const topIndex = Deno.args.indexOf("--top");
  const top = topIndex >= 0 ? Number(Deno.args[topIndex + 1]) : 15;
  const denoDir = await Deno.makeTempDir({ prefix: "footprint-deno-dir-" });
  try {
    const cache = await new Deno.Command(Deno.execPath(), {
      args: ["cache", "--frozen", "cli/main.ts"],
      cwd: ROOT,
      env: { DENO_DIR: denoDir, NO_COLOR: "1" },
      stdout: "null",
      stderr: "piped",
    }).output();
    if (!cache.success) {
      console.error(new TextDecoder().decode(cache.stderr));
      Deno.exit(1);
    }
    const registry = `${denoDir}/npm/registry.npmjs.org`;
    const packages = await installedPackages(registry);
    const sized = await Promise.all(
      packages.map(async (p) => ({ ...p, size: await treeSize(p.dir) })),
    );
    sized.sort((a, b) => b.size.bytes - a.size.bytes);
    const npm = await treeSize(`${denoDir}/npm`);
    const all = await treeSize(denoDir);

    console.log(`runtime install of cli/main.ts (deno.lock), Deno ${Deno.version.deno}\n`);
    console.log("| package | MiB | files |");
    console.log("|---|---:|---:|");
    for (const p of sized.slice(0, top)) {
      console.log(`| ${p.id} | ${mb(p.size.bytes)} | ${p.size.files} |`);
    }
    const rest = sized.slice(top);
    const restBytes = rest.reduce((n, p) => n + p.size.bytes, 0);
    console.log(`| ${rest.length} more | ${mb(restBytes)} | |\n`);
    const verdict = (ok: boolean) => ok ? "ok" : "OVER";
    console.log("| measure | value | target | |");
    console.log("|---|---:|---:|---|");
    console.log(
      `| npm packages | ${packages.length} | <= ${TARGET_PACKAGES} | ${
        verdict(packages.length <= TARGET_PACKAGES)
      } |`,
    );
    console.log(
      `| npm bytes (file sizes) | ${mb(npm.bytes)} MiB | <= ${mb(TARGET_BYTES)} MiB | ${
        verdict(npm.bytes <= TARGET_BYTES)
      } |`,
    );
    console.log(`| npm bytes on disk (blocks) | ${mb(npm.diskBytes)} MiB | | |`);
    console.log(
      `| whole Deno cache on disk (with compiled-code caches) | ${mb(all.diskBytes)} MiB | | |`,
    );
  } finally {
    await Deno.remove(denoDir, { recursive: true });
  }
}
