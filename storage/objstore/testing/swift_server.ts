/**
 * A one-node OpenStack Swift for tests, from Debian's packages (.ci/install_test_servers.sh):
 * account, container and object servers, a proxy with tempauth, SLO/DLO and the s3api
 * middleware, and a memcached for tempauth's tokens. Everything runs as child processes on
 * 127.0.0.1 with rings and data in a temporary directory, and is stopped by PID.
 *
 * @module
 */

/** The tempauth user: account `test`, user `tester`, key `testing` (also the S3 credentials). */
export const SWIFT_USER = { account: "test", user: "tester", key: "testing" };

/** A running Swift. */
export interface SwiftServer {
  /** The proxy's base URL (`/auth/v1.0` for tempauth, `/v1/AUTH_test` for storage, S3 at `/`). */
  url: string;
  /** The proxy's port. */
  port: number;
  /** Kills every process by PID and removes the data. */
  stop(): Promise<void>;
}

/** Whether Debian's Swift is installed here. */
export function swiftInstalled(): boolean {
  try {
    Deno.statSync("/usr/bin/swift-proxy-server");
    Deno.statSync("/usr/bin/memcached");
    return Deno.statSync("/etc/swift/swift.conf").isFile;
  } catch {
    return false;
  }
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

async function run(cmd: string, args: string[]): Promise<void> {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  if (out.code !== 0) {
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    throw new Error(`${cmd} ${args.join(" ")} failed (${out.code}):\n${text}`);
  }
}

async function waitFor(what: string, probe: () => Promise<boolean>, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await probe().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${what} did not come up in ${ms / 1000}s`);
}

function serverConf(dir: string, port: number, app: string): string {
  return `[DEFAULT]
devices = ${dir}/devices
mount_check = false
bind_ip = 127.0.0.1
bind_port = ${port}
workers = 0
swift_dir = ${dir}/swift
log_level = WARNING

[pipeline:main]
pipeline = ${app}-server

[app:${app}-server]
use = egg:swift#${app}
`;
}

function proxyConf(dir: string, port: number, memcachePort: number): string {
  // Pipeline name and egg entry point of the plain middlewares.
  const filters = [
    ["catch_errors", "catch_errors"],
    ["gatekeeper", "gatekeeper"],
    ["healthcheck", "healthcheck"],
    ["proxy-logging", "proxy_logging"],
    ["listing_formats", "listing_formats"],
    ["bulk", "bulk"],
    ["copy", "copy"],
    ["slo", "slo"],
    ["dlo", "dlo"],
    ["versioned_writes", "versioned_writes"],
  ];
  return `[DEFAULT]
bind_ip = 127.0.0.1
bind_port = ${port}
workers = 0
swift_dir = ${dir}/swift
log_level = WARNING

[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats bulk ` +
    `s3api tempauth copy slo dlo versioned_writes proxy-logging proxy-server

[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true

[filter:tempauth]
use = egg:swift#tempauth
user_${SWIFT_USER.account}_${SWIFT_USER.user} = ${SWIFT_USER.key} .admin

[filter:s3api]
use = egg:swift#s3api

[filter:cache]
use = egg:swift#memcache
memcache_servers = 127.0.0.1:${memcachePort}

${filters.map(([name, egg]) => `[filter:${name}]\nuse = egg:swift#${egg}\n`).join("\n")}`;
}

/** Starts the cluster; rejects if Swift is not installed or does not come up. */
export async function startSwift(): Promise<SwiftServer> {
  const dir = await Deno.makeTempDir({ prefix: "swift-" });
  const children: Deno.ChildProcess[] = [];
  const stop = async () => {
    for (const c of children) {
      try {
        Deno.kill(c.pid, "SIGKILL");
      } catch {
        // Already gone.
      }
      await c.status;
    }
    await Deno.remove(dir, { recursive: true });
  };
  try {
    await Deno.mkdir(`${dir}/devices/sdb1`, { recursive: true });
    await Deno.mkdir(`${dir}/swift`, { recursive: true });
    const ports = { account: freePort(), container: freePort(), object: freePort() };
    // One Python process builds the three one-device rings (swift-ring-builder would take
    // nine, each slow to start).
    const script = Object.entries(ports).map(([ring, port]) =>
      `b = RingBuilder(6, 1, 1)\n` +
      `b.add_dev({"region": 1, "zone": 1, "ip": "127.0.0.1", "port": ${port}, ` +
      `"device": "sdb1", "weight": 100})\n` +
      `b.rebalance()\n` +
      `b.get_ring().save("${dir}/swift/${ring}.ring.gz")\n`
    ).join("");
    await run("/usr/bin/python3", ["-c", `from swift.common.ring import RingBuilder\n${script}`]);
    for (const [ring, port] of Object.entries(ports)) {
      await Deno.writeTextFile(`${dir}/${ring}-server.conf`, serverConf(dir, port, ring));
    }
    const memcachePort = freePort();
    const proxyPort = freePort();
    await Deno.writeTextFile(`${dir}/proxy-server.conf`, proxyConf(dir, proxyPort, memcachePort));
    const spawn = (cmd: string, args: string[]) =>
      children.push(
        new Deno.Command(cmd, { args, stdin: "null", stdout: "null", stderr: "null" }).spawn(),
      );
    spawn("/usr/bin/memcached", [
      "-l",
      "127.0.0.1",
      "-p",
      String(memcachePort),
      "-U",
      "0",
      "-u",
      "nobody",
    ]);
    for (const ring of Object.keys(ports)) {
      spawn(`/usr/bin/swift-${ring}-server`, [`${dir}/${ring}-server.conf`]);
    }
    spawn("/usr/bin/swift-proxy-server", [`${dir}/proxy-server.conf`]);
    const url = `http://127.0.0.1:${proxyPort}`;
    for (const port of [...Object.values(ports), memcachePort]) {
      await waitFor(`port ${port}`, async () => {
        const c = await Deno.connect({ hostname: "127.0.0.1", port });
        c.close();
        return true;
      }, 120_000);
    }
    await waitFor("swift proxy", async () => {
      const r = await fetch(`${url}/healthcheck`);
      await r.body?.cancel();
      return r.ok;
    }, 120_000);
    return { url, port: proxyPort, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
