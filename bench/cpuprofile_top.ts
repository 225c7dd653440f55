/**
 * Summarises a V8 CPU profile (`deno run --cpu-prof`) as the functions with the most self time,
 * each as `name file:line`, optionally only those whose file is under a path (e.g. `engine/`),
 * so that a benchmark's hot spots can be read without a profiler UI.
 *
 * Run: `deno run -R bench/cpuprofile_top.ts PROFILE.cpuprofile [pathFilter] [count]`
 * (defaults: every file, 25 rows).
 *
 * @module
 */

/** A node of a `.cpuprofile` (the fields used here). */
interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

/** A `.cpuprofile` file (the fields used here). */
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
}

/** One row of the summary. */
export interface SelfTime {
  /** `function file:line` (line 1-based; file relative to the working directory). */
  where: string;
  /** Samples whose top frame is this function. */
  samples: number;
  /** Share of the counted samples, 0..1. */
  share: number;
}

/**
 * Self time per function of `profile`, most first, counting only frames whose file contains
 * `filter` (all when empty); shares are of the counted samples.
 */
export function selfTimes(profile: CpuProfile, filter = ""): SelfTime[] {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const cwd = `file://${Deno.cwd()}/`;
  const counts = new Map<string, number>();
  let total = 0;
  for (const id of profile.samples) {
    const node = byId.get(id);
    if (!node) throw new Error(`profile sample names unknown node ${id}`);
    const { functionName, url, lineNumber } = node.callFrame;
    if (filter && !url.includes(filter)) continue;
    const file = url.startsWith(cwd) ? url.slice(cwd.length) : url;
    const where = `${functionName || "(anonymous)"} ${file}:${lineNumber + 1}`;
    counts.set(where, (counts.get(where) ?? 0) + 1);
    total++;
  }
  return [...counts].map(([where, samples]) => ({ where, samples, share: samples / total }))
    .sort((a, b) => b.samples - a.samples);
}

if (import.meta.main) {
  const [path, filter = "", count = "25"] = Deno.args;
  if (!path) {
    console.error("usage: cpuprofile_top.ts PROFILE.cpuprofile [pathFilter] [count]");
    Deno.exit(2);
  }
  const rows = selfTimes(JSON.parse(await Deno.readTextFile(path)), filter);
  for (const r of rows.slice(0, Number(count))) {
    console.log(`${(100 * r.share).toFixed(1).padStart(5)}%  ${r.where}`);
  }
}
