import {
  checkedTableOptions as checked,
  type EntryTableOptions,
  type MergeOutcome,
} from './entry-table-contract.js'
import { FIRST_SLOT, GHOSTS, RESIDENT, TOMB, USED } from './slot-columns.js'
import { VersionRetention } from './version-retention.js'

export type { EntryTableOptions, MergeOutcome }

/**
 * One keyspace's entries, values and versions in one table: per key the value (or
 * none), the version (wall, logical, node as an interned id), the absolute expiry, the
 * tombstone flag and the bytes it counts. It serves reads and is the anti-entropy index
 * at once: resident entries are in LRU order; keys that left residency (evicted,
 * expired, known only by version) keep their version, bounded by `maxKeys`, so that
 * anti-entropy and last-writer-wins still see them.
 *
 * Storage is `SlotColumns`: typed-array columns by slot and an intrusive LRU list, as in
 * lru-cache, and one `Map` from key to slot. Pure: wall-clock time is a parameter.
 * Figures behind the design: docs/decisions/store.md. One class in layers over the same
 * columns (no indirection on the hot path), one job each: `SlotColumns` (storage, retired
 * keys), `ResidentEntries` (residency and LRU, the hit path, values held as bytes),
 * {@link VersionRetention} (the key bound, retention, the sweep) and this one, the writes
 * (last-writer-wins).
 */
export class EntryTable<V = unknown> extends VersionRetention<V> {
  /** @throws InvalidOptionError for limits that are not positive integers (maxBytes: or Infinity) */
  constructor(options: EntryTableOptions) {
    super(checked(options))
  }

  /**
   * Last-writer-wins: stores the entry when its version is newer than the one known for
   * `key` (resident or not), or refills a slot that knows this very version but holds no
   * entry. A newer entry that expired or cannot fit still replaces the version (it
   * shadows every older write) and drops any older value.
   */
  merge(
    key: string,
    wall: number,
    logical: number,
    node: string,
    expiresAt: number,
    tombstone: boolean,
    value: V | undefined,
    size: number,
    tags: readonly string[] | undefined,
    now: number,
  ): MergeOutcome {
    const known = this.lookup(key)
    let s: number
    if (known !== undefined && this.flags[known] !== 0) {
      s = known
      const cmp = this.compare(s, wall, logical, node)
      const f = this.flags[s]!
      if (cmp < 0 || (cmp === 0 && (f & RESIDENT) !== 0)) return 'stale'
      // The same version refilling a slot takes the entry's own expiry and kind.
      if (cmp > 0 || ((f & TOMB) !== 0) !== tombstone) {
        this.setVersion(key, s, wall, logical, node, expiresAt, tombstone)
      } else {
        this.expiresAt[s] = expiresAt
        if (expiresAt < this.dueAt || s < this.cursor) this.due(expiresAt, s)
      }
    } else {
      s = this.insert(key, known, wall, logical, node, expiresAt, tombstone)
    }
    if (expiresAt <= now) {
      this.dropValue(s)
      return 'expired'
    }
    if (size > this.maxBytes) {
      this.dropValue(s)
      return 'too-large'
    }
    this.store(s, value, size, tags)
    return 'applied'
  }

  /**
   * {@link merge} of a value given as its bytes, kept as such (copied: `bytes` may be a
   * view of a buffer the caller reuses) and decoded on first read ({@link valueAt}). For
   * values without tags (tags must be known when the entry is stored).
   */
  mergeEncoded(
    key: string,
    wall: number,
    logical: number,
    node: string,
    expiresAt: number,
    bytes: Uint8Array,
    size: number,
    now: number,
  ): MergeOutcome {
    const outcome = this.merge(
      key,
      wall,
      logical,
      node,
      expiresAt,
      false,
      undefined,
      size,
      undefined,
      now,
    )
    if (outcome === 'applied') this.holdEncoded(bytes)
    return outcome
  }

  /**
   * Records that `key` is at this version without a value (a peer evicted it, or a tag
   * invalidation killed it): ignored unless newer than what is known; drops older values.
   * @returns true when the version was recorded
   */
  recordVersion(
    key: string,
    wall: number,
    logical: number,
    node: string,
    expiresAt: number,
    tombstone: boolean,
  ): boolean {
    const s = this.lookup(key)
    if (s === undefined || this.flags[s] === 0) {
      this.insert(key, s, wall, logical, node, expiresAt, tombstone)
      return true
    }
    if (this.compare(s, wall, logical, node) <= 0) return false
    this.setVersion(key, s, wall, logical, node, expiresAt, tombstone)
    this.dropValue(s)
    return true
  }

  /** One past the highest slot that ever held a key: {@link isKnown} below it, for scans. */
  get slotsEnd(): number {
    return this.end
  }

  /** True when `slot` holds a key (resident or not). */
  isKnown(slot: number): boolean {
    return this.flags[slot] !== 0
  }

  /** Every known key's slot, resident or not, in slot order (live: skips slots freed meanwhile). */
  *knownSlots(): IterableIterator<number> {
    for (let s = FIRST_SLOT; s < this.end; s++) if (this.flags[s] !== 0) yield s
  }

  /** Forgets everything. */
  clear(): void {
    for (let s = FIRST_SLOT; s < this.end; s++) if (this.flags[s] !== 0) this.forgetSlot(s)
    this.resetLists()
    this.resetResidency()
    this.cursor = FIRST_SLOT
  }

  private setVersion(
    key: string,
    s: number,
    wall: number,
    logical: number,
    node: string,
    expiresAt: number,
    tombstone: boolean,
  ): void {
    const versions = this.versions
    if (versions !== undefined) versions.versionReplacing(key, s)
    this.times[2 * s] = wall
    this.times[2 * s + 1] = logical
    this.node[s] = this.internNode(node)
    this.expiresAt[s] = expiresAt
    if (expiresAt < this.dueAt || s < this.cursor) this.due(expiresAt, s)
    const f = this.flags[s]!
    if ((f & RESIDENT) !== 0 && ((f & TOMB) !== 0) !== tombstone) {
      this.tombstoneCount += tombstone ? 1 : -1
    }
    this.flags[s] = tombstone ? f | TOMB : f & ~TOMB
    if (versions !== undefined) versions.versionReplaced(key, s)
  }

  /**
   * A new key (or a retired one: `retiredSlot`, what the map gave), not resident, at the
   * tail of the non-resident list.
   */
  private insert(
    key: string,
    retiredSlot: number | undefined,
    wall: number,
    logical: number,
    node: string,
    expiresAt: number,
    tombstone: boolean,
  ): number {
    if (this.slots.size - this.retired >= this.maxKeys) this.makeRoom()
    const s = this.claim(key, retiredSlot)
    this.times[2 * s] = wall
    this.times[2 * s + 1] = logical
    this.node[s] = this.internNode(node)
    this.expiresAt[s] = expiresAt
    if (expiresAt < this.dueAt || s < this.cursor) this.due(expiresAt, s)
    this.flags[s] = tombstone ? USED | TOMB : USED
    this.link(GHOSTS, s)
    this.versions?.versionAdded(key, s)
    return s
  }
}
