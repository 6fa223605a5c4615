import { logger } from '../log.js'
import type { FrameReader } from '../replication/compact-frame.js'
import {
  FrameError,
  ITEM_KIND,
  type ItemKind,
  itemBytes,
  type RelayItem,
} from '../replication/relay-frame.js'
import { SeenItems } from '../replication/seen-items.js'
import { RelayPlan, type RelayRole } from '../topology/relay-plan.js'
import { SIGNATURE_BYTES } from './batch-signing.js'
import { MESH_CONSTANTS } from './defaults.js'
import type { MeshContext } from './mesh-context.js'
import type { PeerInfo } from './peer-table.js'
import type { RelayLinks } from './relay-links.js'

const log = logger('meshcache:relay')

/**
 * What happens to the items the relay lets through (each new item once, whichever
 * neighbor brought it). Each returns false when the item must not travel further (forged
 * or malformed: nothing unverified that failed a check is passed on).
 */
export interface RelaySink {
  /**
   * A write batch. `verify`: the origin's signature must be checked here (see
   * `Relay.mustVerify`: by the writer's region's hub, and where an item crosses the WAN
   * from anyone but that hub).
   */
  batch(item: RelayItem, from: string, verify: boolean): boolean
  /**
   * A member announcement (always signed by the member it announces). `verify`: as for
   * batches. @returns false as above, else how long it may wait for a frame on its way
   * on (ms; 0: news, at once)
   */
  member(item: RelayItem, from: string, verify: boolean): number | false
  /** A control message of the link to `from` (not relayed). */
  control(item: RelayItem, from: string): void
}

/** Counters of the relay. */
export interface RelayCounters {
  /** Items received that were already had (dropped before any decode). */
  duplicates: number
  /** Items this node passed on to neighbors (sends). */
  relayed: number
  /** Frames from a neighbor that could not be read. */
  badFrames: number
  /** Own items with no neighbor to go to yet, kept until one connects. */
  held: number
}

/**
 * Replication's router. Every item (a write batch, a member announcement) is flooded over
 * the relay plan: this node passes a new item to its tree neighbors but the one it came
 * from, and, when it is its region's hub, an item of its own region to the other regions'
 * hubs ({@link RelayPlan}). Duplicates are dropped by (origin, incarnation, seq) before
 * anything decodes them. An item's signature is checked at most once on its way by
 * default, by the hub of its writer's region when the writer did not hand it over itself
 * ({@link Relay.mustVerify}): links are authenticated members, and a hub vouches for its
 * region's items to the other regions (docs/security.md has the trust model).
 */
export class Relay {
  /** This node's incarnation: its items are numbered anew after each start. */
  readonly incarnation: number
  readonly counters: RelayCounters = { duplicates: 0, relayed: 0, badFrames: 0, held: 0 }
  private readonly seen = new SeenItems()
  private seq = 0
  private plan: RelayPlan | undefined
  private planKey = ''
  /** Relay plans built so far (each O(members)): tests check that a flood of members does not rebuild per member. */
  planBuilds = 0
  private planVersion = -1
  private planCheckedAt = Number.NEGATIVE_INFINITY
  private held: RelayItem[] = []
  private heldBytes = 0

  constructor(
    private readonly ctx: MeshContext,
    private readonly links: RelayLinks,
    private readonly sink: RelaySink,
  ) {
    // Start time in ms with a random fraction: a restart within the same ms is a new one
    // too. A node with a data dir has one above its earlier starts' (persist/incarnation.ts).
    this.incarnation = ctx.incarnation ?? ctx.clock.now() + Math.random()
  }

  /** The sequence number the next own item will carry (the publisher signs it in). */
  nextSeq(): number {
    return this.seq + 1
  }

  /**
   * Sends an item made by this node (its `seq` from {@link nextSeq}); `holdMs`: how long
   * it may wait for a frame to ride with (see `RelayLinks.send`).
   */
  originate(kind: ItemKind, seq: number, body: Uint8Array, holdMs = 0): void {
    this.seq = Math.max(this.seq, seq)
    const item: RelayItem = {
      kind,
      origin: this.ctx.self,
      incarnation: this.incarnation,
      seq,
      body,
    }
    this.seen.admit(item.origin, item.incarnation, seq)
    if (this.route(item, undefined, holdMs) === 0) this.hold(item)
  }

  /** A frame arrived from neighbor `from` on the stream `reader` reads. */
  onFrame(from: string, frame: Uint8Array, reader: FrameReader): void {
    try {
      reader.read(frame, (item) => this.onItem(from, item))
    } catch (err) {
      if (!(err instanceof FrameError)) throw err
      this.counters.badFrames++
      this.ctx.replicas.reject('malformed')
      log('bad frame from %s: %s', from, err.message)
    }
  }

  /** A peer connected: own items held for lack of a neighbor leave now. */
  onConnect(): void {
    if (this.held.length === 0) return
    const held = this.held
    this.held = []
    this.heldBytes = 0
    this.counters.held = 0
    for (const item of held) if (this.route(item, undefined) === 0) this.hold(item)
  }

  /** This node's place in the relay plan now (undefined before any member is known). */
  role(): RelayRole | undefined {
    return this.currentPlan().roleOf(this.ctx.self)
  }

  /** Every member this node exchanges relay frames with under the current plan. */
  neighbors(): Set<string> {
    return this.currentPlan().neighborsOf(this.ctx.self)
  }

  private onItem(from: string, item: RelayItem): void {
    if (item.kind === ITEM_KIND.control) {
      this.sink.control(item, from)
      return
    }
    if (item.origin === this.ctx.self) return
    if (this.seen.has(item.origin, item.incarnation, item.seq)) {
      this.counters.duplicates++
      return
    }
    // A vouched batch where a check is due is refused by the sink (and so not recorded as
    // seen: a signed copy still gets in).
    const verify = this.mustVerify(from, item)
    const holdMs =
      item.kind === ITEM_KIND.member
        ? this.sink.member(item, from, verify)
        : this.sink.batch(item, from, verify)
          ? 0
          : false
    if (holdMs === false) return
    // Recorded only now: an item that failed its checks must not make the genuine one
    // (same origin and numbering) look like a duplicate.
    this.seen.admit(item.origin, item.incarnation, item.seq)
    this.route(item, from, holdMs)
  }

  /**
   * Whether the origin's signature of `item`, brought by neighbor `from`, is checked here.
   * Never for an item from its writer (the authenticated connection is the writer); on
   * every node with `verifyOrigins: 'every-node'`. Else (`'relay'`) a signature is checked
   * once, by the hub of the writer's region, before the item leaves the region (a writer's
   * own items come to it straight in a star region, so most items are checked nowhere but
   * by the link that brought them); by a member that gets an item from a member of its
   * region other than its tree parent; and by nodes that get an item across the WAN from
   * anyone but that hub: a hub vouches for its own region's members' items
   * (docs/security.md has the trust model). Where this node's plan does not name the
   * sender as that hub (plans differ while members come and go), the item is checked.
   */
  private mustVerify(from: string, item: RelayItem): boolean {
    if (from === item.origin) return false
    if (this.ctx.opts.verifyOrigins === 'every-node') return true
    const { ctx } = this
    // Only regions members stated themselves count: a member cannot place another in a
    // region of its choosing by listing it so (docs/security.md).
    const fromRegion = ctx.peers.ownRegion(from)
    // Inside the region a member takes unchecked only what comes down from its tree parent
    // (whose items the hub checked or got from their writers); the hub vouches for what it
    // passes on to the other regions, so it checks what it did not get from the writer, and
    // anyone checks what another member of the region sends it sideways or up.
    if (fromRegion === ctx.region) {
      const role = this.role()
      return role?.hub === ctx.self || from !== role?.parent
    }
    const originRegion = ctx.peers.ownRegion(item.origin)
    return (
      fromRegion === undefined ||
      originRegion !== fromRegion ||
      this.currentPlan().hubOf(fromRegion) !== from
    )
  }

  /**
   * Passes `item` on to the tree neighbors but `from`, and across to the other hubs when
   * this node is its region's hub and the item comes from its region (or from itself).
   * Only connected neighbors get it: one that is not connected (it is down, or the plan
   * moved) is caught up by anti-entropy. An own item with no tree neighbor connected yet
   * goes to every connected peer instead (they pass it on). `holdMs`: how long the item
   * may wait for a frame to ride with on each link.
   * @returns sends made
   */
  private route(item: RelayItem, from: string | undefined, holdMs = 0): number {
    const { ctx } = this
    const role = this.role()
    const targets = new Set<string>()
    if (role !== undefined) {
      if (role.parent !== undefined) targets.add(role.parent)
      for (const c of role.children) targets.add(c)
      const fromRegion = from === undefined ? ctx.region : ctx.peers.get(from)?.region
      if (role.hub === ctx.self && fromRegion === ctx.region)
        for (const h of role.peerHubs) targets.add(h)
    }
    if (from !== undefined) targets.delete(from)
    let sent = 0
    let stripped: RelayItem | undefined
    for (const peer of targets) {
      const p = ctx.peers.get(peer)
      if (p?.connected !== true) continue
      if (
        item.kind === ITEM_KIND.vouched &&
        (p.takesVouched !== true ||
          (p.region !== ctx.region && (p.vouchesRegion !== true || p.regionOwn !== true)))
      ) {
        // It has no signature to give a peer that checks them: anti-entropy brings it.
        ctx.counters.vouchedWithheld++
        continue
      }
      if (item.kind === ITEM_KIND.batch && role?.hub === ctx.self && this.mayStrip(p, item)) {
        stripped ??= {
          ...item,
          kind: ITEM_KIND.vouched,
          body: item.body.subarray(SIGNATURE_BYTES),
          signed: item,
        }
        ctx.counters.vouchedOut++
        this.links.send(peer, stripped)
      } else {
        const far = p.region !== undefined && p.region !== ctx.region
        this.links.send(peer, item, far ? holdMs * MESH_CONSTANTS.wanHoldFactor : holdMs)
      }
      // A far hub takes this hub's word for a writer only once it knows the writer's
      // region: from the writer's own announcement, which this link now carries first.
      if (item.kind === ITEM_KIND.member && p.region !== ctx.region) {
        p.originsAnnounced ??= new Set()
        p.originsAnnounced.add(item.origin)
      }
      sent++
    }
    if (sent === 0 && from === undefined) {
      for (const p of ctx.peers.all()) {
        if (!p.connected || p.id === ctx.self) continue
        this.links.send(p.id, item)
        sent++
      }
    }
    if (from !== undefined) this.counters.relayed += sent
    return sent
  }

  /**
   * Whether this hub may send `item` (a signed batch) to the hub `p` of another region
   * without the origin's signature: `p` and the members of its region connected to it take
   * such batches (its hello), and the batch is of this hub's own region, whose hub `p`
   * takes on its word (`p` checks nothing from the hub of the writer's region; where its
   * plan disagrees it refuses the batch and pulls the writes from this hub), and this link
   * has carried the writer's own announcement to `p` since it connected (so `p` knows the
   * writer's region before its first vouched batch: a member that just joined has its
   * first writes sent signed).
   * Saves the 64-byte signature on every WAN crossing (docs/decisions/vouched-batches.md).
   */
  private mayStrip(p: PeerInfo, item: RelayItem): boolean {
    const { ctx } = this
    return (
      p.vouchesRegion === true &&
      p.regionOwn === true &&
      // A link just formed joins a mesh whose plans may not agree yet (which member is
      // this region's hub): its first batches go signed.
      ctx.clock.now() - (p.connectedAt ?? Number.POSITIVE_INFINITY) >=
        MESH_CONSTANTS.vouchAfterConnectMs &&
      p.region !== ctx.region &&
      (item.origin === ctx.self ||
        (ctx.peers.ownRegion(item.origin) === ctx.region &&
          p.originsAnnounced?.has(item.origin) === true)) &&
      item.body.length > SIGNATURE_BYTES
    )
  }

  private hold(item: RelayItem): void {
    this.held.push(item)
    this.heldBytes += itemBytes(item)
    while (this.heldBytes > this.ctx.opts.maxHeldBytes && this.held.length > 1) {
      const dropped = this.held.shift()!
      this.heldBytes -= itemBytes(dropped)
      this.ctx.counters.batchesDropped++
    }
    this.counters.held = this.held.length
  }

  /**
   * The plan over the members this node knows, minus those it knows are down (a planned
   * neighbor disconnected for longer than `relayFailoverMs`, and not connected again):
   * rebuilt when either changes.
   */
  private currentPlan(): RelayPlan {
    const { ctx } = this
    // Down members are re-examined at most every quarter of the failover delay.
    const mono = ctx.clock.monotonic()
    // While the member list keeps changing, rebuilt at most every relayPlanMinAgeMs.
    if (
      this.plan !== undefined &&
      mono - this.planCheckedAt <
        (ctx.peers.version === this.planVersion
          ? MESH_CONSTANTS.relayFailoverMs / 4
          : MESH_CONSTANTS.relayPlanMinAgeMs)
    )
      return this.plan
    this.planVersion = ctx.peers.version
    this.planCheckedAt = mono
    const now = ctx.clock.now()
    const members = [{ id: ctx.self, region: ctx.region }]
    let key = `${ctx.peers.version}`
    for (const p of ctx.peers.all()) {
      if (p.region === undefined || p.id === ctx.self) continue
      const down = p.downSince !== undefined && now - p.downSince > MESH_CONSTANTS.relayFailoverMs
      if (down && !p.connected) {
        key += `-${p.id}`
        continue
      }
      members.push({ id: p.id, region: p.region })
    }
    if (this.plan === undefined || key !== this.planKey) {
      this.planKey = key
      this.plan = new RelayPlan(members)
      this.planBuilds++
    }
    return this.plan
  }
}
