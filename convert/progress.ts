/**
 * Progress of a conversion: on a terminal, one redrawn line per day with a bar, the series done
 * and the estimated time left; elsewhere (logs collected by a supervisor) a log line every
 * `logIntervalMs` and one when the day ends.
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

/** Creates one {@linkcode DayProgress} per converted day. */
export class ConversionProgress {
  readonly #opts: Required<ProgressOptions>;

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

  /** Starts tracking a day of `totalSeries` series; `name` identifies it (stream and date). */
  startDay(name: string, totalSeries: number): DayProgress {
    return new DayProgress(name, totalSeries, this.#opts);
  }
}

/** Progress of one day's conversion. */
export class DayProgress {
  readonly #name: string;
  readonly #total: number;
  readonly #opts: Required<ProgressOptions>;
  readonly #started: number;
  #done = 0;
  #lastOutput = -Infinity;
  #finished = false;

  /** Use {@linkcode ConversionProgress.startDay}. */
  constructor(name: string, total: number, opts: Required<ProgressOptions>) {
    this.#name = name;
    this.#total = total;
    this.#opts = opts;
    this.#started = opts.now();
    this.#opts.logger.info("converting day", { day: name, series: total });
    this.#output(true);
  }

  /** Series done so far. */
  get done(): number {
    return this.#done;
  }

  /** Estimated ms left, from the average rate so far (NaN before any progress). */
  eta(): number {
    if (this.#done === 0) return NaN;
    const elapsed = this.#opts.now() - this.#started;
    return elapsed / this.#done * (this.#total - this.#done);
  }

  /** Records `series` more series written. */
  advance(series: number): void {
    this.#done = Math.min(this.#total, this.#done + series);
    this.#output(false);
  }

  /** Ends the day successfully. */
  finish(fields: Record<string, unknown> = {}): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#done = this.#total;
    if (this.#opts.tty) this.#opts.write(`${this.#line()}\n`);
    this.#opts.logger.info("converted day", {
      day: this.#name,
      series: this.#total,
      duration: `${((this.#opts.now() - this.#started) / 1000).toFixed(1)}s`,
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
    const frac = this.#total === 0 ? 1 : this.#done / this.#total;
    const filled = Math.round(frac * this.#opts.barWidth);
    const bar = "#".repeat(filled) + "-".repeat(this.#opts.barWidth - filled);
    const pct = (frac * 100).toFixed(0).padStart(3);
    const eta = this.#done >= this.#total ? "done" : `ETA ${formatEta(this.eta())}`;
    return `\r${this.#name} [${bar}] ${pct}% ${this.#done}/${this.#total} series ${eta}\x1b[K`;
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
        series_done: this.#done,
        series_total: this.#total,
        eta: formatEta(this.eta()),
      });
    }
  }
}
