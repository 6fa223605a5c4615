import { compareVersions, type Version } from '../clock/version.js'
import { type EntryTuple, tupleOf, versionOnlyTuple } from '../replication/entry-tuple.js'
import { decodeUntagged, encodeStored } from '../replication/value-codec.js'
import { type Entry, entrySize } from '../store/entry.js'
import { EntryTable } from '../store/entry-table.js'
import { entryAt, VersionedStore } from '../store/versioned-store.js'
import type { SyncReplica } from '../sync/reconcile.js'
import { type IndexEntry, VersionIndex } from '../sync/version-index.js'
import { REPLICA_DEFAULTS } from './defaults.js'
import type { ResolvedKeyspaceOptions } from './keyspace-options.js'
import { KeyspaceCounters, type KeyspaceStats } from './keyspace-stats.js'
import { RecentlyExpired } from './recently-expired.js'
import { RemoteAdmission } from './remote-admission.js'
import type { AdmitOutcome, ReplicaContext } from './replica-context.js'
import { isReservedKey, MIN_TAG_BOUND, TagInvalidations } from './tag-invalidations.js'

export {
  type AdmitOutcome,
  type ChangeSource,
  isRefusal,
  type ReplicaContext,
  type ReplicaListener,
} from './replica-context.js'

/**
 * One keyspace's replica on this node: one entry table (values, versions, expiry, LRU
 * order) seen as the versioned LRU+TTL store and as the version index with its digest
 * tree (anti-entropy), the last-writer-wins rule, the sweep, and the one door through
 * which remote entries come in ({@link admitRemote}): gossip, direct writes,
 * read-through, anti-entropy and snapshot loading all use it. Knows no sockets.
 */
export class KeyspaceReplica<V = unknown> {
  readonly name: string
  readonly options: Readonly<ResolvedKeyspaceOptions>
  /** Every key's value (when resident) and version: what the store and index views share. */
  readonly table: EntryTable<V>
  /** The resident part of the table as entries (values and tombstones). */
  readonly store: VersionedStore<V>
  /** Newest known version of every key, resident or evicted, with its digest tree. */
  readonly index: VersionIndex
  /** Counters; the hot path only increments them. */
  readonly counters = new KeyspaceCounters()
  /** Tag invalidations and clears known here (replicated as reserved-key tombstones). */
  readonly invalidations: TagInvalidations
  private readonly ctx: ReplicaContext
  /** The checks and merge of entries written elsewhere ({@link admitRemote}). */
  private readonly admission: RemoteAdmission<V>
  /** Recently expired values, for stale-while-revalidate and stale-if-error only. */
  private readonly stale = new RecentlyExpired<V>(
    REPLICA_DEFAULTS.staleMaxEntries,
    decodeUntagged as (bytes: Uint8Array, start: number, end: number) => V,
  )

  constructor(name: string, options: ResolvedKeyspaceOptions, ctx: ReplicaContext) {
    this.name = name
    this.options = Object.freeze({ ...options })
    this.ctx = ctx
    const invalidations = new TagInvalidations(
      options.maxTtl,
      Math.max(MIN_TAG_BOUND, options.maxIndexKeys),
    )
    this.invalidations = invalidations
    const table = new EntryTable<V>({
      maxEntries: options.maxEntries,
      maxBytes: options.maxBytes,
      maxKeys: options.maxIndexKeys,
      retainMs: options.maxTtl,
    })
    this.table = table
    // Received values are kept as bytes and decoded on first read (admitRemote).
    table.decodeWith(decodeUntagged as (bytes: Uint8Array, start: number, end: number) => V)
    table.observeResidency({
      undecodable: () => ctx.reject('bad-value'),
      untagged: (key, tags) => invalidations.removed(key, tags),
      evicting: (key) => {
        this.counters.evictions++
        if (ctx.listener?.wants('evict')) ctx.listener.evict(name, key)
      },
      expiring: (key, slot) => {
        // Kept briefly for stale-while-revalidate / stale-if-error, never served by get.
        this.stale.add(key, table, slot)
        this.counters.expirations++
        if (ctx.listener?.wants('expire')) ctx.listener.expire(name, key)
      },
    })
    this.store = new VersionedStore<V>(table)
    this.index = new VersionIndex(
      options.maxIndexKeys,
      options.maxTtl,
      undefined,
      table as EntryTable<unknown>,
    )
    this.admission = new RemoteAdmission(this, ctx)
  }

  /** True when local writes need their encoded bytes here: a write log, or a byte limit. */
  get needsBytes(): boolean {
    return this.ctx.journal !== undefined || this.options.maxBytes !== Number.POSITIVE_INFINITY
  }

  /**
   * The hit path: the live value of `key` at `now`, marking it recently used; counts a
   * hit or a miss. One map lookup, one expiry compare, one recency update, one count.
   */
  readValue(key: string, now: number): V | undefined {
    const t = this.table
    const s = t.find(key, now)
    if (s < 0) {
      this.counters.misses++
      return undefined
    }
    const value = t.valueAt(s)
    // Undefined only when held bytes did not decode (the entry left): a miss.
    if (value === undefined && !t.isResident(s)) {
      this.counters.misses++
      return undefined
    }
    this.counters.hits++
    return value
  }

  /** The live entry of `key` at `now`, marking it recently used; counts a hit or a miss. */
  read(key: string, now: number): Entry<V> | undefined {
    const t = this.table
    const s = t.find(key, now)
    if (s < 0) {
      this.counters.misses++
      return undefined
    }
    const entry = entryAt(t, s)
    if (!t.isResident(s)) {
      this.counters.misses++
      return undefined
    }
    this.counters.hits++
    return entry
  }

  /** The live entry of `key` at `now`, without touching recency or counters. */
  peek(key: string, now: number): Entry<V> | undefined {
    const s = this.liveSlot(key, now)
    if (s < 0) return undefined
    const entry = entryAt(this.table, s)
    return this.table.isResident(s) ? entry : undefined
  }

  /** True when `key` holds a live value at `now` (recency and counters untouched). */
  has(key: string, now: number): boolean {
    return this.liveSlot(key, now) >= 0
  }

  /** The slot of `key`'s live value at `now`, or -1. */
  private liveSlot(key: string, now: number): number {
    const t = this.table
    const s = t.slotOf(key)
    return s >= 0 && t.isResident(s) && !t.isTombstone(s) && t.expiryOf(s) > now ? s : -1
  }

  /**
   * Applies a write of this node. Its stamp is newer than anything held (the clock has
   * seen every admitted version), so it always stands.
   */
  writeLocal(key: string, entry: Entry<V>, now: number, encoded?: Uint8Array): void {
    const outcome = this.store.merge(key, entry, now)
    const journal = this.ctx.journal
    if (journal !== undefined) journal(this.name, key, entry, encoded)
    this.ctx.changed()
    if (isReservedKey(key)) {
      this.counters.invalidations++
      this.invalidations.invalidate(key, entry.version, this.store, now)
      return
    }
    if (outcome === 'applied' && !entry.tombstone) {
      const v = entry.version
      this.invalidations.stored(key, v.wall, v.logical, v.node, entry.tags)
    }
    if (entry.tombstone) this.counters.deletes++
    else this.counters.sets++
    const listener = this.ctx.listener
    if (listener?.wants('change')) listener.change(this.name, key, entry, 'local', '')
  }

  /**
   * True when a local write must be handed over as an entry object: to the write log, or
   * to a `change` listener. Else {@link writeLocalValue} applies it from its parts.
   */
  get wantsEntries(): boolean {
    return this.ctx.journal !== undefined || this.ctx.listener?.wants('change') === true
  }

  /**
   * {@link writeLocal} of a value (not a tombstone, not a reserved key) from its parts,
   * when no one is handed the entry ({@link wantsEntries} is false): the embedded `set`
   * builds no entry object.
   */
  writeLocalValue(
    key: string,
    version: Version,
    expiresAt: number,
    value: V,
    size: number,
    tags: readonly string[] | undefined,
    now: number,
  ): void {
    const v = version
    const outcome = this.table.merge(
      key,
      v.wall,
      v.logical,
      v.node,
      expiresAt,
      false,
      value,
      size,
      tags,
      now,
    )
    this.ctx.changed()
    if (outcome === 'applied') this.invalidations.stored(key, v.wall, v.logical, v.node, tags)
    this.counters.sets++
  }

  /**
   * The only way a remote entry enters this replica, whatever carried it (gossip, direct
   * writes, read-through, anti-entropy, this node's own snapshot and write log): checks
   * the writer against the allowlist and its stamp against the drift bound, advances the
   * clock, decodes the value, and applies last-writer-wins against both the store and
   * the index (which remembers versions of evicted keys, so an older write cannot come
   * back through an empty slot). A version-only tuple drops older copies and is
   * remembered. The tuple must have passed {@link isEntryTuple} (structure and sizes).
   * The checks and the merge: {@link RemoteAdmission}.
   * @param region - region of the node the entry came from, for `change` events
   * @param fromDisk - this node's own files (or a replica it replaces): the expiry is not
   *   capped at `maxTtl` after the stamp, since the keyspace may not have its options yet
   *   (every other check applies: a damaged file must not poison the clock)
   */
  admitRemote(tuple: EntryTuple, region: string, fromDisk = false): AdmitOutcome {
    return this.admission.admit(tuple, region, this.ctx.clock.now(), fromDisk)
  }

  /**
   * {@link admitRemote} with the wall clock read by the caller (`now`, the node's clock):
   * a batch of records reads it once. A value without tags is kept as its bytes and
   * decoded on first read, unless a `change` listener is handed it; bytes that then fail
   * to decode drop the entry (its version stays) and count as `bad-value` (decoded here,
   * they are refused as `bad-value` and change nothing).
   */
  admitRemoteAt(tuple: EntryTuple, region: string, now: number, fromDisk = false): AdmitOutcome {
    return this.admission.admit(tuple, region, now, fromDisk)
  }

  /** The live entry of `key` as a tuple (value or tombstone), for a peer's read. */
  liveTuple(key: string, now: number): EntryTuple | undefined {
    const e = this.peek(key, now)
    return e === undefined ? undefined : tupleOf(key, e)
  }

  /**
   * The newest version known of `key` as a tuple, tombstone or evicted value included
   * (what consistent reads compare), or undefined when nothing is retained.
   */
  newestTuple(key: string, now: number): EntryTuple | undefined {
    const indexed = this.index.get(key)
    if (indexed === undefined || !this.index.retained(indexed, now)) return undefined
    return this.exportEntry(key, indexed, now)
  }

  /** The tuple to send for an indexed key: its value when held at that version, else the version alone. */
  exportEntry(key: string, indexed: IndexEntry, now: number): EntryTuple {
    const v = indexed.version
    if (indexed.tombstone) return [key, v.wall, v.logical, v.node, indexed.expiresAt, 1, null]
    const t = this.table
    const s = this.valueSlot(key, indexed, now)
    if (s >= 0) {
      // A value received and not read yet is still its bytes; any other is encoded here,
      // not kept from the write: bytes per entry would grow by the value's encoded size
      // for the benefit of anti-entropy and snapshots only.
      const bytes = t.isEncoded(s)
        ? t.encoded.bytesOf(s)
        : encodeStored(key, t.valueAt(s), t.tagsOf(s))
      return [key, v.wall, v.logical, v.node, indexed.expiresAt, 0, bytes]
    }
    return versionOnlyTuple(key, v, indexed.expiresAt)
  }

  /**
   * Bytes of the value {@link exportEntry} sends for an indexed key (0 for a tombstone or a
   * version alone), without encoding: the held bytes' length, or the encoded length the
   * entry was counted with (an upper bound where a write was not encoded).
   */
  exportBytes(key: string, indexed: IndexEntry, now: number): number {
    if (indexed.tombstone) return 0
    const s = this.valueSlot(key, indexed, now)
    if (s < 0) return 0
    const t = this.table
    if (t.isEncoded(s)) return t.encoded.endOf(s) - t.encoded.startOf(s)
    return Math.max(0, t.size[s]! - entrySize(key, 0))
  }

  /** The slot whose value {@link exportEntry} sends for a live indexed value, or -1. */
  private valueSlot(key: string, indexed: IndexEntry, now: number): number {
    const v = indexed.version
    const t = this.table
    const s = t.slotOf(key)
    return s >= 0 &&
      t.isResident(s) &&
      !t.isTombstone(s) &&
      indexed.expiresAt > now &&
      t.compare(s, v.wall, v.logical, v.node) === 0
      ? s
      : -1
  }

  /** This replica as the anti-entropy core sees it; entries from `region` are admitted. */
  syncView(region: string): SyncReplica {
    return {
      index: this.index,
      now: () => this.ctx.clock.now(),
      exportEntry: (key, indexed) => this.exportEntry(key, indexed, this.ctx.clock.now()),
      valueBytes: (key, indexed) => this.exportBytes(key, indexed, this.ctx.clock.now()),
      importEntries: (entries) => {
        let changed = 0
        const now = this.ctx.clock.now()
        for (const t of entries) {
          const outcome = this.admitRemoteAt(t, region, now)
          if (outcome === 'applied' || outcome === 'expired') changed++
        }
        return changed
      },
    }
  }

  /**
   * The value of `key` that expired at most `windowMs` ago, when nothing newer (a write
   * or delete) is known (stale-while-revalidate, stale-if-error).
   */
  staleValue(key: string, windowMs: number, now: number): V | undefined {
    const e = this.stale.get(key)
    if (e === undefined) return undefined
    const known = this.index.get(key)
    if (
      now - e.expiresAt > Math.min(windowMs, REPLICA_DEFAULTS.staleRetentionMs) ||
      known === undefined ||
      compareVersions(known.version, e.version) !== 0 ||
      this.invalidations.kills(e)
    ) {
      return undefined
    }
    return e.value
  }

  /** Live keys at `now`, most recently used first. */
  *keys(now: number): IterableIterator<string> {
    const t = this.table
    for (const s of t.residentSlots()) {
      const key = t.keys[s]
      if (key !== undefined && t.isResident(s) && !t.isTombstone(s) && t.expiryOf(s) > now)
        yield key
    }
  }

  /**
   * One step of the background sweep: walks up to `budget` keys of the table, drops
   * expired values and versions past their retention, and resumes where it stopped at
   * the next step. A full pass
   * over n keys takes n / budget steps, so no step stalls the event loop.
   * @returns keys examined
   */
  sweepStep(budget: number, now: number, overTime?: () => boolean): number {
    const [n, done] = this.table.sweep(budget, now, overTime)
    if (done) this.invalidations.prune(now)
    return n
  }

  /** Drops every expired entry now, in one pass. @returns how many */
  purgeExpired(now: number): number {
    this.invalidations.prune(now)
    return this.table.purge(now)
  }

  /** Values held (live, or expired and not yet swept), tombstones not counted. */
  get size(): number {
    return this.table.residentCount - this.table.tombstones
  }

  /** Counters and sizes. */
  stats(): KeyspaceStats {
    const t = this.table
    return {
      name: this.name,
      entries: t.residentCount - t.tombstones,
      tombstones: t.tombstones,
      bytes: t.bytes,
      ...this.counters,
    }
  }
}
