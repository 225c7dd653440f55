/**
 * The Go gateway's `search_*` metrics: the work of the Parquet read path per request method
 * (`select`, `label_names`, `label_values`) and file column.
 *
 * - `search_pages_scanned_total{column,scan,method}`: labels-file pages whose values a matcher
 *   was tested against; `scan` is `equal` for `=` and `!=` and for regex matchers that are one
 *   plain literal (upstream: one set match), else `regex`. Pages the filter decides on from the
 *   dictionary or the column index are not scanned, so not counted.
 * - `search_column_materialized_total{column,method}` and
 *   `search_rows_materialized_total{column,method}`: a column read for the selected rows of one
 *   row group counts once, and its selected rows.
 * - `search_pages_read_total{column,method}` and `search_pages_read_size_bytes_total`: pages
 *   read from the file to materialise a column, and the bytes of those reads (for chunk columns,
 *   the coalesced ranges including their gaps). Unlike upstream, which has no page cache, pages
 *   found in the page cache (or being read by another request) are not read, so not counted.
 *
 * @module
 */
import { Counter, type Registry } from "prom-client";
import { type Matcher, MatchType } from "../../model/matchers.ts";

/** Operation kinds of the queryable's metrics: a selection or a label lookup. */
export type OperationType = "select" | "label_names" | "label_values";

/** How a matcher scans a page (the `scan` label). */
export type ScanKind = "equal" | "regex";

const PLAIN_LITERAL = /^[A-Za-z0-9_:\- ]*$/;

/** The `scan` label of a matcher. */
export function scanKind(m: Matcher): ScanKind {
  if (m.type === MatchType.Equal || m.type === MatchType.NotEqual) return "equal";
  return PLAIN_LITERAL.test(m.value) ? "equal" : "regex";
}

/** The read path's reports for one request method. */
export interface SearchRecorder {
  /** A labels-file page of `column` was scanned by a matcher. */
  pageScanned(column: string, scan: ScanKind): void;
  /** `pages` pages of `column` were read from the file with `bytes` bytes. */
  pagesRead(column: string, pages: number, bytes: number): void;
  /** `column` was materialised for `rows` rows of one row group. */
  columnMaterialized(column: string, rows: number): void;
  /** `rows` more rows of a column already counted by `columnMaterialized` (a later batch). */
  rowsMaterialized(column: string, rows: number): void;
}

/** The `search_*` counters of a registry. */
export class SearchMetrics {
  readonly #scanned: Counter<"column" | "scan" | "method">;
  readonly #pagesRead: Counter<"column" | "method">;
  readonly #pagesReadBytes: Counter<"column" | "method">;
  readonly #columns: Counter<"column" | "method">;
  readonly #rows: Counter<"column" | "method">;

  /** Registers the counters in `registry`. */
  constructor(registry: Registry) {
    const registers = [registry];
    const labelNames = ["column", "method"] as const;
    this.#scanned = new Counter({
      name: "search_pages_scanned_total",
      help: "Labels-file pages scanned by matchers.",
      labelNames: ["column", "scan", "method"],
      registers,
    });
    this.#pagesRead = new Counter({
      name: "search_pages_read_total",
      help: "Pages read from Parquet files to materialise columns.",
      labelNames,
      registers,
    });
    this.#pagesReadBytes = new Counter({
      name: "search_pages_read_size_bytes_total",
      help: "Bytes of the page reads counted in search_pages_read_total.",
      labelNames,
      registers,
    });
    this.#columns = new Counter({
      name: "search_column_materialized_total",
      help: "Columns materialised for the selected rows of a row group.",
      labelNames,
      registers,
    });
    this.#rows = new Counter({
      name: "search_rows_materialized_total",
      help: "Rows materialised, summed over columns.",
      labelNames,
      registers,
    });
  }

  /** The recorder of requests of kind `method`. */
  recorder(method: OperationType): SearchRecorder {
    return {
      pageScanned: (column, scan) => this.#scanned.inc({ column, scan, method }),
      pagesRead: (column, pages, bytes) => {
        this.#pagesRead.inc({ column, method }, pages);
        this.#pagesReadBytes.inc({ column, method }, bytes);
      },
      columnMaterialized: (column, rows) => {
        this.#columns.inc({ column, method });
        this.#rows.inc({ column, method }, rows);
      },
      rowsMaterialized: (column, rows) => this.#rows.inc({ column, method }, rows),
    };
  }
}
