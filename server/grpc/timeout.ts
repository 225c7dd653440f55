/**
 * The `grpc-timeout` request header: at most 8 ASCII digits and a unit
 * (H, M, S, m, u, n; grpc/doc/PROTOCOL-HTTP2.md).
 *
 * @module
 */

const UNIT_MS: Record<string, number> = {
  H: 3_600_000,
  M: 60_000,
  S: 1000,
  m: 1,
  u: 1e-3,
  n: 1e-6,
};

/** Parses a `grpc-timeout` value into milliseconds; returns `undefined` if malformed. */
export function parseGrpcTimeout(value: string): number | undefined {
  const m = /^([0-9]{1,8})([HMSmun])$/.exec(value);
  if (!m) return undefined;
  return Number(m[1]) * UNIT_MS[m[2]];
}
