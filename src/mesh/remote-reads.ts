import type { PeerId } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { AckTimeoutError, InvalidMessageError, TimeoutError } from '../errors.js'
import type { RemoteAckLevel } from '../ports/mesh-port.js'
import { encodeBatch } from '../replication/batch-codec.js'
import { isEntryTuple, tupleOf } from '../replication/entry-tuple.js'
import type { Entry } from '../store/entry.js'
import { MESH_CONSTANTS } from './defaults.js'
import { gather } from './gather.js'
import type { LoadCoordinator } from './load-coordinator.js'
import type { MeshContext } from './mesh-context.js'
import { request } from './rpc.js'
import { PROTOCOLS } from './topics.js'

/**
 * Requests to peers about single keys: read-through on a miss (`lookup`), consistent
 * reads (`readRemote`), direct writes for `ack` (`acknowledge`), and the responder of
 * `/meshcache/get/1`. Everything a peer returns enters the replica through `admitRemote`.
 */
export class RemoteReads {
  private readonly ctx: MeshContext
  private readonly loads: LoadCoordinator
  /** Other regions a member of which spoke to this node directly: never forgotten ({@link quorumSize}). */
  private readonly regionsSeen = new Set<string>()

  constructor(ctx: MeshContext, loads: LoadCoordinator) {
    this.ctx = ctx
    this.loads = loads
  }

  /**
   * Other regions that must answer for `level`: `peer` needs one; `quorum` a majority of
   * the regions this node knows (this one included), so its own region counts as one.
   * Known: every region of its member list (as members state or list them), and every
   * region a member of which ever spoke to this node over its own connection (its hello),
   * kept for the node's lifetime also when those members are down and forgotten: a region
   * cut off from the others must not make a quorum alone once it forgot them.
   */
  quorumSize(level: RemoteAckLevel): number {
    if (level === 'peer') return 1
    const known = new Set(this.regionsSeen)
    for (const p of this.ctx.peers.all()) {
      if (p.region === undefined || p.region === this.ctx.region) continue
      known.add(p.region)
      if (p.spokeDirectly === true) this.regionsSeen.add(p.region)
    }
    return Math.floor((known.size + 1) / 2 + 1) - 1
  }

  /** Answers `/meshcache/get/1`: the live entry, the newest version (`any`), or a lease. */
  onGet(body: unknown, from: PeerId): unknown {
    const b = body as { keyspace?: unknown; key?: unknown; any?: unknown; lease?: unknown }
    if (
      typeof b !== 'object' ||
      b === null ||
      typeof b.keyspace !== 'string' ||
      typeof b.key !== 'string'
    ) {
      throw new InvalidMessageError('get: malformed')
    }
    const replica = this.ctx.replicas.get(b.keyspace)
    if (replica === undefined || b.key.length === 0 || b.key.length > replica.options.maxKeyLength)
      return null
    if (b.lease === true) return this.loads.onLeaseRequest(replica, b.key, from.toString())
    const now = this.ctx.clock.now()
    // Consistent reads want the newest version known, tombstone or evicted value included.
    if (b.any === true) return replica.newestTuple(b.key, now) ?? null
    return replica.liveTuple(b.key, now) ?? null
  }

  /**
   * Asks peers for `key`: the same-region peers at once, then other regions' peers whose
   * RTT is below `remoteBudgetMs` (what the loader typically costs: a farther peer is not
   * worth asking), one after another, hedged: the next one after about one and a half
   * RTTs of the current one, or at once when it answers "not here". Admits the first
   * entry found.
   * @returns true when an entry was admitted
   */
  lookup(keyspace: string, key: string, remoteBudgetMs: number): Promise<boolean> {
    const { ctx } = this
    const replica = ctx.replicas.get(keyspace)
    const ranked = ctx.peers.ranked()
    const near = ranked.filter((p) => p.region === ctx.region)
    const far = ranked.filter(
      (p) =>
        p.region !== ctx.region && (p.rtt ?? MESH_CONSTANTS.unknownRemoteRttMs) < remoteBudgetMs,
    )
    const candidates = [...near, ...far].slice(0, MESH_CONSTANTS.lookupCandidates)
    // Same-region peers are asked at once, all of them: a round trip in the region is
    // cheap, and asking one after another would add one per peer that evicted the key.
    const together = Math.max(1, Math.min(near.length, candidates.length))
    if (replica === undefined || candidates.length === 0) return Promise.resolve(false)
    ctx.counters.lookups++
    return new Promise<boolean>((resolve) => {
      let next = 0
      let pending = 0
      let done = false
      const finish = (found: boolean) => {
        if (done) return
        done = true
        deadline.cancel()
        resolve(found)
      }
      const deadline = ctx.clock.after(ctx.opts.lookupTimeoutMs, () => finish(false))
      const launch = () => {
        if (done || next >= candidates.length) return
        const peer = candidates[next++]!
        pending++
        const hedge = ctx.clock.after(
          Math.max(
            MESH_CONSTANTS.lookupMinHedgeMs,
            MESH_CONSTANTS.lookupHedgeRtts * (peer.rtt ?? MESH_CONSTANTS.unknownRttMs),
          ),
          launch,
        )
        request(
          ctx.node,
          peerIdFromString(peer.id),
          PROTOCOLS.get,
          { keyspace, key },
          ctx.opts.lookupTimeoutMs,
          undefined,
          ctx.pool,
        )
          .then((res) => {
            if (res === null || done) return
            if (!isEntryTuple(res, ctx.limits) || res[5] === 2)
              throw new InvalidMessageError('get: malformed entry')
            const outcome = replica.admitRemote(res, peer.region ?? 'unknown')
            if (outcome !== 'applied' && outcome !== 'stale') return
            ctx.counters.lookupHits++
            finish(true)
          })
          .catch(() => ctx.peers.recordFailure(peer.id))
          .finally(() => {
            hedge.cancel()
            pending--
            if (done) return
            if (next < candidates.length) launch()
            else if (pending === 0) finish(false)
          })
      }
      for (let i = 0; i < together; i++) launch()
    })
  }

  /**
   * Asks peers for the newest version of `key` and admits what they hold (LWW, so only
   * newer versions change anything). `quorum`: the best node of each other region, until
   * a majority of known regions (this one included) answered; `nearest`: the three best
   * peers, until one answered.
   * @throws TimeoutError when too few answered within `timeoutMs`
   */
  async readRemote(
    keyspace: string,
    key: string,
    level: 'quorum' | 'nearest',
    timeoutMs: number,
  ): Promise<void> {
    const { ctx } = this
    const replica = ctx.replicas.get(keyspace)
    if (replica === undefined) return
    const required = level === 'quorum' ? this.quorumSize('quorum') : 1
    const targets =
      level === 'quorum'
        ? [...ctx.peers.bestPerRemoteRegion().values()]
        : ctx.peers.ranked().slice(0, MESH_CONSTANTS.lookupCandidates)
    if (required <= 0) return
    await gather(
      ctx.clock,
      targets,
      required,
      timeoutMs,
      async (peer) => {
        const res = await request(
          ctx.node,
          peerIdFromString(peer.id),
          PROTOCOLS.get,
          { keyspace, key, any: true },
          timeoutMs,
          undefined,
          ctx.pool,
        )
        if (res !== null) {
          if (!isEntryTuple(res, ctx.limits)) throw new InvalidMessageError('get: malformed entry')
          replica.admitRemote(res, peer.region ?? 'unknown')
        }
        return peer.region ?? peer.id
      },
      (peer) => ctx.peers.recordFailure(peer.id),
      (answered) =>
        new TimeoutError(
          `read of '${key}' got ${answered.length} of the ${required} answer(s) '${level}' needs within ${timeoutMs} ms`,
        ),
    )
  }

  /**
   * Sends a local write to the best peer of each other region over `/meshcache/write/1`
   * and resolves once enough regions applied it for `level`.
   * @throws AckTimeoutError when too few acknowledged within `timeoutMs` (the write stands)
   */
  async acknowledge(
    keyspace: string,
    writes: readonly { key: string; entry: Entry }[],
    level: RemoteAckLevel,
    timeoutMs: number,
  ): Promise<void> {
    const { ctx } = this
    const required = this.quorumSize(level)
    if (required <= 0) return
    const bytes = encodeBatch({
      origin: ctx.self,
      region: ctx.region,
      keyspace,
      sentAt: ctx.clock.now(),
      // A direct write is not relayed: it carries no sequence number of the relay's.
      incarnation: 0,
      seq: 0,
      records: writes.map((w) => tupleOf(w.key, w.entry)),
    })
    const what = writes.length === 1 ? `write of '${writes[0]!.key}'` : `${writes.length} writes`
    await gather(
      ctx.clock,
      [...ctx.peers.bestPerRemoteRegion()],
      required,
      timeoutMs,
      async ([region, peer]) => {
        await request(
          ctx.node,
          peerIdFromString(peer.id),
          PROTOCOLS.write,
          bytes,
          timeoutMs,
          undefined,
          ctx.pool,
        )
        return region
      },
      ([, peer]) => ctx.peers.recordFailure(peer.id),
      (acked) =>
        new AckTimeoutError(
          `${what} reached ${acked.length} of the ${required} other region(s) that ack '${level}' needs within ${timeoutMs} ms (regions: ${acked.join(', ') || 'none'}); it stands locally and replicates when the mesh allows`,
          acked,
          required,
        ),
    )
  }
}
