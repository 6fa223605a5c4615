import type { PeerId, PrivateKey } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { type Clock, within } from '../clock/clock.js'
import type { ClockOffsets } from '../clock/clock-offsets.js'
import { InvalidMessageError } from '../errors.js'
import { logger } from '../log.js'
import type { MeshCounters, MeshStats } from '../ports/mesh-options.js'
import type { MeshAdmin, MeshPort, RemoteAckLevel } from '../ports/mesh-port.js'
import type { KeyspaceReplica } from '../replica/keyspace-replica.js'
import type { ReplicaRegistry } from '../replica/replica-registry.js'
import type { WireLimits } from '../replication/limits.js'
import type { RelayItem } from '../replication/relay-frame.js'
import type { Entry } from '../store/entry.js'
import { AntiEntropy } from './anti-entropy.js'
import { BatchSigner, OriginKeys } from './batch-signing.js'
import { isAlone } from './connected-peers.js'
import { MESH_CONSTANTS, type ResolvedMeshOptions } from './defaults.js'
import { cancelAddressDebounce, type MeshLibp2p } from './libp2p-node.js'
import { LinkControl } from './link-control.js'
import { Links } from './links.js'
import { LoadCoordinator } from './load-coordinator.js'
import { MemberGossip } from './member-gossip.js'
import { Membership } from './membership.js'
import type { MeshContext } from './mesh-context.js'
import { peerStats, relayRoleStats, replicationStats, zeroCounters } from './mesh-stats.js'
import { MeshViewBoard } from './mesh-view-board.js'
import { PeerGate } from './peer-gate.js'
import { PeerTable } from './peer-table.js'
import { Publisher } from './publisher.js'
import { Readiness } from './readiness.js'
import { Receiver } from './receiver.js'
import { Relay } from './relay.js'
import { RelayLinks } from './relay-links.js'
import { RemoteReads } from './remote-reads.js'
import { handle, StreamPool } from './rpc.js'
import { StageTrace } from './stage-trace.js'
import { TimeSync } from './time-sync.js'
import { PROTOCOLS } from './topics.js'
import { UpkeepTick } from './upkeep-tick.js'

const log = logger('meshcache:mesh')

/** What a {@link MeshNode} is built from (by the composition root). */
export interface MeshNodeInit {
  readonly node: MeshLibp2p
  readonly replicas: ReplicaRegistry
  readonly region: string
  readonly clock: Clock
  readonly opts: ResolvedMeshOptions
  readonly limits: WireLimits
  readonly gate?: PeerGate
  /** The node's identity key (Ed25519): signs its batches. */
  readonly privateKey: PrivateKey
  /** Where clock offsets are estimated; the node's `now` reads its correction. */
  readonly offsets: ClockOffsets
  /** The node has state to catch up (it restarted from a data dir): it waits for sync before it is ready. */
  readonly catchUp?: boolean
  /** This start's incarnation (above every earlier start's: persist/incarnation.ts). */
  readonly incarnation?: number
}

/**
 * A node of the mesh: wires libp2p to the node's replicas. The work is done by parts with
 * one job each: {@link Publisher} (outbound batches), {@link Receiver} (validation and
 * admission of remote batches), {@link Membership} (hello, redial, pings, partitions),
 * {@link RemoteReads} (read-through, consistent reads, acks), {@link LoadCoordinator}
 * (mesh-wide single flight) and {@link AntiEntropy}. Implements the API's {@link MeshPort}.
 */
export class MeshNode implements MeshPort {
  readonly node: MeshLibp2p
  readonly peers: PeerTable
  readonly gate: PeerGate
  readonly counters: MeshCounters
  readonly admin: MeshAdmin
  private readonly ctx: MeshContext
  private readonly publisher: Publisher
  private readonly receiver: Receiver
  private readonly relay: Relay
  private readonly relayLinks: RelayLinks
  private readonly membership: Membership
  private readonly links: Links
  private readonly members: MemberGossip
  private readonly board: MeshViewBoard
  private readonly reads: RemoteReads
  private readonly loads: LoadCoordinator
  private readonly antiEntropy: AntiEntropy
  private readonly time: TimeSync
  private readonly control: LinkControl
  private readonly offsets: ClockOffsets
  private readonly readiness: Readiness
  private readonly catchUp: boolean
  private readonly pool: StreamPool
  private upkeep: UpkeepTick | undefined
  private closed = false
  private started = false

  constructor(init: MeshNodeInit) {
    this.node = init.node
    this.gate = init.gate ?? new PeerGate()
    // A grown member list is compared on every link soon (link control spreads it).
    this.peers = new PeerTable(
      init.region,
      () => this.control?.membersChanged(),
      MESH_CONSTANTS.maxMembers,
    )
    this.pool = new StreamPool(init.node, init.clock)
    this.counters = zeroCounters(init.replicas.rejected)
    this.ctx = {
      node: init.node,
      replicas: init.replicas,
      region: init.region,
      self: init.node.peerId.toString(),
      clock: init.clock,
      opts: init.opts,
      limits: init.limits,
      counters: this.counters,
      peers: this.peers,
      gate: this.gate,
      pool: this.pool,
      signer: new BatchSigner(init.privateKey),
      originKeys: new OriginKeys(),
      trace: new StageTrace(),
      isClosed: () => this.closed,
      incarnation: init.incarnation,
    }
    this.antiEntropy = new AntiEntropy(this.ctx)
    this.offsets = init.offsets
    this.readiness = new Readiness(this.ctx, this.antiEntropy)
    this.catchUp = init.catchUp ?? false
    this.time = new TimeSync(this.ctx, init.offsets)
    this.loads = new LoadCoordinator(this.ctx)
    this.reads = new RemoteReads(this.ctx, this.loads)
    this.receiver = new Receiver(
      this.ctx,
      (ks, key) => this.loads.settle(ks, key),
      // A keyspace opened for a peer's writes: what came before them is repaired at once.
      (ks, from) => void this.antiEntropy.syncWith(peerIdFromString(from), ks),
    )
    this.relayLinks = new RelayLinks(this.ctx, (from, frame, reader) => {
      this.control.heard(from)
      this.relay.onFrame(from, frame, reader)
    })
    this.control = new LinkControl(
      this.ctx,
      this.relayLinks,
      init.offsets,
      this.time,
      (peer, ks) => {
        void this.antiEntropy.syncWith(peerIdFromString(peer), ks)
      },
      {
        digest: () => this.peers.digest(this.ctx.self),
        exchange: (peer) => void this.membership.exchange(peerIdFromString(peer)),
      },
    )
    // Peers whose roots matched at the link's last control exchange: the periodic
    // anti-entropy skips them (unwired, an idle pair ran a session every 5 s each way).
    this.antiEntropy.inSync = (peer) => this.control.inSync(peer)
    this.relay = new Relay(this.ctx, this.relayLinks, {
      batch: (item, from, verify) => {
        this.control.batchHeard()
        return this.receiver.receive(item, from, verify)
      },
      member: (item, _from, verify) => this.members.receive(item, verify),
      control: (item, from) => this.control.onControl(item, from),
    })
    this.publisher = new Publisher(this.ctx, this.relay)
    this.links = new Links(this.ctx, () => this.relay.neighbors())
    this.membership = new Membership(this.ctx, this.links, (peer) => this.helloDone(peer))
    this.board = new MeshViewBoard(this.ctx, {
      stats: () => this.stats(),
      ready: () => this.isReady,
      isLink: (id) => this.links.isLink(id),
      announce: () => this.members.announce(),
    })
    this.members = new MemberGossip(
      this.ctx,
      this.relay,
      () => this.membership.redialSoon(),
      this.board,
    )
    this.admin = {
      peers: () => this.stats().peers,
      block: (ids) => this.membership.block(ids),
      unblock: (ids) => this.membership.unblock(ids),
      blockedPeers: () => this.gate.blockedPeers,
      syncWith: (id, ks) => this.antiEntropy.syncWith(peerIdFromString(id), ks),
      subscribers: (ks) => this.peers.holders(ks, false),
      view: () => this.board.view(),
    }
  }

  /** Registers protocols and listeners, dials the bootstrap peers, starts the timers. */
  async start(bootstrap: string[]): Promise<void> {
    const node = this.node
    const onInvalid = (from: PeerId, err: unknown) => {
      if (err instanceof InvalidMessageError) this.ctx.replicas.reject('bad-request')
      log('request from %s failed: %s', from, (err as Error).message)
    }
    await handle(node, PROTOCOLS.hello, (b, from) => this.membership.onHello(b, from), onInvalid)
    await handle(node, PROTOCOLS.get, (b, from) => this.reads.onGet(b, from), onInvalid)
    await handle(
      node,
      PROTOCOLS.write,
      (b, from) => this.receiver.onDirectWrite(b, from),
      onInvalid,
    )
    await handle(node, PROTOCOLS.sync, (b, from) => this.antiEntropy.respond(b, from), onInvalid)
    await this.relayLinks.start()
    node.addEventListener('peer:connect', (evt) => {
      this.membership.onConnect(evt.detail)
      this.relay.onConnect()
      this.antiEntropy.resume()
      this.upkeep?.resume()
      this.members.resume()
    })
    node.addEventListener('peer:disconnect', (evt) => {
      this.membership.onDisconnect(evt.detail)
      this.relayLinks.dropStream(evt.detail.toString())
      this.control.forget(evt.detail.toString())
      // The relay tree may route around it now: settled links compare roots again.
      this.control.news()
    })
    // libp2p listened before these listeners existed (while the data dir loaded): peers
    // that connected meanwhile get their hello now.
    for (const peer of node.getPeers()) this.membership.onConnect(peer)
    // Keyspaces opened before and after the start: peers learn them, they warm up.
    for (const replica of this.ctx.replicas) this.keyspaceOpened(replica)
    this.ctx.replicas.onOpen((replica) => this.keyspaceOpened(replica))
    this.membership.addBootstrap(bootstrap)
    this.upkeep = new UpkeepTick(
      this.ctx.clock,
      this.ctx.opts.pingIntervalMs,
      () => isAlone(node),
      () => {
        this.members.forgetStale()
        this.time.forgetDisconnected()
        this.control.tick()
        this.relayLinks.abortStuck()
        this.loads.prune()
        this.board.tick()
      },
    )
    this.upkeep.start()
    this.started = true
    this.members.start()
    this.antiEntropy.start()
    this.readiness.start(bootstrap.length > 0 || this.catchUp, this.ctx.opts.readyTimeoutMs)
    this.membership.start()
  }

  get ready(): Promise<void> {
    return this.readiness.ready
  }

  get isReady(): boolean {
    return this.readiness.isReady
  }

  // ---- the API's port -----------------------------------------------------------------

  publish(keyspace: string, key: string, entry: Entry, encoded?: Uint8Array): void {
    if (this.closed) return
    this.loads.settle(keyspace, key)
    this.publisher.publish(keyspace, key, entry, encoded)
  }

  acknowledge(
    keyspace: string,
    writes: readonly { key: string; entry: Entry }[],
    level: RemoteAckLevel,
    timeoutMs: number,
  ): Promise<void> {
    return this.reads.acknowledge(keyspace, writes, level, timeoutMs)
  }

  lookup(keyspace: string, key: string, remoteBudgetMs: number): Promise<boolean> {
    return this.reads.lookup(keyspace, key, remoteBudgetMs)
  }

  readRemote(
    keyspace: string,
    key: string,
    level: 'quorum' | 'nearest',
    timeoutMs: number,
  ): Promise<void> {
    return this.reads.readRemote(keyspace, key, level, timeoutMs)
  }

  coordinateLoad(keyspace: string, key: string, scope: 'region' | 'mesh'): Promise<boolean> {
    return this.loads.coordinateLoad(keyspace, key, scope)
  }

  /** Connected peers (region known) that have `keyspace` open: a write reaches them now. */
  readyPeers(keyspace: string): number {
    return this.peers.holders(keyspace, true)
  }

  /** Multiaddrs this node listens on, with its peer id. */
  addresses(): string[] {
    return this.node.getMultiaddrs().map((a) => a.toString())
  }

  /** Publishes every queued batch now. */
  flush(): void {
    this.publisher.flush()
  }

  /** @internal Signs a batch body with this node's key, as its publisher does (tests forge batches with it). */
  sealBatch(body: Uint8Array): Uint8Array {
    return this.ctx.signer.seal(body)
  }

  /** @internal Sends a raw relay item to a connected peer, as a hostile member would (tests). */
  sendItem(peer: string, item: RelayItem): void {
    this.relayLinks.send(peer, item)
  }

  /** @internal Sends raw bytes as a relay frame to a connected peer (tests of garbage). */
  sendFrame(peer: string, frame: Uint8Array): Promise<void> {
    return this.relayLinks.sendRaw(peer, frame)
  }

  stats(): MeshStats {
    const { peers, peersByRegion } = peerStats(this.peers.ranked(), this.offsets)
    return {
      peerId: this.ctx.self,
      addresses: this.addresses(),
      peersByRegion,
      peers,
      clock: this.offsets.stats(),
      replication: replicationStats(this.counters, this.relay.counters, this.relayLinks, {
        batches: this.publisher.queued,
        items: this.relayLinks.queued(),
      }),
      blockedPeers: this.gate.blockedPeers,
      lagByRegion: this.receiver.lagByRegion(),
      stages: this.ctx.trace.snapshot(),
      links: { ...this.links.summary(), relay: relayRoleStats(this.relay.role()) },
    }
  }

  /** Flushes pending batches and stops the node, bounded in time. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return
    this.publisher.flush()
    this.closed = true
    this.upkeep?.stop()
    this.antiEntropy.stop()
    this.members.stop()
    this.control.stop()
    this.membership.stop()
    this.readiness.stop()
    this.pool.close()
    const clock = this.ctx.clock
    await within(clock, this.relayLinks.flushAll(), MESH_CONSTANTS.closeDrainMs)
    this.relayLinks.close()
    // A frame written just now may still sit in the socket's buffers: let it leave.
    await clock.sleep(MESH_CONSTANTS.closeLingerMs)
    // js-libp2p: stop() can hang on open TCP sockets; bound it so close() always returns.
    await within(clock, Promise.resolve(this.node.stop()), this.ctx.opts.stopTimeoutMs)
    cancelAddressDebounce(this.node)
  }

  // ---- wiring ---------------------------------------------------------------------------

  /** A keyspace opened: peers learn its settings; it warms up from the nearest peers. */
  private keyspaceOpened(replica: KeyspaceReplica): void {
    if (this.closed) return
    // Peers learn this keyspace (they must agree on maxTtl, and count who holds what).
    if (this.started) this.membership.announce()
    // A keyspace opened on a running node warms up from its nearest peers at once (peers
    // without it answer 'unknown-keyspace'), not at the next periodic session.
    for (const p of this.peers.ranked().slice(0, MESH_CONSTANTS.warmUpPeers)) {
      void this.antiEntropy.syncWith(peerIdFromString(p.id), replica.name)
    }
  }

  /** A peer's hello answer arrived: prepare request streams and repair what was missed. */
  private helloDone(peer: PeerId): void {
    // One stream for acks and one for reads, negotiated now so the first of each costs one
    // round trip; a request tops its pool up (a stream costs ~0.5 ms of CPU at each end,
    // and most links never carry a request: docs/decisions/join-cost.md).
    this.pool.refill(peer, PROTOCOLS.write, 1)
    this.pool.refill(peer, PROTOCOLS.get, 1)
    // Measure its clock at once: a skewed node is corrected before its first writes matter.
    this.control.onPeer(peer.toString())
    this.readiness.onPeer(peer)
    this.members.onPeer()
    // Anti-entropy on every (re)connection: whatever was missed while apart is repaired
    // now. One session repairs both ways, so only one side (the smaller id) starts it.
    if (this.ctx.self < peer.toString()) void this.antiEntropy.syncAll(peer)
  }
}
