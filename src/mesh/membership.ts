import type { PeerId } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import type { Timer } from '../clock/clock.js'
import { logger } from '../log.js'
import { connectedPeerIds } from './connected-peers.js'
import { dialsNow } from './connection-rules.js'
import { MESH_CONSTANTS } from './defaults.js'
import {
  type HelloBody,
  helloBody,
  helloKeyspaces,
  keyspaceMismatches,
  mergeHello,
} from './hello.js'
import { LinkDials } from './link-dials.js'
import type { Links } from './links.js'
import type { MeshContext } from './mesh-context.js'
import type { PeerInfo } from './peer-table.js'
import { request } from './rpc.js'
import { PROTOCOLS } from './topics.js'

const log = logger('meshcache:mesh')

/**
 * Who is in the mesh: the hello exchange on every new connection (region, addresses,
 * the members each side knows), the redial loop that keeps a connection to every link
 * of this node ({@link Links}: every member in a small mesh, a bounded set in a large
 * one) and closes the others, RTT pings, and partitions (block/unblock).
 */
export class Membership {
  private readonly ctx: MeshContext
  private readonly links: Links
  private readonly onHelloDone: (peer: PeerId) => void
  private readonly dials: LinkDials
  private soon: Timer | undefined
  /** The periodic redial, while there is anyone to dial or hang up on (see {@link start}). */
  private loop: Timer | undefined
  /** The pending {@link loop} is a settled one (`settledRedialIntervals` long). */
  private loopSettled = false
  private stopped = false
  /** What each connected peer was last told of vouched batches (hello.ts `vouch`). */
  private readonly vouchSentTo = new Map<string, 1 | 2 | undefined>()
  /** Peers a hello with a changed `vouch` is on its way to. */
  private readonly revouching = new Set<string>()
  /** Monotonic ms of the last round that told peers a changed `vouch`. */
  private vouchSyncedAt = Number.NEGATIVE_INFINITY

  /** @param onHelloDone - a peer's hello answer arrived (its region is known now) */
  constructor(ctx: MeshContext, links: Links, onHelloDone: (peer: PeerId) => void) {
    this.ctx = ctx
    this.links = links
    this.onHelloDone = onHelloDone
    this.dials = new LinkDials(ctx, links, () => this.redialSoon())
  }

  /** Records the bootstrap peers' addresses (dialled by the redial loop). */
  addBootstrap(addrs: string[]): void {
    for (const addr of addrs) {
      const id = multiaddr(addr)
        .getComponents()
        .find((c) => c.name === 'p2p')?.value
      if (id === undefined) continue
      const p = this.ctx.peers.upsert(id, this.ctx.clock.now())
      if (!p.addrs.includes(addr)) p.addrs.push(addr)
    }
  }

  /** A connection opened: mark the peer connected and say hello. */
  onConnect(peer: PeerId): void {
    const p = this.ctx.peers.upsert(peer.toString(), this.ctx.clock.now())
    p.connected = true
    p.connectedAt = this.ctx.clock.now()
    p.downSince = undefined
    p.dialFailures = 0
    p.dialAfter = undefined
    // What it takes is what its hello on this connection says (it may have restarted as
    // another version or with other settings): nothing until then.
    p.takesVouched = undefined
    p.vouchesRegion = undefined
    p.originsAnnounced = undefined
    // A peer known now: the periodic redial runs (it hangs up on non-links after the grace).
    this.schedule()
    void this.sayHello(peer)
  }

  onDisconnect(peer: PeerId): void {
    const p = this.ctx.peers.get(peer.toString())
    if (p === undefined) return
    p.connected = false
    // Only a link's loss says a member may be down: a connection that was not one (closed
    // by either end as the plans moved on) says nothing, and marking it down kept a member
    // out of this node's relay plan (another hub named) until it was a link again.
    if (this.links.isLink(p.id)) p.downSince ??= this.ctx.clock.now()
    this.vouchSentTo.delete(p.id)
    // A link may have gone: the redial loop must not wait a settled interval for it.
    this.redialSoon()
  }

  /** Answers a peer's hello with ours, learning the members it lists. */
  onHello(body: unknown, from: PeerId): HelloBody {
    mergeHello(this.ctx.peers, body, from.toString(), this.ctx.self, this.ctx.clock.now())
    this.checkSettings(body, from.toString())
    this.redialSoon()
    const answer = this.helloBody()
    this.vouchSentTo.set(from.toString(), answer.vouch)
    return answer
  }

  /**
   * A redial shortly (member lists merged, a member learned): the changes of a burst of
   * hellos and announcements gather into one pass over the member list.
   */
  redialSoon(): void {
    if (this.soon !== undefined || this.ctx.isClosed()) return
    this.soon = this.ctx.clock.after(MESH_CONSTANTS.redialSoonMs, () => {
      this.soon = undefined
      this.redial()
    })
  }

  /**
   * Starts the periodic redial (every `redialIntervalMs`; `settledRedialIntervals` times
   * that after a pass that found every link connected and no other connection: a settled
   * node's idle). It parks while the member list is empty (no peer known, no bootstrap
   * address: nothing to dial or hang up on) and resumes at the next {@link redial}, which
   * every way of learning a peer leads to (a connection's hello, a member's announcement,
   * the bootstrap list, an unblock); a disconnection or a new connection brings the next
   * pass forward.
   */
  start(): void {
    this.redial()
  }

  /** Stops the periodic redial and a pending {@link redialSoon}. */
  stop(): void {
    this.stopped = true
    this.soon?.cancel()
    this.soon = undefined
    this.loop?.cancel()
    this.loop = undefined
  }

  /**
   * The next periodic redial, unless one is scheduled or nobody is known: after
   * `redialIntervalMs`, or `settledRedialIntervals` times that when the last pass found
   * nothing to do (`settled`); a pass with work to do brings a settled wait forward.
   */
  private schedule(settled = false): void {
    if (this.stopped || this.ctx.peers.size === 0) return
    if (this.loop !== undefined) {
      if (settled || !this.loopSettled) return
      this.loop.cancel()
    }
    const intervals = settled ? MESH_CONSTANTS.settledRedialIntervals : 1
    this.loopSettled = settled
    this.loop = this.ctx.clock.after(this.ctx.opts.redialIntervalMs * intervals, () => {
      this.loop = undefined
      this.redial()
    })
  }

  /**
   * Dials every link that is not connected (and members whose region is not known yet:
   * bootstrap peers), at most `dialsInFlight` at once, those that failed least first; and
   * hangs up on members that are not links once they have not been for `linkGraceMs` (a
   * joining node's bootstrap connection, links of an older member list) if this node
   * dialled them, or `inboundGraceFactor` times that if the peer did (connection-rules.ts).
   */
  redial(): void {
    const { ctx, links } = this
    if (ctx.isClosed()) return
    const connected = new Set(connectedPeerIds(ctx.node))
    const now = ctx.clock.now()
    // Settled: every link connected, no other connection to close, no dial in flight.
    let settled = this.dials.inFlight === 0
    const wanted: PeerInfo[] = []
    for (const p of ctx.peers.all()) {
      p.connected = connected.has(p.id)
      if (p.connected) {
        p.downSince = undefined
        p.connectedAt ??= now // a member forgotten and learned again while connected
      }
      // A member taken for down is left out of the relay plan, so it may be no link of
      // this node any more: dialled now and then (backing off) so that it comes back.
      const probe = !p.connected && p.downSince !== undefined && p.region !== undefined
      const link = p.region === undefined || links.isLink(p.id)
      p.extraSince = p.connected && !link ? (p.extraSince ?? now) : undefined
      if (p.connected || !link) p.missingSince = undefined
      const extra = p.connected && !link ? this.dials.extra(p, now) : 'keep'
      if (extra !== 'keep') settled = false
      if (extra === 'close') {
        this.dials.hangUp(p.id)
        continue
      }
      if (!p.connected && link && p.id !== ctx.self) settled = false
      if (p.connected || !(link || probe) || p.id === ctx.self || p.addrs.length === 0) continue
      if (this.dials.dialing(p.id) || ctx.gate.denies(p.id)) continue
      if (p.dialAfter !== undefined && ctx.clock.monotonic() < p.dialAfter) continue
      // A link both ends want is dialled by the smaller id first (connection-rules.ts).
      if (link && p.region !== undefined) {
        p.missingSince ??= now
        const waitMs = ctx.opts.redialIntervalMs * 2
        if (!dialsNow(ctx.self, p.id, now - p.missingSince, waitMs)) continue
      }
      wanted.push(p)
    }
    this.dials.dialSome(wanted)
    this.syncVouch()
    this.schedule(settled)
  }

  /** Cuts this node off from `peerIds`: closes connections and refuses new ones until {@link unblock}. */
  async block(peerIds: string[]): Promise<void> {
    const { ctx } = this
    ctx.gate.block(peerIds)
    await Promise.allSettled(
      peerIds.map((id) =>
        ctx.node.hangUp(peerIdFromString(id), {
          signal: AbortSignal.timeout(MESH_CONSTANTS.hangUpTimeoutMs),
        }),
      ),
    )
    for (const id of peerIds) {
      const p = ctx.peers.get(id)
      if (p) p.connected = false
    }
  }

  /** Lifts blocks (all when no ids are given); the redial loop reconnects and sync repairs. */
  unblock(peerIds?: string[]): void {
    this.ctx.gate.unblock(peerIds)
    for (const p of this.ctx.peers.all()) p.dialAfter = undefined
    this.redial()
  }

  /** Sends our hello again to every connected peer (a keyspace was opened: its settings). */
  announce(): void {
    const { ctx } = this
    for (const peer of ctx.node.getPeers()) {
      const body = this.helloBody()
      request(ctx.node, peer, PROTOCOLS.hello, body, MESH_CONSTANTS.helloTimeoutMs)
        .then((res) => {
          this.vouchSentTo.set(peer.toString(), body.vouch)
          this.checkSettings(res, peer.toString())
        })
        .catch((err: Error) => log('hello to %s failed: %s', peer, err.message))
    }
  }

  private helloBody(): HelloBody {
    const { ctx } = this
    return helloBody(
      ctx.self,
      ctx.region,
      ctx.node.getMultiaddrs().map((a) => a.toString()),
      ctx.peers.all(),
      [...ctx.replicas].map((r) => [r.name, r.options.maxTtl]),
      this.vouch(),
    )
  }

  /**
   * Whether this node takes write batches without their origin's signature (hello.ts
   * `vouch`): with `verifyOrigins: 'relay'` it does (1), and says 2 while every member of
   * its region it knows (by their own word) is connected to it and has said it takes them
   * too: a region's hub speaks for its whole star, and a region too large for one (sub-hubs)
   * or with a member that checks every signature or runs an older version keeps getting
   * signed batches (docs/decisions/vouched-batches.md). Depends on the members' own
   * settings, not on what they say of theirs, so it cannot lock itself at 1.
   */
  private vouch(): 1 | 2 | undefined {
    const { ctx } = this
    if (ctx.opts.verifyOrigins !== 'relay') return undefined
    for (const p of ctx.peers.all())
      if (
        p.regionOwn === true &&
        p.region === ctx.region &&
        p.id !== ctx.self &&
        (!p.connected || p.takesVouched !== true)
      )
        return 1
    return 2
  }

  /**
   * Tells the connected peers of other regions (the ones that read it) a `vouch` that
   * changed since their last hello: a hello exchange each, at most one in flight per peer;
   * one that fails is tried again at the next redial pass.
   */
  private syncVouch(): void {
    const { ctx } = this
    if (ctx.opts.verifyOrigins !== 'relay') return
    // At most one round per redial interval to say 2: members connecting one after another
    // while a region forms change the value often, and only the last one needs to go out.
    // A change to 1 goes out at once: until the far hubs hear it, a member here that does
    // not take vouched batches gets their writes by anti-entropy only.
    const mono = ctx.clock.monotonic()
    const now = this.vouch()
    if (now === 2 && mono - this.vouchSyncedAt < ctx.opts.redialIntervalMs) return
    for (const [id, sent] of this.vouchSentTo) {
      if (sent === now || this.revouching.has(id)) continue
      const p = ctx.peers.get(id)
      if (p?.connected !== true || p.region === ctx.region) continue
      this.vouchSyncedAt = mono
      this.revouching.add(id)
      void this.exchange(peerIdFromString(id)).finally(() => this.revouching.delete(id))
    }
  }

  /**
   * Compares the peer's keyspace settings with ours: a keyspace whose `maxTtl` differs is
   * not replicated with that peer (its tombstones and versions would live for different
   * times, and a delete could come back). Counted, logged, shown in its peer stats.
   */
  private checkSettings(body: unknown, peer: string): void {
    const { ctx } = this
    const mine = new Map([...ctx.replicas].map((r) => [r.name, r.options.maxTtl] as const))
    const differing = keyspaceMismatches(body, mine)
    const p = ctx.peers.get(peer)
    if (p === undefined) return
    p.keyspaces = helloKeyspaces(body)
    // Rebuilt from every hello: a peer whose configuration was fixed is replicated again.
    const before = p.mismatched
    p.mismatched = differing.length === 0 ? undefined : new Set(differing)
    for (const ks of differing) {
      if (before?.has(ks)) continue
      ctx.replicas.reject('config-mismatch')
      log('peer %s has keyspace %s with another maxTtl: not replicated with it', peer, ks)
    }
  }

  private async sayHello(peer: PeerId): Promise<void> {
    if (await this.exchange(peer)) this.onHelloDone(peer)
  }

  /**
   * Exchanges hellos with a connected peer: each side learns the members the other lists
   * (on connection, and when link control finds the member lists differ).
   * @returns false when the hello failed
   */
  async exchange(peer: PeerId): Promise<boolean> {
    const { ctx } = this
    try {
      const body = this.helloBody()
      const res = await request(
        ctx.node,
        peer,
        PROTOCOLS.hello,
        body,
        MESH_CONSTANTS.helloTimeoutMs,
      )
      this.vouchSentTo.set(peer.toString(), body.vouch)
      mergeHello(ctx.peers, res, peer.toString(), ctx.self, ctx.clock.now())
      this.checkSettings(res, peer.toString())
      this.redialSoon()
      return true
    } catch (err) {
      log('hello to %s failed: %s', peer, (err as Error).message)
      return false
    }
  }
}
