import assert from "node:assert/strict";
import { ParseError, QueryError } from "../../engine/errors.ts";
import { parseExpr } from "../../engine/parser.ts";
import { Matcher, MatchType, RegexpError } from "../../model/matchers.ts";
import { QuotaExceededError } from "../db/limits.ts";
import { toGrpcError } from "../grpc/thanos/convert.ts";
import { Code } from "../grpc/status.ts";
import { createPrometheusApi } from "../http/api.ts";
import { Engine } from "../../engine/engine.ts";
import { MemoryQueryable } from "../../engine/memory_queryable.ts";
import { NOP_LOGGER } from "../../internal/log.ts";
import { fromWire, toWire } from "./_protocol.ts";

/** `err` as the main thread gets it from a worker: flattened, structured-cloned, rebuilt. */
function crossed(err: unknown): Error {
  return fromWire(structuredClone(toWire(err)));
}

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error("did not throw");
}

/** The Prometheus API whose query runner rejects with `err`. */
function apiFailingWith(err: unknown) {
  return createPrometheusApi({
    engine: new Engine({ features: [] }),
    queryable: () => new MemoryQueryable(),
    runner: { run: () => Promise.reject(err) },
    defaultTimeout: 30_000,
    maxTimeout: 60_000,
    lookbackDelta: 300_000,
    maxConcurrentQueries: 10,
    version: "test",
    logger: NOP_LOGGER,
  });
}

Deno.test("wire errors: each class the APIs map to a status arrives as that class, with that status", async () => {
  const parse = thrown(() => parseExpr("sum(")) as ParseError;
  const regexp = thrown(() => new Matcher(MatchType.Regexp, "a", "(")) as RegexpError;
  const quota = new QuotaExceededError("select rows", 10, 25);
  const cases: [unknown, new (...a: never[]) => Error, Code, number, string][] = [
    [parse, ParseError, Code.InvalidArgument, 400, "bad_data"],
    [regexp, RegexpError, Code.InvalidArgument, 500, "internal"],
    [quota, QuotaExceededError, Code.ResourceExhausted, 422, "execution"],
    [
      new QueryError("too_many_samples", "too many"),
      QueryError,
      Code.ResourceExhausted,
      422,
      "execution",
    ],
    [
      new QueryError("timeout", "query timed out"),
      QueryError,
      Code.DeadlineExceeded,
      503,
      "timeout",
    ],
    [new QueryError("canceled", "query was canceled"), QueryError, Code.Canceled, 499, "canceled"],
    [new QueryError("execution", "bad op"), QueryError, Code.Internal, 422, "execution"],
    [
      new DOMException("timed out", "TimeoutError"),
      DOMException,
      Code.DeadlineExceeded,
      503,
      "timeout",
    ],
    [new DOMException("gone", "AbortError"), DOMException, Code.Canceled, 503, "timeout"],
    [new TypeError("boom"), Error, Code.Internal, 500, "internal"],
  ];
  for (const [err, cls, code, status, errorType] of cases) {
    const got = crossed(err);
    // The HTTP API answers a query whose runner (a worker) failed with the rebuilt error as it
    // answers the error thrown on its own thread.
    const answers = [];
    for (const e of [err, got]) {
      const res = await apiFailingWith(e)(new Request("http://x/api/v1/query?query=up&time=1"));
      const body = await res.json();
      answers.push([res.status, body.errorType, body.error]);
    }
    assert.deepEqual(answers[1], answers[0]);
    assert.deepEqual(answers[1].slice(0, 2), [status, errorType]);
    assert.ok(got instanceof cls, `${(err as Error).name} arrives as ${cls.name}`);
    assert.equal(got.message, (err as Error).message);
    assert.equal(got.name, (err as Error).name);
    assert.equal(toGrpcError(got).code, code, (err as Error).name);
  }
  const q = crossed(quota) as QuotaExceededError;
  assert.deepEqual([q.kind, q.resource, q.limit, q.requested], [
    "too_many_samples",
    "select rows",
    10,
    25,
  ]);
  assert.deepEqual((crossed(parse) as ParseError).details, parse.details);
  assert.equal((crossed(regexp) as RegexpError).pattern, regexp.pattern);
  assert.equal((crossed(new QueryError("timeout", "t")) as QueryError).kind, "timeout");
});
