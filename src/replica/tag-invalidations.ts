import { compareVersions, type Version } from '../clock/version.js'
import type { Entry } from '../store/entry.js'
import type { VersionedStore } from '../store/versioned-store.js'

/** The reserved key of a keyspace-wide clear. */
export const CLEAR_KEY = '\u0000clear'
const TAG_KEY_PREFIX = '\u0000tag\u0000'

/** The reserved key whose tombstone invalidates `tag`. */
export function tagKey(tag: string): string {
  return TAG_KEY_PREFIX + tag
}

/** True for keys that carry invalidations rather than values. */
export function isReservedKey(key: string): boolean {
  // Keys reserved for invalidations start with U+0000; user keys may not.
  return key.charCodeAt(0) === 0
}

/** One invalidation: every entry it covers whose version is older is dead. */
interface Invalidation {
  version: Version
  /** Wall-clock ms after which no entry it covers can still live (stamp + maxTtl). */
  retainUntil: number
}

/**
 * Tag invalidations and clears of one keyspace, replicated as ordinary tombstones under
 * reserved keys (`\0tag\0<tag>`, `\0clear`), so gossip, anti-entropy and snapshots carry
 * them and the newest one wins by the same LWW rule as any write. An invalidation at
 * version V kills every entry carrying the tag (every entry, for a clear) whose version
 * is older than V, on every node, whatever the order of arrival: the replica drops such
 * entries when the invalidation arrives and never stores one that arrives later, so the
 * read path never checks tags. An invalidation lives `maxTtl` after its stamp: longer
 * than any entry it can kill.
 */
export class TagInvalidations {
  private readonly byTag = new Map<string, Invalidation>()
  private cleared: Invalidation | undefined
  /** Keys of resident entries, by tag: what an invalidation must look at. */
  private readonly keysByTag = new Map<string, Set<string>>()

  constructor(private readonly retainMs: number) {}

  /** Invalidations held (tags, plus one for a clear). */
  get size(): number {
    return this.byTag.size + (this.cleared === undefined ? 0 : 1)
  }

  /** True when an invalidation this replica knows kills `entry`. */
  kills(entry: Pick<Entry, 'version' | 'tags'>): boolean {
    if (this.cleared !== undefined && compareVersions(entry.version, this.cleared.version) < 0)
      return true
    const tags = entry.tags
    if (tags === undefined || this.byTag.size === 0) return false
    for (const t of tags) {
      const inv = this.byTag.get(t)
      if (inv !== undefined && compareVersions(entry.version, inv.version) < 0) return true
    }
    return false
  }

  /**
   * Records the invalidation carried by the tombstone of reserved `key` (when newer than
   * the one held). @returns the keys that may hold entries it kills (every key for a
   * clear: `'all'`), or undefined when nothing changed
   */
  record(key: string, version: Version): Iterable<string> | 'all' | undefined {
    const inv = { version, retainUntil: version.wall + this.retainMs }
    if (key === CLEAR_KEY) {
      if (this.cleared !== undefined && compareVersions(version, this.cleared.version) <= 0)
        return undefined
      this.cleared = inv
      return 'all'
    }
    if (!key.startsWith(TAG_KEY_PREFIX)) return undefined
    const tag = key.slice(TAG_KEY_PREFIX.length)
    const held = this.byTag.get(tag)
    if (held !== undefined && compareVersions(version, held.version) <= 0) return undefined
    this.byTag.set(tag, inv)
    return [...(this.keysByTag.get(tag) ?? [])]
  }

  /**
   * Records the invalidation carried by the tombstone of reserved `key` ({@link record})
   * and drops from `store` the resident entries it kills (local and remote ones alike).
   */
  invalidate<V>(key: string, version: Version, store: VersionedStore<V>): void {
    const victims = this.record(key, version)
    if (victims === undefined) return
    const keys = victims === 'all' ? [...store.keys()] : (victims as Iterable<string>)
    for (const k of keys) {
      const held = store.peek(k)
      if (held !== undefined && !held.tombstone && this.kills(held)) store.remove(k)
    }
  }

  /** A tagged entry was stored under `key`. */
  added(key: string, tags: readonly string[]): void {
    for (const t of tags) {
      let keys = this.keysByTag.get(t)
      if (keys === undefined) {
        keys = new Set()
        this.keysByTag.set(t, keys)
      }
      keys.add(key)
    }
  }

  /** A tagged entry left the store. */
  removed(key: string, tags: readonly string[]): void {
    for (const t of tags) {
      const keys = this.keysByTag.get(t)
      if (keys === undefined) continue
      keys.delete(key)
      if (keys.size === 0) this.keysByTag.delete(t)
    }
  }

  /** Forgets invalidations whose retention ended at `now`. */
  prune(now: number): void {
    for (const [tag, inv] of this.byTag) if (inv.retainUntil <= now) this.byTag.delete(tag)
    if (this.cleared !== undefined && this.cleared.retainUntil <= now) this.cleared = undefined
  }

  /** Every invalidation held, as (reserved key, version) pairs (snapshots). */
  *entries(): IterableIterator<[string, Version]> {
    if (this.cleared !== undefined) yield [CLEAR_KEY, this.cleared.version]
    for (const [tag, inv] of this.byTag) yield [tagKey(tag), inv.version]
  }
}
