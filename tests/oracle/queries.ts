/**
 * The query set compared between the gateway (or our engine) and the reference Prometheus 2.42,
 * over the data of `datagen.ts`. Only PromQL that means the same in 2.42 and 3.x appears here;
 * {@linkcode KNOWN_DIFFERENCES} lists, with the reason, every query whose answers may legitimately
 * differ.
 *
 * @module
 */

/** Queries evaluated as instant queries and as range queries. */
export const QUERIES: readonly string[] = [
  // Selectors and matchers.
  "up",
  'up{job="api"}',
  'up{job!="api"}',
  'up{job=~"api|web"}',
  'up{job!~"a.*"}',
  'up{instance=~"host-1.*"}',
  '{__name__="up", job="batch"}',
  '{__name__=~"process_.*"}',
  'http_requests_total{code="500", method="POST"}',
  'http_requests_total{nonexistent=""}',
  'http_requests_total{nonexistent!=""}',
  'up{job=~""}',
  "process_resident_memory_bytes",
  // Offsets and @.
  "up offset 10m",
  "http_requests_total offset 1h",
  "process_resident_memory_bytes offset -5m",
  "up @ end()",
  "up @ start()",
  // Range functions.
  "rate(http_requests_total[5m])",
  "rate(http_requests_total[1h])",
  "increase(http_requests_total[10m])",
  "irate(http_requests_total[5m])",
  "delta(process_resident_memory_bytes[15m])",
  "idelta(process_resident_memory_bytes[5m])",
  "deriv(process_resident_memory_bytes[30m])",
  "predict_linear(process_resident_memory_bytes[30m], 3600)",
  "resets(http_requests_total[2h])",
  "changes(up[1h])",
  "avg_over_time(process_resident_memory_bytes[10m])",
  "min_over_time(process_resident_memory_bytes[10m])",
  "max_over_time(process_resident_memory_bytes[10m])",
  "sum_over_time(up[30m])",
  "count_over_time(up[30m])",
  "last_over_time(process_resident_memory_bytes[10m])",
  "present_over_time(process_resident_memory_bytes[10m])",
  "stddev_over_time(process_resident_memory_bytes[20m])",
  "stdvar_over_time(process_resident_memory_bytes[20m])",
  "quantile_over_time(0.9, process_resident_memory_bytes[20m])",
  "absent_over_time(nonexistent[5m])",
  "absent_over_time(up[5m])",
  "rate(http_requests_total[5m] offset 30m)",
  // Instant functions.
  "abs(-up)",
  "ceil(process_resident_memory_bytes / 1e6)",
  "floor(process_resident_memory_bytes / 1e6)",
  "round(process_resident_memory_bytes / 1e6, 0.5)",
  "clamp(up * 5, 1, 3)",
  "clamp_min(up, 0.5)",
  "clamp_max(up, 0.5)",
  "exp(up)",
  "ln(process_resident_memory_bytes)",
  "log2(process_resident_memory_bytes)",
  "log10(process_resident_memory_bytes)",
  "sqrt(process_resident_memory_bytes)",
  "sgn(delta(process_resident_memory_bytes[5m]))",
  "timestamp(up)",
  "absent(nonexistent)",
  'absent(up{job="nope"})',
  'label_replace(up, "host", "$1", "instance", "(.*):.*")',
  'label_join(up, "id", "/", "job", "instance")',
  "sort(rate(http_requests_total[5m]))",
  "sort_desc(rate(http_requests_total[5m]))",
  "vector(1)",
  "scalar(sum(up))",
  "time()",
  "hour(timestamp(up))",
  "minute(timestamp(up))",
  "day_of_week(timestamp(up))",
  "days_in_month(timestamp(up))",
  "sin(up)",
  "up atan2 up",
  // Aggregations.
  "sum(up)",
  "sum by (job) (up)",
  "sum without (instance) (rate(http_requests_total[5m]))",
  "avg by (job) (process_resident_memory_bytes)",
  "min by (job) (process_resident_memory_bytes)",
  "max by (job) (process_resident_memory_bytes)",
  "count by (job) (up)",
  'count_values by (job) ("value", up)',
  "group by (job) (up)",
  "stddev by (job) (process_resident_memory_bytes)",
  "stdvar(process_resident_memory_bytes)",
  "topk(3, process_resident_memory_bytes)",
  "bottomk(2, process_resident_memory_bytes)",
  "topk by (job) (1, process_resident_memory_bytes)",
  "quantile(0.5, process_resident_memory_bytes)",
  "quantile by (job) (0.9, rate(http_requests_total[5m]))",
  "topk(2, deriv(process_resident_memory_bytes[30m]))",
  "sum by (job, code) (rate(http_requests_total[5m]))",
  // Classic histograms.
  "histogram_quantile(0.9, rate(http_request_duration_seconds_bucket[5m]))",
  "histogram_quantile(0.5, sum by (le) (rate(http_request_duration_seconds_bucket[10m])))",
  "histogram_quantile(0.99, sum by (job, le) (rate(http_request_duration_seconds_bucket[10m])))",
  "rate(http_request_duration_seconds_sum[5m]) / rate(http_request_duration_seconds_count[5m])",
  // Binary operators and joins.
  "up + 1",
  "2 ^ 3 ^ 2",
  "-up",
  "process_resident_memory_bytes / 1024 / 1024",
  "process_resident_memory_bytes % 1000",
  "up == 1",
  "up != bool 1",
  "process_resident_memory_bytes > 2.5e8",
  "process_resident_memory_bytes < bool 2.5e8",
  "up * on (job, instance) process_resident_memory_bytes",
  "process_resident_memory_bytes / ignoring (job) up",
  "rate(http_requests_total[5m]) * on (job, instance) group_left up",
  "up * on (job, instance) group_right http_requests_total",
  'sum by (job) (rate(http_requests_total{code="500"}[5m])) / sum by (job) (rate(http_requests_total[5m]))',
  "up and process_resident_memory_bytes",
  "up or process_resident_memory_bytes",
  "up unless process_resident_memory_bytes",
  "process_resident_memory_bytes and on (job) (up == 0)",
  "sum(up) + sum(process_resident_memory_bytes)",
  "up > bool on (instance) group_left (job) up",
  // Subqueries.
  "max_over_time(rate(http_requests_total[5m])[30m:1m])",
  "avg_over_time(sum by (job) (up)[1h:5m])",
  "min_over_time(process_resident_memory_bytes[20m:])",
  "rate(http_requests_total[5m])[10m:2m] offset 5m",
  "deriv(sum(process_resident_memory_bytes)[30m:1m])",
];

/** Label matchers for `/api/v1/series`, `labels` and `label/<name>/values`. */
export const SERIES_MATCHERS: readonly string[][] = [
  ["up"],
  ['{job="api"}'],
  ['http_requests_total{code="500"}', "process_resident_memory_bytes"],
  ['{__name__=~"http_request_duration_seconds_.*", instance="host-1:9100"}'],
  ['{instance=~"host-[23]:.*"}'],
];

/** Label names whose values are compared (with and without matchers). */
export const LABEL_VALUE_NAMES: readonly string[] = ["__name__", "job", "instance", "le", "code"];

/**
 * Queries whose answers may differ between Prometheus 2.42 and a 3.x engine on this data, with the
 * reason. A difference outside this list is a bug. `topk`/`bottomk` are only applied to values
 * without ties (Go's selection among equal values is arbitrary), `sort` results are compared with
 * ties in any order, and evaluation times avoid range boundaries (see `datagen.ts`).
 */
export const KNOWN_DIFFERENCES: ReadonlyMap<string, string> = new Map([
  [
    "up atan2 up",
    "Prometheus before 2.47 kept __name__ on atan2 results (fixed upstream by the commit " +
    "that drops the metric name for the atan2 binary operator); 3.x drops it",
  ],
]);
