import type { Version } from '../clock/version.js'
import type { Entry } from './entry.js'
import { EntryTable, type MergeOutcome } from './entry-table.js'

export type { MergeOutcome } from './entry-table.js'

/** Options of a standalone {@link VersionedStore}. */
export interface VersionedStoreOptions {
  /** Most entries held (values and tombstones); least recently used go first. */
  maxEntries: number
  /** Most bytes held, as counted by {@link Entry.size}; `Infinity` for no byte limit. */
  maxBytes: number
  /** Called when the LRU drops an entry to make room. Local only: never a delete. */
  onEvict?: (key: string, entry: Entry) => void
  /** Called when an expired value is dropped (on access or by {@link VersionedStore.purgeExpired}). */
  onExpire?: (key: string, entry: Entry) => void
}

/** The version held in `slot` of `table`, as an object. */
export function versionAt(table: EntryTable<unknown>, slot: number): Version {
  return { wall: table.wallOf(slot), logical: table.logicalOf(slot), node: table.nodeOf(slot) }
}

/** The entry held in `slot` of `table`, as an object (built on demand: the table keeps columns). */
export function entryAt<V>(table: EntryTable<V>, slot: number): Entry<V> {
  const value = table.valueAt(slot)
  const version = versionAt(table as EntryTable<unknown>, slot)
  const expiresAt = table.expiryOf(slot)
  const tombstone = table.isTombstone(slot)
  const size = table.size[slot]!
  const tags = table.tagsOf(slot)
  return tags === undefined
    ? { value, version, expiresAt, tombstone, size }
    : { value, version, expiresAt, tombstone, size, tags }
}

/** {@link entryAt} of resident `slot`, or undefined when its held bytes did not decode (the entry left). */
function residentEntryAt<V>(table: EntryTable<V>, slot: number): Entry<V> | undefined {
  const entry = entryAt(table, slot)
  return table.isResident(slot) ? entry : undefined
}

/**
 * The local LRU+TTL tier as entries: the resident part of an {@link EntryTable} (values
 * and tombstones with their versions and absolute expiry), bounded by entry count and
 * bytes. A view: a replica's store and its version index are one table. Pure:
 * wall-clock time is a parameter. Entries are built on demand; the hit path of the API
 * reads the table directly.
 */
export class VersionedStore<V = unknown> {
  readonly table: EntryTable<V>

  /** A store over its own table (tests, tools), or a view over `table`. */
  constructor(options: VersionedStoreOptions | EntryTable<V>) {
    if (options instanceof EntryTable) {
      this.table = options
      return
    }
    const { maxEntries, maxBytes, onEvict, onExpire } = options
    // Only the resident part is asked for: versions of dropped keys are not kept.
    this.table = new EntryTable<V>({ maxEntries, maxBytes, maxKeys: maxEntries, retainMs: 0 })
    const table = this.table
    this.table.observeResidency({
      ...(onEvict && { evicting: (key, slot) => onEvict(key, entryAt(table, slot)) }),
      ...(onExpire && { expiring: (key, slot) => onExpire(key, entryAt(table, slot)) }),
    })
  }

  get maxEntries(): number {
    return this.table.maxEntries
  }

  get maxBytes(): number {
    return this.table.maxBytes
  }

  /** Entries held, values and tombstones. */
  get size(): number {
    return this.table.residentCount
  }

  /** Tombstones held. */
  get tombstones(): number {
    return this.table.tombstones
  }

  /** Bytes held, as counted by {@link Entry.size}. */
  get bytes(): number {
    return this.table.bytes
  }

  /**
   * The live entry for `key` at time `now`, marking it most recently used. Tombstones and
   * expired entries are never returned; an expired one is dropped on the way.
   */
  get(key: string, now: number): Entry<V> | undefined {
    const s = this.table.find(key, now)
    return s < 0 ? undefined : residentEntryAt(this.table, s)
  }

  /** The stored entry for `key` (value or tombstone, even expired), without touching recency. */
  peek(key: string): Entry<V> | undefined {
    const s = this.table.slotOf(key)
    return s < 0 || !this.table.isResident(s) ? undefined : residentEntryAt(this.table, s)
  }

  /**
   * Applies last-writer-wins: stores `incoming` when its version is newer than the held
   * entry's (tombstones included). The one rule for local writes and remote ones.
   */
  merge(key: string, incoming: Entry<V>, now: number): MergeOutcome {
    const v = incoming.version
    return this.table.merge(
      key,
      v.wall,
      v.logical,
      v.node,
      incoming.expiresAt,
      incoming.tombstone,
      incoming.value,
      incoming.size,
      incoming.tags,
      now,
    )
  }

  /** Drops every expired entry (values and tombstones) at time `now`. @returns values dropped */
  purgeExpired(now: number): number {
    return this.table.purge(now)
  }

  /** Every held key, most recently used first. */
  *keys(): IterableIterator<string> {
    const t = this.table
    for (const s of t.residentSlots()) {
      const key = t.keys[s]
      if (key !== undefined && t.isResident(s)) yield key
    }
  }

  /** Every held entry, most recently used first (values and tombstones, possibly expired). */
  *entries(): IterableIterator<[string, Entry<V>]> {
    const t = this.table
    for (const s of t.residentSlots()) {
      const key = t.keys[s]
      if (key === undefined || !t.isResident(s)) continue
      const entry = entryAt(t, s)
      // Held bytes that did not decode have just dropped the entry.
      if (t.isResident(s)) yield [key, entry]
    }
  }

  /**
   * Drops the entry of `key` whatever it holds, without an expire event (a tag
   * invalidation or a clear killed it). @returns true when an entry was dropped
   */
  remove(key: string): boolean {
    return this.table.dropEntry(key)
  }

  /** Drops everything, locally. */
  clear(): void {
    this.table.clear()
  }

  /**
   * Drops the entry of `key` when it expired at `now`. @returns true when an entry was dropped
   */
  dropIfExpired(key: string, now: number): boolean {
    const t = this.table
    const s = t.slotOf(key)
    if (s < 0 || !t.isResident(s) || t.expiryOf(s) > now) return false
    // find drops an expired value with its expire event; a tombstone goes quietly.
    if (t.find(key, now) < 0 && t.isResident(s)) t.dropEntry(key)
    return true
  }
}
