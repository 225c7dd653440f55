/**
 * Dropping the metric name from a result's labels, as PromQL operators and functions do
 * (`__name__`, and the `__type__`/`__unit__` metadata labels that travel with it).
 *
 * @module
 */
import type { Labels } from "../model/labels.ts";

const METADATA_LABELS: ReadonlySet<string> = new Set(["__name__", "__type__", "__unit__"]);

/** Returns `labels` without the metric name and the `__type__`/`__unit__` metadata labels. */
export function dropMetricName(labels: Labels): Labels {
  for (let i = 0; i < labels.length; i++) {
    if (METADATA_LABELS.has(labels[i].name)) {
      return labels.filter((l) => !METADATA_LABELS.has(l.name));
    }
  }
  return labels;
}
