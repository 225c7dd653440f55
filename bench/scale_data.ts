/**
 * Synthetic scrape data for `scale_bench.ts`: hosts running a node exporter (job `node`, port
 * 9100, 55 series) and an HTTP service (job `app`, port 8080, 45 series), 100 series per host,
 * over one UTC day, written as twelve 2h TSDB blocks.
 *
 * Memory grows with the number of series, not samples: each series' values are computed from
 * its own last value and noise hashed from (series, scrape number), so series can be generated
 * one at a time in label order, block after block, and streamed to the {@linkcode BlockWriter}
 * (which keeps labels and chunk times until it writes the index). Between blocks only one float
 * per series is kept. Histogram buckets of a handler share its request count per scrape, so they
 * stay cumulative.
 *
 * Every target has a scrape interval of 15, 30 or 60 s, its own phase, and a jitter of up to
 * ±300 ms per scrape that all its series share, as a real scrape would; no sample lands on a
 * whole second, so queries at whole seconds select the same samples under Prometheus 2.42's
 * closed and 3.x's left-open range boundaries. Every seventh service restarts once during the
 * day (its counters reset).
 *
 * @module
 */
import { compareLabels, type Label, type Labels, labelsFromRecord } from "../model/labels.ts";
import { BlockWriter, xorChunks } from "../storage/tsdb/writer.ts";

/** Series of one host: {@linkcode NODE_SERIES} of its node exporter, the rest its service's. */
export const SERIES_PER_HOST = 100;
/** Series of one node exporter. */
export const NODE_SERIES = 55;
/** Length of one generated block (ms): Prometheus' head block length. */
export const BLOCK_MS = 2 * 3_600_000;
/** Length of the generated data (ms): one UTC day. */
export const DAY_MS = 86_400_000;

const CPU_MODES = ["idle", "iowait", "irq", "nice", "softirq", "steal", "system", "user"];
/** Typical share of CPU time per mode (of {@linkcode CPU_MODES}). */
const CPU_SHARE = [0.82, 0.01, 0.002, 0.001, 0.005, 0.002, 0.05, 0.11];
const CPUS = 4;
const DEVICES = ["eth0", "lo"];
const HANDLERS = ["/api/orders", "/api/users", "/healthz"];
const METHODS = ["GET", "POST"];
const CODES = ["200", "500"];
/** Upper bounds of `http_request_duration_seconds_bucket`. */
export const LE = ["0.005", "0.01", "0.05", "0.1", "0.5", "1", "5", "+Inf"];
const INTERVALS_S = [15, 30, 60];
const JITTER_MS = 300;

/** The `instance` label of a host's node exporter. */
export function nodeInstance(host: number): string {
  return `host-${String(host).padStart(5, "0")}:9100`;
}

/** The `instance` label of a host's HTTP service. */
export function appInstance(host: number): string {
  return `host-${String(host).padStart(5, "0")}:8080`;
}

/** A 32-bit integer hash of two integers (for deterministic per-target and per-scrape noise). */
function hash2(a: number, b: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(b + 0x6b43a9b5, 0xc2b2ae35);
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b);
  return (h ^ (h >>> 16)) >>> 0;
}

/** A float in [0, 1) from two integers. */
function noise(a: number, b: number): number {
  return hash2(a, b) / 4294967296;
}

/** One scrape target: a host's node exporter (kind 0) or HTTP service (kind 1). */
interface Target {
  host: number;
  kind: 0 | 1;
  /** Index of the target's first series in the value state. */
  firstSeries: number;
  intervalMs: number;
  /** Offset of its scrapes from the day's start, ms. */
  phaseMs: number;
  /** The hour its service restarts, or -1. */
  restartHour: number;
}

function targetsOf(hosts: number): Target[] {
  const out: Target[] = [];
  for (let host = 0; host < hosts; host++) {
    for (const kind of [0, 1] as const) {
      const id = 2 * host + kind;
      const intervalMs = INTERVALS_S[(host + kind) % INTERVALS_S.length] * 1000;
      out.push({
        host,
        kind,
        firstSeries: host * SERIES_PER_HOST + (kind === 0 ? 0 : NODE_SERIES),
        intervalMs,
        phaseMs: hash2(id, -1) % intervalMs,
        restartHour: kind === 1 && host % 7 === 3 ? 1 + (host % 22) : -1,
      });
    }
  }
  return out;
}

/** The target's scrapes in `[from, to)`: phase + k·interval + jitter, never on a whole second. */
function scrapeTimes(t: Target, dayStart: number, from: number, to: number): Scrapes {
  const first = Math.max(0, Math.ceil((from - dayStart - t.phaseMs - JITTER_MS) / t.intervalMs));
  const out: number[] = [];
  let firstK = -1;
  for (let k = first;; k++) {
    const base = dayStart + t.phaseMs + k * t.intervalMs;
    if (base - JITTER_MS >= to) break;
    let ts = base + (hash2(2 * t.host + t.kind, k) % (2 * JITTER_MS + 1)) - JITTER_MS;
    if (ts % 1000 === 0) ts += 1;
    if (ts >= from && ts < to && ts >= dayStart && ts < dayStart + DAY_MS) {
      if (firstK < 0) firstK = k;
      out.push(ts);
    }
  }
  return { ts: Float64Array.from(out), firstK };
}

const round2 = (x: number) => Math.round(x * 100) / 100;

/** How a series' values evolve; each kind uses the spec's parameters `a` and `b` as noted. */
const enum Kind {
  /** Counter of CPU seconds: `a` is the mode's share of one CPU. */
  CpuSeconds,
  /** Constant gauge `a`. */
  Constant,
  /** Gauge `a`·(1 + 0.4·sin(day phase)) ± `b` of noise shared by the host's gauges. */
  Wave,
  /** Counter growing by up to 2·`a`·dt; `b` = 1 when the service's restarts reset it. */
  Counter,
  /** Gauge shrinking by up to 64 KiB a scrape from `a` (free disk space). */
  Shrinking,
  /** Gauge `a`·(0.5 + noise) (load average). */
  Load,
  /** `up`: 1, now and then 0. */
  Up,
  /** Histogram bucket counter: the share `a` of the handler's requests; `b` the handler. */
  Bucket,
  /** Histogram sum: the handler's requests times the mean latency `a`; `b` the handler. */
  LatencySum,
  /** Histogram count: the handler's requests; `b` the handler. */
  RequestCount,
}

/** One series: its labels, target, how its values evolve. */
interface SeriesSpec {
  labels: Labels;
  /** Index of its target. */
  target: number;
  /** Index of its value in the state (its position before sorting). */
  id: number;
  kind: Kind;
  a: number;
  b: number;
}

/** Requests per second of a handler (index into {@linkcode HANDLERS}). */
const HANDLER_RATE = [20, 12, 1];
/** Mean latency of a handler, s. */
const HANDLER_LATENCY = [0.08, 0.15, 0.002];

/** A series of a target before sorting: its labels and how its values evolve. */
type TargetSeries = { labels: Record<string, string> } & Pick<SeriesSpec, "kind" | "a" | "b">;

/** The series of one target, in the order of their ids. */
function targetSeries(t: Target): TargetSeries[] {
  const out: TargetSeries[] = [];
  const add = (labels: Record<string, string>, kind: Kind, a = 0, b = 0) => {
    out.push({ labels, kind, a, b });
  };
  const scale = 1 + (t.host % 10) / 10;
  if (t.kind === 0) {
    const base = { job: "node", instance: nodeInstance(t.host) };
    for (let cpu = 0; cpu < CPUS; cpu++) {
      CPU_MODES.forEach((mode, m) => {
        add(
          { __name__: "node_cpu_seconds_total", ...base, cpu: String(cpu), mode },
          Kind.CpuSeconds,
          CPU_SHARE[m] * scale / 1.5,
        );
      });
    }
    const total = 16 * 2 ** 30 * scale;
    add({ __name__: "node_memory_MemTotal_bytes", ...base }, Kind.Constant, total);
    add({ __name__: "node_memory_MemFree_bytes", ...base }, Kind.Wave, total * 0.3, 2 ** 24);
    add({ __name__: "node_memory_MemAvailable_bytes", ...base }, Kind.Wave, total * 0.4, 2 ** 24);
    add({ __name__: "node_memory_Buffers_bytes", ...base }, Kind.Constant, total * 0.02);
    add({ __name__: "node_memory_Cached_bytes", ...base }, Kind.Wave, total * 0.2, 2 ** 20);
    for (const dir of ["receive", "transmit"]) {
      for (const unit of ["bytes", "packets"]) {
        for (const device of DEVICES) {
          const rate = (unit === "bytes" ? 1e6 : 1e3) * (device === "lo" ? 0.01 : 1);
          add(
            { __name__: `node_network_${dir}_${unit}_total`, ...base, device },
            Kind.Counter,
            rate,
          );
        }
      }
    }
    const disks = [
      { device: "/dev/sda1", fstype: "ext4", mountpoint: "/", size: 100 * 2 ** 30 },
      { device: "tmpfs", fstype: "tmpfs", mountpoint: "/run", size: 2 ** 30 },
    ];
    for (const { size, ...fs } of disks) {
      add({ __name__: "node_filesystem_avail_bytes", ...base, ...fs }, Kind.Shrinking, size / 2);
    }
    for (const { size, ...fs } of disks) {
      add({ __name__: "node_filesystem_size_bytes", ...base, ...fs }, Kind.Constant, size);
    }
    for (const m of ["1", "5", "15"]) add({ __name__: `node_load${m}`, ...base }, Kind.Load, scale);
    for (const m of ["read", "written"]) {
      add({ __name__: `node_disk_${m}_bytes_total`, ...base, device: "sda" }, Kind.Counter, 5e6);
    }
    add({ __name__: "up", ...base }, Kind.Up);
  } else {
    const base = { job: "app", instance: appInstance(t.host) };
    const resets = t.restartHour >= 0 ? 1 : 0;
    HANDLERS.forEach((handler, h) => {
      for (const method of METHODS) {
        for (const code of CODES) {
          const rate = HANDLER_RATE[h] * (method === "GET" ? 1 : 0.3) * (code === "200" ? 1 : 0.01);
          add(
            { __name__: "http_requests_total", ...base, handler, method, code },
            Kind.Counter,
            rate,
            resets,
          );
        }
      }
    });
    HANDLERS.forEach((handler, h) => {
      const mean = HANDLER_LATENCY[h] * scale;
      for (const le of LE) {
        const share = le === "+Inf" ? 1 : 1 - Math.exp(-Number(le) / mean);
        add(
          { __name__: "http_request_duration_seconds_bucket", ...base, handler, le },
          Kind.Bucket,
          share,
          h,
        );
      }
      add(
        { __name__: "http_request_duration_seconds_sum", ...base, handler },
        Kind.LatencySum,
        mean,
        h,
      );
      add(
        { __name__: "http_request_duration_seconds_count", ...base, handler },
        Kind.RequestCount,
        0,
        h,
      );
    });
    add({ __name__: "process_resident_memory_bytes", ...base }, Kind.Wave, 2e8 * scale, 2 ** 20);
    add({ __name__: "process_cpu_seconds_total", ...base }, Kind.Counter, 0.05 * scale, resets);
    add({ __name__: "up", ...base }, Kind.Up);
  }
  return out;
}

/** Every series of the data set, sorted by labels (the order of a block's index). */
function allSeries(targets: readonly Target[]): SeriesSpec[] {
  // Series with the same label pair share its object: 2 instance labels per host and a few
  // hundred others, instead of 8 objects per series.
  const pairs = new Map<string, Label>();
  const intern = (labels: Labels): Labels =>
    labels.map((l) => {
      const key = `${l.name}\xff${l.value}`;
      let got = pairs.get(key);
      if (!got) pairs.set(key, got = l);
      return got;
    });
  const out: SeriesSpec[] = [];
  targets.forEach((t, index) => {
    const series = targetSeries(t);
    if (series.length !== (t.kind === 0 ? NODE_SERIES : SERIES_PER_HOST - NODE_SERIES)) {
      throw new Error(`target kind ${t.kind} has ${series.length} series`);
    }
    series.forEach((s, i) => {
      const labels = intern(labelsFromRecord(s.labels));
      out.push({ labels, target: index, id: t.firstSeries + i, kind: s.kind, a: s.a, b: s.b });
    });
  });
  return out.sort((x, y) => compareLabels(x.labels, y.labels));
}

/** A target's scrapes within one block. */
interface Scrapes {
  ts: Float64Array;
  /** The scrape number (since the day's start) of `ts[0]`. */
  firstK: number;
}

/**
 * Writes the series' values at the scrapes into `out`, continuing from `state[spec.id]` (its
 * last value, NaN before the first) and leaving the last value there.
 */
function fillValues(
  spec: SeriesSpec,
  t: Target,
  scrapes: Scrapes,
  dayStart: number,
  state: Float64Array,
  out: Float64Array,
): void {
  const dt = t.intervalMs / 1000;
  const targetId = 2 * t.host + t.kind;
  let v = state[spec.id];
  for (let i = 0; i < scrapes.ts.length; i++) {
    const k = scrapes.firstK + i;
    const ts = scrapes.ts[i];
    const u = noise(spec.id, k);
    // Requests of the sample's handler in this scrape, the same for all its histogram series.
    const requests = () =>
      Math.floor(dt * HANDLER_RATE[spec.b] * 2 * noise(targetId * 8 + spec.b, k));
    const restart = t.restartHour >= 0 &&
      Math.floor((ts - t.intervalMs - dayStart) / 3_600_000) < t.restartHour &&
      Math.floor((ts - dayStart) / 3_600_000) >= t.restartHour;
    switch (spec.kind) {
      case Kind.CpuSeconds:
        v = Number.isNaN(v) ? round2(1e5 * spec.a) : round2(v + dt * spec.a * (0.5 + u));
        break;
      case Kind.Constant:
        v = spec.a;
        break;
      case Kind.Wave: {
        const phase = 2 * Math.PI * ((ts - dayStart) / DAY_MS + (t.host % 24) / 24);
        v = Math.round(spec.a * (1 + 0.4 * Math.sin(phase)) + spec.b * (noise(targetId, k) - 0.5));
        break;
      }
      case Kind.Counter:
        if (Number.isNaN(v) || (spec.b === 1 && restart)) v = 0;
        else v = v + Math.floor(dt * spec.a * 2 * u);
        break;
      case Kind.Shrinking:
        v = Number.isNaN(v) ? spec.a : Math.max(0, v - Math.floor(u * 2 ** 16));
        break;
      case Kind.Load:
        v = round2(spec.a * (0.5 + u));
        break;
      case Kind.Up:
        v = u < 0.005 ? 0 : 1;
        break;
      case Kind.Bucket:
        v = Number.isNaN(v) || restart ? 0 : v + Math.round(requests() * spec.a);
        break;
      case Kind.LatencySum:
        v = Number.isNaN(v) || restart ? 0 : round2(v + requests() * spec.a * (0.8 + 0.4 * u));
        break;
      case Kind.RequestCount:
        v = Number.isNaN(v) || restart ? 0 : v + requests();
        break;
    }
    out[i] = v;
  }
  state[spec.id] = v;
}

/** What {@linkcode writeDay} generates. */
export interface DayOptions {
  /** Number of hosts ({@linkcode SERIES_PER_HOST} series each). */
  hosts: number;
  /** Start of the UTC day, ms. */
  dayStart: number;
  /** Directory receiving the blocks. */
  dir: string;
  /** Called after each block with its index (0..11), series and samples. */
  onBlock?: (index: number, series: number, samples: number) => void;
}

/** Every label name and value of `series` (the writer's symbol table; repeats are fine). */
function* symbolsOf(series: readonly { labels: Labels }[]): Generator<string> {
  for (const s of series) {
    for (const l of s.labels) {
      yield l.name;
      yield l.value;
    }
  }
}

/** Writes the day as twelve 2h blocks into `dir`; returns the number of samples written. */
export async function writeDay(opts: DayOptions): Promise<number> {
  const targets = targetsOf(opts.hosts);
  const series = allSeries(targets);
  const state = new Float64Array(opts.hosts * SERIES_PER_HOST).fill(NaN);
  let total = 0;
  for (let b = 0; b < DAY_MS / BLOCK_MS; b++) {
    const from = opts.dayStart + b * BLOCK_MS;
    const scrapes = targets.map((t) => scrapeTimes(t, opts.dayStart, from, from + BLOCK_MS));
    const w = await BlockWriter.create(opts.dir, symbolsOf(series), {
      range: { minTime: from, maxTime: from + BLOCK_MS },
    });
    let samples = 0, written = 0;
    const values = new Float64Array(BLOCK_MS / (Math.min(...INTERVALS_S) * 1000) + 1);
    try {
      for (const spec of series) {
        const sc = scrapes[spec.target];
        if (sc.ts.length === 0) continue;
        const v = values.subarray(0, sc.ts.length);
        fillValues(spec, targets[spec.target], sc, opts.dayStart, state, v);
        await w.addSeries({ labels: spec.labels, chunks: xorChunks(sc.ts, v) });
        samples += sc.ts.length;
        written++;
      }
    } catch (e) {
      await w.abort();
      throw e;
    }
    await w.finish();
    total += samples;
    opts.onBlock?.(b, written, samples);
  }
  return total;
}
