import type { Version } from '../clock/version.js'

/** Where a change came from: this cache instance, or another node of the mesh. */
export type ChangeOrigin = 'local' | 'remote'

/** Payload of the `change` event: a write or delete that now stands in this replica. */
export interface ChangeEvent<V = unknown> {
  /** Keyspace of the key. */
  keyspace: string
  /** The key written or deleted. */
  key: string
  /** The new value; `undefined` when the change is a delete. */
  value: V | undefined
  /** True when the change is a delete (a tombstone). */
  deleted: boolean
  /** Version of the write: the larger wins everywhere. */
  version: Version
  /** Absolute expiry, wall-clock ms. */
  expiresAt: number
  /** Whether this node made the write or received it. */
  origin: ChangeOrigin
  /** Region of the node that made the write (`options.region` for local writes). */
  region: string
}

/** Payload of the `expire` and `evict` events. */
export interface DropEvent {
  /** Keyspace of the key. */
  keyspace: string
  /** The key that expired or was evicted. */
  key: string
}

/** Events a cache emits, by name. */
export interface CacheEvents {
  /** A write or delete was applied (local or replicated). */
  change: [ChangeEvent]
  /** An entry reached its expiry and was dropped. */
  expire: [DropEvent]
  /** The LRU dropped an entry to make room (local only; not a delete). */
  evict: [DropEvent]
}
