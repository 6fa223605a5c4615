import { compareVersions, type Version } from '../clock/version.js'
import type { Entry } from '../store/entry.js'
import type { EntryTable } from '../store/entry-table.js'
import type { VersionedStore } from '../store/versioned-store.js'
import { OldestValues } from './oldest-values.js'

/** The reserved key of a keyspace-wide clear. */
export const CLEAR_KEY = '\u0000clear'
const TAG_KEY_PREFIX = '\u0000tag\u0000'
/**
 * The reserved key under which this node's snapshots keep its tag floor (see
 * {@link TagInvalidations}): read from this node's own files only, never from a peer.
 */
export const TAG_FLOOR_KEY = '\u0000tags'
/** Fewest tag invalidations a keyspace holds before folding the oldest into its tag floor. */
export const MIN_TAG_BOUND = 1_024

/** The reserved key whose tombstone invalidates `tag`. */
export function tagKey(tag: string): string {
  return TAG_KEY_PREFIX + tag
}

/** True for keys that carry invalidations rather than values. */
export function isReservedKey(key: string): boolean {
  // Keys reserved for invalidations start with U+0000; user keys may not.
  return key.charCodeAt(0) === 0
}

/**
 * Tag invalidations and clears of one keyspace, replicated as ordinary tombstones under
 * reserved keys (`\0tag\0<tag>`, `\0clear`), so gossip, anti-entropy and snapshots carry
 * them and the newest one wins by the same LWW rule as any write. An invalidation at
 * version V kills every entry carrying the tag (every entry, for a clear) whose version
 * is older than V, on every node, whatever the order of arrival: the replica drops such
 * entries when the invalidation arrives and never stores one that arrives later, so the
 * read path never checks tags. An invalidation lives `maxTtl` after its stamp: longer
 * than any entry it can kill; one older than that is not recorded at all.
 *
 * Costs (docs/decisions/invalidation-bounds.md): an invalidation that can kill nothing
 * (expired, or older than every resident value) costs O(1); a clear looks only at the
 * values it kills, with one pass over the store now and then ({@link OldestValues});
 * a tag invalidation looks at the keys carrying the tag. At most `maxTags` tag
 * invalidations are held: past it the oldest quarter is dropped and the newest of them
 * becomes the **tag floor**: an entry with tags that arrives older than the floor is
 * dead, whatever its tags. Resident entries are not touched (those the dropped
 * invalidations kill were dropped when they came), so the bound's cost is that a tagged
 * write made before the floor and received after it is refused, and not served stale.
 */
export class TagInvalidations {
  /**
   * Version of each invalidation held, by tag: every entry it covers that is older is
   * dead, until `retainMs` after its stamp (then no entry it covers can still live).
   */
  private readonly byTag = new Map<string, Version>()
  private cleared: Version | undefined
  /** Every tagged entry older than this is dead: the newest tag invalidation dropped. */
  private tagFloor: Version | undefined
  /** Keys of resident entries, by tag: what an invalidation must look at. */
  private readonly keysByTag = new Map<string, Set<string>>()
  /** What a clear kills, without a pass per clear. */
  private readonly oldest: OldestValues

  /**
   * @param retainMs - how long an invalidation is kept after its stamp (`maxTtl`)
   * @param maxTags - most tag invalidations held
   * @param minNoted - fewest values a clear's pass notes as the oldest (tests)
   */
  constructor(
    private readonly retainMs: number,
    private readonly maxTags: number,
    minNoted?: number,
  ) {
    this.oldest = new OldestValues(minNoted)
  }

  /** Invalidations held (tags, plus one for a clear and one for the tag floor). */
  get size(): number {
    return (
      this.byTag.size + (this.cleared === undefined ? 0 : 1) + (this.tagFloor === undefined ? 0 : 1)
    )
  }

  /** Whole passes over the store that clears made so far (tests, stats). */
  get passes(): number {
    return this.oldest.passes
  }

  /** The tag floor's version, if any (an entry with tags older than it is dead). */
  get floor(): Version | undefined {
    return this.tagFloor
  }

  /**
   * True when an invalidation this replica knows kills `entry`.
   * @param byFloor - whether the tag floor counts: not for this node's own files (their
   *   entries were held, and the floor only refuses tagged writes that arrive later)
   */
  kills(entry: Pick<Entry, 'version' | 'tags'>, byFloor = true): boolean {
    if (this.cleared !== undefined && compareVersions(entry.version, this.cleared) < 0) return true
    const tags = entry.tags
    if (tags === undefined || tags.length === 0) return false
    if (byFloor && this.tagFloor !== undefined && compareVersions(entry.version, this.tagFloor) < 0)
      return true
    if (this.byTag.size === 0) return false
    for (const t of tags) {
      const inv = this.byTag.get(t)
      if (inv !== undefined && compareVersions(entry.version, inv) < 0) return true
    }
    return false
  }

  /**
   * Records the invalidation carried by the tombstone of reserved `key` (when newer than
   * the one held and not past its retention at `now`) and drops from `store` the
   * resident entries it kills (local and remote ones alike).
   */
  invalidate<V>(key: string, version: Version, store: VersionedStore<V>, now: number): void {
    // Older than maxTtl: every entry it could kill expired (none is stored that old).
    if (version.wall + this.retainMs <= now) return
    const table = store.table as EntryTable<unknown>
    if (key === CLEAR_KEY) {
      if (this.cleared !== undefined && compareVersions(version, this.cleared) <= 0) return
      this.cleared = version
      this.oldest.kill(version, table)
      return
    }
    if (!key.startsWith(TAG_KEY_PREFIX)) return
    const tag = key.slice(TAG_KEY_PREFIX.length)
    if (!this.recordTag(tag, version)) return
    const keys = this.keysByTag.get(tag)
    if (keys === undefined || this.oldest.noneOlderThan(version)) return
    const { wall, logical, node } = version
    for (const k of [...keys]) {
      const s = table.slotOf(k)
      if (s < 0 || !table.isResident(s) || table.isTombstone(s)) continue
      if (table.compare(s, wall, logical, node) > 0) table.dropEntry(k)
    }
  }

  /**
   * Restores the tag floor this node saved ({@link entries}, under {@link TAG_FLOOR_KEY}):
   * from its own files only.
   */
  restoreFloor(version: Version, now: number): void {
    if (version.wall + this.retainMs <= now) return
    if (this.tagFloor !== undefined && compareVersions(version, this.tagFloor) <= 0) return
    this.tagFloor = version
  }

  /**
   * A value was stored under `key` at this version (`tags`: its tags). Every write that
   * stores a value tells (local, remote, from disk): clears rely on it.
   */
  stored(
    key: string,
    wall: number,
    logical: number,
    node: string,
    tags: readonly string[] | undefined,
  ): void {
    this.oldest.stored(key, wall, logical, node)
    if (tags !== undefined) this.added(key, tags)
  }

  /** A tagged entry was stored under `key` (part of {@link stored}). */
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
    const before = now - this.retainMs
    for (const [tag, v] of this.byTag) if (v.wall <= before) this.byTag.delete(tag)
    if (this.cleared !== undefined && this.cleared.wall <= before) this.cleared = undefined
    if (this.tagFloor !== undefined && this.tagFloor.wall <= before) this.tagFloor = undefined
  }

  /** Every invalidation held, as (reserved key, version) pairs (snapshots). */
  *entries(): IterableIterator<[string, Version]> {
    if (this.cleared !== undefined) yield [CLEAR_KEY, this.cleared]
    if (this.tagFloor !== undefined) yield [TAG_FLOOR_KEY, this.tagFloor]
    for (const [tag, v] of this.byTag) yield [tagKey(tag), v]
  }

  /**
   * Records an invalidation of `tag` at `version`. @returns false when one as new is
   * held (its victims are gone already)
   */
  private recordTag(tag: string, version: Version): boolean {
    const held = this.byTag.get(tag)
    if (held !== undefined && compareVersions(version, held) <= 0) return false
    if (this.tagFloor !== undefined && compareVersions(version, this.tagFloor) <= 0) {
      // The floor kills every tagged arrival this one would: only residents are left.
      if (held !== undefined) this.byTag.delete(tag)
      return true
    }
    this.byTag.set(tag, version)
    if (this.byTag.size > this.maxTags) this.shrink()
    return true
  }

  /**
   * Drops the oldest quarter of the tag invalidations (by version) into the tag floor:
   * O(n log n) once per n/4 invalidations recorded.
   */
  private shrink(): void {
    const all = [...this.byTag]
    all.sort((a, b) => compareVersions(a[1], b[1]))
    const drop = all.length - Math.floor((this.maxTags * 3) / 4)
    for (let i = 0; i < drop; i++) this.byTag.delete(all[i]![0])
    const newest = all[drop - 1]![1]
    if (this.tagFloor === undefined || compareVersions(newest, this.tagFloor) > 0)
      this.tagFloor = newest
  }
}
