/**
 * Counter semantics of sample start timestamps (Prometheus' `use-start-timestamps`): when a
 * start timestamp reveals a counter reset, and when it overlaps the previous sample. A start
 * timestamp of 0 means unknown, as in Prometheus' storage.
 *
 * @module
 */
import { goQuote } from "./lexer.ts";

/**
 * Whether the current sample's start timestamp shows a counter reset since the previous
 * sample. Unknown (0), invalid (after the sample) or OTel's "unknown start" (equal to the
 * sample) start timestamps show none; one after the previous sample does. One equal to the
 * previous sample's timestamp is a delta sample (a reset) only if the previous sample had a
 * known, valid start timestamp of its own: otherwise it is a cumulative series whose start was
 * unknown.
 *
 * @param prevST start timestamp of the previous sample, ms (0: unknown)
 * @param prevT timestamp of the previous sample, ms
 * @param curST start timestamp of the current sample, ms (0: unknown)
 * @param curT timestamp of the current sample, ms
 */
export function isStartTimestampReset(
  prevST: number,
  prevT: number,
  curST: number,
  curT: number,
): boolean {
  if (curST === 0 || curST >= curT) return false;
  if (curST < prevT) return false;
  if (curST > prevT) return true;
  if (prevST > prevT) return false;
  return prevST !== 0 && prevST !== prevT;
}

/**
 * Whether the current sample's start timestamp reaches back before the previous sample
 * without being the same start as the previous sample's: neither a delta (starting at the
 * previous sample) nor a cumulative continuation (same start), so the samples overlap.
 *
 * @param prevST start timestamp of the previous sample, ms (0: unknown)
 * @param prevT timestamp of the previous sample, ms
 * @param curST start timestamp of the current sample, ms (0: unknown)
 */
export function startTimeOverlaps(prevST: number, prevT: number, curST: number): boolean {
  return curST !== 0 && curST < prevT && curST !== prevST;
}

/** The warning for {@linkcode startTimeOverlaps}, about series `name`. */
export function startTimeOverlapMessage(name: string): string {
  return `sample has start time that overlaps with previous sample timestamp for metric ${
    goQuote(name)
  }`;
}
