import type { Version } from '../clock/version.js'
import { InvalidOptionError, shown } from '../errors.js'

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

const EVENT_NAMES: ReadonlySet<string> = new Set(['change', 'expire', 'evict'])

/**
 * Checks what `on`/`off` were given: a misspelt event would otherwise take a listener
 * that never fires. @throws InvalidOptionError naming the known events, or when the
 * listener is not a function
 */
export function checkListener(event: unknown, listener: unknown): void {
  if (typeof event !== 'string' || !EVENT_NAMES.has(event))
    throw new InvalidOptionError(
      `unknown event ${shown(event)}; events: ${[...EVENT_NAMES].join(', ')}`,
    )
  if (typeof listener !== 'function')
    throw new InvalidOptionError(`a ${event} listener must be a function, got ${shown(listener)}`)
}
