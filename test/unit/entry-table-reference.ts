/**
 * The reference model of the entry table's property tests: the store and the version
 * index as they were before issue 16 (VersionedStore over lru-cache, VersionIndex over a
 * Map with stored hashes), verbatim but for their names, and the merge steps the old
 * KeyspaceReplica ran over them. Not a test file: test/unit/entry-table.test.ts uses it.
 */
import { LRUCache } from 'lru-cache'
import { compareVersions, type Version } from '../../src/clock/version.js'
import { InvalidOptionError } from '../../src/errors.js'
import type { EntryTuple } from '../../src/replication/entry-tuple.js'
import { decodeStored } from '../../src/replication/value-codec.js'
import { type Entry, entrySize } from '../../src/store/entry.js'
import { DigestTree } from '../../src/sync/digest-tree.js'
import { hash64, versionHash } from '../../src/sync/hash.js'

/** Options of {@link RefStore}. */
interface VersionedStoreOptions {
  /** Most entries held (values and tombstones); least recently used go first. */
  maxEntries: number
  /** Most bytes held, as counted by {@link Entry.size}; `Infinity` for no byte limit. */
  maxBytes: number
  /** Called when the LRU drops an entry to make room. Local only: never a delete. */
  onEvict?: (key: string, entry: Entry) => void
  /** Called for every entry that leaves the store, whatever the reason (replaced, evicted, expired, dropped). */
  onRemove?: (key: string, entry: Entry) => void
  /** Called when an expired entry is dropped (on access or by {@link RefStore.purgeExpired}). */
  onExpire?: (key: string, entry: Entry) => void
}

/** What {@link RefStore.merge} did with an incoming entry. */
type MergeOutcome =
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
export class RefStore<V = unknown> {
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

type Mutable<T> = { -readonly [P in keyof T]: T[P] }
type MutableIndexEntry = Mutable<IndexEntry>

/**
 * What the index remembers of a key: enough to tell which replica is newer. Hashes are
 * kept as signed 32-bit integers (`| 0`) so V8 stores them inline as small integers, not
 * as boxed numbers; the leaf and the retention end are derived, not stored.
 */
interface IndexEntry {
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
export class RefIndex {
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

/** The old KeyspaceReplica's local and remote merge steps over a {@link RefStore} and a {@link RefIndex}. */
export class RefReplica {
  readonly store: RefStore<unknown>
  readonly index: RefIndex

  constructor(
    readonly maxEntries: number,
    maxIndexKeys: number,
    readonly maxTtl: number,
  ) {
    this.store = new RefStore({ maxEntries, maxBytes: Number.POSITIVE_INFINITY })
    this.index = new RefIndex(maxIndexKeys, maxTtl)
  }

  writeLocal(key: string, entry: Entry, now: number): void {
    this.store.merge(key, entry, now)
    this.index.record(key, entry.version, entry.expiresAt, entry.tombstone)
  }

  /** The old admitRemote without allowlist, drift guard, clock and tags. */
  admitRemote(tuple: EntryTuple, now: number): MergeOutcome {
    const [key, wall, logical, node, sentExpiry, kind, bytes] = tuple
    let version: Version = { wall, logical, node }
    const known = this.index.get(key)?.version ?? this.store.peek(key)?.version
    const cmp = known === undefined ? 1 : compareVersions(version, known)
    if (cmp < 0 || (cmp === 0 && kind === 2)) return 'stale'
    if (cmp === 0) version = known!
    const expiresAt = Math.min(sentExpiry, wall + this.maxTtl)
    if (kind === 2) {
      this.store.invalidate(key, version)
      this.index.record(key, version, expiresAt, false)
      return 'applied'
    }
    const value = kind === 0 ? (decodeStored(bytes!) as { value: unknown }).value : undefined
    const tombstone = kind === 1
    const size = entrySize(key, kind === 0 ? bytes!.length : 0)
    const entry: Entry = { value, version, expiresAt, tombstone, size }
    const outcome = this.store.merge(key, entry, now)
    if (outcome !== 'stale') this.index.record(key, version, expiresAt, tombstone)
    else if (this.index.get(key) === undefined) {
      const held = this.store.peek(key)
      if (held !== undefined) this.index.record(key, held.version, held.expiresAt, held.tombstone)
    }
    return outcome
  }

  /** One full pass of the old background sweep. */
  sweepPass(now: number): void {
    for (const [key, e] of [...this.index.iterate()]) {
      if (e.expiresAt <= now) this.store.dropIfExpired(key, now)
      if (!this.index.retained(e, now)) this.index.forget(key)
    }
  }
}

/** The last-writer-wins rule, as the reference states it: strictly larger versions win. */
function supersedes(
  incoming: Pick<Entry, 'version'>,
  current: Pick<Entry, 'version'> | undefined,
): boolean {
  return current === undefined || compareVersions(incoming.version, current.version) > 0
}
