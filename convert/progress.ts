/**
 * Progress of a conversion: on a terminal, one redrawn line per day with the day's place in the
 * run (`day 2/5`), a bar, the series done and the estimated time left for the day and for the
 * whole run; elsewhere (logs collected by a supervisor) a log line every `logIntervalMs` and one
 * when the day ends.
 *
 * @module
 */
import type { Logger } from "../internal/log.ts";

/** Options of {@linkcode ConversionProgress}. */
export interface ProgressOptions {
  /** Receives log lines (always) and is the only output when not on a terminal. */
  logger: Logger;
  /** Whether to draw the bar (default: standard error is a terminal). */
  tty?: boolean;
  /** Writes terminal output (default: standard error). */
  write?: (text: string) => void;
  /** Clock in ms (default `Date.now`). */
  now?: () => number;
  /** Minimum time between progress log lines when not on a terminal (default 10 s). */
  logIntervalMs?: number;
  /** Minimum time between bar redraws (default 100 ms). */
  redrawIntervalMs?: number;
  /** Width of the bar in characters (default 30). */
  barWidth?: number;
}

const encoder = new TextEncoder();

function defaultTty(): boolean {
  try {
    return Deno.stderr.isTerminal();
  } catch {
    return false;
  }
}

/** Formats milliseconds as `1h02m`, `3m05s` or `42s`. */
export function formatEta(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return "?";
  const s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
  if (h > 0) return `${h}h${String(m).padStart(2, "0")}m`;
  if (m > 0) return `${m}m${String(sec).padStart(2, "0")}s`;
  return `${sec}s`;
}

/** Where a day stands in its run: the `index`-th (from 0) of `count` days planned. */
export interface RunPosition {
  /** The day's index in the run, from 0. */
  readonly index: number;
  /** Days in the run. */
  readonly count: number;
}

/** Creates one {@linkcode DayProgress} per converted day. */
export class ConversionProgress {
  readonly #opts: Required<ProgressOptions>;
  /** Durations of the days finished in the current run, ms. */
  #finished: number[] = [];

  /** Creates a progress reporter. */
  constructor(opts: ProgressOptions) {
    this.#opts = {
      tty: defaultTty(),
      write: (text) => Deno.stderr.writeSync(encoder.encode(text)),
      now: Date.now,
      logIntervalMs: 10_000,
      redrawIntervalMs: 100,
      barWidth: 30,
      ...opts,
    };
  }

  /**
   * Starts tracking the day `name` (stream and date) at `position` of its run: from here on its
   * blocks are fetched and read; {@linkcode DayProgress.begin} then tells how many series it has.
   */
  startDay(name: string, position: RunPosition): DayProgress {
    if (position.index === 0) this.#finished = [];
    return new DayProgress(name, position, this.#opts, this.#finished);
  }
}

/** Progress of one day's conversion. */
export class DayProgress {
  readonly #name: string;
  readonly #position: RunPosition;
  readonly #opts: Required<ProgressOptions>;
  readonly #runFinished: number[];
  readonly #started: number;
  #begun = NaN;
  #total: number | undefined;
  #done = 0;
  #lastOutput = -Infinity;
  #finished = false;

  /** Use {@linkcode ConversionProgress.startDay}. */
  constructor(
    name: string,
    position: RunPosition,
    opts: Required<ProgressOptions>,
    runFinished: number[],
  ) {
    this.#name = name;
    this.#position = position;
    this.#opts = opts;
    this.#runFinished = runFinished;
    this.#started = opts.now();
    this.#output(true);
  }

  /** Series done so far. */
  get done(): number {
    return this.#done;
  }

  /** `x/N`: the day's place in its run, from 1. */
  get step(): string {
    return `${this.#position.index + 1}/${this.#position.count}`;
  }

  /** Starts the bar: the day has `totalSeries` distinct series to write. */
  begin(totalSeries: number): void {
    this.#total = totalSeries;
    this.#begun = this.#opts.now();
    this.#opts.logger.info("converting day", {
      day: this.#name,
      step: this.step,
      series: totalSeries,
    });
    this.#output(true);
  }

  /** Estimated ms left for this day, from its average rate so far (NaN before any progress). */
  eta(): number {
    if (this.#done === 0 || this.#total === undefined) return NaN;
    const elapsed = this.#opts.now() - this.#begun;
    return elapsed / this.#done * (this.#total - this.#done);
  }

  /**
   * Estimated ms left for the whole run: this day's {@linkcode eta} plus, for each day after
   * it, the average duration of the run's days finished so far (this day's expected duration
   * while none is).
   */
  runEta(): number {
    const left = this.eta();
    const later = this.#position.count - this.#position.index - 1;
    if (later === 0) return left;
    const finished = this.#runFinished;
    const perDay = finished.length > 0
      ? finished.reduce((a, b) => a + b, 0) / finished.length
      : this.#opts.now() - this.#started + left;
    return left + later * perDay;
  }

  /** Records `series` more series written. */
  advance(series: number): void {
    if (this.#total === undefined) return;
    this.#done = Math.min(this.#total, this.#done + series);
    this.#output(false);
  }

  /** Ends the day successfully. */
  finish(fields: Record<string, unknown> = {}): void {
    if (this.#finished) return;
    this.#finished = true;
    const duration = this.#opts.now() - this.#started;
    this.#runFinished.push(duration);
    this.#done = this.#total ?? 0;
    if (this.#opts.tty) this.#opts.write(`${this.#line()}\n`);
    this.#opts.logger.info("converted day", {
      day: this.#name,
      step: this.step,
      series: this.#total,
      duration: `${(duration / 1000).toFixed(1)}s`,
      ...fields,
    });
  }

  /** Ends the day with an error (the caller logs the error itself). */
  fail(): void {
    if (this.#finished) return;
    this.#finished = true;
    if (this.#opts.tty) this.#opts.write(`${this.#line()} failed\n`);
  }

  #line(): string {
    const head = `\rday ${this.step} ${this.#name}`;
    if (this.#total === undefined) return `${head} reading series...\x1b[K`;
    const frac = this.#total === 0 ? 1 : this.#done / this.#total;
    const filled = Math.round(frac * this.#opts.barWidth);
    const bar = "#".repeat(filled) + "-".repeat(this.#opts.barWidth - filled);
    const pct = (frac * 100).toFixed(0).padStart(3);
    let eta = this.#done >= this.#total ? "done" : `ETA ${formatEta(this.eta())}`;
    if (this.#position.index + 1 < this.#position.count) {
      eta += `, all days ${formatEta(this.runEta())}`;
    }
    return `${head} [${bar}] ${pct}% ${this.#done}/${this.#total} series ${eta}\x1b[K`;
  }

  #output(force: boolean): void {
    if (this.#finished) return;
    const now = this.#opts.now();
    const interval = this.#opts.tty ? this.#opts.redrawIntervalMs : this.#opts.logIntervalMs;
    if (!force && now - this.#lastOutput < interval) return;
    this.#lastOutput = now;
    if (this.#opts.tty) {
      this.#opts.write(this.#line());
    } else if (!force) {
      this.#opts.logger.info("conversion progress", {
        day: this.#name,
        step: this.step,
        series_done: this.#done,
        series_total: this.#total,
        eta: formatEta(this.eta()),
        eta_all_days: formatEta(this.runEta()),
      });
    }
  }
}
