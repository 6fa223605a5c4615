import { compareVersions, type Version } from '../clock/version.js'
import { DigestTree } from './digest-tree.js'
import { hash64, versionHash } from './hash.js'

type Mutable<T> = { -readonly [P in keyof T]: T[P] }
type MutableIndexEntry = Mutable<IndexEntry>

/** What the index remembers of a key: enough to tell which replica is newer. */
export interface IndexEntry {
  readonly version: Version
  readonly expiresAt: number
  /**
   * When the index forgets this version: its write time plus the keyspace's maxTtl, the
   * longest any older value it supersedes can live. Until then a newer write that expired
   * (or was deleted) still beats an older write with a longer TTL arriving late.
   */
  readonly forgetAt: number
  readonly tombstone: boolean
  /** Leaf of the digest tree (from the key hash). */
  readonly leaf: number
  /** Key hash, first lane: the leaf at any depth is its top bits. */
  readonly keyHash: number
  /** Key hash, second lane. */
  readonly keyHash2: number
  readonly hi: number
  readonly lo: number
}

/**
 * Per keyspace: the newest version this node has seen of each key, resident in the LRU
 * or evicted from it, with a digest tree over it for anti-entropy. Bounded: past
 * `maxKeys` the longest-unwritten keys are forgotten (a forgotten key may be re-learned
 * from a peer; that costs bandwidth, never correctness, as versions still decide).
 * A version is remembered for `retainMs` (the keyspace's maxTtl) after it was written, the
 * same absolute time on every replica. Pure: time is a parameter.
 */
export class VersionIndex {
  readonly tree: DigestTree
  readonly maxKeys: number
  readonly retainMs: number
  private readonly entries = new Map<string, IndexEntry>()

  constructor(maxKeys: number, retainMs: number, depth = DigestTree.depthFor(maxKeys)) {
    this.maxKeys = maxKeys
    this.retainMs = retainMs
    this.tree = new DigestTree(depth)
  }

  get size(): number {
    return this.entries.size
  }

  get(key: string): IndexEntry | undefined {
    return this.entries.get(key)
  }

  /** Records that `key` is at `version` (ignored unless newer than what is known). */
  record(key: string, version: Version, expiresAt: number, tombstone: boolean): void {
    const old = this.entries.get(key) as MutableIndexEntry | undefined
    if (old !== undefined) {
      // Updated in place: no allocation and no map write on the write path.
      if (compareVersions(version, old.version) <= 0) return
      this.tree.toggle(old.leaf, old.hi, old.lo)
      const [hi, lo] = versionHash(
        old.keyHash,
        old.keyHash2,
        version.wall,
        version.logical,
        version.node,
        tombstone,
      )
      old.version = version
      old.expiresAt = expiresAt
      old.forgetAt = version.wall + this.retainMs
      old.tombstone = tombstone
      old.hi = hi
      old.lo = lo
      this.tree.toggle(old.leaf, hi, lo)
      return
    }
    const [keyHash, keyHash2] = hash64(key)
    const [hi, lo] = versionHash(
      keyHash,
      keyHash2,
      version.wall,
      version.logical,
      version.node,
      tombstone,
    )
    const leaf = this.tree.leafOf(keyHash)
    this.entries.set(key, {
      version,
      expiresAt,
      forgetAt: version.wall + this.retainMs,
      tombstone,
      leaf,
      keyHash,
      keyHash2,
      hi,
      lo,
    })
    this.tree.toggle(leaf, hi, lo)
    if (this.entries.size > this.maxKeys) {
      // Past the bound the first-recorded key goes (Map order is insertion order).
      const oldest = this.entries.keys().next().value as string
      this.forget(oldest)
    }
  }

  /** Removes `key` from the index. */
  forget(key: string): void {
    const e = this.entries.get(key)
    if (e === undefined) return
    this.tree.toggle(e.leaf, e.hi, e.lo)
    this.entries.delete(key)
  }

  /** Forgets every version whose retention ended at `now`. @returns how many */
  purgeExpired(now: number): number {
    const gone: string[] = []
    for (const [k, e] of this.entries) if (e.forgetAt <= now) gone.push(k)
    for (const k of gone) this.forget(k)
    return gone.length
  }

  /**
   * Keys whose leaf, seen at tree level `level`, is one of `nodes`. One scan of the
   * index: only paid when digests differ.
   */
  keysUnder(level: number, nodes: ReadonlySet<number>, now: number): [string, IndexEntry][] {
    const shift = 32 - 4 * level
    const out: [string, IndexEntry][] = []
    for (const [k, e] of this.entries) {
      if (e.forgetAt > now && nodes.has(level === 0 ? 0 : e.keyHash >>> shift)) out.push([k, e])
    }
    return out
  }
}
