/**
 * The small protobuf files of a gateway bucket: a day's `meta.pb` (the commit marker), a stream's
 * `stream.pb` and the retention `deletion-marker.pb`, with validation of what is read.
 *
 * @module
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import {
  ColumnsSchema,
  DeletionMarkSchema,
  MetadataSchema,
} from "../../proto/gen/metapb/meta_pb.ts";
import { StreamDescriptorSchema } from "../../proto/gen/streampb/stream_pb.ts";
import { checkVersion } from "./schema.ts";

/** A `meta.pb`, `stream.pb` or marker does not decode or holds invalid values. */
export class BlockMetaFileError extends Error {
  /** The error's name, for logs. */
  override readonly name = "BlockMetaFileError";
  /**
   * Creates the error for the object `source`.
   *
   * @param source the object key
   * @param detail what is wrong
   */
  constructor(readonly source: string, readonly detail: string, options?: ErrorOptions) {
    super(`${source}: ${detail}`, options);
  }
}

/** The content of a day's `meta.pb`. */
export interface BlockMeta {
  /** Format version: 0, 1 or 2. */
  readonly version: number;
  /** Day start (UTC midnight), ms. */
  readonly mint: number;
  /** Next midnight, ms. */
  readonly maxt: number;
  /** Number of shards. */
  readonly shards: number;
  /** V0 only: metric name -> label columns populated by rows of that name. */
  readonly columnsForName: ReadonlyMap<string, readonly string[]>;
  /** ULIDs of the source TSDB blocks. */
  readonly convertedFromBLIDs: readonly string[];
}

const ULID_RE = /^[0-7][0-9A-HJKMNP-TV-Z]{25}$/i;

function safeNumber(source: string, field: string, v: bigint): number {
  if (v < BigInt(Number.MIN_SAFE_INTEGER) || v > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new BlockMetaFileError(source, `${field} ${v} is out of range`);
  }
  return Number(v);
}

/** Serialises a `meta.pb`. */
export function encodeBlockMeta(meta: BlockMeta): Uint8Array {
  const columnsForName: Record<string, ReturnType<typeof create<typeof ColumnsSchema>>> = {};
  for (const [name, cols] of meta.columnsForName) {
    columnsForName[name] = create(ColumnsSchema, { columns: [...cols] });
  }
  return toBinary(
    MetadataSchema,
    create(MetadataSchema, {
      mint: BigInt(meta.mint),
      maxt: BigInt(meta.maxt),
      shards: BigInt(meta.shards),
      columnsForName,
      version: BigInt(meta.version),
      convertedFromBLIDs: [...meta.convertedFromBLIDs],
    }),
  );
}

/**
 * Parses a `meta.pb` read from `source`; throws {@linkcode BlockMetaFileError} for undecodable
 * bytes, negative shard counts, `maxt < mint` or invalid ULIDs, and
 * {@linkcode UnsupportedVersionError} for versions other than 0-2.
 */
export function decodeBlockMeta(data: Uint8Array, source: string): BlockMeta {
  let m;
  try {
    m = fromBinary(MetadataSchema, data);
  } catch (err) {
    throw new BlockMetaFileError(source, `invalid meta.pb: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const version = checkVersion(source, safeNumber(source, "version", m.version));
  const mint = safeNumber(source, "mint", m.mint);
  const maxt = safeNumber(source, "maxt", m.maxt);
  const shards = safeNumber(source, "shards", m.shards);
  if (shards < 0) throw new BlockMetaFileError(source, `negative shard count ${shards}`);
  if (maxt < mint) throw new BlockMetaFileError(source, `maxt ${maxt} before mint ${mint}`);
  for (const id of m.convertedFromBLIDs) {
    if (!ULID_RE.test(id)) {
      throw new BlockMetaFileError(source, `invalid block ULID ${JSON.stringify(id)}`);
    }
  }
  const columnsForName = new Map<string, readonly string[]>();
  for (const [name, cols] of Object.entries(m.columnsForName)) {
    columnsForName.set(name, cols.columns);
  }
  return { version, mint, maxt, shards, columnsForName, convertedFromBLIDs: m.convertedFromBLIDs };
}

/** Serialises a `stream.pb` for the given external labels. */
export function encodeStreamDescriptor(
  externalLabels: Readonly<Record<string, string>>,
): Uint8Array {
  return toBinary(
    StreamDescriptorSchema,
    create(StreamDescriptorSchema, { externalLabels: { ...externalLabels } }),
  );
}

/** Parses a `stream.pb`; throws {@linkcode BlockMetaFileError} when it does not decode. */
export function decodeStreamDescriptor(data: Uint8Array, source: string): Record<string, string> {
  try {
    return { ...fromBinary(StreamDescriptorSchema, data).externalLabels };
  } catch (err) {
    throw new BlockMetaFileError(source, `invalid stream.pb: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

/** The reason the Go gateway writes into retention markers. */
export const RETENTION_REASON = "Retention duration expired";

/** Serialises a `deletion-marker.pb`. */
export function encodeDeletionMark(reason: string): Uint8Array {
  return toBinary(DeletionMarkSchema, create(DeletionMarkSchema, { reason }));
}

/** Parses a `deletion-marker.pb` into its reason. */
export function decodeDeletionMark(data: Uint8Array, source: string): string {
  try {
    return fromBinary(DeletionMarkSchema, data).reason;
  } catch (err) {
    throw new BlockMetaFileError(source, `invalid deletion marker: ${(err as Error).message}`, {
      cause: err,
    });
  }
}
