import type { Libp2p, PeerId } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import createDebug from 'debug'
import type { Cache } from '../api/cache.js'
import { keyspaceReplica, type ReplicaRejects } from '../api/keyspace-replica.js'
import { reconcile, respond } from '../sync/reconcile.js'
import {
  parseSyncRequest,
  parseSyncResponse,
  type SyncLimits,
  type SyncRequest,
} from '../sync/sync-messages.js'
import type { MeshCounters } from './mesh-options.js'
import type { PeerTable } from './peer-table.js'
import { request } from './rpc.js'
import { PROTOCOLS } from './topics.js'

const log = createDebug('meshcache:sync')

/** What anti-entropy needs from its node. */
export interface AntiEntropyContext {
  readonly node: Libp2p
  readonly cache: Cache<unknown>
  readonly peers: PeerTable
  readonly region: string
  readonly counters: MeshCounters
  readonly rejects: ReplicaRejects
  readonly limits: SyncLimits
  /** Most entries one round trip carries. */
  readonly maxEntries: number
  /** Period of the background sessions, ms (0: only on reconnection). */
  readonly intervalMs: number
  /** Whether writes by `node` are accepted (allowlist). */
  admits(node: string): boolean
}

/**
 * The anti-entropy driver of a mesh node: answers `/meshcache/sync/1`, runs sessions
 * with a peer (until nothing more differs, bounded), and every `intervalMs` (+-20%) with
 * a random peer, from another region three times in four so repairs cross partitions.
 */
export class AntiEntropy {
  private readonly ctx: AntiEntropyContext
  private readonly running = new Set<string>()
  private timer: NodeJS.Timeout | undefined
  private stopped = false

  constructor(ctx: AntiEntropyContext) {
    this.ctx = ctx
  }

  /** Answers one sync request (the responder is stateless). */
  respond(body: unknown, from: PeerId): unknown {
    const { ctx } = this
    const req = parseSyncRequest(body, ctx.limits)
    const ks = ctx.cache.keyspaces().get(req.ks)
    if (ks === undefined) return { t: 'unknown-keyspace' }
    const region = ctx.peers.get(from.toString())?.region
    const replica = keyspaceReplica(ks, ctx.cache.clock, ctx.rejects, region, (n) => ctx.admits(n))
    return respond(replica, req, ctx.maxEntries)
  }

  /**
   * Reconciles one keyspace with one peer: sessions until nothing more differs (bounded).
   * @returns entries pulled plus pushed
   */
  async syncWith(peer: PeerId, keyspace: string): Promise<number> {
    const { ctx } = this
    const ks = ctx.cache.keyspaces().get(keyspace)
    const id = `${peer.toString()}/${keyspace}`
    if (ks === undefined || this.stopped || this.running.has(id)) return 0
    this.running.add(id)
    const bytes = { out: 0, in: 0 }
    let moved = 0
    try {
      const region = ctx.peers.get(peer.toString())?.region
      const replica = keyspaceReplica(ks, ctx.cache.clock, ctx.rejects, region, (n) =>
        ctx.admits(n),
      )
      const call = async (req: SyncRequest) =>
        parseSyncResponse(
          await request(ctx.node, peer, PROTOCOLS.sync, req, 10_000, bytes),
          ctx.limits,
        )
      for (let session = 0; session < 8; session++) {
        ctx.counters.syncSessions++
        const r = await reconcile(replica, keyspace, call, ctx.maxEntries)
        if (r.equal) ctx.counters.syncInSync++
        ctx.counters.syncPulled += r.pulled
        ctx.counters.syncPushed += r.pushed
        moved += r.pulled + r.pushed
        if (!r.more) break
      }
    } catch (err) {
      ctx.counters.syncErrors++
      log('sync of %s with %s failed: %s', keyspace, peer, (err as Error).message)
    } finally {
      ctx.counters.syncBytesOut += bytes.out
      ctx.counters.syncBytesIn += bytes.in
      this.running.delete(id)
    }
    return moved
  }

  /** Reconciles every open keyspace with `peer`. */
  async syncAll(peer: PeerId): Promise<number> {
    let moved = 0
    for (const name of this.ctx.cache.keyspaces().keys()) moved += await this.syncWith(peer, name)
    return moved
  }

  /** Starts the periodic sessions. */
  start(): void {
    if (this.ctx.intervalMs > 0) this.schedule()
  }

  stop(): void {
    this.stopped = true
    if (this.timer) clearTimeout(this.timer)
  }

  private schedule(): void {
    const jitter = 0.8 + Math.random() * 0.4
    this.timer = setTimeout(() => {
      if (this.stopped) return
      const peer = this.pickPeer()
      const next = () => this.schedule()
      if (peer === undefined) next()
      else void this.syncAll(peerIdFromString(peer)).finally(next)
    }, this.ctx.intervalMs * jitter)
    this.timer.unref()
  }

  /** A random connected peer, from another region three times in four. */
  private pickPeer(): string | undefined {
    const ranked = this.ctx.peers.ranked()
    const remote = ranked.filter((p) => p.region !== this.ctx.region)
    const useRemote = remote.length > 0 && (Math.random() < 0.75 || remote.length === ranked.length)
    const pool = useRemote ? remote : ranked
    return pool[Math.floor(Math.random() * pool.length)]?.id
  }
}
