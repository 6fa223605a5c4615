import { InvalidOptionError } from '../errors.js'

/** Children per tree node. */
export const FANOUT = 16
/** Bits of a leaf index consumed per level. */
const BITS = 4

/**
 * A fixed-shape 16-ary digest tree (a Merkle tree whose node digests are XORs): level 0 is
 * the root, level `depth` has 16^depth leaves. A key lives in the leaf its key hash picks;
 * a leaf's digest is the XOR of hash(key, version) over its keys, and every inner node the
 * XOR of its children. XOR makes updates O(depth) and independent of order; a node at
 * level l is the same aggregate in trees of any depth >= l, so peers with different depths
 * still compare at the shallower one.
 */
export class DigestTree {
  readonly depth: number
  /** Per level, [hi, lo] pairs interleaved: one cache line per update and level. */
  private readonly levels: Uint32Array[]

  constructor(depth: number) {
    if (!Number.isInteger(depth) || depth < 1 || depth > 6) {
      throw new InvalidOptionError(`digest tree depth must be 1..6, got ${depth}`)
    }
    this.depth = depth
    this.levels = []
    for (let l = 0; l <= depth; l++) this.levels.push(new Uint32Array(2 * FANOUT ** l))
  }

  /** Leaf of a key, from its key hash (32 bits): the top `4 * depth` bits. */
  leafOf(keyHash: number): number {
    return keyHash >>> (32 - BITS * this.depth)
  }

  /** XORs a (key, version) hash into a leaf and its ancestors: adds it, or removes it again. */
  toggle(leaf: number, hi: number, lo: number): void {
    let idx = leaf
    for (let l = this.depth; l >= 0; l--) {
      const level = this.levels[l]!
      level[2 * idx]! ^= hi
      level[2 * idx + 1]! ^= lo
      idx >>>= BITS
    }
  }

  /** Digest of node `index` at `level`, as [hi, lo]. */
  digest(level: number, index: number): [number, number] {
    const l = this.levels[level]!
    return [l[2 * index]!, l[2 * index + 1]!]
  }

  /** Digests of the 16 children of node `index` at `level` (level < depth). */
  children(level: number, index: number): [number, number][] {
    const out: [number, number][] = []
    const base = index * FANOUT
    const l = this.levels[level + 1]!
    for (let c = 0; c < FANOUT; c++) out.push([l[2 * (base + c)]!, l[2 * (base + c) + 1]!])
    return out
  }

  /**
   * The first 32-bit lane of the children of each of `nodes` at `level`, packed big-endian:
   * 64 bytes per node. Below the root (compared on all 64 bits) one lane suffices: a
   * differing subtree hides behind an equal 32-bit digest with probability 2^-32 per
   * session, and the next session, with any new write, sees it.
   */
  packedChildren(level: number, nodes: readonly number[]): Uint8Array {
    const out = new Uint8Array(nodes.length * FANOUT * 4)
    const view = new DataView(out.buffer)
    const l = this.levels[level + 1]!
    let off = 0
    for (const n of nodes) {
      for (let c = 0; c < FANOUT; c++) {
        view.setUint32(off, l[2 * (n * FANOUT + c)]!)
        off += 4
      }
    }
    return out
  }

  /**
   * Depth for `maxKeys` keys: about one key per leaf when full (few bystander keys per
   * differing key in a repair), at least 2 levels, at most 5 (16^5 leaves, 8 MiB of digests).
   */
  static depthFor(maxKeys: number): number {
    return Math.min(5, Math.max(2, Math.round(Math.log(Math.max(1, maxKeys)) / Math.log(FANOUT))))
  }
}
