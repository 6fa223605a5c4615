import { compareVersions, type Version } from '../clock/version.js'
import { DigestTree } from './digest-tree.js'
import { hash64, versionHash } from './hash.js'

type Mutable<T> = { -readonly [P in keyof T]: T[P] }
type MutableIndexEntry = Mutable<IndexEntry>

/**
 * What the index remembers of a key: enough to tell which replica is newer. Hashes are
 * kept as signed 32-bit integers (`| 0`) so V8 stores them inline as small integers, not
 * as boxed numbers; the leaf and the retention end are derived, not stored.
 */
export interface IndexEntry {
  readonly version: Version
  readonly expiresAt: number
  readonly tombstone: boolean
  /** Key hash, first lane (signed): the leaf at any depth is its top bits. */
  readonly keyHash: number
  /** Key hash, second lane (signed). */
  readonly keyHash2: number
  /** Hash of (key, version, tombstone), two signed lanes: what the digests XOR. */
  readonly hi: number
  readonly lo: number
}

/**
 * Per keyspace: the newest version this node has seen of each key, resident in the LRU
 * or evicted from it, with a digest tree over it for anti-entropy. Bounded: past
 * `maxKeys` the first-recorded keys are forgotten (a forgotten key may be re-learned from
 * a peer; that costs bandwidth, never correctness, as versions still decide).
 *
 * A version is remembered for `retainMs` (the keyspace's maxTtl) after it was written, the
 * same absolute time on every replica: the longest any older value it supersedes can
 * live. Until then a newer write that expired (or was deleted) still beats an older write
 * with a longer TTL arriving late. Pure: time is a parameter.
 */
export class VersionIndex {
  readonly tree: DigestTree
  readonly maxKeys: number
  readonly retainMs: number
  private readonly entries = new Map<string, IndexEntry>()
  /**
   * True once the bound made this index forget a key: from then on, a key it does not
   * know may still be held by a peer.
   */
  overflowed = false

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

  /** Live iterator over the index (Map order; entries deleted meanwhile are skipped). */
  iterate(): IterableIterator<[string, IndexEntry]> {
    return this.entries.entries()
  }

  /** True while `e` is within its retention at `now` (see the class note). */
  retained(e: IndexEntry, now: number): boolean {
    return e.version.wall + this.retainMs > now
  }

  /** Records that `key` is at `version` (ignored unless newer than what is known). */
  record(key: string, version: Version, expiresAt: number, tombstone: boolean): void {
    const old = this.entries.get(key) as MutableIndexEntry | undefined
    if (old !== undefined) {
      // Updated in place: no allocation and no map write on the write path.
      if (compareVersions(version, old.version) <= 0) return
      const leaf = this.leafOf(old)
      this.tree.toggle(leaf, old.hi >>> 0, old.lo >>> 0)
      const [hi, lo] = versionHash(
        old.keyHash >>> 0,
        old.keyHash2 >>> 0,
        version.wall,
        version.logical,
        version.node,
        tombstone,
      )
      old.version = version
      old.expiresAt = expiresAt
      old.tombstone = tombstone
      old.hi = hi | 0
      old.lo = lo | 0
      this.tree.toggle(leaf, hi, lo)
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
    this.entries.set(key, {
      version,
      expiresAt,
      tombstone,
      keyHash: keyHash | 0,
      keyHash2: keyHash2 | 0,
      hi: hi | 0,
      lo: lo | 0,
    })
    this.tree.toggle(this.tree.leafOf(keyHash), hi, lo)
    if (this.entries.size > this.maxKeys) {
      // Past the bound the first-recorded key goes (Map order is insertion order).
      const oldest = this.entries.keys().next().value as string
      this.forget(oldest)
      this.overflowed = true
    }
  }

  /** Removes `key` from the index. */
  forget(key: string): void {
    const e = this.entries.get(key)
    if (e === undefined) return
    this.tree.toggle(this.leafOf(e), e.hi >>> 0, e.lo >>> 0)
    this.entries.delete(key)
  }

  /** Forgets every version whose retention ended at `now`. @returns how many */
  purgeExpired(now: number): number {
    const gone: string[] = []
    for (const [k, e] of this.entries) if (!this.retained(e, now)) gone.push(k)
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
      if (this.retained(e, now) && nodes.has(level === 0 ? 0 : (e.keyHash >>> 0) >>> shift))
        out.push([k, e])
    }
    return out
  }

  private leafOf(e: IndexEntry): number {
    return this.tree.leafOf(e.keyHash >>> 0)
  }
}
