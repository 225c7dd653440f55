/**
 * Per-request resource quotas (gateway.md 4.8); the concurrency limit is a `Semaphore` of
 * `internal/concurrency.ts` in each API.
 *
 * Every request gets a fresh {@linkcode RequestQuotas}: reservations only ever subtract (a quota
 * is never given back within a request), and a limit of 0 means unlimited. Label calls count
 * the rows they cover with or without matchers: without them, every row of each shard touched
 * (the Go gateway counts only rows read for matchers). Exceeding a quota
 * throws {@linkcode QuotaExceededError}: a `QueryError` of the engine's resource-exhaustion kind
 * (`too_many_samples`), so that the engine passes it through unwrapped, the HTTP API answers it
 * with Prometheus' `execution` error shape (422) and the gRPC API with `RESOURCE_EXHAUSTED`,
 * as upstream does for its quotas.
 *
 * @module
 */
import { QueryError } from "../../engine/errors.ts";

/** What a quota counts. */
export type QuotaResource =
  | "shards"
  | "select rows"
  | "chunk bytes"
  | "label names rows"
  | "label values rows";

const UNIT: Record<QuotaResource, string> = {
  "shards": "shards",
  "select rows": "rows",
  "chunk bytes": "bytes",
  "label names rows": "rows",
  "label values rows": "rows",
};

/** A request would use more of a resource than its limit allows. */
export class QuotaExceededError extends QueryError {
  /**
   * Creates the error for the exhausted `resource`.
   *
   * @param resource the exhausted quota
   * @param limit the configured limit
   * @param requested what the request needed in total when it failed
   */
  constructor(
    readonly resource: QuotaResource,
    readonly limit: number,
    readonly requested: number,
  ) {
    super(
      "too_many_samples",
      `would use too many ${UNIT[resource]}: ${resource} limit ${limit} exceeded ` +
        `(resource exhausted, needed ${requested})`,
    );
    this.name = "QuotaExceededError";
  }
}

/** A budget of one resource for one request; `limit` 0 means unlimited. */
export class Quota {
  #used = 0;

  /** Creates a quota; negative or fractional limits are rejected. */
  constructor(readonly resource: QuotaResource, readonly limit: number) {
    if (!Number.isSafeInteger(limit) || limit < 0) {
      throw new RangeError(`${resource} limit must be a non-negative integer, got ${limit}`);
    }
  }

  /** Amount reserved so far. */
  get used(): number {
    return this.#used;
  }

  /** Reserves `n` more; throws {@linkcode QuotaExceededError} (reserving nothing) past the limit. */
  reserve(n: number): void {
    const next = this.#used + n;
    if (this.limit > 0 && next > this.limit) {
      throw new QuotaExceededError(this.resource, this.limit, next);
    }
    this.#used = next;
  }
}

/** The configured per-request limits (`--query.limits.*`); 0 = unlimited. */
export interface QueryLimits {
  /** `--query.limits.max-shard-count`. */
  maxShards: number;
  /** `--query.limits.select.max-row-count`. */
  maxSelectRows: number;
  /** `--query.limits.select.max-chunk-bytes`: compressed chunk page bytes. */
  maxChunkBytes: number;
  /** `--query.limits.label-names.max-row-count`. */
  maxLabelNamesRows: number;
  /** `--query.limits.label-values.max-row-count`. */
  maxLabelValuesRows: number;
}

/** No limits at all. */
export const UNLIMITED: QueryLimits = Object.freeze({
  maxShards: 0,
  maxSelectRows: 0,
  maxChunkBytes: 0,
  maxLabelNamesRows: 0,
  maxLabelValuesRows: 0,
});

/** The quotas of one request. */
export class RequestQuotas {
  /** Shards touched. */
  readonly shards: Quota;
  /** Rows selected by `select`. */
  readonly selectRows: Quota;
  /** Compressed chunk page bytes fetched by `select`. */
  readonly chunkBytes: Quota;
  /** Rows covered by `labelNames`: those matching, or without matchers all of each shard. */
  readonly labelNamesRows: Quota;
  /** Rows covered by `labelValues`: those matching, or without matchers all of each shard. */
  readonly labelValuesRows: Quota;

  /** Fresh quotas from `limits`. */
  constructor(limits: QueryLimits = UNLIMITED) {
    this.shards = new Quota("shards", limits.maxShards);
    this.selectRows = new Quota("select rows", limits.maxSelectRows);
    this.chunkBytes = new Quota("chunk bytes", limits.maxChunkBytes);
    this.labelNamesRows = new Quota("label names rows", limits.maxLabelNamesRows);
    this.labelValuesRows = new Quota("label values rows", limits.maxLabelValuesRows);
  }
}
