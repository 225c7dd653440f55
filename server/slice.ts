/**
 * The slice of the bucket one gateway serves (`--min-time`, `--max-time`,
 * `--selector.relabel-config`), as a Thanos store gateway slices its bucket:
 *
 * - a stream is served when the relabel rules, applied to its external labels (those of its
 *   `stream.pb`, whatever `--query.external-label` announces instead), keep a non-empty label set
 *   (Thanos' `LabelShardedMetaFilter`; there is no `__block_id` label, since Parquet days have no
 *   block ULID);
 * - a day is served when it overlaps `[minTime, maxTime]`; its end is exclusive (the next day's
 *   start), so a day ending exactly at `minTime` is not loaded (Thanos compares block ends
 *   inclusively);
 * - queries are clamped to `[minTime, maxTime]`, so a day partly inside the range serves only
 *   that part, and Info reports the clamped range.
 *
 * Relative times are read anew at each use: a `-2w` slice moves with the clock, and discovery
 * drops days that leave it.
 *
 * @module
 */
import { labelsFromRecord } from "../model/labels.ts";
import { relabel, type RelabelRule } from "../model/relabel.ts";
import type { DayRange } from "./db/syncer.ts";

/** Options of {@linkcode GatewaySlice}. */
export interface GatewaySliceOptions {
  /** `--min-time` as of now, ms. */
  minTime: () => number;
  /** `--max-time` as of now, ms. */
  maxTime: () => number;
  /** `--selector.relabel-config` (no rules: every stream). */
  relabel: readonly RelabelRule[];
}

/** What one gateway serves: its time range and streams. */
export class GatewaySlice {
  readonly #opts: GatewaySliceOptions;

  /** Creates the slice. */
  constructor(opts: GatewaySliceOptions) {
    this.#opts = opts;
  }

  /** The time range served now (closed). */
  range(): DayRange {
    return { minT: this.#opts.minTime(), maxT: this.#opts.maxTime() };
  }

  /** Whether the day `[start, end)` overlaps the time range. */
  keepsDay(day: { readonly start: number; readonly end: number }): boolean {
    const { minT, maxT } = this.range();
    return day.end > minT && day.start <= maxT;
  }

  /** Whether the stream with these external labels is served. */
  keepsStream(externalLabels: Readonly<Record<string, string>>): boolean {
    if (this.#opts.relabel.length === 0) return true;
    const out = relabel(labelsFromRecord({ ...externalLabels }), this.#opts.relabel);
    return out !== undefined && out.length > 0;
  }
}
