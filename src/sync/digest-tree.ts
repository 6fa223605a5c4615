import { InvalidOptionError } from '../errors.js'

/** Children per tree node. */
export const FANOUT = 16
/** Bits of a leaf index consumed per level. */
const BITS = 4

/** Toggles a tree holds before it applies them (see {@link DigestTree}): 48 KiB. */
export const PENDING_TOGGLES = 4096

/**
 * A fixed-shape 16-ary digest tree (a Merkle tree whose node digests are XORs): level 0 is
 * the root, level `depth` has 16^depth leaves. A key lives in the leaf its key hash picks;
 * a leaf's digest is the XOR of hash(key, version) over its keys, and every inner node the
 * XOR of its children. XOR makes updates O(depth) and independent of order; a node at
 * level l is the same aggregate in trees of any depth >= l, so peers with different depths
 * still compare at the shallower one.
 *
 * **Toggles are applied in bulk**: {@link toggle} appends to a buffer, applied when it is
 * full or when a digest is read. The leaf level (512 KiB at depth 4, 8 MiB at depth 5) is
 * touched at random; one toggle per write paid a cache (and TLB) miss inside every write,
 * serialized with the write's own misses, where a loop over thousands of independent
 * toggles overlaps them (issue 29: the tree's share of a mesh node's `set` went from
 * ~140 to ~10 ns). XOR commutes, so digests read are exactly the eager tree's.
 */
export class DigestTree {
  readonly depth: number
  /** Per level, [hi, lo] pairs interleaved: one cache line per update and level. */
  private readonly levels: Uint32Array[]
  /** Toggles not applied yet: (leaf, hi, lo) triples. */
  private readonly pending: Uint32Array
  private held = 0

  /** @param buffered - toggles held before they are applied (1: every toggle at once) */
  constructor(depth: number, buffered = PENDING_TOGGLES) {
    if (!Number.isInteger(depth) || depth < 1 || depth > 6) {
      throw new InvalidOptionError(`digest tree depth must be 1..6, got ${depth}`)
    }
    this.depth = depth
    this.levels = []
    for (let l = 0; l <= depth; l++) {
      // Written once now: the pages are mapped here, not by first touches on the write path.
      this.levels.push(new Uint32Array(2 * FANOUT ** l).fill(0))
    }
    this.pending = new Uint32Array(3 * Math.max(1, buffered))
  }

  /** Leaf of a key, from its key hash (32 bits): the top `4 * depth` bits. */
  leafOf(keyHash: number): number {
    return keyHash >>> (32 - BITS * this.depth)
  }

  /** XORs a (key, version) hash into a leaf and its ancestors: adds it, or removes it again. */
  toggle(leaf: number, hi: number, lo: number): void {
    const p = this.pending
    const i = 3 * this.held
    p[i] = leaf
    p[i + 1] = hi
    p[i + 2] = lo
    this.held++
    if (3 * this.held === p.length) this.apply()
  }

  /** Applies the held toggles, a level at a time (independent accesses the CPU overlaps). */
  private apply(): void {
    const p = this.pending
    const n = 3 * this.held
    for (let l = this.depth; l >= 0; l--) {
      const level = this.levels[l]!
      const shift = BITS * (this.depth - l)
      for (let i = 0; i < n; i += 3) {
        const idx = 2 * (p[i]! >>> shift)
        level[idx]! ^= p[i + 1]!
        level[idx + 1]! ^= p[i + 2]!
      }
    }
    this.held = 0
  }

  /** The levels, every held toggle applied. */
  private get applied(): Uint32Array[] {
    if (this.held > 0) this.apply()
    return this.levels
  }

  /** Digest of node `index` at `level`, as [hi, lo]. */
  digest(level: number, index: number): [number, number] {
    const l = this.applied[level]!
    return [l[2 * index]!, l[2 * index + 1]!]
  }

  /** Digests of the 16 children of node `index` at `level` (level < depth). */
  children(level: number, index: number): [number, number][] {
    const out: [number, number][] = []
    const base = index * FANOUT
    const l = this.applied[level + 1]!
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
    const l = this.applied[level + 1]!
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
