/**
 * Retries of object-storage requests: exponential backoff with full jitter on throttling, 5xx
 * answers, network errors and per-attempt timeouts. Providers turn their SDK's own retries off
 * and use this, so that every provider retries alike and a stalled request never hangs a caller.
 *
 * @module
 */
import type { Logger } from "../../internal/log.ts";

/** How a provider retries. */
export interface RetryPolicy {
  /** Attempts in total (>= 1). */
  maxAttempts: number;
  /** Backoff before the second attempt, ms; it doubles per attempt. */
  baseDelayMs: number;
  /** Upper bound of one backoff, ms. */
  maxDelayMs: number;
  /** Time allowed for one attempt (until the answer's headers, or the whole answer for buffered
   * reads), ms; 0 means no limit. */
  attemptTimeoutMs: number;
}

/** Defaults shared by the providers when the config leaves a value at 0. */
export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 10,
  baseDelayMs: 100,
  maxDelayMs: 10_000,
  attemptTimeoutMs: 120_000,
};

/** An attempt that ran out of its time; retried like a network error. */
export class AttemptTimeoutError extends Error {
  /** Creates the error for an attempt that took longer than `ms`. */
  constructor(readonly ms: number) {
    super(`request timed out after ${ms}ms`);
    this.name = "AttemptTimeoutError";
  }
}

/** Network-level error codes worth another attempt (Node and Deno spellings). */
const RETRYABLE_CODES = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EAI_AGAIN",
  "ENOTFOUND",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "UND_ERR_SOCKET",
  "ERR_STREAM_PREMATURE_CLOSE",
]);

/**
 * Reports whether `err` is a transport failure (connection refused or reset, premature close,
 * an attempt timeout) rather than an answer from the server.
 */
export function isNetworkError(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 5; depth++) {
    if (e instanceof AttemptTimeoutError) return true;
    if (typeof e !== "object") return false;
    const o = e as { code?: unknown; name?: unknown; message?: unknown; cause?: unknown };
    if (typeof o.code === "string" && RETRYABLE_CODES.has(o.code)) return true;
    if (o.name === "TimeoutError") return true;
    if (e instanceof Deno.errors.ConnectionReset || e instanceof Deno.errors.ConnectionRefused) {
      return true;
    }
    if (
      typeof o.message === "string" && /socket hang up|connection (reset|closed)/i.test(o.message)
    ) {
      return true;
    }
    e = o.cause;
  }
  return false;
}

/** Reports whether an HTTP status is worth another attempt: 408, 429 and 5xx but 501. */
export function isRetryableStatus(status: number | undefined): boolean {
  if (status === undefined) return false;
  return status === 408 || status === 429 || (status >= 500 && status !== 501);
}

/** The backoff before attempt `attempt + 1` (attempt counts from 1): full jitter. */
export function backoffDelay(policy: RetryPolicy, attempt: number, random = Math.random): number {
  const cap = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.floor(random() * cap);
}

/** What {@linkcode withRetries} needs besides the request. */
export interface RetryContext {
  /** The policy. */
  policy: RetryPolicy;
  /** Whether an error (already known not to be the caller's abort) deserves another attempt. */
  retryable: (err: unknown) => boolean;
  /** Where retries are reported (debug level); never given credentials. */
  logger?: Logger;
  /** Provider, operation and key, for the log line. */
  what: { provider: string; operation: string; key: string };
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * Runs `attempt` until it succeeds, fails with a non-retryable error, or the attempts run out.
 * Each attempt gets a signal that fires when the caller's `signal` fires or when the attempt's
 * time is up; the attempt should call `done()` once it has its answer's headers when the body is
 * handed to the caller as a stream (the timer stops then). The caller's abort is never retried.
 */
export async function withRetries<T>(
  ctx: RetryContext,
  attempt: (signal: AbortSignal, done: () => void) => Promise<T>,
  signal?: AbortSignal,
): Promise<T> {
  const { policy } = ctx;
  for (let n = 1;; n++) {
    signal?.throwIfAborted();
    const controller = new AbortController();
    const onAbort = () => controller.abort(signal!.reason);
    signal?.addEventListener("abort", onAbort, { once: true });
    let timer: ReturnType<typeof setTimeout> | undefined;
    if (policy.attemptTimeoutMs > 0) {
      timer = setTimeout(
        () => controller.abort(new AttemptTimeoutError(policy.attemptTimeoutMs)),
        policy.attemptTimeoutMs,
      );
    }
    const done = () => clearTimeout(timer);
    try {
      return await attempt(controller.signal, done);
    } catch (e) {
      if (signal?.aborted) throw signal.reason;
      // An SDK reports our abort as its own AbortError: surface the timeout instead.
      const err = controller.signal.reason instanceof AttemptTimeoutError
        ? controller.signal.reason
        : e;
      if (n >= policy.maxAttempts || !(isNetworkError(err) || ctx.retryable(err))) {
        if (err !== e && err instanceof Error) err.cause = e;
        throw err;
      }
      const delay = backoffDelay(policy, n);
      ctx.logger?.debug("retrying object storage request", {
        ...ctx.what,
        attempt: n,
        delay_ms: delay,
        err: err instanceof Error ? err.message : String(err),
      });
      await sleep(delay, signal);
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
    }
  }
}

/** A provider's retry settings and error mapping, bound once by {@linkcode retrying}. */
export interface ProviderRetry {
  /** The policy. */
  policy: RetryPolicy;
  /** Whether an error deserves another attempt (see {@linkcode RetryContext}). */
  retryable: (err: unknown) => boolean;
  /** Where retries are reported. */
  logger?: Logger;
  /** The provider's name, for the log line. */
  provider: string;
  /** Maps the last error of operation `op` on `key` to the error the caller sees. */
  wrap: (op: string, key: string, err: unknown) => Error;
}

/** An operation run with retries: {@linkcode withRetries} plus the provider's error mapping. */
export type RetryingCall = <T>(
  op: string,
  key: string,
  signal: AbortSignal | undefined,
  attempt: (signal: AbortSignal, done: () => void) => Promise<T>,
) => Promise<T>;

/** Binds a provider's retry settings, so each bucket operation only names itself and its key. */
export function retrying(p: ProviderRetry): RetryingCall {
  return (op, key, signal, attempt) =>
    withRetries(
      {
        policy: p.policy,
        retryable: p.retryable,
        logger: p.logger,
        what: { provider: p.provider, operation: op, key },
      },
      attempt,
      signal,
    ).catch((e) => {
      throw p.wrap(op, key, e);
    });
}
