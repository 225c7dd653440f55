/**
 * The row order of a converted day: series sorted by the values of the sort labels (a missing
 * label sorts as the empty value, first), then by all their labels as Prometheus orders label
 * sets. Unlike the Go converter, whose rows follow each block's index order, rows really are in
 * this order, which the Parquet `sorting_columns` metadata promises.
 *
 * @module
 */
import { compareLabels, compareStrings, getLabel, type Labels } from "../model/labels.ts";

/** Orders two label sets as rows: negative when `a` comes first, 0 when they are equal. */
export function compareSeries(a: Labels, b: Labels, sortLabels: readonly string[]): number {
  for (let i = 0; i < sortLabels.length; i++) {
    const c = compareStrings(getLabel(a, sortLabels[i]), getLabel(b, sortLabels[i]));
    if (c !== 0) return c;
  }
  return compareLabels(a, b);
}

/** A series of one source, in a sorted stream of the converter. */
export interface SortEntry {
  /** The series labels, sorted by name. */
  readonly labels: Labels;
  /** Index of its source in the day's sources. */
  readonly source: number;
  /** Its handle in that source. */
  readonly ref: number | bigint;
}
