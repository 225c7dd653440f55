/**
 * Admission of the Thanos gRPC calls that read data (Series, LabelNames, LabelValues, Query,
 * QueryRange) through `--query.limits.queries.max-concurrent`, as the Go gateway admits its
 * Query API calls: a call waits for a place for as long as its deadline and the wait bound
 * allow, and is refused at once when the queue of waiting calls is full.
 *
 * @module
 */
import { QueueFullError, Semaphore } from "../../../internal/concurrency.ts";
import type { CallContext } from "../server.ts";
import { Code, GrpcError } from "../status.ts";

/** How calls are admitted. */
export interface Admission {
  /** The places and the bounded queue, shared by the API's services. */
  semaphore: Semaphore;
  /** Longest wait for a place, ms (`--query.timeout`); the call's own deadline may be shorter. */
  maxWaitMs: number;
}

/** An admission that lets every call in at once. */
export const UNLIMITED_ADMISSION: Admission = { semaphore: new Semaphore(0), maxWaitMs: 0 };

/**
 * Waits for a place and returns its release function. Throws `RESOURCE_EXHAUSTED` when the
 * queue is full, `DEADLINE_EXCEEDED` when the wait outlasts the bound or the call's deadline,
 * and the call's own status when it is canceled meanwhile.
 */
export async function admit(admission: Admission, ctx: CallContext): Promise<() => void> {
  const wait = admission.maxWaitMs > 0
    ? AbortSignal.any([ctx.signal, AbortSignal.timeout(admission.maxWaitMs)])
    : ctx.signal;
  try {
    return await admission.semaphore.acquire(wait);
  } catch (e) {
    if (e instanceof QueueFullError) throw new GrpcError(Code.ResourceExhausted, e.message);
    if (ctx.signal.aborted && ctx.signal.reason instanceof GrpcError) {
      if (ctx.signal.reason.code !== Code.DeadlineExceeded) throw ctx.signal.reason;
    }
    throw new GrpcError(Code.DeadlineExceeded, "query timed out in query queue");
  }
}
