/**
 * Helpers the integer and float histogram chunk codecs share: the empty layout, stale marker
 * samples, the default counter reset header and the encoders' appendability checks.
 *
 * @module
 */
import {
  type CounterResetHint,
  CounterResetHint as Hint,
  type FloatHistogram,
  type IntHistogram,
} from "../../model/histogram.ts";
import { HI, LO } from "./_float_bits.ts";
import { ChunkEncodeError } from "./errors.ts";
import {
  COUNTER_RESET_MASK,
  CounterResetHeader,
  countSpans,
  type HistogramLayout,
  sameLayout,
} from "./histogram_meta.ts";

/** The high and low 32 bits of Prometheus' StaleNaN. */
const STALE_HI = 0x7ff00000, STALE_LO = 2;

/** The layout of a chunk that starts with a stale marker (no buckets). */
export const EMPTY_LAYOUT: HistogramLayout = {
  schema: 0,
  zeroThreshold: 0,
  positiveSpans: [],
  negativeSpans: [],
  customValues: new Float64Array(0),
};

/** A deep copy of a layout (the caller's histogram may change after it is appended). */
export function copyLayout(l: HistogramLayout): HistogramLayout {
  return {
    schema: l.schema,
    zeroThreshold: l.zeroThreshold,
    positiveSpans: l.positiveSpans.map((s) => ({ ...s })),
    negativeSpans: l.negativeSpans.map((s) => ({ ...s })),
    customValues: l.customValues.slice(),
  };
}

/**
 * A new stale marker sample: no buckets, `sum` Prometheus' StaleNaN (0x7ff0000000000002).
 * The sum is an accessor over a one-float typed array: V8 canonicalizes a NaN stored in an
 * object's double field (the marker would read back as 0x7ff8000000000000, an ordinary NaN),
 * while a typed array keeps its bits. It stays writable, like any histogram's.
 */
export function staleHistogram(): IntHistogram & FloatHistogram {
  const slot = new Float64Array(1);
  const halves = new Uint32Array(slot.buffer);
  halves[HI] = STALE_HI;
  halves[LO] = STALE_LO;
  return {
    counterResetHint: Hint.Unknown,
    schema: 0,
    zeroThreshold: 0,
    zeroCount: 0,
    count: 0,
    get sum(): number {
      return slot[0];
    },
    set sum(v: number) {
      slot[0] = v;
    },
    positiveSpans: [],
    negativeSpans: [],
    positiveBuckets: new Float64Array(0),
    negativeBuckets: new Float64Array(0),
    customValues: new Float64Array(0),
  };
}

/**
 * The header Prometheus' appender gives a chunk from its first sample when there is no previous
 * chunk to compare with: gauge, explicit counter reset, else unknown.
 */
export function defaultHeader(hint: CounterResetHint): CounterResetHeader {
  if (hint === Hint.Gauge) return CounterResetHeader.Gauge;
  if (hint === Hint.CounterReset) return CounterResetHeader.CounterReset;
  return CounterResetHeader.Unknown;
}

/** Throws {@linkcode ChunkEncodeError} unless the bucket arrays match the spans. */
export function checkBucketCounts(h: IntHistogram | FloatHistogram): void {
  if (
    h.positiveBuckets.length !== countSpans(h.positiveSpans) ||
    h.negativeBuckets.length !== countSpans(h.negativeSpans)
  ) {
    throw new ChunkEncodeError("bucket counts do not match the spans");
  }
}

/**
 * The checks both encoders make before appending a non-stale sample to a non-empty chunk:
 * not after a stale marker, same layout, buckets matching spans, no gauge/counter mix, no
 * explicit counter reset. Returns whether the chunk is a gauge chunk (then counts may drop);
 * the caller checks counter resets in its own representation.
 *
 * @param prevSum bits of the previous sample's sum (high, low)
 * @param layout the chunk's layout
 * @param header the chunk's flags byte
 */
export function checkAppendable(
  prevSum: Uint32Array,
  layout: HistogramLayout,
  header: number,
  h: IntHistogram | FloatHistogram,
): boolean {
  if (prevSum[0] === 0x7ff00000 && prevSum[1] === 2) {
    throw new ChunkEncodeError("only stale markers may follow a stale marker in a chunk");
  }
  if (!sameLayout(layout, h)) {
    throw new ChunkEncodeError("histogram layout changed: start a new chunk");
  }
  checkBucketCounts(h);
  const gauge = (header & COUNTER_RESET_MASK) === CounterResetHeader.Gauge;
  if (gauge !== (h.counterResetHint === Hint.Gauge)) {
    throw new ChunkEncodeError("gauge and counter histograms cannot share a chunk");
  }
  if (!gauge && h.counterResetHint === Hint.CounterReset) {
    throw new ChunkEncodeError("explicit counter reset: start a new chunk");
  }
  return gauge;
}
