import type { Version } from '../clock/version.js'
import { EntryTable } from '../store/entry-table.js'
import { FIRST_SLOT } from '../store/slot-columns.js'
import { versionAt } from '../store/versioned-store.js'
import { DigestTree } from './digest-tree.js'
import { hash64, hashKey, NODE_HASH_SEED, secondLane, versionHashLanes } from './hash.js'

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
  /**
   * The key hash of each slot (two lanes), kept once the tree is built: a write hashed its
   * key (~50-80 ns for a key of 17 characters, most of the tree's upkeep) every time.
   * 8 bytes per slot, on nodes that sync only.
   */
  private keyLanes = new Uint32Array(0)
  /** Hash lanes of each interned node id (the table's `nodes`), two per node. */
  private nodeLanes: number[] = []
  private readonly depth: number
  private digests: DigestTree | undefined
  /** The hash of a version being replaced, until the new one is known. */
  private outHi = 0
  private outLo = 0
  /** Second lane of the last {@link hashOf}. */
  private hashLo = 0

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
      this.laneKey(t.keys[s]!, s)
      tree.toggle(tree.leafOf(this.keyLanes[2 * s]!), this.hashOf(s), this.hashLo)
    }
    this.digests = tree
    t.observeVersions({
      versionAdded: (key, slot) => {
        this.laneKey(key, slot)
        tree.toggle(tree.leafOf(this.keyLanes[2 * slot]!), this.hashOf(slot), this.hashLo)
      },
      versionForgetting: (_key, slot) => {
        tree.toggle(tree.leafOf(this.keyLanes[2 * slot]!), this.hashOf(slot), this.hashLo)
      },
      // A replaced version: one walk up the tree with the XOR of the old and new hashes.
      versionReplacing: (_key, slot) => {
        this.outHi = this.hashOf(slot)
        this.outLo = this.hashLo
      },
      versionReplaced: (_key, slot) => {
        const hi = this.hashOf(slot)
        const leaf = tree.leafOf(this.keyLanes[2 * slot]!)
        tree.toggle(leaf, (hi ^ this.outHi) >>> 0, (this.hashLo ^ this.outLo) >>> 0)
      },
    })
    return tree
  }

  /** Hashes `key` into the lanes of `slot`, which it now holds (the column grows with the table's). */
  private laneKey(key: string, slot: number): void {
    if (2 * slot + 1 >= this.keyLanes.length) {
      const grown = new Uint32Array(2 * Math.max(slot + 1, this.table.slotCapacity))
      grown.set(this.keyLanes)
      this.keyLanes = grown
    }
    this.keyLanes[2 * slot] = hashKey(key)
    this.keyLanes[2 * slot + 1] = secondLane()
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
    const out: [string, IndexEntry][] = []
    // One bit per node of the level: a key's node is tested before anything else of its
    // slot is read (a session's scan of 200k keys cost ~100 ms through the generator, a
    // Set probe and the retention check per key).
    const shift = 32 - 4 * level
    const wanted = level === 0 ? undefined : new Uint32Array(Math.ceil(16 ** level / 32))
    if (wanted !== undefined) for (const n of nodes) wanted[n >>> 5]! |= 1 << (n & 31)
    const lanes = this.digests === undefined ? undefined : this.keyLanes
    const end = t.slotsEnd
    for (let s = FIRST_SLOT; s < end; s++) {
      if (!t.isKnown(s)) continue
      if (wanted !== undefined) {
        const n = (lanes === undefined ? hashKey(t.keys[s]!) : lanes[2 * s]!) >>> shift
        if ((wanted[n >>> 5]! & (1 << (n & 31))) === 0) continue
      }
      if (!t.retained(s, now)) continue
      out.push([t.keys[s]!, this.entryAt(s)])
    }
    return out
  }

  private entryAt(s: number): IndexEntry {
    const t = this.table
    return { version: versionAt(t, s), expiresAt: t.expiryOf(s), tombstone: t.isTombstone(s) }
  }

  /**
   * Hash of (key, version, tombstone) in `slot`, from the key's lanes: returns its first
   * lane and leaves the second in `hashLo` (no array per hash on the write path).
   */
  private hashOf(slot: number): number {
    const t = this.table
    const node = t.node[slot]!
    const lanes = this.nodeLanes
    if (2 * node >= lanes.length) {
      for (let n = lanes.length / 2; n < t.nodes.length; n++)
        lanes.push(...hash64(t.nodes[n]!, NODE_HASH_SEED))
    }
    const keyLanes = this.keyLanes
    const hi = versionHashLanes(
      keyLanes[2 * slot]!,
      keyLanes[2 * slot + 1]!,
      t.wallOf(slot),
      t.logicalOf(slot),
      lanes[2 * node]!,
      lanes[2 * node + 1]!,
      t.isTombstone(slot),
    )
    this.hashLo = secondLane()
    return hi
  }
}
