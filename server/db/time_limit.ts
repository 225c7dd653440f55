/**
 * Clamping requests to the time range a gateway serves (`--min-time`, `--max-time`), as Thanos'
 * store clamps Series requests to its filter: a day loaded because it overlaps the range answers
 * only for the part inside it.
 *
 * @module
 */
import { IterableSeriesSet } from "../../model/series_set.ts";
import type { LabelHints, Queryable, SelectHints } from "../../model/queryable.ts";
import type { DayRange } from "./syncer.ts";

/** `range` clamped to `limit`; undefined when they do not overlap. */
export function clampRange(range: DayRange, limit: DayRange): DayRange | undefined {
  const minT = Math.max(range.minT, limit.minT);
  const maxT = Math.min(range.maxT, limit.maxT);
  return minT <= maxT ? { minT, maxT } : undefined;
}

/** `hints` with `start` and `end` clamped to `limit`; undefined when nothing is left. */
export function clampHints<H extends LabelHints | SelectHints>(
  hints: H,
  limit: DayRange,
): H | undefined {
  const r = clampRange({ minT: hints.start, maxT: hints.end }, limit);
  return r && { ...hints, start: r.minT, end: r.maxT };
}

/**
 * `queryable` answering only for `limit()` (read at each call): requests are clamped to it, and
 * a request entirely outside it has an empty answer.
 */
export function limitQueryableTime(queryable: Queryable, limit: () => DayRange): Queryable {
  const empty = () => Promise.resolve({ values: [], warnings: [] });
  return {
    select(matchers, hints, signal) {
      const clamped = clampHints(hints, limit());
      return clamped ? queryable.select(matchers, clamped, signal) : new IterableSeriesSet([]);
    },
    labelNames(matchers, hints, signal) {
      const clamped = clampHints(hints, limit());
      return clamped ? queryable.labelNames(matchers, clamped, signal) : empty();
    },
    labelValues(name, matchers, hints, signal) {
      const clamped = clampHints(hints, limit());
      return clamped ? queryable.labelValues(name, matchers, clamped, signal) : empty();
    },
  };
}
