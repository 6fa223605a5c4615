import type { HybridClock } from '../clock/hlc.js'
import { decodeValue, encodeValue } from '../replication/value-codec.js'
import { type Entry, entrySize } from '../store/entry.js'
import type { SyncReplica } from '../sync/reconcile.js'
import type { SyncEntry } from '../sync/sync-messages.js'
import type { IndexEntry } from '../sync/version-index.js'
import type { Keyspace } from './keyspace.js'

/** Counters of entries anti-entropy refused. */
export interface ReplicaRejects {
  drift: number
  badValue: number
  /** Writes by nodes outside the allowlist. */
  notAllowed: number
}

/**
 * Adapts a keyspace to the anti-entropy core: exports entries from its store and index,
 * imports a peer's entries through the same last-writer-wins path as replication.
 */
export function keyspaceReplica(
  ks: Keyspace<unknown>,
  clock: HybridClock,
  rejects: ReplicaRejects,
  peerRegion = 'unknown',
  admits: (node: string) => boolean = () => true,
): SyncReplica {
  return {
    index: ks.index,
    now: Date.now,
    exportEntry(key: string, indexed: IndexEntry): SyncEntry {
      const v = indexed.version
      const held = ks.store.peek(key)
      const same = held !== undefined && held.version === v
      if (indexed.tombstone) return [key, v.wall, v.logical, v.node, indexed.expiresAt, 1, null]
      if (same && !held.tombstone && indexed.expiresAt > Date.now()) {
        return [key, v.wall, v.logical, v.node, indexed.expiresAt, 0, encodeValue(key, held.value)]
      }
      return [key, v.wall, v.logical, v.node, indexed.expiresAt, 2, null]
    },
    importEntries(entries: SyncEntry[]): number {
      let changed = 0
      for (const [key, wall, logical, node, expiresAt, kind, value] of entries) {
        const version = { wall, logical, node }
        if (!admits(node)) {
          rejects.notAllowed++
          continue
        }
        if (!clock.accepts(version)) {
          rejects.drift++
          continue
        }
        clock.update(version)
        if (kind === 2) {
          // The version alone (value evicted or expired at the sender): it still
          // invalidates every older copy.
          if (ks.learnVersion(key, version, expiresAt, false)) changed++
          continue
        }
        let entry: Entry
        if (kind === 1) {
          entry = { value: undefined, version, expiresAt, tombstone: true, size: entrySize(key, 0) }
        } else {
          try {
            entry = {
              value: decodeValue(value!),
              version,
              expiresAt,
              tombstone: false,
              size: entrySize(key, value!.length),
            }
          } catch {
            rejects.badValue++
            continue
          }
        }
        const outcome = ks.applyRemote(key, entry, peerRegion)
        if (outcome === 'applied' || outcome === 'expired') changed++
      }
      return changed
    },
  }
}
