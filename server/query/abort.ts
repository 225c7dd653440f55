/**
 * Stopping an evaluation that does not yield. A CPU-bound PromQL evaluation runs for seconds
 * without returning to the event loop, so neither `AbortSignal.timeout()` nor a message from
 * another thread can abort its signal meanwhile; the evaluator only reads `signal.aborted` between
 * steps. {@linkcode queryAbort} makes that read the check: it looks at the clock and at a cell of
 * a `SharedArrayBuffer` that the main thread sets to cancel, and aborts the signal there and then
 * (so that storage reads under the query, which listen for `abort`, stop too). A guard can stop it
 * there as well, e.g. when the thread's memory passes a limit.
 *
 * @module
 */

/** A cancel flag another thread can set: one cell of a shared `Int32Array`, non-zero = cancel. */
export interface CancelFlag {
  /** The shared cells. */
  readonly cells: Int32Array;
  /** The cell of this query. */
  readonly index: number;
}

/** The signal of one evaluation and how to stop watching for its end. */
export interface QueryAbort {
  /** Aborts with a `TimeoutError` at the deadline, else with an `AbortError` on cancel. */
  readonly signal: AbortSignal;
  /** Stops the deadline timer and the parent listener; call when the evaluation ends. */
  dispose(): void;
}

/** How often a guard runs at most, ms: reads of `aborted` come much more often. */
const GUARD_INTERVAL_MS = 10;

/** The longest delay `setTimeout` takes (a longer one fires at once). */
const MAX_TIMER_MS = 2 ** 31 - 1;

const abortedOf = Object.getOwnPropertyDescriptor(AbortSignal.prototype, "aborted")!.get!;

/**
 * The signal of an evaluation that must stop at `deadline` (ms since the epoch), when `parent`
 * aborts (with its reason) or when `flag` is set. Besides a timer and a listener, which serve
 * while the evaluation awaits I/O, every read of `signal.aborted` compares the clock with the
 * deadline and reads the flag, so a synchronous evaluation that checks `aborted` stops on time.
 * `guard`, run by those reads at most every 10 ms, aborts with what it returns, if anything.
 */
export function queryAbort(
  deadline: number,
  parent?: AbortSignal,
  flag?: CancelFlag,
  guard?: () => unknown,
): QueryAbort {
  const controller = new AbortController();
  const signal = controller.signal;
  let stopping = false;
  const timeout = () => new DOMException("query timed out", "TimeoutError");
  const cancel = () => new DOMException("query was canceled", "AbortError");
  const abort = (reason: unknown) => {
    if (stopping) return;
    stopping = true;
    controller.abort(reason);
  };
  let guarded = 0;
  Object.defineProperty(signal, "aborted", {
    get() {
      if (!stopping) {
        const now = Date.now();
        if (flag && Atomics.load(flag.cells, flag.index) !== 0) abort(cancel());
        else if (now >= deadline) abort(timeout());
        else if (guard && now - guarded >= GUARD_INTERVAL_MS) {
          guarded = now;
          const reason = guard();
          if (reason !== undefined) abort(reason);
        }
      }
      return abortedOf.call(signal);
    },
  });
  const onParent = () => abort(parent!.reason ?? cancel());
  if (parent?.aborted) onParent();
  else parent?.addEventListener("abort", onParent, { once: true });
  const clearTimer = stopping ? () => {} : atDeadline(deadline, () => abort(timeout()));
  return {
    signal,
    dispose() {
      clearTimer();
      parent?.removeEventListener("abort", onParent);
    },
  };
}

/**
 * Calls `fn` at `deadline` (ms since the epoch; at once if past, never if infinite), also beyond
 * the longest delay of one timer. Returns what cancels it.
 */
export function atDeadline(deadline: number, fn: () => void): () => void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const arm = () => {
    const delay = deadline - Date.now();
    if (delay === Infinity) return;
    timer = setTimeout(delay > MAX_TIMER_MS ? arm : fn, Math.max(0, Math.min(delay, MAX_TIMER_MS)));
  };
  arm();
  return () => clearTimeout(timer);
}
