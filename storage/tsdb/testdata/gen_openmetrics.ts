/**
 * Writes `fixture.om`, the OpenMetrics input of the promtool-built fixture blocks: a counter with
 * a reset, a gauge with gaps, irregular millisecond timestamps and special values, spanning more
 * than two 2h block ranges with more than 120 samples per series. Deterministic (seeded LCG).
 *
 * Run: `deno run --allow-write gen_openmetrics.ts` from this directory (see regenerate.sh).
 *
 * @module
 */

let seed = 42;
function random(): number {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed / 2147483648;
}

const START_MS = 1700000000000;
const lines: string[] = [];

lines.push("# HELP http_requests Requests served.", "# TYPE http_requests counter");
for (const method of ["GET", "POST"]) {
  let value = method === "GET" ? 0 : 1000;
  let t = START_MS;
  for (let i = 0; i < 1000; i++) {
    // A counter reset halfway through; otherwise integer increments.
    value = i === 500 ? 3 : value + Math.floor(random() * 7);
    lines.push(`http_requests_total{job="api",method="${method}"} ${value} ${fmtSeconds(t)}`);
    t += 15000 + (random() < 0.1 ? Math.floor(random() * 2000) - 1000 : 0);
  }
}

lines.push("# HELP temperature_celsius Room temperature.", "# TYPE temperature_celsius gauge");
for (const room of ["a", "b"]) {
  let t = START_MS + 7;
  for (let i = 0; i < 700; i++) {
    // Gaps: skip a 20-minute window every 150 samples.
    if (i % 150 === 149) t += 20 * 60 * 1000;
    let value = 20 + Math.round(random() * 1000) / 100;
    if (room === "b" && i === 10) value = NaN;
    if (room === "b" && i === 20) value = Infinity;
    if (room === "b" && i === 30) value = -1e300;
    if (room === "b" && i % 50 === 0) value = 20;
    lines.push(`temperature_celsius{room="${room}"} ${fmtValue(value)} ${fmtSeconds(t)}`);
    t += 30000 + Math.floor(random() * 3) * 1000 + (i % 97 === 0 ? 123 : 0);
  }
}
lines.push("# EOF", "");

function fmtSeconds(ms: number): string {
  return (ms / 1000).toFixed(3);
}

function fmtValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  return String(v);
}

await Deno.writeTextFile(new URL("./fixture.om", import.meta.url), lines.join("\n"));
