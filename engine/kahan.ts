/**
 * Kahan-Babuška-Neumaier compensated summation, as Prometheus uses for `sum`, `avg`,
 * `sum_over_time`, `avg_over_time` and the variance functions, so results such as
 * `sum(2, 8, 1e100, -1e100) == 10` come out exactly.
 *
 * @module
 */

/** Result slots of {@linkcode kahanInc}, reused to avoid allocation: `[sum, compensation]`. */
export const kahanOut: Float64Array = new Float64Array(2);

/**
 * Adds `inc` to the running `sum` with compensation `c`; writes the new sum to `kahanOut[0]`
 * and the new compensation to `kahanOut[1]`. An infinite sum resets the compensation.
 */
export function kahanInc(inc: number, sum: number, c: number): void {
  const t = sum + inc;
  if (t === Infinity || t === -Infinity) {
    c = 0;
  } else if (Math.abs(sum) >= Math.abs(inc)) {
    c += (sum - t) + inc;
  } else {
    c += (inc - t) + sum;
  }
  kahanOut[0] = t;
  kahanOut[1] = c;
}
