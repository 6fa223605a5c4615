import type { Version } from '../clock/version.js'
import { EntryTable } from '../store/entry-table.js'
import { versionAt } from '../store/versioned-store.js'
import { DigestTree } from './digest-tree.js'
import { hash64, NODE_HASH_SEED, versionHashWith } from './hash.js'

/** What the index knows of a key: enough to tell which replica is newer. Built on demand. */
export interface IndexEntry {
  readonly version: Version
  readonly expiresAt: number
  readonly tombstone: boolean
}

/**
 * Per keyspace: the newest version this node has seen of each key, resident in the LRU
 * or evicted from it, with a digest tree over it for anti-entropy. A view over the
 * keyspace's {@link EntryTable}, which holds every version once, next to the values; the
 * index adds the digest tree and keeps it in step with every version the table sets or
 * forgets. Bounded: past `maxKeys` the keys that left residency first are forgotten (a
 * forgotten key may be re-learned from a peer; that costs bandwidth, never correctness,
 * as versions still decide).
 *
 * A version is remembered for `retainMs` (the keyspace's maxTtl) after it was written, the
 * same absolute time on every replica: the longest any older value it supersedes can
 * live. Until then a newer write that expired (or was deleted) still beats an older write
 * with a longer TTL arriving late. Pure: time is a parameter.
 *
 * Hashes are not stored: a leaf's contribution is recomputed from (key, version) when a
 * version changes (one key hash per write). The tree itself is built on first use (the
 * first anti-entropy session, an operator's digest) by one scan of the table, then kept
 * in step: a cache that never syncs never pays for it, in time or memory. Figures:
 * docs/decisions/store.md.
 */
export class VersionIndex {
  readonly maxKeys: number
  readonly retainMs: number
  readonly table: EntryTable<unknown>
  /** One-key memo of the key hash: a version change hashes out then in the same key. */
  private lastKey: string | undefined
  private k1 = 0
  private k2 = 0
  /** Hash lanes of each interned node id (the table's `nodes`), two per node. */
  private nodeLanes: number[] = []
  private readonly depth: number
  private digests: DigestTree | undefined
  /** The hash of a version being replaced, until the new one is known. */
  private outHi = 0
  private outLo = 0

  /**
   * An index over `table` (a replica's), or over a table of its own holding versions only.
   * It becomes the table's version observer.
   */
  constructor(
    maxKeys: number,
    retainMs: number,
    depth = DigestTree.depthFor(maxKeys),
    table?: EntryTable<unknown>,
  ) {
    this.maxKeys = maxKeys
    this.retainMs = retainMs
    this.depth = depth
    this.table =
      table ?? new EntryTable({ maxEntries: maxKeys, maxBytes: Infinity, maxKeys, retainMs })
  }

  /**
   * The digest tree over every known (key, version): built from the table on first use,
   * then kept in step with every version the table sets, replaces or forgets.
   */
  get tree(): DigestTree {
    return this.digests ?? this.buildTree()
  }

  private buildTree(): DigestTree {
    const tree = new DigestTree(this.depth)
    const t = this.table
    for (const s of t.knownSlots()) {
      const [hi, lo] = this.hashOf(t.keys[s]!, s)
      tree.toggle(tree.leafOf(this.k1), hi, lo)
    }
    this.digests = tree
    const toggle = (key: string, slot: number) => {
      const [hi, lo] = this.hashOf(key, slot)
      tree.toggle(tree.leafOf(this.k1), hi, lo)
    }
    t.observeVersions({
      versionAdded: toggle,
      versionForgetting: toggle,
      // A replaced version: one walk up the tree with the XOR of the old and new hashes.
      versionReplacing: (key, slot) => {
        const [hi, lo] = this.hashOf(key, slot)
        this.outHi = hi
        this.outLo = lo
      },
      versionReplaced: (key, slot) => {
        const [hi, lo] = this.hashOf(key, slot)
        tree.toggle(tree.leafOf(this.k1), (hi ^ this.outHi) >>> 0, (lo ^ this.outLo) >>> 0)
      },
    })
    return tree
  }

  /** Keys whose version is known. */
  get size(): number {
    return this.table.keyCount
  }

  /**
   * True once the bound made this index forget a key: from then on, a key it does not
   * know may still be held by a peer.
   */
  get overflowed(): boolean {
    return this.table.overflowed
  }

  get(key: string): IndexEntry | undefined {
    const s = this.table.slotOf(key)
    return s < 0 ? undefined : this.entryAt(s)
  }

  /** Live iterator over the index (slot order; keys forgotten meanwhile are skipped). */
  *iterate(): IterableIterator<[string, IndexEntry]> {
    const t = this.table
    for (const s of t.knownSlots()) yield [t.keys[s]!, this.entryAt(s)]
  }

  /** True while `e` is within its retention at `now` (see the class note). */
  retained(e: IndexEntry, now: number): boolean {
    return e.version.wall + this.retainMs > now
  }

  /** Records that `key` is at `version` (ignored unless newer than what is known; drops older values). */
  record(key: string, version: Version, expiresAt: number, tombstone: boolean): void {
    this.table.recordVersion(key, version.wall, version.logical, version.node, expiresAt, tombstone)
  }

  /** Removes `key` from the index (and its value from the table). */
  forget(key: string): void {
    this.table.forget(key)
  }

  /** Forgets every version whose retention ended at `now`. @returns how many */
  purgeExpired(now: number): number {
    const before = this.table.keyCount
    this.table.purge(now)
    return before - this.table.keyCount
  }

  /**
   * Keys whose leaf, seen at tree level `level`, is one of `nodes`. One scan of the
   * table, hashing each retained key: only paid when digests differ.
   */
  keysUnder(level: number, nodes: ReadonlySet<number>, now: number): [string, IndexEntry][] {
    const t = this.table
    const shift = 32 - 4 * level
    const out: [string, IndexEntry][] = []
    for (const s of t.knownSlots()) {
      if (!t.retained(s, now)) continue
      const key = t.keys[s]!
      if (level === 0 || nodes.has(hash64(key)[0] >>> shift)) out.push([key, this.entryAt(s)])
    }
    return out
  }

  private entryAt(s: number): IndexEntry {
    const t = this.table
    return { version: versionAt(t, s), expiresAt: t.expiresAt[s]!, tombstone: t.isTombstone(s) }
  }

  /** Hash of (key, version, tombstone) in `slot`; leaves the key's lanes in k1, k2. */
  private hashOf(key: string, slot: number): [hi: number, lo: number] {
    if (key !== this.lastKey) {
      const [k1, k2] = hash64(key)
      this.k1 = k1
      this.k2 = k2
      this.lastKey = key
    }
    const t = this.table
    const node = t.node[slot]!
    const lanes = this.nodeLanes
    if (2 * node >= lanes.length) {
      for (let n = lanes.length / 2; n < t.nodes.length; n++)
        lanes.push(...hash64(t.nodes[n]!, NODE_HASH_SEED))
    }
    return versionHashWith(
      this.k1,
      this.k2,
      t.wall[slot]!,
      t.logical[slot]!,
      lanes[2 * node]!,
      lanes[2 * node + 1]!,
      t.isTombstone(slot),
    )
  }
}
