import type { PeerId } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import type { Timer } from '../clock/clock.js'
import { logger } from '../log.js'
import { FANOUT } from '../sync/digest-tree.js'
import { reconcile, respond, type SyncReplica, window } from '../sync/reconcile.js'
import { budgetFor, type SyncBudget } from '../sync/sync-budget.js'
import {
  parseSyncRequest,
  parseSyncResponse,
  type SyncLimits,
  type SyncRequest,
  type SyncResponse,
} from '../sync/sync-messages.js'
import { isAlone } from './connected-peers.js'
import { MESH_CONSTANTS } from './defaults.js'
import type { MeshContext } from './mesh-context.js'
import { HeldResponse, MAX_RPC_FRAME_BYTES, request } from './rpc.js'
import { deferRound, FlowGauge, ServeSlots, type SyncPacing } from './sync-pacing.js'
import { PROTOCOLS } from './topics.js'

const log = logger('meshcache:sync')

/**
 * The bytes of one sync message: 3 MiB of items in the 4 MiB frame, one entry alone up to
 * the frame less 64 KiB (a larger one goes as its version alone). Under the default wire
 * limits (values of 1 MiB, keys of 1,024 characters) any single entry fits the 3 MiB.
 */
const SYNC_BUDGET: SyncBudget = budgetFor(MAX_RPC_FRAME_BYTES)

/**
 * The anti-entropy driver of a mesh node: answers `/meshcache/sync/1` (two requests per
 * peer at once, {@link ServeSlots}), runs sessions with a peer (until nothing more
 * differs, bounded), and every `intervalMs` (+-20%) with a random peer, from another
 * region three times in four so repairs cross partitions; a periodic round waits (one
 * interval at most) while writes flow fast ({@link deferRound}). Every answer and push
 * stays within {@link SYNC_BUDGET}: a large gap is repaired over several sessions.
 */
export class AntiEntropy {
  private readonly ctx: MeshContext
  private readonly limits: SyncLimits
  /** Sessions running, per peer and keyspace, with the most sessions each may run. */
  private readonly running = new Map<string, { done: Promise<number>; maxSessions: number }>()
  private timer: Timer | undefined
  private stopped = false
  private readonly flow = new FlowGauge()
  private readonly pacing: SyncPacing
  /** Sync requests served at once per peer. */
  private readonly serving: ServeSlots
  /**
   * Steps the due periodic round has waited for a calmer flow (counted, not derived from
   * clock readings: a fractional start plus whole steps can fall a hair short of the bound).
   */
  private waits = 0
  /** No connection at all when a round fell due: no round is scheduled until {@link resume}. */
  private parked = false
  /**
   * Peers whose digest roots matched ours lately (the link's control pings compare them):
   * the periodic sessions skip them, so an idle mesh runs none.
   */
  inSync: (peer: string) => boolean = () => false

  constructor(ctx: MeshContext) {
    this.ctx = ctx
    this.limits = {
      maxKeyLength: ctx.limits.maxKeyLength,
      maxNameLength: ctx.limits.maxNameLength,
      maxValueBytes: ctx.limits.maxValueBytes,
      maxItems: ctx.opts.syncMaxEntries * 4,
    }
    this.pacing = {
      busyRecordsPerSec: MESH_CONSTANTS.syncBusyRecordsPerSec,
      maxDeferMs: ctx.opts.syncIntervalMs,
    }
    this.serving = new ServeSlots((ms, fn) => ctx.clock.after(ms, fn))
  }

  /**
   * Answers one sync request (the responder is stateless), once one of the peer's serving
   * slots is free: the slot is held until the answer is written.
   * @throws InvalidMessageError for a malformed request, SyncBusyError when refused
   */
  async respond(body: unknown, from: PeerId): Promise<HeldResponse> {
    const { ctx } = this
    const req = parseSyncRequest(body, this.limits)
    const peer = from.toString()
    const release = await this.serving.acquire(peer)
    try {
      const replica = ctx.replicas.get(req.ks)
      // A peer configured differently for this keyspace is not synced with.
      if (replica === undefined || ctx.peers.get(peer)?.mismatched?.has(req.ks))
        return new HeldResponse({ t: 'unknown-keyspace' }, release)
      const region = ctx.peers.get(peer)?.region ?? 'unknown'
      const view = replica.syncView(region)
      return new HeldResponse(respond(view, req, ctx.opts.syncMaxEntries, SYNC_BUDGET), release)
    } catch (err) {
      release()
      throw err
    }
  }

  /**
   * Reconciles one keyspace with one peer: sessions until nothing more differs (bounded).
   * A run already going with that peer for that keyspace is joined, not repeated; one
   * allowed fewer sessions (a periodic round in a busy flow) is followed by a run of this
   * call's own bound once it ends.
   * @returns entries pulled plus pushed, or -1 when the session failed (counted)
   */
  syncWith(
    peer: PeerId,
    keyspace: string,
    maxSessions: number = MESH_CONSTANTS.syncMaxSessions,
  ): Promise<number> {
    const id = `${peer.toString()}/${keyspace}`
    const running = this.running.get(id)
    if (running !== undefined) {
      if (running.maxSessions >= maxSessions) return running.done
      return running.done.then(() => this.syncWith(peer, keyspace, maxSessions))
    }
    const mismatched = this.ctx.peers.get(peer.toString())?.mismatched?.has(keyspace)
    if (this.ctx.replicas.get(keyspace) === undefined || this.stopped || mismatched)
      return Promise.resolve(0)
    const done = this.run(peer, keyspace, maxSessions).finally(() => this.running.delete(id))
    this.running.set(id, { done, maxSessions })
    return done
  }

  private async run(peer: PeerId, keyspace: string, maxSessions: number): Promise<number> {
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
      for (let session = 0; session < maxSessions; session++) {
        ctx.counters.syncSessions++
        const bounded = boundedCall(view, call, this.maxNodes())
        const r = await reconcile(
          view,
          keyspace,
          bounded.call,
          ctx.opts.syncMaxEntries,
          SYNC_BUDGET,
        )
        if (r.equal) ctx.counters.syncInSync++
        ctx.counters.syncPulled += r.pulled
        ctx.counters.syncPushed += r.pushed
        moved += r.pulled + r.pushed
        if (!r.more && !bounded.truncated()) break
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

  /**
   * Most tree nodes one `children` request names: what a responder accepts, and no more
   * than the budget's worth of answer (64 bytes of digests per node).
   */
  private maxNodes(): number {
    return Math.min(this.limits.maxItems, Math.floor(SYNC_BUDGET.maxBytes / (FANOUT * 4)))
  }

  /** Reconciles every open keyspace with `peer`, `maxSessions` sessions at most for each. */
  async syncAll(peer: PeerId, maxSessions?: number): Promise<number> {
    let moved = 0
    let failed = false
    for (const name of this.ctx.replicas.names()) {
      const n = await this.syncWith(peer, name, maxSessions)
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
    this.timer?.cancel()
  }

  /** A peer connected: periodic rounds parked for want of any connection start again. */
  resume(): void {
    if (!this.parked || this.stopped) return
    this.parked = false
    this.schedule()
  }

  /**
   * The next periodic round in `delayMs` (an interval +-20% by default). The flow of writes
   * is measured over the step before it falls due; a round due while this node moves
   * writes at the busy rate waits in such steps (a fifth of an interval), one interval at
   * most ({@link deferRound}), then runs one session per keyspace if the flow is still busy.
   */
  private schedule(delayMs = this.ctx.opts.syncIntervalMs * (0.8 + Math.random() * 0.4)): void {
    if (this.stopped) return
    const step = Math.min(this.stepMs(), delayMs)
    this.timer = this.ctx.clock.after(delayMs - step, () => {
      if (this.stopped) return
      this.sampleFlow()
      this.timer = this.ctx.clock.after(step, () => this.due())
    })
  }

  /** A periodic round fell due: it runs, or waits a step when writes flow fast. */
  private due(): void {
    if (this.stopped) return
    const rate = this.sampleFlow()
    if (this.pickPeer() === undefined) {
      // Nobody to sync with (every peer in sync, or none): nothing to wait for; with no
      // peer connected at all, no round until one is (a peerless node sets no timer).
      this.waits = 0
      if (isAlone(this.ctx.node)) this.parked = true
      else this.schedule()
      return
    }
    if (deferRound(rate, this.waits * this.stepMs(), this.pacing)) {
      this.waits++
      this.ctx.counters.syncDeferred++
      // Whole steps (a fifth of the bound): each wait measures the flow over a full step.
      this.timer = this.ctx.clock.after(this.stepMs(), () => this.due())
      return
    }
    this.waits = 0
    const peer = this.pickPeer()
    const next = () => this.schedule()
    // A round that waited its longest and still meets a busy flow runs one session.
    const sessions = rate >= this.pacing.busyRecordsPerSec ? 1 : undefined
    if (peer === undefined) next()
    else void this.syncAll(peerIdFromString(peer), sessions).finally(next)
  }

  /** Records received plus published per second since the last sample. */
  private sampleFlow(): number {
    const { counters } = this.ctx
    return this.flow.sample(this.ctx.clock.monotonic(), counters.recordsIn + counters.recordsOut)
  }

  private stepMs(): number {
    return this.ctx.opts.syncIntervalMs / 5
  }

  /** A random connected peer not known to be in sync, from another region three times in four. */
  private pickPeer(): string | undefined {
    const ranked = this.ctx.peers.ranked().filter((p) => !this.inSync(p.id))
    const remote = ranked.filter((p) => p.region !== this.ctx.region)
    const useRemote =
      remote.length > 0 &&
      (Math.random() < MESH_CONSTANTS.syncRemoteShare || remote.length === ranked.length)
    const pool = useRemote ? remote : ranked
    return pool[Math.floor(Math.random() * pool.length)]?.id
  }
}

/**
 * Wraps a session's `call` so that no request names more tree nodes than a responder
 * accepts (`maxNodes`, the `maxItems` of its {@link SyncLimits}): past it, the responder
 * refuses the request and the session fails. Replicas that differ by more than ~`maxNodes`
 * keys differ in more nodes than that at the lower levels of the tree (a burst gossip did
 * not deliver, a long partition), and such a gap was never repaired: every session failed
 * at the same level (bench:replication, 4 runs in 11 on a starved machine).
 *
 * A `children` request over the bound asks for a window of `maxNodes` of its nodes (from a
 * random start, so nodes that cannot converge never block the others) and reports the
 * children of the others as this replica's own digests, so the session skips them: it
 * repaired part of the difference, `truncated()` asks for another. (`reconcile` itself
 * compares at most `syncMaxEntries` leaves, a quarter of this bound.)
 */
function boundedCall(
  view: SyncReplica,
  call: (req: SyncRequest) => Promise<SyncResponse>,
  maxNodes: number,
): { call: (req: SyncRequest) => Promise<SyncResponse>; truncated: () => boolean } {
  let truncated = false
  const bounded = async (req: SyncRequest): Promise<SyncResponse> => {
    if (req.t === 'children' && req.nodes.length > maxNodes) {
      truncated = true
      const kept = window(req.nodes, maxNodes)
      const res = await call({ ...req, nodes: kept })
      if (res.t !== 'digests') return res
      const got = new DataView(res.digests.buffer, res.digests.byteOffset, res.digests.byteLength)
      if (res.digests.byteLength !== kept.length * FANOUT * 4) return res // reconcile rejects it
      const packed = new Uint8Array(req.nodes.length * FANOUT * 4)
      const out = new DataView(packed.buffer)
      const tree = view.index.tree
      const at = new Map(kept.map((node, k) => [node, k]))
      for (let i = 0; i < req.nodes.length; i++) {
        const node = req.nodes[i]!
        const k = at.get(node)
        for (let c = 0; c < FANOUT; c++) {
          const digest =
            k !== undefined
              ? got.getUint32((k * FANOUT + c) * 4)
              : tree.digest(req.level + 1, node * FANOUT + c)[0]
          out.setUint32((i * FANOUT + c) * 4, digest)
        }
      }
      return { ...res, digests: packed }
    }
    return call(req)
  }
  return { call: bounded, truncated: () => truncated }
}
