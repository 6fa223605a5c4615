import type { Timer } from '../clock/clock.js'
import { type ClockOffsets, holdsTogether } from '../clock/clock-offsets.js'
import { logger } from '../log.js'
import { ITEM_KIND, type RelayItem } from '../replication/relay-frame.js'
import { connectedPeerIds } from './connected-peers.js'
import {
  MAX_ROOTS,
  pingBytes,
  pongBytes,
  type Root,
  readControl,
  rootOf,
} from './control-messages.js'
import { MESH_CONSTANTS } from './defaults.js'
import { type LinkState, newLinkState } from './link-state.js'
import type { MeshContext } from './mesh-context.js'
import type { RelayLinks } from './relay-links.js'
import type { TimeSync } from './time-sync.js'

const log = logger('meshcache:mesh')

/** The member list as link control compares it (wired by the node to its membership). */
export interface MemberLists {
  /** A digest of the members this node knows (equal lists, equal digests). */
  digest(): string
  /** Exchanges member lists with `peer` (both ends learn the other's members). */
  exchange(peer: string): void
}

/**
 * What keeps a link known to be alive, measured and in sync, with one small control item
 * per link per interval on the link's relay stream (no stream per round): a ping carries
 * this node's raw clock reading (an NTP-style sample, see {@link TimeSync}), its clock
 * correction and the digest roots of its open keyspaces; the pong carries the peer's
 * readings, correction and roots; the next ping echoes when the pong arrived, so the
 * answering end takes a sample too (pong out, ping back) without pinging itself. A link
 * that brought frames from the peer within the interval is alive without a ping; a clock sample is
 * taken at least every `timeSampleIntervals` intervals anyway.
 * Roots that differ on a quiet link start a repair at once (at most one per interval per
 * keyspace, and none while write batches arrive: roots then differ by the writes in
 * flight); roots that match let the periodic anti-entropy skip that peer.
 *
 * A quiet link whose last exchange found the same roots and the same member digest is
 * *settled*: it is pinged only for the clock sample (every `timeSampleIntervals`
 * intervals), not every interval, so an idle node with many links sends about one item per
 * link per 40 s. A link is pinged at the next round again when something changed: a ping
 * went unanswered, roots or members differed, {@link news} (a link went down, frames were
 * lost), or it carried this node's write batches and brought nothing back for half an
 * interval (a settled link's silence is not taken for health once writes go unanswered). Members: pings and pongs carry a digest of the member list; a pinger whose
 * pong shows another digest exchanges member lists with that peer (the hello), and a node
 * whose member list grew pings all its links soon ({@link membersChanged}), so a new member
 * spreads in a few round trips per hop rather than one interval per hop.
 */
export class LinkControl {
  private readonly links = new Map<string, LinkState>()
  /** Monotonic ms when the last write batch arrived (see {@link batchHeard}). */
  private lastBatch = Number.NEGATIVE_INFINITY
  /** The pending round of pings after the member list changed, and when the last one ran. */
  private round: Timer | undefined
  private lastRound = Number.NEGATIVE_INFINITY
  /** Relay frames failed and items dropped, as last seen. */
  private lost = 0

  constructor(
    private readonly ctx: MeshContext,
    private readonly relayLinks: RelayLinks,
    private readonly offsets: ClockOffsets,
    private readonly time: TimeSync,
    private readonly repair: (peer: string, keyspace: string) => void,
    private readonly members: MemberLists = { digest: () => '', exchange: () => {} },
  ) {}

  /** The member list grew or changed: every link is pinged soon (at most once per second). */
  membersChanged(): void {
    if (this.round !== undefined || this.ctx.isClosed()) return
    const now = this.ctx.clock.monotonic()
    const wait = Math.max(
      MESH_CONSTANTS.memberNewsDelayMs,
      this.lastRound + MESH_CONSTANTS.memberNewsMinIntervalMs - now,
    )
    this.round = this.ctx.clock.after(wait, () => {
      this.round = undefined
      this.lastRound = this.ctx.clock.monotonic()
      for (const peer of connectedPeerIds(this.ctx.node)) {
        if (this.state(peer).pending === undefined) this.ping(peer)
      }
    })
  }

  /** Something changed that a settled link would not see: every link pings at the next round. */
  news(): void {
    for (const s of this.links.values()) s.news = true
  }

  /** Stops the pending member round. */
  stop(): void {
    this.round?.cancel()
    this.round = undefined
  }

  /**
   * A write batch arrived (from any link). While batches flow, roots differ by the writes
   * in flight: a repair then would fetch what is arriving anyway, so none starts until a
   * whole interval passed without one (the periodic anti-entropy still runs).
   */
  batchHeard(): void {
    this.lastBatch = this.ctx.clock.monotonic()
  }

  /** A frame came from `peer`: the link is alive. */
  heard(peer: string): void {
    this.state(peer).heard = this.ctx.clock.monotonic()
  }

  /** A peer connected (its hello done): measure its clock and compare roots at once. */
  onPeer(peer: string): void {
    this.ping(peer)
  }

  /** A peer left: its link state goes. */
  forget(peer: string): void {
    this.links.delete(peer)
  }

  /**
   * True when `peer`'s roots matched ours for every keyspace both hold at the last exchange,
   * within a clock-sample period and an interval, and this node has written, received or
   * pulled nothing since (any write may have missed the peer): the periodic anti-entropy
   * has nothing to find there.
   */
  inSync(peer: string): boolean {
    const s = this.links.get(peer)
    return (
      s !== undefined &&
      this.ctx.clock.monotonic() - s.inSync < this.settledForMs() &&
      s.inSyncMoved === this.moved()
    )
  }

  /** Records this node moved so far: written, received, pulled by anti-entropy. */
  private moved(): number {
    const c = this.ctx.counters
    return c.recordsOut + c.recordsIn + c.syncPulled
  }

  /** How long a match counts: a clock-sample period and one interval of slack. */
  private settledForMs(): number {
    return (MESH_CONSTANTS.timeSampleIntervals + 1) * this.ctx.opts.pingIntervalMs
  }

  /** One round: pings on the links that were quiet, or whose clock sample is old. */
  tick(): void {
    const { ctx } = this
    const now = ctx.clock.monotonic()
    // Frames lost on some link (a failed write, a full queue): roots may differ anywhere.
    const { framesFailed, itemsDropped } = this.relayLinks.counters
    if (framesFailed + itemsDropped !== this.lost) {
      this.lost = framesFailed + itemsDropped
      this.news()
    }
    // This node's raw clock stepped since it last sampled a link's peer (set by hand, NTP,
    // a VM resumed): that sample is wrong now; the link exchanges at once.
    const step = this.time.rawNow() - now
    const interval = ctx.opts.pingIntervalMs
    for (const id of connectedPeerIds(ctx.node)) {
      const s = this.state(id)
      if (s.pending !== undefined && now - s.pending.at > MESH_CONSTANTS.dialTimeoutMs) {
        // No answer: the peer is slow or gone (TCP tells the latter). Not settled.
        ctx.peers.recordFailure(id)
        s.pending = undefined
        s.settled = Number.NEGATIVE_INFINITY
      }
      // A quiet link that is not settled is pinged from one end only (the smaller id; the
      // other hears the ping and samples from the next one); each end takes its own clock
      // sample at least every `timeSampleIntervals`. Half an interval of slack: the last
      // pong came a round trip after the last tick, and must not make the link look busy.
      const settled = now - s.settled < this.settledForMs()
      const quiet = now - s.heard >= interval / 2 && ctx.self < id && !settled
      const stale = now - s.sampled >= (MESH_CONSTANTS.timeSampleIntervals - 0.5) * interval
      const news =
        s.news ||
        Math.abs(step - s.step) >= MESH_CONSTANTS.correctionNewsMs ||
        Math.abs(this.offsets.correctionMs - s.told) >= MESH_CONSTANTS.correctionNewsMs
      // A link that carried this node's writes and brought nothing back for half an
      // interval is pinged, settled or not: a peer gone silent (a partition, a host lost
      // without closing its sockets) is found an interval after the first write it missed,
      // not at the next clock sample.
      const unanswered =
        this.relayLinks.batchWrittenAt(id) > s.heard && now - s.heard >= interval / 2
      if ((quiet || stale || news || unanswered) && s.pending === undefined) this.ping(id)
    }
  }

  /** A control item from `from`. */
  onControl(item: RelayItem, from: string): void {
    const m = readControl(item.body)
    if (m === undefined) {
      this.malformed(from)
      return
    }
    const t = this.time.rawNow()
    const s = this.state(from)
    if (m.type === 'ping') {
      // The answering end's own sample: our last pong (sent at `echo`, heard at `t4` on
      // the peer's clock), then this ping (sent at `t1`, heard now). What the peer held
      // between the two is subtracted like a server's processing time.
      // Our pong, if our own clock did not step since it left (else our tick pings anyway).
      const heardAt = this.ctx.clock.monotonic()
      const owed =
        s.pongSent !== undefined &&
        Math.abs(t - heardAt - s.pongStep) < MESH_CONSTANTS.correctionNewsMs
      const sample =
        owed && m.echo === s.pongSent && Number.isFinite(m.t4)
          ? { t1: s.pongSent as number, t2: m.t4 as number, t3: m.t1, t4: t }
          : undefined
      const usable = sample !== undefined && holdsTogether(sample, MESH_CONSTANTS.correctionNewsMs)
      if (usable) {
        s.step = t - heardAt
        s.sampled = heardAt
        this.time.record(from, sample, m.correction)
      } else if (m.correction !== undefined) {
        this.time.noteCorrection(from, m.correction)
      }
      this.compare(from, m.roots, m.digest, false)
      const t3 = this.time.rawNow()
      s.pongSent = t3
      s.pongStep = t3 - this.ctx.clock.monotonic()
      s.told = this.offsets.correctionMs
      this.send(from, pongBytes(m.t1, t, t3, s.told, this.roots(), this.members.digest()))
      // No sample from the ping of a peer that had a pong of ours to echo (it echoed none:
      // its clock stepped since; or the echo fails the check, or crossed our pong): this
      // end takes its own now, rather than at the link's next clock sample (up to
      // `timeSampleIntervals` later, while a fixed clock's writes may be refused). A new
      // link's first pings have nothing to echo and need no answer: each end pings when
      // the link comes up. At most once per half interval per link.
      const now = this.ctx.clock.monotonic()
      if (
        !usable &&
        owed &&
        s.pending === undefined &&
        now - s.echoless >= this.ctx.opts.pingIntervalMs / 2
      ) {
        s.echoless = now
        this.ping(from)
      }
      return
    }
    if (s.pending === undefined || s.pending.t1 !== m.t1) return
    if (!Number.isFinite(m.t2) || !Number.isFinite(m.t3)) {
      this.malformed(from)
      return
    }
    const [t1, t2, t3] = [s.pending.t1, m.t2 as number, m.t3 as number]
    const now = this.ctx.clock.monotonic()
    const rtt = now - s.pending.at - (t3 - t2)
    const sample = { t1, t2, t3, t4: t }
    // No sample when our clock stepped while the ping was out (it would be off by half the
    // step; the next tick sees the step against the link's last sample and asks again),
    // or when the pong's times cannot be one clock's (then nothing is asked again: only
    // the peer could have made them so).
    const usable =
      Math.abs(t - now - (t1 - s.pending.at)) < MESH_CONSTANTS.correctionNewsMs &&
      holdsTogether(sample, MESH_CONSTANTS.correctionNewsMs)
    s.pending = undefined
    if (usable) {
      s.sampled = now
      s.pongHeard = { t3, t4: t, step: t - now }
      s.step = t - now
      this.ctx.peers.recordRtt(from, Math.max(0, rtt), this.ctx.clock.now())
      this.time.record(from, sample, m.correction)
    }
    this.compare(from, m.roots, m.digest, true)
  }

  private ping(peer: string): void {
    const s = this.state(peer)
    const t1 = this.time.rawNow()
    s.pending = { t1, at: this.ctx.clock.monotonic() }
    s.told = this.offsets.correctionMs
    s.news = false
    // Echoes the peer's last pong so the peer takes its own clock sample from this ping,
    // unless this node's raw clock stepped since (that sample would be off by half the step).
    const heard = s.pongHeard
    const echo =
      heard !== undefined &&
      Math.abs(t1 - s.pending.at - heard.step) < MESH_CONSTANTS.correctionNewsMs
        ? heard
        : undefined
    this.send(peer, pingBytes(t1, s.told, this.roots(), this.members.digest(), echo))
  }

  private send(peer: string, body: Uint8Array): void {
    this.relayLinks.send(peer, {
      kind: ITEM_KIND.control,
      origin: this.ctx.self,
      incarnation: 0,
      seq: 0,
      body,
    })
  }

  /** The digest roots of this node's open keyspaces. */
  private roots(): Root[] {
    const out: Root[] = []
    for (const replica of this.ctx.replicas) {
      if (out.length >= MAX_ROOTS) break
      out.push([replica.name, rootOf(replica.index.tree.digest(0, 0))])
    }
    return out
  }

  /**
   * Compares the peer's roots with ours (a keyspace that differs is repaired now) and its
   * member digest (`exchange`: this end asks for the peer's member list when they differ).
   */
  private compare(peer: string, roots: unknown, digest: unknown, exchange: boolean): void {
    if (!Array.isArray(roots)) return
    const s = this.state(peer)
    const now = this.ctx.clock.monotonic()
    const sameMembers = digest === this.members.digest()
    if (!sameMembers && exchange && now - s.exchanged >= MESH_CONSTANTS.memberNewsMinIntervalMs) {
      s.exchanged = now
      this.members.exchange(peer)
    }
    let differs = false
    for (const row of roots.slice(0, MAX_ROOTS)) {
      if (!Array.isArray(row) || typeof row[0] !== 'string' || typeof row[1] !== 'string') continue
      const replica = this.ctx.replicas.get(row[0])
      if (replica === undefined) continue
      if (rootOf(replica.index.tree.digest(0, 0)) === row[1]) continue
      differs = true
      if (now - this.lastBatch < this.ctx.opts.pingIntervalMs) continue
      const last = s.repaired.get(row[0]) ?? Number.NEGATIVE_INFINITY
      if (now - last < this.ctx.opts.syncIntervalMs) continue
      s.repaired.set(row[0], now)
      log('roots of %s differ with %s: repairing', row[0], peer)
      this.repair(peer, row[0])
    }
    if (!differs) {
      s.inSync = now
      s.inSyncMoved = this.moved()
    }
    if (!differs && sameMembers) s.settled = now
  }

  private state(peer: string): LinkState {
    let s = this.links.get(peer)
    if (s === undefined) {
      s = newLinkState()
      this.links.set(peer, s)
    }
    return s
  }

  private malformed(from: string): void {
    this.ctx.replicas.reject('malformed')
    log('malformed control message from %s', from)
  }
}
