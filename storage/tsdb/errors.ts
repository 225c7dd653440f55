/**
 * Typed errors for TSDB block files: every failure names the file and the section it was
 * reading, so a corrupt block is reported as such and never as a crash deep in a decoder.
 *
 * @module
 */

/**
 * A TSDB file is malformed: bad magic, unknown version, truncated section, checksum mismatch,
 * or an entry that does not decode.
 */
export class TsdbFormatError extends Error {
  /** The error's name, for logs. */
  override readonly name = "TsdbFormatError";
  /**
   * Creates the error; the message is `file: section: detail`.
   *
   * @param file the file (path or logical name such as `chunk 0x...`) being read
   * @param section the part of the file, e.g. `"TOC"`, `"symbols"`, `"series"`
   * @param detail what is wrong
   */
  constructor(
    readonly file: string,
    readonly section: string,
    readonly detail: string,
    options?: ErrorOptions,
  ) {
    super(`${file}: ${section}: ${detail}`, options);
  }
}

/** A block's `meta.json` (or a marker file) is missing fields or has invalid values. */
export class BlockMetaError extends Error {
  /** The error's name, for logs. */
  override readonly name = "BlockMetaError";
  /**
   * Creates the error; the message is `file: detail`.
   *
   * @param file the JSON file being validated
   * @param detail what is wrong
   */
  constructor(readonly file: string, readonly detail: string, options?: ErrorOptions) {
    super(`${file}: ${detail}`, options);
  }
}

/** A sample cannot be appended to a chunk (full, out of order, or a different layout). */
export class ChunkEncodeError extends Error {
  /** The error's name, for logs. */
  override readonly name = "ChunkEncodeError";
  /**
   * Creates the error.
   *
   * @param detail why the append was refused
   */
  constructor(readonly detail: string) {
    super(detail);
  }
}
