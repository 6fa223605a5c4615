import { LRUCache } from 'lru-cache'
import type { Version } from '../clock/version.js'
import { InvalidOptionError } from '../errors.js'
import type { Entry } from './entry.js'
import { supersedes } from './merge.js'

/** Options of {@link VersionedStore}. */
export interface VersionedStoreOptions {
  /** Most entries held (values and tombstones); least recently used go first. */
  maxEntries: number
  /** Most bytes held, as counted by {@link Entry.size}; `Infinity` for no byte limit. */
  maxBytes: number
  /** Called when the LRU drops an entry to make room. Local only: never a delete. */
  onEvict?: (key: string, entry: Entry) => void
  /** Called for every entry that leaves the store, whatever the reason (replaced, evicted, expired, dropped). */
  onRemove?: (key: string, entry: Entry) => void
  /** Called when an expired entry is dropped (on access or by {@link VersionedStore.purgeExpired}). */
  onExpire?: (key: string, entry: Entry) => void
}

/** What {@link VersionedStore.merge} did with an incoming entry. */
export type MergeOutcome =
  /** The entry is newer than what the store held and now stands. */
  | 'applied'
  /** The store holds the same or a newer version; nothing changed. */
  | 'stale'
  /** The entry is newer but already expired: any older copy was dropped, nothing stored. */
  | 'expired'
  /** The entry alone is larger than `maxBytes` and cannot be held. */
  | 'too-large'

/**
 * The local LRU+TTL tier: versioned entries (values and tombstones) with absolute
 * expiry, bounded by entry count and bytes. Pure: wall-clock time is a parameter.
 *
 * Wraps `lru-cache` (see docs/decisions/store.md for the benchmark behind the choice).
 * Expiry is checked here against absolute wall-clock ms because it travels between
 * nodes; lru-cache's own TTL (relative, monotonic) is not used.
 */
export class VersionedStore<V = unknown> {
  readonly maxEntries: number
  readonly maxBytes: number
  private readonly lru: LRUCache<string, Entry<V>>
  private readonly onExpire: ((key: string, entry: Entry) => void) | undefined
  private tombstoneCount = 0

  constructor(options: VersionedStoreOptions) {
    const { maxEntries, maxBytes } = options
    if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) {
      throw new InvalidOptionError(
        `maxEntries must be a positive integer, got ${String(maxEntries)}`,
      )
    }
    if (
      !(maxBytes === Number.POSITIVE_INFINITY || (Number.isSafeInteger(maxBytes) && maxBytes > 0))
    ) {
      throw new InvalidOptionError(
        `maxBytes must be a positive integer or Infinity, got ${String(maxBytes)}`,
      )
    }
    this.maxEntries = maxEntries
    this.maxBytes = maxBytes
    this.onExpire = options.onExpire
    const onEvict = options.onEvict
    const onRemove = options.onRemove
    this.lru = new LRUCache<string, Entry<V>>({
      max: maxEntries,
      // Bytes are always counted (stats report them); without a limit the bound is unreachable.
      maxSize: maxBytes === Number.POSITIVE_INFINITY ? Number.MAX_SAFE_INTEGER : maxBytes,
      // dispose runs for every removal; only count those we did not ask for.
      dispose: (entry, key, reason) => {
        if (entry.tombstone) this.tombstoneCount--
        if (onRemove) onRemove(key, entry)
        if (reason === 'evict' && onEvict) onEvict(key, entry)
      },
    })
  }

  /** Entries held, values and tombstones. */
  get size(): number {
    return this.lru.size
  }

  /** Tombstones held. */
  get tombstones(): number {
    return this.tombstoneCount
  }

  /** Bytes held, as counted by {@link Entry.size}. */
  get bytes(): number {
    return this.lru.calculatedSize
  }

  /**
   * The live entry for `key` at time `now`, marking it most recently used. Tombstones and
   * expired entries are never returned; an expired one is dropped on the way.
   */
  get(key: string, now: number): Entry<V> | undefined {
    const entry = this.lru.get(key)
    if (entry === undefined || entry.tombstone) return undefined
    if (entry.expiresAt <= now) {
      this.drop(key, entry)
      return undefined
    }
    return entry
  }

  /** The stored entry for `key` (value or tombstone, even expired), without touching recency. */
  peek(key: string): Entry<V> | undefined {
    return this.lru.peek(key)
  }

  /**
   * Applies last-writer-wins: stores `incoming` when its version is newer than the held
   * entry's (tombstones included). The one rule for local writes and remote ones.
   */
  merge(key: string, incoming: Entry<V>, now: number): MergeOutcome {
    const current = this.lru.peek(key)
    if (!supersedes(incoming, current)) return 'stale'
    if (incoming.expiresAt <= now) {
      // A newer write that already expired still shadows every older one.
      if (current !== undefined) this.lru.delete(key)
      return 'expired'
    }
    if (incoming.size > this.maxBytes) {
      // A newer write this node cannot hold still shadows every older one.
      if (current !== undefined) this.lru.delete(key)
      return 'too-large'
    }
    if (incoming.tombstone) this.tombstoneCount++
    this.lru.set(key, incoming, { size: incoming.size })
    return 'applied'
  }

  /**
   * Drops the held entry of `key` when it is older than `version`: a peer knows a newer
   * write whose value we do not have, so the old value must not be served.
   * @returns true when an entry was dropped
   */
  invalidate(key: string, version: Version): boolean {
    const current = this.lru.peek(key)
    if (current === undefined || !supersedes({ version }, current)) return false
    this.lru.delete(key)
    return true
  }

  /**
   * Drops every expired entry (values and tombstones) at time `now`.
   * @returns how many were dropped
   */
  purgeExpired(now: number): number {
    const expired: [string, Entry<V>][] = []
    for (const [key, entry] of this.lru.entries()) {
      if (entry.expiresAt <= now) expired.push([key, entry])
    }
    for (const [key, entry] of expired) this.drop(key, entry)
    return expired.length
  }

  /** Every held key, most recently used first. */
  keys(): IterableIterator<string> {
    return this.lru.keys()
  }

  /** Every held entry, most recently used first (values and tombstones, possibly expired). */
  *entries(): IterableIterator<[string, Entry<V>]> {
    yield* this.lru.entries()
  }

  /**
   * Drops the entry of `key` whatever it holds, without an expire event (a tag
   * invalidation or a clear killed it). @returns true when an entry was dropped
   */
  remove(key: string): boolean {
    return this.lru.delete(key)
  }

  /** Drops everything, locally. */
  clear(): void {
    this.lru.clear()
    this.tombstoneCount = 0
  }

  /**
   * Drops the entry of `key` when it expired at `now` (the incremental sweep's step).
   * @returns true when an entry was dropped
   */
  dropIfExpired(key: string, now: number): boolean {
    const entry = this.lru.peek(key)
    if (entry === undefined || entry.expiresAt > now) return false
    this.drop(key, entry)
    return true
  }

  private drop(key: string, entry: Entry<V>): void {
    this.lru.delete(key)
    if (!entry.tombstone && this.onExpire) this.onExpire(key, entry)
  }
}
