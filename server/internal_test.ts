import assert from "node:assert/strict";
import { Counter, Registry } from "prom-client";
import { NOP_LOGGER } from "../internal/log.ts";
import { startInternalServer } from "./internal.ts";

Deno.test("internal server: metrics, health, readiness, 404", async () => {
  const registry = new Registry();
  new Counter({ name: "test_things_total", help: "things", registers: [registry] }).inc(3);
  const server = startInternalServer({
    port: 0,
    hostname: "127.0.0.1",
    registry,
    logger: NOP_LOGGER,
  });
  const base = `http://127.0.0.1:${server.port}`;
  try {
    let res = await fetch(`${base}/-/ready`);
    assert.equal(res.status, 503);
    assert.match(await res.text(), /not ready: starting/);
    server.setReady(true);
    res = await fetch(`${base}/-/ready`);
    assert.equal(res.status, 200);
    await res.body?.cancel();
    res = await fetch(`${base}/-/healthy`);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), "OK\n");
    res = await fetch(`${base}/metrics`);
    assert.match(res.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
    assert.match(await res.text(), /^test_things_total 3$/m);
    res = await fetch(`${base}/nope`);
    assert.equal(res.status, 404);
    await res.body?.cancel();
    server.setReady(false, "shutting down");
    res = await fetch(`${base}/-/ready`);
    assert.equal(res.status, 503);
    assert.match(await res.text(), /shutting down/);
  } finally {
    await server.shutdown(1000);
  }
});

/** CPU work under a name the profile must show. */
function burnCpuForProfileTest(ms: number): number {
  let x = 0;
  const end = performance.now() + ms;
  while (performance.now() < end) x += Math.sqrt(x + 1);
  return x;
}

function startServer() {
  return startInternalServer({
    port: 0,
    hostname: "127.0.0.1",
    registry: new Registry(),
    logger: NOP_LOGGER,
  });
}

Deno.test("internal server: a CPU profile of the requested seconds shows the work done meanwhile", async () => {
  const server = startServer();
  const base = `http://127.0.0.1:${server.port}/debug/pprof/profile`;
  try {
    const started = performance.now();
    const pending = fetch(`${base}?seconds=1`);
    // A second profile while the first runs is refused.
    await new Promise((r) => setTimeout(r, 50));
    const busy = await fetch(`${base}?seconds=1`);
    assert.equal(busy.status, 409);
    await busy.body?.cancel();
    while (performance.now() - started < 1200) {
      burnCpuForProfileTest(20);
      await new Promise((r) => setTimeout(r, 0));
    }
    const res = await pending;
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-disposition") ?? "", /\.cpuprofile"/);
    const profile = await res.json();
    const seconds = (profile.endTime - profile.startTime) / 1e6;
    assert.ok(seconds >= 0.95 && seconds < 3, `${seconds}s`);
    assert.equal(profile.samples.length, profile.timeDeltas.length);
    assert.ok(profile.samples.length > 100, `${profile.samples.length} samples`);
    const ids = new Set(profile.nodes.map((n: { id: number }) => n.id));
    assert.ok(profile.samples.every((id: number) => ids.has(id)));
    // Samples land in the function or what it calls (performance.now's op).
    const parent = new Map<number, number>();
    const name = new Map<number, string>();
    for (const n of profile.nodes) {
      name.set(n.id, n.callFrame.functionName);
      for (const c of n.children ?? []) parent.set(c, n.id);
    }
    const inBurn = (id: number | undefined): boolean =>
      id !== undefined && (name.get(id) === "burnCpuForProfileTest" || inBurn(parent.get(id)));
    const burnSamples = profile.samples.filter(inBurn).length;
    // About a second of busy work: most samples land in it.
    assert.ok(
      burnSamples > profile.samples.length / 3,
      `${burnSamples} of ${profile.samples.length}`,
    );
    // Once done, another profile may start.
    const again = await fetch(`${base}?seconds=1`);
    assert.equal(again.status, 200);
    assert.ok((await again.json()).samples.length > 0);
  } finally {
    await server.shutdown(1000);
  }
});

Deno.test("internal server: CPU profile seconds are checked, and shutdown ends a profile early", async () => {
  const server = startServer();
  const base = `http://127.0.0.1:${server.port}/debug/pprof/profile`;
  let stopped = false;
  try {
    for (const bad of ["0", "301", "1.5", "x", "-1"]) {
      const res = await fetch(`${base}?seconds=${bad}`);
      assert.equal(res.status, 400, bad);
      assert.match(await res.text(), /from 1 to 300/);
    }
    const pending = fetch(`${base}?seconds=300`);
    await new Promise((r) => setTimeout(r, 200));
    const started = performance.now();
    const shutdown = server.shutdown(10_000);
    const res = await pending;
    assert.equal(res.status, 200);
    const profile = await res.json();
    assert.ok((profile.endTime - profile.startTime) / 1e6 < 5);
    await shutdown;
    stopped = true;
    assert.ok(performance.now() - started < 5000);
  } finally {
    if (!stopped) await server.shutdown(1000);
  }
});

class HeapSnapshotTestMarker {}

Deno.test("internal server: a heap snapshot holds what the process keeps", async () => {
  const server = startServer();
  const kept = Array.from({ length: 3 }, () => new HeapSnapshotTestMarker());
  try {
    const res = await fetch(`http://127.0.0.1:${server.port}/debug/pprof/heap`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-disposition") ?? "", /\.heapsnapshot"/);
    const snapshot = await res.json();
    const { meta, node_count: nodeCount } = snapshot.snapshot;
    assert.ok(nodeCount > 1000);
    assert.equal(snapshot.nodes.length, nodeCount * meta.node_fields.length);
    // Node fields are [type, name, ...]: count the objects of the marker class.
    const fields = meta.node_fields.length;
    const objectType = meta.node_types[0].indexOf("object");
    let markers = 0;
    for (let i = 0; i < snapshot.nodes.length; i += fields) {
      const [type, name] = [snapshot.nodes[i], snapshot.nodes[i + 1]];
      if (type === objectType && snapshot.strings[name] === "HeapSnapshotTestMarker") markers++;
    }
    assert.equal(markers, kept.length);
    // A client leaving mid-snapshot leaves the server able to take the next one.
    const left = await fetch(`http://127.0.0.1:${server.port}/debug/pprof/heap`);
    const reader = left.body!.getReader();
    await reader.read();
    await reader.cancel();
    let next = await fetch(`http://127.0.0.1:${server.port}/debug/pprof/heap`);
    for (let i = 0; i < 50 && next.status === 409; i++) {
      await next.body?.cancel();
      await new Promise((r) => setTimeout(r, 100));
      next = await fetch(`http://127.0.0.1:${server.port}/debug/pprof/heap`);
    }
    assert.equal(next.status, 200);
    assert.ok((await next.json()).snapshot.node_count > 1000);
  } finally {
    await server.shutdown(1000);
  }
});

Deno.test("internal server: without --allow-sys profiling answers 501", async () => {
  const dir = await Deno.makeTempDir({ prefix: "internal-server-" });
  const script = `${dir}/serve.ts`;
  await Deno.writeTextFile(
    script,
    `import { Registry } from "prom-client";
import { NOP_LOGGER } from ${JSON.stringify(new URL("../internal/log.ts", import.meta.url).href)};
import { startInternalServer } from ${
      JSON.stringify(new URL("./internal.ts", import.meta.url).href)
    };
const server = startInternalServer({ port: 0, hostname: "127.0.0.1", registry: new Registry(), logger: NOP_LOGGER });
const out = [];
for (const path of ["profile?seconds=1", "heap"]) {
  const res = await fetch("http://127.0.0.1:" + server.port + "/debug/pprof/" + path);
  out.push(res.status + " " + (await res.text()).trim());
}
await server.shutdown(1000);
console.log(JSON.stringify(out));
`,
  );
  try {
    const config = new URL("../deno.json", import.meta.url).pathname;
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--no-prompt",
        "--config",
        config,
        "--allow-net=127.0.0.1",
        "--allow-read",
        "--allow-env",
        script,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(code, 0, new TextDecoder().decode(stderr));
    const got: string[] = JSON.parse(new TextDecoder().decode(stdout));
    assert.equal(got.length, 2);
    for (const line of got) assert.match(line, /^501 .*--allow-sys/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
