/**
 * Deterministic OpenMetrics data for comparing our answers with a real Prometheus: counters with
 * resets, gauges with gaps (series that go stale), `up`, and classic histograms, spread over
 * several instances and jobs. `promtool tsdb create-blocks-from openmetrics` turns the text into
 * TSDB blocks that both Prometheus and the gateway read.
 *
 * Every sample time is `start + k·interval + offset` where the per-series offset has a fractional
 * second of 371 ms: queries whose times and ranges are whole seconds never land exactly on a sample,
 * so Prometheus 2.42's closed range boundaries and 3.x's left-open ones give the same answers.
 *
 * @module
 */

/** What to generate. */
export interface DataOptions {
  /** First sample time (ms); rounded down to a whole minute by the generator. */
  startMs: number;
  /** Length of the data (ms). */
  durationMs: number;
  /** Scrape interval (ms). */
  intervalMs: number;
  /** Number of scrape targets; each has 15 series. */
  instances: number;
  /** Seed of the pseudo-random values. */
  seed?: number;
}

/** Histogram bucket bounds of `http_request_duration_seconds`. */
export const BUCKETS = ["0.05", "0.1", "0.25", "0.5", "1", "2.5", "+Inf"] as const;

/** A small linear congruential generator: the same seed gives the same data everywhere. */
class Random {
  #state: number;
  constructor(seed: number) {
    this.#state = seed >>> 0;
  }
  /** A float in [0, 1). */
  next(): number {
    this.#state = (Math.imul(this.#state, 1664525) + 1013904223) >>> 0;
    return this.#state / 4294967296;
  }
}

interface Target {
  job: string;
  instance: string;
  offsetMs: number;
}

function targets(opts: DataOptions): Target[] {
  const out: Target[] = [];
  for (let i = 0; i < opts.instances; i++) {
    out.push({
      job: i % 3 === 2 ? "batch" : i % 2 === 0 ? "api" : "web",
      instance: `host-${i}:9100`,
      // Whole seconds spread over the interval, plus 371 ms.
      offsetMs: ((i * 7919) % Math.max(1, Math.floor(opts.intervalMs / 1000))) * 1000 + 371,
    });
  }
  return out;
}

function seconds(ms: number): string {
  return (ms / 1000).toFixed(3);
}

/** One generated series: labels (with `__name__`) and its samples. */
export interface GeneratedSeries {
  /** Labels including `__name__`. */
  labels: Record<string, string>;
  /** Sample times, ms, ascending. */
  ts: Float64Array;
  /** Sample values. */
  values: Float64Array;
}

/** A metric family: OpenMetrics metadata and its series. */
export interface GeneratedFamily {
  /** Family name (`http_requests` for the `_total` counter). */
  name: string;
  /** OpenMetrics type. */
  type: "counter" | "gauge" | "histogram";
  /** Help text. */
  help: string;
  /** Its series, generated lazily in a fixed order. */
  series: Iterable<GeneratedSeries>;
}

function series(name: string, labels: Record<string, string>, ts: number[], values: number[]) {
  return {
    labels: { __name__: name, ...labels },
    ts: Float64Array.from(ts),
    values: Float64Array.from(values),
  };
}

/**
 * The data set as metric families. The same options always give the same samples; families
 * must be consumed in order (they share one random sequence).
 */
export function* generateFamilies(opts: DataOptions): Generator<GeneratedFamily> {
  const rnd = new Random(opts.seed ?? 1);
  const start = Math.floor(opts.startMs / 60_000) * 60_000;
  const steps = Math.floor(opts.durationMs / opts.intervalMs);
  const all = targets(opts);
  const times = (t: Target) => {
    const out: number[] = [];
    for (let k = 0; k < steps; k++) out.push(start + k * opts.intervalMs + t.offsetMs);
    return out;
  };

  yield {
    name: "http_requests",
    type: "counter",
    help: "Requests handled.",
    series: (function* () {
      for (const t of all) {
        for (const method of ["GET", "POST"]) {
          for (const code of ["200", "500"]) {
            const base = code === "200" ? 10 : 0.5;
            let value = Math.floor(rnd.next() * 1000);
            const resetAt = Math.floor(rnd.next() * steps * 2); // about half the series reset once
            const ts = times(t);
            const values: number[] = [];
            for (let k = 0; k < ts.length; k++) {
              value = k === resetAt
                ? Math.floor(rnd.next() * 5)
                : value + Math.floor(rnd.next() * base * 4);
              values.push(value);
            }
            yield series(
              "http_requests_total",
              {
                job: t.job,
                instance: t.instance,
                method,
                code,
              },
              ts,
              values,
            );
          }
        }
      }
    })(),
  };

  yield {
    name: "process_resident_memory_bytes",
    type: "gauge",
    help: "Resident memory.",
    series: (function* () {
      for (const t of all) {
        const allTs = times(t);
        const ts: number[] = [], values: number[] = [];
        let value = 2e8 + rnd.next() * 1e8;
        // Every third target disappears for 40 minutes in the middle: its series goes stale.
        const gapFrom = Math.floor(allTs.length / 2);
        const gapTo = gapFrom + Math.ceil(40 * 60_000 / opts.intervalMs);
        const hasGap = all.indexOf(t) % 3 === 0;
        for (let k = 0; k < allTs.length; k++) {
          value += (rnd.next() - 0.5) * 1e6;
          if (hasGap && k >= gapFrom && k < gapTo) continue;
          ts.push(allTs[k]);
          values.push(Math.round(value));
        }
        yield series(
          "process_resident_memory_bytes",
          { job: t.job, instance: t.instance },
          ts,
          values,
        );
      }
    })(),
  };

  yield {
    name: "up",
    type: "gauge",
    help: "Whether the target answered.",
    series: (function* () {
      for (const t of all) {
        const ts = times(t);
        const values = ts.map(() => (rnd.next() < 0.02 ? 0 : 1));
        yield series("up", { job: t.job, instance: t.instance }, ts, values);
      }
    })(),
  };

  yield {
    name: "http_request_duration_seconds",
    type: "histogram",
    help: "Request latency.",
    series: (function* () {
      for (const t of all) {
        const ts = times(t);
        const counts = new Float64Array(BUCKETS.length);
        const buckets: number[][] = BUCKETS.map(() => []);
        const sums: number[] = [], totals: number[] = [];
        let sum = 0;
        for (let k = 0; k < ts.length; k++) {
          const n = Math.floor(rnd.next() * 20);
          for (let r = 0; r < n; r++) {
            const latency = -Math.log(1 - rnd.next()) * 0.3;
            sum += latency;
            for (let b = 0; b < BUCKETS.length; b++) {
              if (BUCKETS[b] === "+Inf" || latency <= Number(BUCKETS[b])) counts[b]++;
            }
          }
          for (let b = 0; b < BUCKETS.length; b++) buckets[b].push(counts[b]);
          sums.push(Math.round(sum * 1000) / 1000);
          totals.push(counts[BUCKETS.length - 1]);
        }
        const labels = { job: t.job, instance: t.instance };
        for (let b = 0; b < BUCKETS.length; b++) {
          yield series(
            "http_request_duration_seconds_bucket",
            { ...labels, le: BUCKETS[b] },
            ts,
            buckets[b],
          );
        }
        yield series("http_request_duration_seconds_sum", labels, ts, sums);
        yield series("http_request_duration_seconds_count", labels, ts, totals);
      }
    })(),
  };
}

function formatLabels(labels: Record<string, string>): string {
  return Object.entries(labels).filter(([k]) => k !== "__name__").map(([k, v]) => `${k}="${v}"`)
    .join(",");
}

/**
 * Yields the OpenMetrics text in pieces (families grouped, each series' samples in time order,
 * ending with `# EOF`), so large data sets can be streamed to a file.
 */
export function* openMetricsChunks(opts: DataOptions): Generator<string> {
  for (const family of generateFamilies(opts)) {
    yield `# HELP ${family.name} ${family.help}\n# TYPE ${family.name} ${family.type}\n`;
    for (const s of family.series) {
      const prefix = `${s.labels.__name__}{${formatLabels(s.labels)}} `;
      const lines: string[] = [];
      for (let k = 0; k < s.ts.length; k++) {
        lines.push(`${prefix}${s.values[k]} ${seconds(s.ts[k])}\n`);
      }
      yield lines.join("");
    }
  }
  yield "# EOF\n";
}

/** Writes the OpenMetrics text of {@linkcode openMetricsChunks} to `path`. */
export async function writeOpenMetrics(path: string, opts: DataOptions): Promise<void> {
  const file = await Deno.open(path, { write: true, create: true, truncate: true });
  try {
    const enc = new TextEncoder();
    for (const chunk of openMetricsChunks(opts)) {
      let bytes = enc.encode(chunk);
      while (bytes.length > 0) bytes = bytes.subarray(await file.write(bytes));
    }
  } finally {
    file.close();
  }
}
