/**
 * XOR chunk decode throughput (target: >= 50M samples/s).
 *
 * `deno bench -A bench/xor_decode_bench.ts` reports time per pass over 1000 chunks of 120
 * samples (120k samples); samples/s = 120000 / time. `deno run -A bench/xor_decode_bench.ts`
 * prints the throughput directly. Two paths: the `SampleIterator` (one iterator reset per
 * chunk, reading each sample through `next`/`atT`/`atFloat`) and `decodeXorChunk` into arrays.
 * On a shared machine whole runs land ~1.5x apart (the CPU time moves too, so it is the host, not
 * waiting); compare figures from the same run.
 *
 * Data: Prometheus-like series at a 15 s scrape interval with millisecond jitter on some
 * scrapes, half counters (integer increments) and half gauges (two-decimal values).
 *
 * @module
 */
import process from "node:process";
import { ValueType } from "../model/series.ts";
import { decodeXorChunk, XorChunkEncoder, XorIterator } from "../storage/tsdb/xor.ts";

const CHUNKS = 1000;
const PER_CHUNK = 120;
const SAMPLES = CHUNKS * PER_CHUNK;
/** The target: samples decoded per second on one core. */
const TARGET = 50e6;

function buildChunks(): Uint8Array[] {
  let seed = 1;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const out: Uint8Array[] = [];
  for (let c = 0; c < CHUNKS; c++) {
    const enc = new XorChunkEncoder();
    let t = 1_700_000_000_000 + c * 1_800_000;
    let v = c % 2 === 0 ? 1000 : 20;
    for (let i = 0; i < PER_CHUNK; i++) {
      t += 15_000 + (rnd() < 0.1 ? Math.floor(rnd() * 20) - 10 : 0);
      v = c % 2 === 0 ? v + Math.floor(rnd() * 10) : Math.round((v + rnd() - 0.5) * 100) / 100;
      enc.append(t, v);
    }
    out.push(enc.bytes());
  }
  return out;
}

const chunks = buildChunks();
let sink = 0;
const it = new XorIterator(chunks[0]);

/** Decodes every chunk once (one iterator, reset per chunk); returns the number of samples. */
function decodeAll(): number {
  let n = 0;
  let acc = 0;
  for (const c of chunks) {
    it.reset(c);
    while (it.next() === ValueType.Float) {
      acc += it.atFloat() + it.atT();
      n++;
    }
  }
  sink += acc;
  return n;
}

const tsBuf = new Float64Array(PER_CHUNK);
const valBuf = new Float64Array(PER_CHUNK);

/** Decodes every chunk once into arrays (the bulk path); returns the number of samples. */
function decodeAllBulk(): number {
  let n = 0;
  let acc = 0;
  for (const c of chunks) {
    const k = decodeXorChunk(c, tsBuf, valBuf);
    for (let i = 0; i < k; i++) acc += valBuf[i] + tsBuf[i];
    n += k;
  }
  sink += acc;
  return n;
}

Deno.bench({
  name: `XOR decode, iterator: ${SAMPLES} samples (${CHUNKS} chunks x ${PER_CHUNK})`,
  fn() {
    decodeAll();
  },
});

Deno.bench({
  name: `XOR decode, bulk into arrays: ${SAMPLES} samples`,
  fn() {
    decodeAllBulk();
  },
});

/** Runs `f` 100 times after warming up; prints wall and CPU throughput. */
function measure(name: string, f: () => number): void {
  for (let i = 0; i < 20; i++) f(); // warm up
  // CPU time as well as wall time: on a shared machine the wall clock includes waiting.
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  let n = 0;
  for (let i = 0; i < 100; i++) n += f();
  const secs = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const cpuSecs = (cpu.user + cpu.system) / 1e6;
  const rate = (s: number) => `${(n / s / 1e6).toFixed(1)}M samples/s`;
  const ofTarget = (n / cpuSecs / TARGET).toFixed(2);
  console.log(
    `${name}: ${rate(secs)} wall, ${rate(cpuSecs)} CPU (${n} samples; ${ofTarget}x the target)`,
  );
}

if (import.meta.main) {
  measure("XOR decode, iterator", decodeAll);
  measure("XOR decode, bulk", decodeAllBulk);
  if (sink === 42) console.log(sink);
}
