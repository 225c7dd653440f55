/**
 * Cutting an upload body into fixed-size parts, so that multipart (S3), block (Azure) and
 * segment (Swift) uploads hold at most one part in memory per upload in flight, and every part is
 * a plain byte array that can be sent again when a request is retried.
 *
 * @module
 */
import type { UploadBody } from "./bucket.ts";

/**
 * Yields `body` as parts of exactly `partSize` bytes, the last one shorter. An empty body yields
 * one empty part, so that callers always have something to upload.
 */
export async function* fixedSizeParts(
  body: UploadBody,
  partSize: number,
): AsyncGenerator<Uint8Array> {
  if (!(partSize >= 1)) throw new RangeError(`part size must be positive, got ${partSize}`);
  if (body instanceof Uint8Array) {
    if (body.length === 0) yield body;
    for (let off = 0; off < body.length; off += partSize) {
      yield body.subarray(off, Math.min(body.length, off + partSize));
    }
    return;
  }
  let buf = new Uint8Array(partSize);
  let filled = 0;
  let yielded = false;
  for await (const chunk of body) {
    let off = 0;
    while (off < chunk.length) {
      const n = Math.min(partSize - filled, chunk.length - off);
      buf.set(chunk.subarray(off, off + n), filled);
      filled += n;
      off += n;
      if (filled === partSize) {
        yield buf;
        yielded = true;
        // The consumer may still hold the part (an upload in flight): never reuse it.
        buf = new Uint8Array(partSize);
        filled = 0;
      }
    }
  }
  if (filled > 0 || !yielded) yield buf.subarray(0, filled);
}

/** An upload body cut into parts, its first two read ahead. */
export interface FirstParts {
  /** The first part (empty for an empty body). */
  first: Uint8Array;
  /** The second part; `undefined` when the body fits one part and one request suffices. */
  second: Uint8Array | undefined;
  /** The parts after the second. */
  rest: AsyncGenerator<Uint8Array>;
}

/**
 * Reads the first two parts of `body` ({@linkcode fixedSizeParts}), which tells a provider
 * whether to upload in one request or in parts. Errors reading the body are the caller's to
 * name.
 */
export async function firstParts(body: UploadBody, partSize: number): Promise<FirstParts> {
  const rest = fixedSizeParts(body, partSize);
  const first = (await rest.next()).value as Uint8Array;
  const second = first.length < partSize ? undefined : (await rest.next()).value;
  return { first, second: second as Uint8Array | undefined, rest };
}

/**
 * Sends the parts of a multi-part upload in order, `send(n, part)` with `n` counting from 0: each
 * part is sent once the one before it is done, and the next part is read from the body meanwhile,
 * so at most two parts are held. Rejects with the first error of `send` or of the body; the
 * caller then closes `parts.rest` and cleans up what was sent.
 */
export async function sendParts(
  parts: FirstParts,
  send: (n: number, part: Uint8Array) => Promise<void>,
): Promise<void> {
  let pending = send(0, parts.first);
  let data = parts.second;
  for (let n = 1; data !== undefined; n++) {
    await pending;
    pending = send(n, data);
    // Its failure is awaited below; until then it must not count as unhandled.
    pending.catch(() => {});
    const r = await parts.rest.next();
    data = r.done ? undefined : r.value;
  }
  await pending;
}
