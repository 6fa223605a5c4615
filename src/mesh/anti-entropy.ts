import type { PeerId } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import createDebug from 'debug'
import { reconcile, respond } from '../sync/reconcile.js'
import {
  parseSyncRequest,
  parseSyncResponse,
  type SyncLimits,
  type SyncRequest,
} from '../sync/sync-messages.js'
import { MESH_CONSTANTS } from './defaults.js'
import type { MeshContext } from './mesh-context.js'
import { request } from './rpc.js'
import { PROTOCOLS } from './topics.js'

const log = createDebug('meshcache:sync')

/**
 * The anti-entropy driver of a mesh node: answers `/meshcache/sync/1`, runs sessions
 * with a peer (until nothing more differs, bounded), and every `intervalMs` (+-20%) with
 * a random peer, from another region three times in four so repairs cross partitions.
 */
export class AntiEntropy {
  private readonly ctx: MeshContext
  private readonly limits: SyncLimits
  private readonly running = new Map<string, Promise<number>>()
  private timer: NodeJS.Timeout | undefined
  private stopped = false

  constructor(ctx: MeshContext) {
    this.ctx = ctx
    this.limits = {
      maxKeyLength: ctx.limits.maxKeyLength,
      maxNameLength: ctx.limits.maxNameLength,
      maxValueBytes: ctx.limits.maxValueBytes,
      maxItems: ctx.opts.syncMaxEntries * 4,
    }
  }

  /** Answers one sync request (the responder is stateless). */
  respond(body: unknown, from: PeerId): unknown {
    const { ctx } = this
    const req = parseSyncRequest(body, this.limits)
    const replica = ctx.replicas.get(req.ks)
    // A peer configured differently for this keyspace is not synced with.
    if (replica === undefined || ctx.peers.get(from.toString())?.mismatched?.has(req.ks))
      return { t: 'unknown-keyspace' }
    const region = ctx.peers.get(from.toString())?.region ?? 'unknown'
    return respond(replica.syncView(region), req, ctx.opts.syncMaxEntries)
  }

  /**
   * Reconciles one keyspace with one peer: sessions until nothing more differs (bounded).
   * A session already running with that peer for that keyspace is joined, not repeated.
   * @returns entries pulled plus pushed, or -1 when the session failed (counted)
   */
  syncWith(peer: PeerId, keyspace: string): Promise<number> {
    const id = `${peer.toString()}/${keyspace}`
    const running = this.running.get(id)
    if (running !== undefined) return running
    const mismatched = this.ctx.peers.get(peer.toString())?.mismatched?.has(keyspace)
    if (this.ctx.replicas.get(keyspace) === undefined || this.stopped || mismatched)
      return Promise.resolve(0)
    const session = this.run(peer, keyspace).finally(() => this.running.delete(id))
    this.running.set(id, session)
    return session
  }

  private async run(peer: PeerId, keyspace: string): Promise<number> {
    const { ctx } = this
    const replica = ctx.replicas.get(keyspace)!
    const bytes = { out: 0, in: 0 }
    let moved = 0
    try {
      const view = replica.syncView(ctx.peers.get(peer.toString())?.region ?? 'unknown')
      const call = async (req: SyncRequest) =>
        parseSyncResponse(
          await request(
            ctx.node,
            peer,
            PROTOCOLS.sync,
            req,
            MESH_CONSTANTS.syncRequestTimeoutMs,
            bytes,
          ),
          this.limits,
        )
      for (let session = 0; session < MESH_CONSTANTS.syncMaxSessions; session++) {
        ctx.counters.syncSessions++
        const r = await reconcile(view, keyspace, call, ctx.opts.syncMaxEntries)
        if (r.equal) ctx.counters.syncInSync++
        ctx.counters.syncPulled += r.pulled
        ctx.counters.syncPushed += r.pushed
        moved += r.pulled + r.pushed
        if (!r.more) break
      }
    } catch (err) {
      ctx.counters.syncErrors++
      log('sync of %s with %s failed: %s', keyspace, peer, (err as Error).message)
      moved = -1
    } finally {
      ctx.counters.syncBytesOut += bytes.out
      ctx.counters.syncBytesIn += bytes.in
    }
    return moved
  }

  /** Reconciles every open keyspace with `peer`. */
  async syncAll(peer: PeerId): Promise<number> {
    let moved = 0
    let failed = false
    for (const name of this.ctx.replicas.names()) {
      const n = await this.syncWith(peer, name)
      if (n < 0) failed = true
      else moved += n
    }
    return failed ? -1 : moved
  }

  /** Starts the periodic sessions. */
  start(): void {
    if (this.ctx.opts.syncIntervalMs > 0) this.schedule()
  }

  stop(): void {
    this.stopped = true
    if (this.timer) clearTimeout(this.timer)
  }

  private schedule(): void {
    if (this.stopped) return
    const jitter = 0.8 + Math.random() * 0.4
    this.timer = setTimeout(() => {
      if (this.stopped) return
      const peer = this.pickPeer()
      const next = () => this.schedule()
      if (peer === undefined) next()
      else void this.syncAll(peerIdFromString(peer)).finally(next)
    }, this.ctx.opts.syncIntervalMs * jitter)
    this.timer.unref()
  }

  /** A random connected peer, from another region three times in four. */
  private pickPeer(): string | undefined {
    const ranked = this.ctx.peers.ranked()
    const remote = ranked.filter((p) => p.region !== this.ctx.region)
    const useRemote =
      remote.length > 0 &&
      (Math.random() < MESH_CONSTANTS.syncRemoteShare || remote.length === ranked.length)
    const pool = useRemote ? remote : ranked
    return pool[Math.floor(Math.random() * pool.length)]?.id
  }
}
