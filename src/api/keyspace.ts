import type { KeyspaceReplica } from '../replica/keyspace-replica.js'
import type { KeyspaceStats } from '../replica/keyspace-stats.js'
import type { ApiContext } from './api-context.js'
import { KeyspaceVerbs } from './keyspace-verbs.js'

/**
 * A named set of keys with its own size limits and TTLs (`cache.keyspace(name)`): the
 * keyspace verbs, and its own counters. In a mesh only nodes that opened a keyspace
 * receive its writes.
 */
export class Keyspace<V = unknown> extends KeyspaceVerbs<V> {
  readonly #replica: KeyspaceReplica<V>

  /** Use `cache.keyspace(name)`. @internal */
  constructor(replica: KeyspaceReplica<V>, ctx: ApiContext) {
    super(replica, ctx)
    this.#replica = replica
  }

  /** Counters and sizes of this keyspace. */
  stats(): KeyspaceStats {
    return this.#replica.stats()
  }
}
