/**
 * Byte array helpers shared by the storage formats and the object stores.
 *
 * @module
 */

/** Concatenates byte arrays (a single array is returned as it is, not copied). */
export function concatBytes(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0];
  let total = 0;
  for (const p of parts) total += p.length;
  const out = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}
