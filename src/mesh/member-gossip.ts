import { type Message, TopicValidatorResult } from '@libp2p/gossipsub'
import type { Timer } from '../clock/clock.js'
import { logger } from '../log.js'
import { NAME_RE } from '../replica/keyspace-options.js'
import { msgpack } from '../replication/value-codec.js'
import { openEnvelope } from './batch-signing.js'
import { MESH_CONSTANTS } from './defaults.js'
import { addAddresses } from './hello.js'
import type { MeshContext } from './mesh-context.js'

const log = logger('meshcache:mesh')

/** The gossipsub topic on which members announce themselves. */
export const MEMBERS_TOPIC = '/meshcache/1/members'

/** Wire format of an announcement body: `[1, id, region, addrs]`, signed by `id`. */
const ANNOUNCE_FORMAT = 1

/**
 * Membership that scales: each node announces itself (id, region, addresses; signed, a
 * few hundred bytes) on {@link MEMBERS_TOPIC} when it starts and every
 * `announceIntervalMs`, so a join costs one message per member mesh-wide instead of a
 * member list per connection, and every node learns every member without connecting to
 * it. A member neither connected nor announced for `forgetAfterAnnounces` intervals is
 * forgotten (it left or crashed); the link plan moves on without it.
 */
export class MemberGossip {
  private readonly ctx: MeshContext
  private readonly onLearned: () => void
  private timer: Timer | undefined
  private soon: Timer | undefined
  /** Announcements made because a peer connected (the first ones of a joining node). */
  private early = 0

  /** @param onLearned - a new member (or a new region of one) was learned */
  constructor(ctx: MeshContext, onLearned: () => void) {
    this.ctx = ctx
    this.onLearned = onLearned
  }

  /** Subscribes to the topic and starts announcing. */
  start(): void {
    const pubsub = this.ctx.node.services.pubsub
    pubsub.topicValidators.set(MEMBERS_TOPIC, (_peer, msg) => this.validate(msg))
    pubsub.subscribe(MEMBERS_TOPIC)
    // While a fleet forms, announcements reach few peers: the first ones come 1, 2, 4, 8 s
    // after the start, then every announceIntervalMs, jittered so a fleet started
    // together does not announce in lockstep.
    let next = MESH_CONSTANTS.firstAnnounceMs
    const tick = () => {
      this.announce()
      const interval = this.ctx.opts.announceIntervalMs
      const ms = next < interval ? next : interval * (0.8 + 0.4 * Math.random())
      next *= 2
      this.timer = this.ctx.clock.after(ms, tick)
    }
    this.timer = this.ctx.clock.after(next, tick)
  }

  stop(): void {
    this.timer?.cancel()
    this.soon?.cancel()
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

  /** Publishes this node's announcement now. */
  announce(): void {
    const { ctx } = this
    if (ctx.isClosed()) return
    const body = msgpack.pack([
      ANNOUNCE_FORMAT,
      ctx.self,
      ctx.region,
      ctx.node.getMultiaddrs().map((a) => a.toString()),
      ctx.clock.now(),
    ])
    ctx.node.services.pubsub
      .publish(MEMBERS_TOPIC, ctx.signer.seal(body))
      .catch((err: Error) => log('announce failed: %s', err.message))
  }

  /** Forgets members that are neither connected nor announced lately. */
  forgetStale(): void {
    const { ctx } = this
    const horizon =
      ctx.clock.now() - ctx.opts.announceIntervalMs * MESH_CONSTANTS.forgetAfterAnnounces
    for (const p of ctx.peers.all()) {
      if (!p.connected && p.lastSeen < horizon && p.region !== undefined) {
        ctx.peers.remove(p.id)
        log('forgot member %s (not heard of since %d)', p.id, p.lastSeen)
      }
    }
  }

  /** The topic validator: signed by the member it announces, well-formed, allowed. */
  private validate(msg: Message): TopicValidatorResult {
    const { ctx } = this
    const envelope = openEnvelope(msg.data)
    let row: unknown
    try {
      row = envelope === undefined ? undefined : msgpack.unpack(envelope.body)
    } catch {
      row = undefined
    }
    if (
      envelope === undefined ||
      !Array.isArray(row) ||
      row.length !== 5 ||
      row[0] !== ANNOUNCE_FORMAT ||
      typeof row[1] !== 'string' ||
      typeof row[2] !== 'string' ||
      !NAME_RE.test(row[2]) ||
      !Array.isArray(row[3])
    ) {
      ctx.replicas.reject('malformed')
      return TopicValidatorResult.Reject
    }
    const [, id, region, addrs] = row as [number, string, string, unknown[]]
    if (!ctx.originKeys.verify(id, envelope.body, envelope.signature)) {
      ctx.replicas.reject('forged-origin')
      return TopicValidatorResult.Reject
    }
    if (id === ctx.self) return TopicValidatorResult.Ignore
    if (ctx.gate.denies(id)) return TopicValidatorResult.Ignore
    const before = ctx.peers.version
    const p = ctx.peers.upsert(id, ctx.clock.now())
    p.lastSeen = ctx.clock.now()
    if (p.region === undefined) ctx.peers.setRegion(p, region)
    addAddresses(p, addrs)
    if (ctx.peers.version !== before) this.onLearned()
    return TopicValidatorResult.Accept
  }
}
