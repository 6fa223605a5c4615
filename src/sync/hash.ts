/**
 * Hashes for the digest tree. A key is hashed once (two 32-bit lanes of cyrb53's mixing,
 * bryc/code, public domain); a version is mixed into the key's lanes numerically, without
 * building strings, so a write costs one key hash and a few multiplies. Digests XOR these
 * 64-bit values: accidental collisions stay below 2^-60 per comparison.
 */
export function hash64(text: string, seed = 0): [hi: number, lo: number] {
  const hi = hashKey(text, seed)
  return [hi, second]
}

/**
 * The second lane of the last {@link hashKey} or {@link versionHashLanes} call: the write
 * path hashes without an array per hash (a set on a mesh node hashed ~5 small arrays
 * into the young generation; allocation there evicts the table's columns from cache).
 */
let second = 0

/** {@link secondLane}'s value: read it right after the call that set it. */
export function secondLane(): number {
  return second
}

/** {@link hash64}'s first lane; the second is {@link secondLane} until the next hash. */
export function hashKey(text: string, seed = 0): number {
  let h1 = 0xdeadbeef ^ seed
  let h2 = 0x41c6ce57 ^ seed
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i)
    h1 = Math.imul(h1 ^ ch, 2654435761)
    h2 = Math.imul(h2 ^ ch, 1597334677)
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507)
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909)
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507)
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909)
  second = h2 >>> 0
  return h1 >>> 0
}

/** MurmurHash3's 32-bit finalizer: full avalanche of one lane. */
function fmix32(h: number): number {
  let x = h
  x ^= x >>> 16
  x = Math.imul(x, 0x85ebca6b)
  x ^= x >>> 13
  x = Math.imul(x, 0xc2b2ae35)
  x ^= x >>> 16
  return x >>> 0
}

const nodeHashes = new Map<string, [number, number]>()

/** Seed of node id hashes in {@link versionHash}. */
export const NODE_HASH_SEED = 7

/** Hash of a node id, memoized (a mesh has few nodes; ids are long). */
function nodeHash(node: string): [number, number] {
  let h = nodeHashes.get(node)
  if (h === undefined) {
    if (nodeHashes.size > 10_000) nodeHashes.clear()
    h = hash64(node, NODE_HASH_SEED)
    nodeHashes.set(node, h)
  }
  return h
}

/** 64-bit hash of (key, version, tombstone), from the key's two lanes. */
export function versionHash(
  k1: number,
  k2: number,
  wall: number,
  logical: number,
  node: string,
  tombstone: boolean,
): [hi: number, lo: number] {
  const [n1, n2] = nodeHash(node)
  return versionHashWith(k1, k2, wall, logical, n1, n2, tombstone)
}

/**
 * {@link versionHash} from the node id's own two lanes (`hash64(node, 7)`), for callers
 * that keep them per interned node.
 */
export function versionHashWith(
  k1: number,
  k2: number,
  wall: number,
  logical: number,
  n1: number,
  n2: number,
  tombstone: boolean,
): [hi: number, lo: number] {
  const hi = versionHashLanes(k1, k2, wall, logical, n1, n2, tombstone)
  return [hi, second]
}

/** {@link versionHashWith}'s first lane; the second is {@link secondLane} until the next hash. */
export function versionHashLanes(
  k1: number,
  k2: number,
  wall: number,
  logical: number,
  n1: number,
  n2: number,
  tombstone: boolean,
): number {
  const wLo = wall >>> 0
  const wHi = Math.floor(wall / 4294967296) >>> 0
  const t = tombstone ? 0x9e3779b9 : 0
  const a = fmix32(k1 ^ fmix32(wLo ^ Math.imul(logical, 0x27d4eb2d)) ^ n1 ^ t)
  second = fmix32(
    k2 ^ fmix32(wHi ^ Math.imul(a, 0x165667b1)) ^ n2 ^ Math.imul(logical + 1, 0x9e3779b1),
  )
  return a
}
