/**
 * Builds `blocks/` (real TSDB blocks with native histogram chunks, written by a Prometheus
 * 2.42 server) and `expected.json` (the same samples as that server's HTTP API returns them).
 *
 * A local target on 127.0.0.1 serves protobuf exposition (delimited `MetricFamily`) with
 * integer native histograms: a counter histogram whose layout grows and which resets, one that
 * disappears (a stale marker follows), and a gauge histogram. Prometheus scrapes it every
 * second with hidden 1-minute block durations so blocks are cut within minutes.
 *
 * Run from this directory: `deno run -A gen.ts` (needs `prometheus` on PATH; takes ~4 minutes).
 *
 * @module
 */

const PROM_PORT = 19000 + Math.floor(Math.random() * 900);
const here = new URL(".", import.meta.url).pathname;

// --- Minimal protobuf writer -------------------------------------------------------------
class Pb {
  bytes: number[] = [];
  varint(v: number | bigint): this {
    let x = BigInt.asUintN(64, BigInt(v));
    while (x >= 0x80n) {
      this.bytes.push(Number(x & 0x7fn) | 0x80);
      x >>= 7n;
    }
    this.bytes.push(Number(x));
    return this;
  }
  tag(field: number, wire: number): this {
    return this.varint((field << 3) | wire);
  }
  uint(field: number, v: number): this {
    return this.tag(field, 0).varint(v);
  }
  sint(field: number, v: number): this {
    const x = BigInt(v);
    return this.tag(field, 0).varint((x << 1n) ^ (x >> 63n));
  }
  double(field: number, v: number): this {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, v, true);
    this.tag(field, 1);
    this.bytes.push(...b);
    return this;
  }
  bytesField(field: number, b: number[]): this {
    this.tag(field, 2).varint(b.length);
    this.bytes.push(...b);
    return this;
  }
  str(field: number, s: string): this {
    return this.bytesField(field, [...new TextEncoder().encode(s)]);
  }
  msg(field: number, m: Pb): this {
    return this.bytesField(field, m.bytes);
  }
}

interface Span {
  offset: number;
  length: number;
}

function histogram(
  schema: number,
  zeroThreshold: number,
  zeroCount: number,
  sum: number,
  pos: [Span[], number[]],
  neg: [Span[], number[]],
): Pb {
  const count = zeroCount + pos[1].reduce((a, b) => a + b, 0) + neg[1].reduce((a, b) => a + b, 0);
  const h = new Pb().uint(1, count).double(2, sum).sint(5, schema).double(6, zeroThreshold)
    .uint(7, zeroCount);
  const side = (spanField: number, deltaField: number, [spans, abs]: [Span[], number[]]) => {
    for (const s of spans) h.msg(spanField, new Pb().sint(1, s.offset).uint(2, s.length));
    abs.forEach((v, i) => h.sint(deltaField, i === 0 ? v : v - abs[i - 1]));
  };
  side(9, 10, neg);
  side(12, 13, pos);
  return h;
}

function family(name: string, type: number, metrics: [Record<string, string>, Pb][]): number[] {
  const f = new Pb().str(1, name).str(2, "fixture").uint(3, type);
  for (const [labels, h] of metrics) {
    const m = new Pb();
    for (const [k, v] of Object.entries(labels)) m.msg(1, new Pb().str(1, k).str(2, v));
    m.msg(7, h);
    f.msg(4, m);
  }
  const out = new Pb().varint(f.bytes.length);
  out.bytes.push(...f.bytes);
  return out.bytes;
}

// --- The target ----------------------------------------------------------------------------
let scrape = 0;
function exposition(): Uint8Array<ArrayBuffer> {
  const n = scrape++;
  // Counter histogram: resets at scrape 90; two more buckets appear from scrape 40 on.
  const m = n < 90 ? n : n - 90;
  const wide = n >= 40;
  const posSpans: Span[] = wide ? [{ offset: 0, length: 3 }, { offset: 2, length: 2 }] : [
    { offset: 0, length: 3 },
  ];
  const posAbs = Array.from({ length: wide ? 5 : 3 }, (_, k) => m * (k + 1) + Math.floor(m / 5) * k);
  const a = histogram(0, 0.001, m, m * 0.75, [posSpans, posAbs], [[{ offset: -1, length: 1 }], [m]]);
  const metrics: [Record<string, string>, Pb][] = [[{ path: "/a" }, a]];
  if (n < 50) {
    const b = histogram(1, 0, 2 * n, n * 1.5 + 0.25, [[{ offset: -2, length: 2 }], [n, 3 * n]], [[], []]);
    metrics.push([{ path: "/b" }, b]);
  }
  // Gauge histogram: counts go up and down.
  const g = histogram(
    -1,
    0.5,
    n % 4,
    (n % 9) * 2.5,
    [[{ offset: 1, length: 3 }], [0, 1, 2].map((k) => 5 + ((n + k * 3) % 7))],
    [[], []],
  );
  return Uint8Array.from([
    ...family("fixture_latency_seconds", 4, metrics),
    ...family("fixture_queue_size", 5, [[{ q: "x" }, g]]),
  ]);
}

const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, () =>
  new Response(exposition(), {
    headers: {
      "content-type":
        "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited",
    },
  }));
const target = `127.0.0.1:${server.addr.port}`;

// --- Prometheus ----------------------------------------------------------------------------
const work = await Deno.makeTempDir({ prefix: "nh-fixture-" });
await Deno.writeTextFile(
  `${work}/prometheus.yml`,
  `global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: fixture\n    static_configs:\n      - targets: ["${target}"]\n`,
);
const prom = new Deno.Command("prometheus", {
  args: [
    `--config.file=${work}/prometheus.yml`,
    `--storage.tsdb.path=${work}/data`,
    `--web.listen-address=127.0.0.1:${PROM_PORT}`,
    "--storage.tsdb.min-block-duration=1m",
    "--storage.tsdb.max-block-duration=1m",
    "--storage.tsdb.retention.time=100y",
    "--enable-feature=native-histograms",
  ],
  stdout: "null",
  stderr: "null",
}).spawn();

async function blockDirs(): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(`${work}/data`)) {
    if (!e.isDirectory || !/^[0-9A-Z]{26}$/.test(e.name)) continue;
    try {
      await Deno.stat(`${work}/data/${e.name}/meta.json`);
      out.push(e.name);
    } catch { /* still being written */ }
  }
  return out.sort();
}

try {
  const deadline = Date.now() + 8 * 60_000;
  // Three blocks: the series that disappears at scrape 50 and its stale marker are in them.
  while ((await blockDirs().catch(() => [])).length < 3) {
    if (Date.now() > deadline) throw new Error("no blocks after 8 minutes");
    await new Promise((r) => setTimeout(r, 5000));
  }
  const expected: Record<string, unknown> = {};
  for (const sel of ['fixture_latency_seconds{path="/a"}', 'fixture_latency_seconds{path="/b"}', "fixture_queue_size"]) {
    const url = `http://127.0.0.1:${PROM_PORT}/api/v1/query?query=${encodeURIComponent(`${sel}[1h]`)}`;
    expected[sel] = await (await fetch(url)).json();
  }
  await Deno.remove(`${here}blocks`, { recursive: true }).catch(() => {});
  for (const b of await blockDirs()) {
    await Deno.mkdir(`${here}blocks/${b}/chunks`, { recursive: true });
    for (const f of ["meta.json", "index", "tombstones", "chunks/000001"]) {
      await Deno.copyFile(`${work}/data/${b}/${f}`, `${here}blocks/${b}/${f}`);
    }
  }
  await Deno.writeTextFile(`${here}expected.json`, JSON.stringify(expected) + "\n");
  console.log(`wrote ${(await blockDirs()).length} blocks and expected.json`);
} finally {
  prom.kill("SIGTERM");
  await prom.status;
  await server.shutdown();
  await Deno.remove(work, { recursive: true });
}
