import type { Timer } from '../clock/clock.js'
import { logger } from '../log.js'
import { NAME_RE } from '../replica/keyspace-options.js'
import { ITEM_KIND, type RelayItem } from '../replication/relay-frame.js'
import { msgpack } from '../replication/value-codec.js'
import { openEnvelope } from './batch-signing.js'
import { isAlone } from './connected-peers.js'
import { MESH_CONSTANTS } from './defaults.js'
import { addAddresses } from './hello.js'
import type { MeshContext } from './mesh-context.js'
import type { Relay } from './relay.js'

const log = logger('meshcache:mesh')

/** What member announcements carry besides membership: each member's mesh-view summary. */
export interface SummaryCarrier {
  /** This node's summary, put in its announcement. */
  own(): unknown
  /**
   * Member `id`'s announcement (signature checked) carried `raw`.
   * @returns true when it told news (the member's flags or relay role changed)
   */
  receive(id: string, raw: unknown): boolean
}

/**
 * Wire format of an announcement body: `[1, id, region, addrs, now, summary?]`, signed by
 * `id`; `summary` is the member's mesh-view summary (src/mesh/node-summary.ts). Elements
 * after those are ignored, so later versions can add some.
 */
const ANNOUNCE_FORMAT = 1

/**
 * How often a member announces itself (ms): every `announceIntervalMs` in a mesh of up to
 * `announcesPerInterval` (15) members, and in a larger one N / 15 times that, so every node
 * receives about 15 announcements per `announceIntervalMs` (one a second by default)
 * whatever the mesh's size (a mesh of 100: each member every 100 s). Forgetting and the
 * mesh view's `stale` flag count in these intervals.
 */
export function announceEveryMs(ctx: Pick<MeshContext, 'opts' | 'peers'>): number {
  const members = ctx.peers.size + 1
  return ctx.opts.announceIntervalMs * Math.max(1, members / MESH_CONSTANTS.announcesPerInterval)
}

/**
 * How long a periodic announcement may wait at each hop for a frame to ride with (ms):
 * `announceHoldMs`, and at most an eighth of the announce interval, so that the few hops
 * of the relay tree add well under an interval to what forgetting and the mesh view's
 * `stale` flag count (they count in intervals).
 */
export function announceHoldMs(ctx: Pick<MeshContext, 'opts' | 'peers'>): number {
  return Math.min(MESH_CONSTANTS.announceHoldMs, announceEveryMs(ctx) / 8)
}

/**
 * Membership that scales: each node announces itself (id, region, addresses; signed, a
 * few hundred bytes) through the relay when it starts and every {@link announceEveryMs},
 * so a join costs one item per member mesh-wide instead of a member list per connection,
 * and every node learns every member without connecting to it. A member neither connected
 * nor announced for `forgetAfterAnnounces` intervals is forgotten (it left or crashed);
 * the link plan moves on without it.
 */
export class MemberGossip {
  private readonly ctx: MeshContext
  private readonly relay: Relay
  private readonly onLearned: () => void
  private readonly summaries: SummaryCarrier | undefined
  private timer: Timer | undefined
  private soon: Timer | undefined
  /** Announcements made because a peer connected (the first ones of a joining node). */
  private early = 0
  /** Delay of the next announcement while it still doubles (then every announceEveryMs). */
  private next = MESH_CONSTANTS.firstAnnounceMs
  /** No connection at the last announcement's time: none is scheduled until {@link resume}. */
  private parked = false
  private stopped = false
  /** The loop runs at the interval: the next announcement is a periodic one, which may wait at each hop. */
  private steady = false

  /**
   * @param onLearned - a new member (or a new region of one) was learned
   * @param summaries - what announcements carry besides membership (the mesh view's summaries)
   */
  constructor(ctx: MeshContext, relay: Relay, onLearned: () => void, summaries?: SummaryCarrier) {
    this.ctx = ctx
    this.relay = relay
    this.onLearned = onLearned
    this.summaries = summaries
  }

  /** Starts announcing. */
  start(): void {
    this.timer = this.ctx.clock.after(this.next, this.tick)
  }

  /**
   * A peer connected: announcements parked for want of any connection start again, the
   * first one soon (the peers learn this node's news without waiting an interval).
   */
  resume(): void {
    if (!this.parked || this.stopped) return
    this.parked = false
    this.steady = false
    this.timer = this.ctx.clock.after(MESH_CONSTANTS.earlyAnnounceDelayMs, this.tick)
  }

  stop(): void {
    this.stopped = true
    this.timer?.cancel()
    this.soon?.cancel()
  }

  /**
   * While a fleet forms, announcements reach few peers: the first ones come 1, 2, 4, 8 s
   * after the start, then every announceEveryMs, jittered so a fleet started together does
   * not announce in lockstep. With no connection at all an announcement would reach nobody
   * (and wait in the relay's held items): the loop parks until a peer connects.
   */
  private readonly tick = (): void => {
    this.timer = undefined
    if (this.stopped) return
    if (isAlone(this.ctx.node)) {
      this.parked = true
      return
    }
    this.announce(this.steady)
    const interval = announceEveryMs(this.ctx)
    const ms = this.next < interval ? this.next : interval * (0.8 + 0.4 * Math.random())
    this.steady = this.next >= interval
    this.next *= 2
    this.timer = this.ctx.clock.after(ms, this.tick)
  }

  /**
   * A peer finished its hello. A node's first announcement went out before it had any
   * peer, so the first few connections each trigger one (debounced, once the peer's
   * subscriptions have arrived): a joiner is known mesh-wide in about a second, not at
   * its next periodic announcement.
   */
  onPeer(): void {
    if (this.early >= MESH_CONSTANTS.earlyAnnounces || this.soon !== undefined) return
    this.early++
    this.soon = this.ctx.clock.after(MESH_CONSTANTS.earlyAnnounceDelayMs, () => {
      this.soon = undefined
      this.announce()
    })
  }

  /**
   * Publishes this node's announcement now (with no connection it would reach nobody: not
   * made). `periodic`: nothing changed since the last one, so it may wait at each hop for
   * a frame to ride with ({@link announceHoldMs}).
   */
  announce(periodic = false): void {
    const { ctx } = this
    if (ctx.isClosed() || isAlone(ctx.node)) return
    const body = msgpack.pack([
      ANNOUNCE_FORMAT,
      ctx.self,
      ctx.region,
      ctx.node.getMultiaddrs().map((a) => a.toString()),
      ctx.clock.now(),
      ...(this.summaries === undefined ? [] : [this.summaries.own()]),
    ])
    const holdMs = periodic ? announceHoldMs(ctx) : 0
    this.relay.originate(ITEM_KIND.member, this.relay.nextSeq(), ctx.signer.seal(body), holdMs)
  }

  /** Forgets members that are neither connected nor announced lately. */
  forgetStale(): void {
    const { ctx } = this
    const horizon = ctx.clock.now() - announceEveryMs(ctx) * MESH_CONSTANTS.forgetAfterAnnounces
    for (const p of ctx.peers.all()) {
      if (!p.connected && p.lastSeen < horizon && p.region !== undefined) {
        // Held off for as long again: others still listing it must not bring it back.
        ctx.peers.remove(p.id, ctx.clock.now() + (ctx.clock.now() - horizon))
        log('forgot member %s (not heard of since %d)', p.id, p.lastSeen)
      }
    }
  }

  /**
   * A relayed announcement: signed by the member it announces (checked when `verify`: it
   * entered this region here, or came from a member of it that is not its origin under
   * `verifyOrigins: 'every-node'`), well-formed, allowed.
   * @returns false when it must not be relayed further (malformed or forged), else how
   * long it may wait at the next hop: 0 when it told this node news (a new member, region
   * or address, changed flags), {@link announceHoldMs} when it only said the member lives
   */
  receive(item: RelayItem, verify = true): number | false {
    const { ctx } = this
    const envelope = openEnvelope(item.body)
    let row: unknown
    try {
      row = envelope === undefined ? undefined : msgpack.unpack(envelope.body)
    } catch {
      row = undefined
    }
    if (
      envelope === undefined ||
      !Array.isArray(row) ||
      row.length < 5 ||
      row[0] !== ANNOUNCE_FORMAT ||
      typeof row[1] !== 'string' ||
      typeof row[2] !== 'string' ||
      !NAME_RE.test(row[2]) ||
      !Array.isArray(row[3])
    ) {
      ctx.replicas.reject('malformed')
      return false
    }
    const [, id, region, addrs] = row as [number, string, string, unknown[]]
    if (verify && id === item.origin) ctx.counters.signaturesChecked++
    if (
      id !== item.origin ||
      (verify && !ctx.originKeys.verify(id, envelope.body, envelope.signature))
    ) {
      ctx.replicas.reject('forged-origin')
      return false
    }
    if (id === ctx.self) return false
    // A denied member's announcement is passed on (others may admit it) but not learned.
    if (ctx.gate.denies(id)) return 0
    // A full member table of members all met directly takes no one new by announcement
    // (passed on: others may have room), as for a denied member.
    if (!ctx.peers.makeRoomFor(id)) return 0
    const before = ctx.peers.version
    const p = ctx.peers.upsert(id, ctx.clock.now())
    p.lastSeen = ctx.clock.now()
    const ownBefore = p.regionOwn === true
    const addrsBefore = p.addrs.length
    // Signed by the member (checked here or vouched for by the relay's trust rule).
    ctx.peers.setRegion(p, region, true)
    addAddresses(p, addrs)
    const learned = ctx.peers.version !== before
    if (learned) this.onLearned()
    const changed = row.length > 5 && this.summaries?.receive(id, row[5]) === true
    // News: a member, region or address this node did not have (a region it had only
    // second-hand counts: a far hub trusts a writer's batches once it has it first-hand).
    const news = learned || !ownBefore || p.addrs.length !== addrsBefore || changed
    return news ? 0 : announceHoldMs(ctx)
  }
}
