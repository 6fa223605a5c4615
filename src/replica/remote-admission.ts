import type { Version } from '../clock/version.js'
import type { EntryTuple } from '../replication/entry-tuple.js'
import type { RejectCode } from '../replication/reject-codes.js'
import { decodeStored, hasTags } from '../replication/value-codec.js'
import { type Entry, entrySize } from '../store/entry.js'
import type { EntryTable } from '../store/entry-table.js'
import type { VersionedStore } from '../store/versioned-store.js'
import type { ResolvedKeyspaceOptions } from './keyspace-options.js'
import type { KeyspaceCounters } from './keyspace-stats.js'
import type { AdmitOutcome, ReplicaContext } from './replica-context.js'
import { isReservedKey, TAG_FLOOR_KEY, type TagInvalidations } from './tag-invalidations.js'

/** The parts of one replica that admission reads and changes (the replica hands itself). */
export interface AdmissionParts<V> {
  /** The keyspace's name, for `change` events. */
  readonly name: string
  readonly options: Readonly<ResolvedKeyspaceOptions>
  readonly table: EntryTable<V>
  readonly store: VersionedStore<V>
  readonly counters: KeyspaceCounters
  readonly invalidations: TagInvalidations
}

/**
 * The one door of a replica for entries written elsewhere (`KeyspaceReplica.admitRemote`):
 * every check of a record, once (allowlist, drift bound, the version against what the
 * table knows), then the clock, the value (decoded, or kept as its bytes), tag
 * invalidations and last-writer-wins. Owned by its replica; holds the same table, store
 * and counters, so a record costs no more than when this lived in the replica.
 */
export class RemoteAdmission<V> {
  private readonly name: string
  private readonly maxTtl: number
  private readonly table: EntryTable<V>
  private readonly store: VersionedStore<V>
  private readonly counters: KeyspaceCounters
  private readonly invalidations: TagInvalidations
  private readonly ctx: ReplicaContext

  constructor(replica: AdmissionParts<V>, ctx: ReplicaContext) {
    this.name = replica.name
    this.maxTtl = replica.options.maxTtl
    this.table = replica.table
    this.store = replica.store
    this.counters = replica.counters
    this.invalidations = replica.invalidations
    this.ctx = ctx
  }

  /**
   * Admits `tuple` (which passed `isEntryTuple`) from a node of `region` at `now` (the
   * node's clock, read by the caller). A value without tags is kept as its bytes and
   * decoded on first read, unless a `change` listener is handed it; bytes that then fail
   * to decode drop the entry (its version stays) and count as `bad-value` (decoded here,
   * they are refused as `bad-value` and change nothing).
   * @param fromDisk - this node's own files: the expiry is not capped at `maxTtl` after
   *   the stamp (every other check applies)
   */
  admit(tuple: EntryTuple, region: string, now: number, fromDisk: boolean): AdmitOutcome {
    const [key, wall, logical, node, sentExpiry, kind, bytes] = tuple
    const ctx = this.ctx
    if (!ctx.admits(node)) return this.refuse('not-allowed')
    if (!ctx.hlc.acceptsWall(wall, now)) return this.refuse('clock-drift')
    // The table remembers versions of evicted keys: an older write must not come back
    // through the empty slot. The same version may refill a slot this node evicted.
    const table = this.table
    const slot = table.slotOf(key)
    const cmp = slot < 0 ? 1 : table.compare(slot, wall, logical, node)
    if (cmp < 0 || (cmp === 0 && kind === 2)) {
      this.counters.remoteStale++
      return 'stale'
    }
    // No entry lives longer than maxTtl after its stamp (a peer configured otherwise
    // cannot make one outlive its index entry and the tombstones that shadow it).
    const expiresAt = fromDisk ? sentExpiry : Math.min(sentExpiry, wall + this.maxTtl)
    if (isReservedKey(key)) {
      if (kind === 0) return this.refuse('bad-value')
      // The tag floor is this node's own: kept in its snapshots, never taken from a peer.
      if (key === TAG_FLOOR_KEY) {
        if (!fromDisk) return this.refuse('bad-value')
        ctx.hlc.updateStamp(wall, logical, node, now)
        this.invalidations.restoreFloor({ wall, logical, node }, now)
        return 'applied'
      }
      ctx.hlc.updateStamp(wall, logical, node, now)
      return this.admitInvalidation(key, { wall, logical, node }, expiresAt, now)
    }
    if (kind === 2) {
      ctx.hlc.updateStamp(wall, logical, node, now)
      table.recordVersion(key, wall, logical, node, expiresAt, false)
      return 'applied'
    }
    // Only a value with tags is decoded here (tags decide invalidations before storing),
    // or any value when a `change` listener is handed it: then bad bytes are refused now.
    const lazy = kind === 0 && !hasTags(bytes!) && ctx.listener?.wants('change') !== true
    let value: V | undefined
    let tags: readonly string[] | undefined
    if (kind === 0 && !lazy) {
      try {
        ;({ value, tags } = decodeStored(bytes!) as {
          value: V
          tags: readonly string[] | undefined
        })
      } catch {
        return this.refuse('bad-value')
      }
    }
    // Only an entry that passed every check moves this node's clock.
    ctx.hlc.updateStamp(wall, logical, node, now)
    const tombstone = kind === 1
    const size = entrySize(key, kind === 0 ? bytes!.length : 0)
    if (kind === 0 && this.invalidations.size > 0) {
      const dead = this.invalidations.kills({ version: { wall, logical, node }, tags }, !fromDisk)
      if (dead) {
        // Newer than what is held, but dead: drop older copies, remember the version.
        table.recordVersion(key, wall, logical, node, expiresAt, false)
        return 'invalidated'
      }
    }
    const outcome = lazy
      ? table.mergeEncoded(key, wall, logical, node, expiresAt, bytes!, size, now)
      : table.merge(key, wall, logical, node, expiresAt, tombstone, value, size, tags, now)
    if (outcome === 'applied') {
      ctx.changed()
      if (kind === 0) this.invalidations.stored(key, wall, logical, node, tags)
      this.counters.remoteApplied++
      const listener = ctx.listener
      if (listener?.wants('change')) {
        const version = { wall, logical, node }
        const entry: Entry<V> =
          tags === undefined
            ? { value, version, expiresAt, tombstone, size }
            : { value, version, expiresAt, tombstone, size, tags }
        listener.change(this.name, key, entry, 'remote', region)
      }
    } else if (outcome === 'stale') {
      this.counters.remoteStale++
    }
    return outcome
  }

  /** A remote tombstone under a reserved key: a tag invalidation or a clear. */
  private admitInvalidation(
    key: string,
    version: Version,
    expiresAt: number,
    now: number,
  ): AdmitOutcome {
    const entry: Entry<V> = {
      value: undefined,
      version,
      expiresAt,
      tombstone: true,
      size: entrySize(key, 0),
    }
    const outcome = this.store.merge(key, entry, now)
    // Even when its tombstone expired or was evicted, the invalidation itself stands.
    this.invalidations.invalidate(key, version, this.store, now)
    if (outcome === 'applied') {
      this.ctx.changed()
      this.counters.remoteApplied++
    }
    return outcome
  }

  private refuse(code: RejectCode): RejectCode {
    this.ctx.reject(code)
    return code
  }
}
