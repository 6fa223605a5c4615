import { peerIdFromString } from '@libp2p/peer-id'
import { logger } from '../log.js'
import type { KeyspaceReplica } from '../replica/keyspace-replica.js'
import { isEntryTuple, tupleOf } from '../replication/entry-tuple.js'
import { hash64 } from '../sync/hash.js'
import { MESH_CONSTANTS } from './defaults.js'
import { LoadLeases } from './load-leases.js'
import type { MeshContext } from './mesh-context.js'
import { request } from './rpc.js'
import { PROTOCOLS } from './topics.js'

const log = logger('meshcache:mesh')

/**
 * Single flight across nodes: before a node calls its loader on a miss, it asks the key's
 * owner (highest rendezvous hash of member id and key, among this region's members by
 * default, or the whole mesh's) for a load lease. The owner grants
 * one lease and holds the other askers until the value arrives (by gossip or a direct
 * write), then answers them with it.
 */
export class LoadCoordinator {
  private readonly ctx: MeshContext
  private readonly leases: LoadLeases

  constructor(ctx: MeshContext) {
    this.ctx = ctx
    this.leases = new LoadLeases(ctx.opts.loadLeaseMs, ctx.clock)
  }

  /** Forgets leases that ended. */
  prune(): void {
    this.leases.prune(this.ctx.clock.now())
  }

  /** A value of `key` now stands here (a local or remote write): hand it to everyone waiting. */
  settle(keyspace: string, key: string): void {
    if (this.leases.size === 0) return
    const entry = this.ctx.replicas.get(keyspace)?.peek(key, this.ctx.clock.now())
    if (entry !== undefined) this.leases.settle(`${keyspace}\u0000${key}`, entry)
  }

  /**
   * A peer asks for the lease of `key` (this node is its owner): the value when held, a
   * lease, or the holder's value once it arrives (`none` when the lease ends first).
   */
  async onLeaseRequest(replica: KeyspaceReplica, key: string, from: string): Promise<unknown> {
    const now = this.ctx.clock.now()
    const held = replica.peek(key, now)
    if (held !== undefined) return { t: 'value', e: tupleOf(key, held) }
    const r = this.leases.grantOrWait(`${replica.name}\u0000${key}`, from, now)
    if (r === 'lease') return { t: 'lease' }
    const entry = await r
    return entry === undefined ? { t: 'none' } : { t: 'value', e: tupleOf(key, entry) }
  }

  /**
   * Asks the owner of `key` whether this node should load it.
   * @returns true when another node's value arrived and was admitted; false when this
   *   node should load (it holds the lease, or the owner is unreachable or slow)
   */
  async coordinateLoad(keyspace: string, key: string, scope: 'region' | 'mesh'): Promise<boolean> {
    const { ctx } = this
    const replica = ctx.replicas.get(keyspace)
    if (replica === undefined) return false
    const owner = this.ownerOf(keyspace, key, scope)
    if (owner === ctx.self) {
      const r = this.leases.grantOrWait(`${keyspace}\u0000${key}`, ctx.self, ctx.clock.now())
      // Waiting here ends with the holder's write already applied to this replica.
      return r === 'lease' ? false : (await r) !== undefined
    }
    try {
      const res = (await request(
        ctx.node,
        peerIdFromString(owner),
        PROTOCOLS.get,
        { keyspace, key, lease: true },
        ctx.opts.loadLeaseMs + MESH_CONSTANTS.leaseRequestSlackMs,
        undefined,
        ctx.pool,
      )) as { t?: unknown; e?: unknown }
      if (res?.t !== 'value' || !isEntryTuple(res.e, ctx.limits)) return false
      const outcome = replica.admitRemote(res.e, ctx.peers.get(owner)?.region ?? 'unknown')
      return outcome === 'applied' || outcome === 'stale'
    } catch (err) {
      // Owner unreachable or slow: load locally rather than fail the read.
      log('load coordination for %s with %s failed: %s', key, owner, (err as Error).message)
      return false
    }
  }

  /**
   * The node that coordinates loads of `key`: highest rendezvous hash among this
   * region's members (`region`) or all members (`mesh`), this node included.
   */
  private ownerOf(keyspace: string, key: string, scope: 'region' | 'mesh'): string {
    const { ctx } = this
    const score = (id: string) => hash64(`${id}\u0000${keyspace}\u0000${key}`)[0]
    let best = ctx.self
    let bestScore = score(ctx.self)
    for (const p of ctx.peers.ranked()) {
      if (scope === 'region' && p.region !== ctx.region) continue
      const s = score(p.id)
      if (s > bestScore || (s === bestScore && p.id > best)) {
        best = p.id
        bestScore = s
      }
    }
    return best
  }
}
