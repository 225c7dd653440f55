/**
 * The Thanos Info API (`thanos.info.Info`): how a querier discovers what this endpoint serves.
 * API selection is by presence of the `store`/`query` sub-messages, so both are sent (empty or
 * not) when served (pkg/query/endpointset.go).
 *
 * @module
 */
import { Info } from "../../../proto/gen/info/infopb/rpc_pb.ts";
import type { Labels } from "../../../model/labels.ts";
import type { GrpcServer } from "../server.ts";
import { fromMs, toPbLabels } from "./convert.ts";

/** One TSDB (stream) this endpoint serves. */
export interface TsdbInfo {
  /** Its external labels, sorted. */
  labels: Labels;
  /** Earliest sample time, ms. */
  minTime: number;
  /** Latest sample time, ms. */
  maxTime: number;
}

/** What Info reports; read on every call, so it may change as data is synced. */
export interface InfoState {
  /** Earliest sample time served, ms (`-Infinity` for unbounded). */
  minTime: number;
  /** Latest sample time served, ms (`Infinity` for unbounded). */
  maxTime: number;
  /** Per-TSDB ranges; a QueryAPI endpoint needs them (the querier's remote engine reads them). */
  tsdbInfos: TsdbInfo[];
  /**
   * The label sets to announce when they differ per stream (each sorted); default the
   * endpoint's external labels.
   */
  labelSets?: Labels[];
}

/** Options of {@linkcode registerInfoService}. */
export interface InfoServiceOptions {
  /** Component name for the querier's UI; `store` unless the endpoint is a querier. */
  componentType?: string;
  /** External labels of this endpoint (one label set; empty for none). */
  externalLabels: Labels;
  /** Whether the Store API honours `without_replica_labels`. */
  supportsWithoutReplicaLabels: boolean;
  /** Whether the Query API is served. */
  queryApi: boolean;
  /** The current time range and TSDBs. */
  state: () => InfoState;
}

/** Registers `thanos.info.Info` on `server`. */
export function registerInfoService(server: GrpcServer, opts: InfoServiceOptions): void {
  server.addService(Info, {
    info: () => {
      const st = opts.state();
      return {
        labelSets: (st.labelSets ?? [opts.externalLabels])
          .filter((ls) => ls.length > 0)
          .map((ls) => ({ labels: toPbLabels(ls) })),
        ComponentType: opts.componentType ?? "store",
        store: {
          minTime: fromMs(st.minTime),
          maxTime: fromMs(st.maxTime),
          // Store Series honours `shard_info`, so a querier need not shard our series itself.
          supportsSharding: true,
          supportsWithoutReplicaLabels: opts.supportsWithoutReplicaLabels,
          tsdbInfos: st.tsdbInfos.map((t) => ({
            labels: { labels: toPbLabels(t.labels) },
            minTime: fromMs(t.minTime),
            maxTime: fromMs(t.maxTime),
          })),
        },
        query: opts.queryApi ? {} : undefined,
      };
    },
  });
}
