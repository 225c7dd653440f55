/**
 * Conversion speed and peak memory at scale: generates N series x one UTC day of TSDB blocks
 * (node-exporter and HTTP-service shaped label sets, scrapes every 15, 30 or 60 s with a few
 * hundred ms of jitter, twelve 2h blocks like Prometheus writes, or two 12h blocks like a Thanos
 * compaction level) into a FILESYSTEM bucket, then runs `convert --convert.once` as a child
 * process pinned to one core (`taskset -c 0`) under `/usr/bin/time -v`, and prints N, samples,
 * wall seconds, samples/s, CPU seconds and samples per CPU second (the core may be shared),
 * peak RSS and the Parquet bytes written.
 *
 * Generation streams series to the block writer in label order (only the label keys of all
 * series and one block's postings are held), so 1M series fit in a few hundred MB here.
 *
 * Run: `deno run -A bench/convert_scale_bench.ts [--block-hours=2|12] [--cache=DIR] N...`
 * (default N: 10000 100000); `--cache` keeps the generated blocks in `DIR/<N>-<h>h` for the
 * next run. Extra `--convert.*` flags after `--` go to the converter.
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import { compareStrings, type Label, type Labels } from "../model/labels.ts";
import { BlockWriter, type ChunkToWrite } from "../storage/tsdb/writer.ts";
import { Encoding } from "../storage/tsdb/chunks_reader.ts";
import { XorChunkEncoder } from "../storage/tsdb/xor.ts";
import { gatewayV8Flags } from "../tests/gateway_process.ts";

const MAIN = fileURLToPath(new URL("../cli/main.ts", import.meta.url));
const H = 3_600_000;
const DAY_START = Date.UTC(2025, 0, 10);
const DAY_END = DAY_START + 24 * H;
/** Jitter of a scrape around its slot, ms (either side). */
const JITTER = 250;

/** A 32-bit integer hash of two integers (deterministic data without a PRNG state). */
function mix(a: number, b: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(b + 0x7f4a7c15, 0xc2b2ae35);
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  h ^= h >>> 12;
  return h >>> 0;
}

const CPU_MODES = ["idle", "iowait", "irq", "nice", "softirq", "steal", "system", "user"];
const MEMORY = [
  "Active",
  "Buffers",
  "Cached",
  "Committed_AS",
  "Dirty",
  "Inactive",
  "Mapped",
  "MemAvailable",
  "MemFree",
  "MemTotal",
  "PageTables",
  "SReclaimable",
  "Shmem",
  "Slab",
  "SwapFree",
];
const HANDLERS = ["/api/v1/orders", "/api/v1/users", "/healthz", "/login", "/metrics"];
const BUCKETS = ["0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "+Inf"];

/** The series of one scrape target as label records (`counter` tells the value shape). */
function targetSeries(t: number): { labels: Record<string, string>; counter: boolean }[] {
  const out: { labels: Record<string, string>; counter: boolean }[] = [];
  if (t % 3 === 0) {
    const base = {
      job: "node",
      instance: `10.${(t >> 16) & 255}.${(t >> 8) & 255}.${t & 255}:9100`,
      cluster: `c${t % 7}`,
    };
    for (let cpu = 0; cpu < 4; cpu++) {
      for (const mode of CPU_MODES) {
        out.push({
          labels: { ...base, __name__: "node_cpu_seconds_total", cpu: String(cpu), mode },
          counter: true,
        });
      }
    }
    for (const [device, mountpoint] of [["sda1", "/"], ["sdb1", "/data"], ["tmpfs", "/run"]]) {
      const fs = { ...base, device, mountpoint, fstype: device === "tmpfs" ? "tmpfs" : "ext4" };
      out.push({ labels: { ...fs, __name__: "node_filesystem_avail_bytes" }, counter: false });
      out.push({ labels: { ...fs, __name__: "node_filesystem_size_bytes" }, counter: false });
    }
    for (const device of ["eth0", "eth1", "lo"]) {
      for (const m of ["receive_bytes", "transmit_bytes", "receive_packets", "transmit_packets"]) {
        out.push({
          labels: { ...base, __name__: `node_network_${m}_total`, device },
          counter: true,
        });
      }
    }
    for (const m of MEMORY) {
      out.push({ labels: { ...base, __name__: `node_memory_${m}_bytes` }, counter: false });
    }
    for (const l of ["node_load1", "node_load5", "node_load15"]) {
      out.push({ labels: { ...base, __name__: l }, counter: false });
    }
  } else {
    const service = `svc-${t % 40}`;
    const base = {
      job: service,
      namespace: `ns-${t % 11}`,
      pod: `${service}-${(mix(t, 1) % 0xffffff).toString(16)}`,
      instance: `10.${(t >> 16) & 255}.${(t >> 8) & 255}.${t & 255}:8080`,
    };
    for (const method of ["GET", "POST"]) {
      for (const handler of HANDLERS) {
        for (const code of ["200", "404", "500"]) {
          out.push({
            labels: { ...base, __name__: "http_requests_total", method, handler, code },
            counter: true,
          });
        }
        for (const le of BUCKETS) {
          out.push({
            labels: {
              ...base,
              __name__: "http_request_duration_seconds_bucket",
              method,
              handler,
              le,
            },
            counter: true,
          });
        }
        for (const s of ["sum", "count"]) {
          out.push({
            labels: { ...base, __name__: `http_request_duration_seconds_${s}`, method, handler },
            counter: true,
          });
        }
      }
    }
    for (const q of ["0", "0.25", "0.5", "0.75", "1"]) {
      out.push({
        labels: { ...base, __name__: "go_gc_duration_seconds", quantile: q },
        counter: false,
      });
    }
    out.push({ labels: { ...base, __name__: "go_goroutines" }, counter: false });
    out.push({ labels: { ...base, __name__: "process_cpu_seconds_total" }, counter: true });
    out.push({ labels: { ...base, __name__: "process_resident_memory_bytes" }, counter: false });
  }
  return out;
}

/** A series as one string: name, 0, value, 0, ... in name order (its order is label order). */
function keyOf(labels: Record<string, string>): string {
  let k = "";
  for (const n of Object.keys(labels).sort(compareStrings)) {
    k += n + "\u0000" + labels[n] + "\u0000";
  }
  return k;
}

function labelsOfKey(key: string): Labels {
  const parts = key.split("\u0000");
  const out: Label[] = [];
  for (let i = 0; i + 1 < parts.length; i += 2) out.push({ name: parts[i], value: parts[i + 1] });
  return out;
}

/** Per-series scrape shape, derived from its number. */
interface Shape {
  interval: number;
  phase: number;
  counter: boolean;
  rate: number;
}

function shapeOf(id: number, counter: boolean): Shape {
  const r = mix(id, 7);
  // Half the targets every 60 s, 30% every 30 s, 20% every 15 s.
  const interval = r % 10 < 5 ? 60_000 : r % 10 < 8 ? 30_000 : 15_000;
  return {
    interval,
    phase: JITTER + (mix(id, 3) % (interval - 2 * JITTER)),
    counter,
    rate: 2 + (r >>> 8) % 50,
  };
}

const encoder = new XorChunkEncoder();

/** The chunks of a series in `[from, to)`: at most 120 samples each, cut at the block end. */
function seriesChunks(id: number, s: Shape, from: number, to: number): ChunkToWrite[] {
  const out: ChunkToWrite[] = [];
  const first = Math.max(0, Math.ceil((from - DAY_START - s.phase - JITTER) / s.interval));
  let n = 0, minTime = 0, maxTime = 0;
  let enc = encoder;
  for (let k = first;; k++) {
    const slot = DAY_START + s.phase + k * s.interval;
    if (slot - JITTER >= to) break;
    const t = slot + (mix(id, k) % (2 * JITTER)) - JITTER;
    if (t < from || t >= to) continue;
    const v = s.counter ? k * s.rate + (mix(k, id) % s.rate) : 1000 + (mix(k, id) % 500);
    if (n === 0) {
      enc = new XorChunkEncoder();
      minTime = t;
    }
    enc.append(t, v);
    maxTime = t;
    if (++n === 120) {
      out.push({ encoding: Encoding.XOR, data: enc.bytes(), minTime, maxTime });
      n = 0;
    }
  }
  if (n > 0) out.push({ encoding: Encoding.XOR, data: enc.bytes(), minTime, maxTime });
  return out;
}

/** Writes N series x one day into `dir` as blocks of `blockHours`; returns the sample count. */
async function generate(dir: string, n: number, blockHours: number): Promise<number> {
  const keys: string[] = [];
  const counters: boolean[] = [];
  const symbols = new Set<string>();
  for (let t = 0; keys.length < n; t++) {
    for (const s of targetSeries(t)) {
      if (keys.length === n) break;
      keys.push(keyOf(s.labels));
      counters.push(s.counter);
      for (const [k, v] of Object.entries(s.labels)) symbols.add(k).add(v);
    }
  }
  const order = Array.from(keys.keys()).sort((a, b) => compareStrings(keys[a], keys[b]));
  const shapes = keys.map((_, i) => shapeOf(i, counters[i]));
  let samples = 0;
  for (let from = DAY_START; from < DAY_END; from += blockHours * H) {
    const to = from + blockHours * H;
    const w = await BlockWriter.create(dir, symbols, {
      range: { minTime: from, maxTime: to },
      level: blockHours > 2 ? 3 : 1,
      thanos: {
        version: 1,
        labels: {},
        downsample: { resolution: 0 },
        source: "compactor",
        segmentFiles: [],
        files: [],
      },
    });
    for (const id of order) {
      const chunks = seriesChunks(id, shapes[id], from, to);
      for (const c of chunks) samples += (c.data[0] << 8) | c.data[1];
      await w.addSeries({ labels: labelsOfKey(keys[id]), chunks });
    }
    await w.finish();
  }
  return samples;
}

async function du(dir: string): Promise<number> {
  let total = 0;
  for await (const e of Deno.readDir(dir)) {
    const p = `${dir}/${e.name}`;
    if (e.isDirectory) total += await du(p);
    else if (e.isFile) total += (await Deno.stat(p)).size;
  }
  return total;
}

interface Row {
  n: number;
  samples: number;
  seconds: number;
  /** User plus system CPU time: the core may be shared with other processes. */
  cpuSeconds: number;
  peakRss: number;
  outputBytes: number;
  generateSeconds: number;
}

/** Generates the blocks into `dir`, or reuses them when `dir` holds a finished generation. */
async function cachedGenerate(dir: string, n: number, blockHours: number): Promise<number> {
  try {
    return Number(await Deno.readTextFile(`${dir}/samples`));
  } catch {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    const samples = await generate(`${dir}/tsdb`, n, blockHours);
    await Deno.writeTextFile(`${dir}/samples`, String(samples));
    return samples;
  }
}

async function run(
  n: number,
  blockHours: number,
  cache: string | undefined,
  extra: string[],
): Promise<Row> {
  const root = await Deno.makeTempDir({ prefix: "convert-scale-" });
  const data = cache ? `${cache}/${n}-${blockHours}h` : root;
  try {
    const g0 = performance.now();
    const samples = await cachedGenerate(data, n, blockHours);
    const generateSeconds = (performance.now() - g0) / 1000;
    const out = await new Deno.Command("taskset", {
      args: [
        "-c",
        "0",
        "/usr/bin/time",
        "-v",
        Deno.execPath(),
        "run",
        ...gatewayV8Flags(),
        "-A",
        MAIN,
        "convert",
        "--convert.once",
        "--convert.grace-period=1h",
        `--tsdb.objstore.config=type: FILESYSTEM\nconfig: {directory: ${data}/tsdb}`,
        `--parquet.objstore.config=type: FILESYSTEM\nconfig: {directory: ${root}/parquet}`,
        "--http.internal.port=0",
        `--convert.tempdir=${root}/tmp`,
        "--log.level=warn",
        ...extra,
      ],
      stdout: "null",
      stderr: "piped",
    }).output();
    const err = new TextDecoder().decode(out.stderr);
    if (!out.success) throw new Error(err);
    const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(err);
    const wall = /Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)/
      .exec(err);
    const user = /User time \(seconds\): ([\d.]+)/.exec(err);
    const sys = /System time \(seconds\): ([\d.]+)/.exec(err);
    if (!rss || !wall || !user || !sys) throw new Error(`no /usr/bin/time -v output:\n${err}`);
    const seconds = Number(wall[1] ?? 0) * 3600 + Number(wall[2]) * 60 + Number(wall[3]);
    return {
      n,
      samples,
      seconds,
      cpuSeconds: Number(user[1]) + Number(sys[1]),
      peakRss: Number(rss[1]) * 1024,
      outputBytes: await du(`${root}/parquet`),
      generateSeconds,
    };
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

if (import.meta.main) {
  const dash = Deno.args.indexOf("--");
  const own = dash < 0 ? Deno.args : Deno.args.slice(0, dash);
  const extra = dash < 0 ? [] : Deno.args.slice(dash + 1);
  const blockHours = Number(own.find((a) => a.startsWith("--block-hours="))?.split("=")[1] ?? 2);
  if (![1, 2, 3, 4, 6, 8, 12, 24].includes(blockHours)) throw new Error("--block-hours divides 24");
  const cache = own.find((a) => a.startsWith("--cache="))?.slice("--cache=".length);
  const counts = own.filter((a) => !a.startsWith("--")).map(Number);
  const header = [
    "N",
    "samples",
    "seconds",
    "samples/s",
    "CPU s",
    "samples/CPU s",
    "peak RSS MB",
    "output MB",
    "gen s",
  ];
  console.log(header.join("\t"));
  for (const n of counts.length > 0 ? counts : [10_000, 100_000]) {
    const r = await run(n, blockHours, cache, extra);
    console.log([
      r.n,
      r.samples,
      r.seconds.toFixed(1),
      `${(r.samples / r.seconds / 1e6).toFixed(2)}M`,
      r.cpuSeconds.toFixed(1),
      `${(r.samples / r.cpuSeconds / 1e6).toFixed(2)}M`,
      (r.peakRss / 2 ** 20).toFixed(0),
      (r.outputBytes / 2 ** 20).toFixed(1),
      r.generateSeconds.toFixed(0),
    ].join("\t"));
  }
  console.log(
    `\n${blockHours}h blocks; wall time, CPU time (user + system) and peak RSS of the whole ` +
      "convert process (start-up, discovery, block download from the bucket, conversion, " +
      "upload), pinned to one core.",
  );
}
