/**
 * One conversion pass (gateway.md 3.5): discover TSDB blocks and converted Parquet days, plan,
 * then convert the planned days most recent first, downloading each source block once and
 * keeping it open while consecutive days need it.
 *
 * @module
 */
import type { Bucket } from "../storage/objstore/bucket.ts";
import { Block } from "../storage/tsdb/block.ts";
import { BlockSource } from "./block_source.ts";
import { convertDay, type ConvertOptions, type ConvertResult, NoSeriesError } from "./convert.ts";
import {
  convertedDays,
  type TsdbBlock,
  TsdbDiscoverer,
  type TsdbDiscoveryOptions,
} from "./discovery.ts";
import { DAY_MS } from "./days.ts";
import { planConversion, type PlanStep } from "./plan.ts";

/** Settings of a {@linkcode Converter}. */
export interface ConverterOptions {
  /** How days are written. */
  readonly convert: Omit<ConvertOptions, "signal">;
  /** TSDB discovery. */
  readonly discovery: TsdbDiscoveryOptions;
  /** Days starting after `now - gracePeriod` wait, ms. */
  readonly gracePeriod: number;
  /** Soft limit of days per pass. */
  readonly maxPlanDays: number;
  /** Days older than this many days are not converted (0: keep everything). */
  readonly retentionDays?: number;
  /** Parent of the block download directories. */
  readonly tempDir?: string;
  /** Parallel file downloads per block. */
  readonly downloadConcurrency: number;
  /** Told about each converted day. */
  readonly onConverted?: (step: PlanStep<TsdbBlock>, result: ConvertResult) => void;
  /** Told about each planned day whose blocks hold no sample of it (nothing is written). */
  readonly onEmpty?: (step: PlanStep<TsdbBlock>) => void;
}

/** Converts TSDB blocks of one bucket into Parquet days of another. */
export class Converter {
  readonly #tsdb: Bucket;
  readonly #parquet: Bucket;
  readonly #options: ConverterOptions;
  readonly #discoverer: TsdbDiscoverer;

  /**
   * @param tsdb the source bucket
   * @param parquet the destination bucket
   */
  constructor(tsdb: Bucket, parquet: Bucket, options: ConverterOptions) {
    this.#tsdb = tsdb;
    this.#parquet = parquet;
    this.#options = options;
    this.#discoverer = new TsdbDiscoverer(tsdb, options.discovery);
  }

  /** The destination bucket. */
  get parquet(): Bucket {
    return this.#parquet;
  }

  /** Discovers both buckets and plans the next pass. */
  async plan(now: number, signal?: AbortSignal): Promise<PlanStep<TsdbBlock>[]> {
    const [streams, done] = await Promise.all([
      this.#discoverer.discover(now, signal),
      convertedDays(this.#parquet, signal),
    ]);
    const steps = planConversion(streams, done, {
      now,
      gracePeriod: this.#options.gracePeriod,
      maxDays: this.#options.maxPlanDays,
    });
    // Days past retention would only be marked and deleted again (the Go converter redoes them).
    const retention = this.#options.retentionDays ?? 0;
    return retention > 0 ? steps.filter((s) => s.day.start >= now - retention * DAY_MS) : steps;
  }

  /**
   * Plans and converts; resolves to the converted days. A day without samples is skipped (and
   * planned again next time); any other failure stops the pass, leaving that day without
   * `meta.pb`.
   */
  async runOnce(now: number, signal?: AbortSignal): Promise<ConvertResult[]> {
    const steps = await this.plan(now, signal);
    const open = new Map<string, Block>();
    const results: ConvertResult[] = [];
    try {
      for (const step of steps) {
        signal?.throwIfAborted();
        const needed = new Set(step.sources.map((b) => b.ulid));
        for (const [ulid, block] of open) {
          if (!needed.has(ulid)) {
            open.delete(ulid);
            await block.close();
          }
        }
        for (const b of step.sources) {
          if (open.has(b.ulid)) continue;
          open.set(
            b.ulid,
            await Block.fromBucket(this.#tsdb, b.ulid, {
              tmpDir: this.#options.tempDir,
              concurrency: this.#options.downloadConcurrency,
              signal,
            }),
          );
        }
        const sources = step.sources.map((b) => new BlockSource(open.get(b.ulid)!));
        let result: ConvertResult;
        try {
          result = await convertDay(this.#parquet, step.day, step.externalLabels, sources, {
            ...this.#options.convert,
            signal,
          });
        } catch (err) {
          if (!(err instanceof NoSeriesError)) throw err;
          this.#options.onEmpty?.(step);
          continue;
        }
        results.push(result);
        this.#options.onConverted?.(step, result);
      }
    } finally {
      await Promise.all([...open.values()].map((b) => b.close()));
    }
    return results;
  }
}
