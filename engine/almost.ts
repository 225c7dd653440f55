/**
 * Float comparison within a relative epsilon, as Prometheus' `util/almost`, for the test
 * runner's result comparison and the engine.
 *
 * @module
 */
import { isStaleNaN } from "../model/series.ts";

// The smallest positive normal float64.
const MIN_NORMAL = 2.2250738585072014e-308;

/**
 * Reports whether `a` and `b` are equal within `epsilon` relative to the sum of their
 * magnitudes. Two NaNs are equal; a stale marker equals only a stale marker; values where
 * either side is zero (or both are subnormal) must be practically identical.
 */
export function almostEqual(a: number, b: number, epsilon: number): boolean {
  const staleA = isStaleNaN(a);
  const staleB = isStaleNaN(b);
  if (staleA || staleB) return staleA && staleB;
  if (a !== a && b !== b) return true;
  if (a === b) return true;
  const absSum = Math.abs(a) + Math.abs(b);
  const diff = Math.abs(a - b);
  if (a === 0 || b === 0 || absSum < MIN_NORMAL) return diff < epsilon * MIN_NORMAL;
  return diff / Math.min(absSum, Number.MAX_VALUE) < epsilon;
}
