import type { Clock } from '../clock/clock.js'
import type { HybridClock } from '../clock/hlc.js'
import type { RejectCode } from '../replication/reject-codes.js'
import type { Entry } from '../store/entry.js'
import type { MergeOutcome } from '../store/entry-table.js'

/** Where a change came from: this node's own write, or another node's. */
export type ChangeSource = 'local' | 'remote'

/** Who hears about changes, expiries and evictions of a replica (the API's events). */
export interface ReplicaListener {
  /** Whether anyone listens for `event`: nothing is built for events nobody hears. */
  wants(event: 'change' | 'expire' | 'evict'): boolean
  change(keyspace: string, key: string, entry: Entry, source: ChangeSource, region: string): void
  expire(keyspace: string, key: string): void
  evict(keyspace: string, key: string): void
}

/** What a replica shares with the other replicas of its node. */
export interface ReplicaContext {
  /** Stamps local writes; remote stamps move it forward. */
  readonly hlc: HybridClock
  /** The node's one clock (wall time corrected to the mesh). */
  readonly clock: Clock
  /** Whether writes by `node` are accepted (the allowlist of a private mesh). */
  admits(node: string): boolean
  /** Counts a refused entry. */
  reject(code: RejectCode): void
  /** A write (local or remote) changed a replica. */
  changed(): void
  /** Events, once the API listens. */
  readonly listener: ReplicaListener | undefined
  /** Told of every local write (persistence's write log); `encoded`: the value's bytes when known. */
  readonly journal:
    | ((keyspace: string, key: string, entry: Entry, encoded?: Uint8Array) => void)
    | undefined
}

/**
 * What `KeyspaceReplica.admitRemote` did with an entry: merged (`applied`), older
 * than what is known (`stale`), newer but already expired (`expired`) or killed by a tag
 * invalidation or clear (`invalidated`) — in both cases older copies were dropped and
 * the version is remembered —, too large for this node (`too-large`), or refused with a
 * reason code.
 */
export type AdmitOutcome = MergeOutcome | 'invalidated' | RejectCode

/** True when `outcome` is a refusal (a reject code), not one of the merge outcomes. */
export function isRefusal(outcome: AdmitOutcome): outcome is RejectCode {
  return (
    outcome !== 'applied' &&
    outcome !== 'stale' &&
    outcome !== 'expired' &&
    outcome !== 'too-large' &&
    outcome !== 'invalidated'
  )
}
