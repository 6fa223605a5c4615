import type { PeerId, PrivateKey } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import type { Clock, Timer } from '../clock/clock.js'
import type { ClockOffsets } from '../clock/clock-offsets.js'
import { InvalidMessageError } from '../errors.js'
import { logger } from '../log.js'
import type { MeshCounters, MeshStats } from '../ports/mesh-options.js'
import type { MeshAdmin, MeshPort, RemoteAckLevel } from '../ports/mesh-port.js'
import { NAME_RE } from '../replica/keyspace-options.js'
import type { KeyspaceReplica } from '../replica/keyspace-replica.js'
import type { ReplicaRegistry } from '../replica/replica-registry.js'
import type { WireLimits } from '../replication/limits.js'
import type { Entry } from '../store/entry.js'
import { AntiEntropy } from './anti-entropy.js'
import { BatchSigner, OriginKeys } from './batch-signing.js'
import { MESH_CONSTANTS, type ResolvedMeshOptions } from './defaults.js'
import { type MeshLibp2p, REMOTE_REGION_SCORE } from './libp2p-node.js'
import { Links } from './links.js'
import { LoadCoordinator } from './load-coordinator.js'
import { MemberGossip } from './member-gossip.js'
import { Membership } from './membership.js'
import type { MeshContext } from './mesh-context.js'
import { peerStats, zeroCounters } from './mesh-stats.js'
import { PeerGate } from './peer-gate.js'
import { PeerTable } from './peer-table.js'
import { Publisher } from './publisher.js'
import { Readiness } from './readiness.js'
import { Receiver } from './receiver.js'
import { RemoteReads } from './remote-reads.js'
import { handle, StreamPool } from './rpc.js'
import { StageTrace } from './stage-trace.js'
import { TimeSync } from './time-sync.js'
import { scoreTopic } from './topic-score.js'
import { keyspaceOf, PROTOCOLS, topicOf } from './topics.js'

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
  private readonly membership: Membership
  private readonly links: Links
  private readonly members: MemberGossip
  private readonly reads: RemoteReads
  private readonly loads: LoadCoordinator
  private readonly antiEntropy: AntiEntropy
  private readonly time: TimeSync
  private readonly offsets: ClockOffsets
  private readonly readiness: Readiness
  private readonly catchUp: boolean
  private readonly pool: StreamPool
  private readonly timers: Timer[] = []
  private closed = false
  private started = false

  constructor(init: MeshNodeInit) {
    this.node = init.node
    this.gate = init.gate ?? new PeerGate()
    this.peers = new PeerTable(init.region)
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
    }
    this.antiEntropy = new AntiEntropy(this.ctx)
    this.offsets = init.offsets
    this.readiness = new Readiness(this.ctx, this.antiEntropy)
    this.catchUp = init.catchUp ?? false
    this.time = new TimeSync(this.ctx, init.offsets)
    this.loads = new LoadCoordinator(this.ctx)
    this.reads = new RemoteReads(this.ctx, this.loads)
    this.publisher = new Publisher(this.ctx, (peer, ks) => {
      void this.antiEntropy.syncWith(peer, ks)
    })
    // In a full mesh every subscriber gets a write from its writer; in a larger one the
    // receivers pass it on inside their region.
    this.receiver = new Receiver(
      this.ctx,
      (ks, key) => this.loads.settle(ks, key),
      () => !this.links.fullMesh,
    )
    this.links = new Links(this.ctx)
    this.membership = new Membership(this.ctx, this.links, (peer) => this.helloDone(peer))
    this.members = new MemberGossip(this.ctx, () => queueMicrotask(() => this.membership.redial()))
    this.admin = {
      peers: () => this.stats().peers,
      block: (ids) => this.membership.block(ids),
      unblock: (ids) => this.membership.unblock(ids),
      blockedPeers: () => this.gate.blockedPeers,
      syncWith: (id, ks) => this.antiEntropy.syncWith(peerIdFromString(id), ks),
      subscribers: (ks) => this.node.services.pubsub.getSubscribers(topicOf(ks)).length,
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
    await handle(node, PROTOCOLS.time, (b) => this.time.respond(b), onInvalid)
    node.addEventListener('peer:connect', (evt) => this.membership.onConnect(evt.detail))
    node.addEventListener('peer:disconnect', (evt) => this.membership.onDisconnect(evt.detail))
    // libp2p listened before these listeners existed (while the data dir loaded): peers
    // that connected meanwhile get their hello now.
    for (const peer of node.getPeers()) this.membership.onConnect(peer)
    const pubsub = node.services.pubsub
    // Listener exceptions would surface as uncaught errors and end the process: contain them.
    pubsub.addEventListener('message', (evt) => {
      try {
        this.receiver.onMessage(evt.detail)
      } catch (err) {
        this.ctx.replicas.reject('apply-error')
        log('applying a message failed: %s', (err as Error).message)
      }
    })
    pubsub.addEventListener('subscription-change', (evt) => {
      try {
        for (const sub of evt.detail.subscriptions) {
          if (!sub.subscribe) continue
          this.follow(evt.detail.peerId, sub.topic)
          this.publisher.onSubscribe(evt.detail.peerId, sub.topic)
        }
      } catch (err) {
        log('handling a subscription failed: %s', (err as Error).message)
      }
    })
    // Keyspaces opened before and after the start get their topic.
    for (const replica of this.ctx.replicas) this.keyspaceOpened(replica)
    this.ctx.replicas.onOpen((replica) => this.keyspaceOpened(replica))
    this.membership.addBootstrap(bootstrap)
    const every = (ms: number, fn: () => void) => {
      this.timers.push(this.ctx.clock.every(ms, fn))
    }
    every(this.ctx.opts.redialIntervalMs, () => this.membership.redial())
    every(this.ctx.opts.pingIntervalMs, () => {
      this.members.forgetStale()
      void this.membership.pingAll()
      void this.time.exchangeAll()
      this.loads.prune()
    })
    this.started = true
    this.members.start()
    this.antiEntropy.start()
    this.readiness.start(bootstrap.length > 0 || this.catchUp, this.ctx.opts.readyTimeoutMs)
    this.membership.redial()
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

  readyPeers(keyspace: string): number {
    return this.publisher.readyPeers(keyspace)
  }

  /** Multiaddrs this node listens on, with its peer id. */
  addresses(): string[] {
    return this.node.getMultiaddrs().map((a) => a.toString())
  }

  /** Publishes every queued batch now. */
  flush(): void {
    this.publisher.flush()
  }

  /** Gossipsub score of a peer as this node sees it (below -80 it is graylisted). */
  peerScore(peer: string): number {
    // getScore is on the implementation, not on the GossipSub interface.
    const impl = this.node.services.pubsub as unknown as { getScore?: (id: string) => number }
    return impl.getScore?.(peer) ?? 0
  }

  /**
   * Gossipsub's application score of a peer: negative for other regions' peers, so the
   * forwarding mesh stays inside the region (a write crosses the WAN from its writer, not
   * again from every receiver).
   */
  appScore(peer: string): number {
    const region = this.peers.get(peer)?.region
    return region !== undefined && region !== this.ctx.region ? REMOTE_REGION_SCORE : 0
  }

  /** @internal Signs a batch body with this node's key, as its publisher does (tests forge batches with it). */
  sealBatch(body: Uint8Array): Uint8Array {
    return this.ctx.signer.seal(body)
  }

  stats(): MeshStats {
    const { peers, peersByRegion } = peerStats(this.peers.ranked(), this.offsets)
    const bytes = this.publisher.bytes
    return {
      peerId: this.ctx.self,
      addresses: this.addresses(),
      peersByRegion,
      peers,
      clock: this.offsets.stats(),
      replication: {
        ...this.counters,
        rejected: { ...this.counters.rejected },
        inflightBytes: bytes.inflight,
        heldBytes: bytes.held,
        queued: this.publisher.queued,
      },
      blockedPeers: this.gate.blockedPeers,
      lagByRegion: this.receiver.lagByRegion(),
      stages: this.ctx.trace.snapshot(),
      links: this.links.summary(),
    }
  }

  /** Flushes pending batches and stops the node, bounded in time. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return
    this.publisher.flush()
    this.closed = true
    for (const t of this.timers) t.cancel()
    this.antiEntropy.stop()
    this.members.stop()
    this.readiness.stop()
    this.pool.close()
    await this.publisher.drain(MESH_CONSTANTS.closeDrainMs)
    const clock = this.ctx.clock
    const since = clock.monotonic() - this.publisher.lastSentAt
    if (since < MESH_CONSTANTS.closeLingerMs)
      await clock.sleep(MESH_CONSTANTS.closeLingerMs - since)
    // js-libp2p: stop() can hang on open TCP sockets; bound it so close() always returns.
    await Promise.race([
      Promise.resolve(this.node.stop()),
      clock.sleep(this.ctx.opts.stopTimeoutMs),
    ])
  }

  // ---- wiring ---------------------------------------------------------------------------

  /** Subscribes to a keyspace's topic and warms it up from the nearest peers. */
  private keyspaceOpened(replica: KeyspaceReplica): void {
    if (this.closed) return
    const topic = topicOf(replica.name)
    const pubsub = this.node.services.pubsub
    if (pubsub.getTopics().includes(topic)) {
      // Reopened with other options: peers learn the new settings.
      if (this.started) this.membership.announce()
      return
    }
    pubsub.topicValidators.set(topic, (peer, msg) =>
      this.receiver.validate(replica.name, msg, peer),
    )
    scoreTopic(pubsub, topic)
    pubsub.subscribe(topic)
    // Peers learn this keyspace's settings (they must agree on maxTtl).
    if (this.started) this.membership.announce()
    // A keyspace opened on a running node warms up from its nearest peers at once (peers
    // without it answer 'unknown-keyspace'), not at the next periodic session.
    for (const p of this.peers.ranked().slice(0, MESH_CONSTANTS.warmUpPeers)) {
      void this.antiEntropy.syncWith(peerIdFromString(p.id), replica.name)
    }
  }

  /** A headless node opens every keyspace its peers use (bounded), and syncs it at once. */
  private follow(peer: PeerId, topic: string): void {
    const { opts, replicas } = this.ctx
    const name = keyspaceOf(topic)
    if (!opts.followKeyspaces || name === undefined || replicas.has(name)) return
    if (replicas.size >= opts.maxFollowedKeyspaces || !NAME_RE.test(name)) return
    try {
      replicas.open(name)
    } catch (err) {
      log('cannot follow keyspace %s: %s', name, (err as Error).message)
      return
    }
    // Writes made before we subscribed are repaired at once, not at the next sync tick.
    void this.antiEntropy.syncWith(peer, name)
  }

  /** A peer's hello answer arrived: prepare request streams and repair what was missed. */
  private helloDone(peer: PeerId): void {
    // Streams for acks and reads, negotiated now so those cost one round trip later.
    this.pool.refill(peer, PROTOCOLS.write)
    this.pool.refill(peer, PROTOCOLS.get)
    this.pool.refill(peer, PROTOCOLS.time)
    // Measure its clock at once: a skewed node is corrected before its first writes matter.
    void this.time.exchange(peer)
    this.readiness.onPeer(peer)
    this.members.onPeer()
    // Anti-entropy on every (re)connection: whatever was missed while apart is repaired
    // now. One session repairs both ways, so only one side (the smaller id) starts it.
    if (this.ctx.self < peer.toString()) void this.antiEntropy.syncAll(peer)
  }
}
