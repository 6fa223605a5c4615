import { EncodedValues } from './encoded-values.js'
import type { ResidencyObserver } from './entry-table-contract.js'
import { ENCODED, GHOSTS, LRU, RESIDENT, SlotColumns, TOMB, USED } from './slot-columns.js'

/**
 * The resident part of an entry table: which keys hold their entry (value or tombstone)
 * in memory, in LRU order under the entry and byte bounds, with their counts, their tags
 * and the values held as their bytes until first read. The hit path ({@link find},
 * {@link valueAt}) and every way an entry leaves residency (eviction, expiry, a drop)
 * are here; the version of a key that left stays in its slot (the table above decides
 * when to forget it). Layered on {@link SlotColumns} (same columns, no indirection).
 */
export class ResidentEntries<V> extends SlotColumns<V> {
  readonly maxEntries: number
  readonly maxBytes: number
  /** Values held as their bytes until first read (`EntryTable.mergeEncoded`). */
  readonly encoded = new EncodedValues()
  /** Told of evictions and expiries: set once, by the table's owner ({@link observeResidency}). */
  private residency: ResidencyObserver = {}
  /** Tags of tagged resident values, by slot (rare: a sparse map, not a column). */
  private readonly tags = new Map<number, readonly string[]>()
  private resident = 0
  /** Resident tombstones (the table above counts a resident entry that changes kind). */
  protected tombstoneCount = 0
  private byteCount = 0
  /** Turns held bytes into the value (set by the owner; throws on bytes it cannot read). */
  private decoder: ((bytes: Uint8Array, start: number, end: number) => V) | undefined
  /** The slot the last stored entry went to. */
  private lastStored = -1

  /**
   * @param maxEntries - most resident entries (also the slots a full table grows to first)
   * @param maxBytes - most resident bytes, or `Infinity`
   * @param maxSlots - most slots: keys known, resident or not
   */
  constructor(maxEntries: number, maxBytes: number, maxSlots: number) {
    super(maxEntries, maxSlots)
    this.maxEntries = maxEntries
    this.maxBytes = maxBytes
  }

  /**
   * Sets who hears evictions and expiries: the table's owner, once.
   * @throws Error when an observer is already set (two owners would override each other)
   */
  observeResidency(observer: ResidencyObserver): void {
    if (Object.keys(this.residency).length > 0) throw new Error('residency observer already set')
    this.residency = observer
  }

  /** Sets how held bytes become values (`EntryTable.mergeEncoded`, {@link valueAt}): once, by the owner. */
  decodeWith(decoder: (bytes: Uint8Array, start: number, end: number) => V): void {
    this.decoder = decoder
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
    if (this.expiryOf(s) <= now) {
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

  /** Drops the resident entry of `key` (value or tombstone), keeping its version. @returns true when one was dropped */
  dropEntry(key: string): boolean {
    const s = this.lookup(key)
    // A retired key's flags are 0: not resident.
    if (s === undefined || (this.flags[s]! & RESIDENT) === 0) return false
    this.dropValue(s)
    return true
  }

  /** Resident slots, most recently used first (a snapshot of the order: safe to modify meanwhile). */
  residentSlots(): number[] {
    const out: number[] = []
    for (let s = this.links[2 * LRU]!; s !== LRU; s = this.links[2 * s]!) out.push(s)
    return out
  }

  /** Makes the entry of slot `s` resident (most recently used) with this value, then evicts as needed. */
  protected store(
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

  /**
   * The entry just stored ({@link store}, no value given) holds its value as a copy of
   * `bytes`, decoded on first read ({@link valueAt}).
   */
  protected holdEncoded(bytes: Uint8Array): void {
    const s = this.lastStored
    this.flags[s]! |= ENCODED
    this.encoded.hold(s, bytes)
  }

  /** The least recently used entry leaves residency; its version stays. */
  protected evict(): void {
    const s = this.links[2 * LRU + 1]!
    const observer = this.residency
    if (observer.evicting !== undefined) observer.evicting(this.keys[s]!, s)
    this.dropValue(s)
  }

  /** The value of `s` expired: it leaves residency, its version stays. */
  protected expire(s: number): void {
    const observer = this.residency
    if ((this.flags[s]! & TOMB) === 0 && observer.expiring !== undefined)
      observer.expiring(this.keys[s]!, s)
    this.dropValue(s)
  }

  /** Drops the resident entry of `s` (if any) and moves it to the non-resident list. */
  protected dropValue(s: number): void {
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

  /** Empties the resident part's own state (held bytes, tags, counts) once every slot is forgotten. */
  protected resetResidency(): void {
    this.encoded.clear()
    this.tags.clear()
    this.resident = 0
    this.tombstoneCount = 0
    this.byteCount = 0
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
}
