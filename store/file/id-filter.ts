/**
 * Which ids a checkpoint may hold, as a Bloom filter in its head (queue-log.ts): `enqueue` looks
 * an id up in queue.json's 41 MB of 100,000 jobs only when the filter says it may be there,
 * about once in a hundred for an id that is not. It never says "no" for an id the checkpoint
 * holds, so a lookup it spares would have found nothing.
 */

/** Bits per id: with FILTER_HASHES hashes, about 1 % of the ids not held pass. */
const BITS_PER_ID = 10;
const FILTER_HASHES = 7;

export interface IdFilter {
  /** base64 of the bits. */
  bits: string;
  hashes: number;
}

/** The filter of `ids`. */
export function idFilter(ids: Iterable<string>, count: number): IdFilter {
  const bits = Buffer.alloc(Math.max(8, Math.ceil((count * BITS_PER_ID) / 8)));
  const size = bits.length * 8;
  for (const id of ids) forEachBit(id, size, FILTER_HASHES, (bit) => (bits[bit >> 3]! |= 1 << (bit & 7)));
  return { bits: bits.toString('base64'), hashes: FILTER_HASHES };
}

/** A test of ids against a filter as read back; null when it is not one (the caller looks every id up). */
export function idTest(filter: unknown): ((id: string) => boolean) | null {
  const { bits, hashes } = (filter ?? {}) as Record<string, unknown>;
  if (typeof bits !== 'string' || typeof hashes !== 'number' || !Number.isSafeInteger(hashes) || hashes < 1 || hashes > 32) return null;
  const bytes = Buffer.from(bits, 'base64');
  if (bytes.length === 0) return null;
  const size = bytes.length * 8;
  return (id) => {
    let all = true;
    forEachBit(id, size, hashes, (bit) => {
      if ((bytes[bit >> 3]! & (1 << (bit & 7))) === 0) all = false;
    });
    return all;
  };
}

/** The `hashes` bits of `id` (double hashing of two FNV-1a hashes of its characters). */
function forEachBit(id: string, size: number, hashes: number, visit: (bit: number) => void): void {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ id.length;
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995) ^ (b >>> 15);
  }
  a >>>= 0;
  b = (b | 1) >>> 0;
  for (let k = 0; k < hashes; k++) visit((a + k * b) % size);
}
