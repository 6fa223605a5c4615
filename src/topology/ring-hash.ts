/**
 * The position of a member on the hash rings of the link plan: a 32-bit hash of its id.
 *
 * FNV-1a over the UTF-16 code units, then the murmur3 finalizer so that ids that differ
 * only in their last characters (libp2p peer ids share long prefixes) still spread over
 * the whole ring. Not cryptographic: a member chooses its own id anyway.
 *
 * @param id - a member id (a libp2p peer id string)
 * @returns an integer in [0, 2^32)
 */
export function ringHash(id: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < id.length; i++) {
    h ^= id.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return mix32(h)
}

/**
 * The position of a member on the ring of one salt (a region pair's own ring), from its
 * plain {@link ringHash}: a bijection of 32-bit integers per salt, so each salt orders
 * the members independently of the others.
 *
 * @param hash - the member's {@link ringHash}
 * @param salt - the salt's {@link ringHash}
 */
export function saltedHash(hash: number, salt: number): number {
  return mix32((hash ^ Math.imul(salt, 0x9e3779b1)) >>> 0)
}

/** murmur3's fmix32 finalizer. */
function mix32(x: number): number {
  let h = x
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

/** Size of the ring: positions are integers in [0, RING_SIZE). */
export const RING_SIZE = 2 ** 32
