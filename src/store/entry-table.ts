import { EncodedValues } from './encoded-values.js'
import {
  checkedTableOptions as checked,
  type EntryTableOptions,
  type MergeOutcome,
  type ResidencyObserver,
  type VersionObserver,
} from './entry-table-contract.js'
import {
  ENCODED,
  FIRST_SLOT,
  GHOSTS,
  LRU,
  RESIDENT,
  SlotColumns,
  TOMB,
  USED,
} from './slot-columns.js'

export type { EntryTableOptions, MergeOutcome, ResidencyObserver, VersionObserver }

/**
 * One keyspace's entries, values and versions in one table: per key the value (or
 * none), the version (wall, logical, node as an interned id), the absolute expiry, the
 * tombstone flag and the bytes it counts. It serves reads and is the anti-entropy index
 * at once: resident entries are in LRU order; keys that left residency (evicted,
 * expired, known only by version) keep their version, bounded by `maxKeys`, so that
 * anti-entropy and last-writer-wins still see them.
 *
 * Storage is {@link SlotColumns}: typed-array columns by slot and an intrusive LRU list,
 * as in lru-cache, and one `Map` from key to slot. Pure: wall-clock time is a parameter.
 * Figures behind the design: docs/decisions/store.md.
 */
export class EntryTable<V = unknown> extends SlotColumns<V> {
  readonly maxEntries: number
  readonly maxBytes: number
  readonly maxKeys: number
  readonly retainMs: number
  /** Told of evictions and expiries: set once, by the table's owner ({@link observeResidency}). */
  private residency: ResidencyObserver = {}
  /** Told of every version change: set once, by the index over it ({@link observeVersions}). */
  private versions: VersionObserver | undefined
  /** True once the bound made the table forget a version. */
  overflowed = false
  /**
   * No slot has anything due (a value to expire, a version to forget) before this
   * wall-clock ms: a lower bound, exact after a sweep pass. The sweep sleeps until then.
   */
  dueAt = Number.POSITIVE_INFINITY
  /** Told when a write makes {@link dueAt} earlier (the sweep reschedules its wake-up). */
  onEarlierDue: ((dueAt: number) => void) | undefined
  /** Earliest due among slots the current pass kept, and among writes since it began. */
  private passDue = Number.POSITIVE_INFINITY
  /** Tags of tagged resident values, by slot (rare: a sparse map, not a column). */
  private readonly tags = new Map<number, readonly string[]>()
  private resident = 0
  private tombstoneCount = 0
  private byteCount = 0
  /** Where the sweep resumes. */
  private cursor = FIRST_SLOT
  /** Values held as their bytes until first read ({@link mergeEncoded}). */
  readonly encoded = new EncodedValues()
  /** Turns held bytes into the value (set by the owner; throws on bytes it cannot read). */
  private decoder: ((bytes: Uint8Array, start: number, end: number) => V) | undefined
  /** The slot the last stored entry went to. */
  private lastStored = -1

  /**
   * Sets who hears evictions and expiries: the table's owner, once.
   * @throws Error when an observer is already set (two owners would override each other)
   */
  observeResidency(observer: ResidencyObserver): void {
    if (Object.keys(this.residency).length > 0) throw new Error('residency observer already set')
    this.residency = observer
  }

  /**
   * Sets who hears every version change: the index over the table, once.
   * @throws Error when an observer is already set
   */
  observeVersions(observer: VersionObserver): void {
    if (this.versions !== undefined) throw new Error('version observer already set')
    this.versions = observer
  }

  /** Sets how held bytes become values ({@link mergeEncoded}, {@link valueAt}): once, by the owner. */
  decodeWith(decoder: (bytes: Uint8Array, start: number, end: number) => V): void {
    this.decoder = decoder
  }

  constructor(options: EntryTableOptions) {
    const { maxEntries, maxBytes, maxKeys } = checked(options)
    super(maxEntries, Math.max(maxKeys, maxEntries))
    this.maxEntries = maxEntries
    this.maxBytes = maxBytes
    this.maxKeys = Math.max(maxKeys, maxEntries)
    this.retainMs = options.retainMs
  }

  /** Keys whose version is known, resident or not. */
  get keyCount(): number {
    return this.slots.size - this.retired
  }

  /** Resident entries, values and tombstones. */
  get residentCount(): number {
    return this.resident
  }

  /** Resident tombstones. */
  get tombstones(): number {
    return this.tombstoneCount
  }

  /** Resident bytes. */
  get bytes(): number {
    return this.byteCount
  }

  /**
   * The hit path: the slot of `key`'s live value at `now`, marked most recently used, or
   * -1. An expired value found here leaves (its version stays).
   */
  find(key: string, now: number): number {
    const s = this.slots.get(key)
    if (s === undefined) return -1
    // A live value is USED | RESIDENT, held decoded or as bytes (ENCODED).
    const f = this.flags[s]! & ~ENCODED
    if (f !== (USED | RESIDENT)) {
      // A resident tombstone counts as used (as an LRU of entries would), and is no hit.
      if ((f & RESIDENT) !== 0) this.touch(s)
      return -1
    }
    if (this.expiresAt[s]! <= now) {
      this.expire(s)
      return -1
    }
    this.touch(s)
    return s
  }

  /**
   * The value of resident `slot`, decoded now if it was held as bytes (then kept decoded).
   * Bytes that do not decode drop the entry (its version stays; the residency observer's
   * `undecodable` hears of it) and read as undefined.
   */
  valueAt(slot: number): V | undefined {
    if ((this.flags[slot]! & ENCODED) === 0) return this.values[slot]
    const held = this.encoded
    let value: V
    try {
      value = this.decoder!(held.chunkOf(slot), held.startOf(slot), held.endOf(slot))
    } catch {
      this.residency.undecodable?.(this.keys[slot]!, slot)
      this.dropValue(slot)
      return undefined
    }
    this.encoded.release(slot)
    this.flags[slot]! &= ~ENCODED
    this.values[slot] = value
    return value
  }

  /** True when resident `slot` holds its value as bytes not decoded yet. */
  isEncoded(slot: number): boolean {
    return (this.flags[slot]! & ENCODED) !== 0
  }

  /** Tags of the value in `slot`, if any. */
  tagsOf(slot: number): readonly string[] | undefined {
    return this.tags.size === 0 ? undefined : this.tags.get(slot)
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
    if (outcome === 'applied') {
      const s = this.lastStored
      this.flags[s]! |= ENCODED
      this.encoded.hold(s, bytes)
    }
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

  /** Drops the resident entry of `key` (value or tombstone), keeping its version. @returns true when one was dropped */
  dropEntry(key: string): boolean {
    const s = this.lookup(key)
    // A retired key's flags are 0: not resident.
    if (s === undefined || (this.flags[s]! & RESIDENT) === 0) return false
    this.dropValue(s)
    return true
  }

  /** Forgets `key` entirely: entry and version. @returns true when it was known */
  forget(key: string): boolean {
    const s = this.slotOf(key)
    if (s < 0) return false
    this.forgetSlot(s)
    return true
  }

  /** True while a sweep pass is under way (it resumes at the next step). */
  get sweeping(): boolean {
    return this.cursor !== FIRST_SLOT
  }

  /** True while the version in `slot` is within its retention (stamp + retainMs) at `now`. */
  retained(slot: number, now: number): boolean {
    return this.wall[slot]! + this.retainMs > now
  }

  /**
   * One step of the incremental sweep: visits up to `budget` keys in slot order, drops
   * values that expired at `now` and forgets versions past their retention (once nothing
   * they shadow can live), and resumes there next time.
   * @param overTime - asked every 64 keys; the step ends early when it answers true
   * @returns keys visited, and whether the pass ended
   */
  sweep(budget: number, now: number, overTime?: () => boolean): [visited: number, done: boolean] {
    let n = 0
    let s = this.cursor
    // Free slots cost a visit too, bounded so a sparse table cannot stall a step.
    const limit = s + 4 * budget
    while (n < budget && s < this.end && s < limit) {
      const f = this.flags[s]!
      if (f !== 0) {
        n++
        this.sweepSlot(s, f, now)
        if ((n & 63) === 0 && overTime?.()) {
          s++
          break
        }
      }
      s++
    }
    const done = s >= this.end
    this.cursor = done ? FIRST_SLOT : s
    if (done) {
      // Every slot was seen: the earliest due of what stays is now exact.
      this.dueAt = this.passDue
      this.passDue = Number.POSITIVE_INFINITY
    }
    return [n, done]
  }

  /** Drops every expired value and forgets every version past retention. @returns values dropped */
  purge(now: number): number {
    let dropped = 0
    for (let s = FIRST_SLOT; s < this.end; s++) {
      const f = this.flags[s]!
      if (f !== 0 && this.sweepSlot(s, f, now)) dropped++
    }
    // A whole pass: the due bound is exact, and an incremental pass starts over.
    this.dueAt = this.passDue
    this.passDue = Number.POSITIVE_INFINITY
    this.cursor = FIRST_SLOT
    return dropped
  }

  /** Resident slots, most recently used first (a snapshot of the order: safe to modify meanwhile). */
  residentSlots(): number[] {
    const out: number[] = []
    for (let s = this.prev[LRU]!; s !== LRU; s = this.prev[s]!) out.push(s)
    return out
  }

  /** Every known key's slot, resident or not, in slot order (live: skips slots freed meanwhile). */
  *knownSlots(): IterableIterator<number> {
    for (let s = FIRST_SLOT; s < this.end; s++) if (this.flags[s] !== 0) yield s
  }

  /** Forgets everything. */
  clear(): void {
    for (let s = FIRST_SLOT; s < this.end; s++) if (this.flags[s] !== 0) this.forgetSlot(s)
    this.resetLists()
    this.encoded.clear()
    this.tags.clear()
    this.cursor = FIRST_SLOT
    this.resident = 0
    this.tombstoneCount = 0
    this.byteCount = 0
  }

  /** Expired value or tombstone out; retention over and nothing live: forgotten. */
  private sweepSlot(s: number, f: number, now: number): boolean {
    const expired = this.expiresAt[s]! <= now
    let dropped = false
    if (expired && (f & RESIDENT) !== 0) {
      this.expire(s)
      dropped = true
    }
    const forgetAt = this.wall[s]! + this.retainMs
    if (expired && forgetAt <= now) this.forgetSlot(s)
    else {
      // What this slot waits for next: its expiry, or (expired) the end of its retention.
      const next =
        expired || (this.flags[s]! & RESIDENT) === 0
          ? Math.max(forgetAt, this.expiresAt[s]!)
          : this.expiresAt[s]!
      if (next < this.passDue) this.passDue = next
    }
    return dropped
  }

  /**
   * Slot `s` has something due at `at`: lowers the table's bound (telling the sweep when
   * earlier) and, for a slot the current pass already visited, the pass's own.
   */
  private due(at: number, s: number): void {
    if (s < this.cursor && at < this.passDue) this.passDue = at
    if (at < this.dueAt) {
      this.dueAt = at
      this.onEarlierDue?.(at)
    }
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
    this.wall[s] = wall
    this.logical[s] = logical
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
    this.wall[s] = wall
    this.logical[s] = logical
    this.node[s] = this.internNode(node)
    this.expiresAt[s] = expiresAt
    if (expiresAt < this.dueAt || s < this.cursor) this.due(expiresAt, s)
    this.flags[s] = tombstone ? USED | TOMB : USED
    this.link(GHOSTS, s)
    this.versions?.versionAdded(key, s)
    return s
  }

  /** Forgets the key that left residency first (or, when all are resident, evicts one). */
  private makeRoom(): void {
    if (this.next[GHOSTS] === GHOSTS) this.evict()
    this.overflowed = true
    this.forgetSlot(this.next[GHOSTS]!)
  }

  /** Makes the entry of slot `s` resident (most recently used) with this value, then evicts as needed. */
  private store(
    s: number,
    value: V | undefined,
    size: number,
    tags: readonly string[] | undefined,
  ) {
    const f = this.flags[s]!
    if ((f & RESIDENT) !== 0) {
      this.releaseValue(s)
    } else {
      this.flags[s] = f | RESIDENT
      this.resident++
      if ((f & TOMB) !== 0) this.tombstoneCount++
    }
    this.values[s] = value
    this.size[s] = size
    this.byteCount += size
    this.lastStored = s
    if (tags !== undefined) this.tags.set(s, tags)
    this.unlink(s)
    this.link(LRU, s)
    while (this.resident > this.maxEntries || this.byteCount > this.maxBytes) this.evict()
  }

  /** The least recently used entry leaves residency; its version stays. */
  private evict(): void {
    const s = this.next[LRU]!
    const observer = this.residency
    if (observer.evicting !== undefined) observer.evicting(this.keys[s]!, s)
    this.dropValue(s)
  }

  /** The value of `s` expired: it leaves residency, its version stays. */
  private expire(s: number): void {
    const observer = this.residency
    if ((this.flags[s]! & TOMB) === 0 && observer.expiring !== undefined)
      observer.expiring(this.keys[s]!, s)
    this.dropValue(s)
  }

  /** Drops the resident entry of `s` (if any) and moves it to the non-resident list. */
  private dropValue(s: number): void {
    const f = this.flags[s]!
    if ((f & RESIDENT) === 0) return
    this.releaseValue(s)
    // Re-read: releasing cleared ENCODED, which `f` still has.
    this.flags[s] = this.flags[s]! & ~RESIDENT
    this.resident--
    if ((f & TOMB) !== 0) this.tombstoneCount--
    this.unlink(s)
    this.link(GHOSTS, s)
  }

  /** Uncounts and clears the value of resident slot `s` (it stays resident). */
  private releaseValue(s: number): void {
    this.byteCount -= this.size[s]!
    this.size[s] = 0
    this.values[s] = undefined
    if ((this.flags[s]! & ENCODED) !== 0) {
      this.encoded.release(s)
      this.flags[s]! &= ~ENCODED
    }
    if (this.tags.size > 0) {
      const tags = this.tags.get(s)
      if (tags !== undefined) {
        this.tags.delete(s)
        this.residency.untagged?.(this.keys[s]!, tags)
      }
    }
  }

  /** Forgets the key of `s`: no map delete (the key retires; see {@link SlotColumns}). */
  private forgetSlot(s: number): void {
    this.dropValue(s)
    this.versions?.versionForgetting(this.keys[s]!, s)
    this.unlink(s)
    this.release(s)
  }
}
