import { type Message, TopicValidatorResult } from '@libp2p/gossipsub'
import type { PeerId } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import createDebug from 'debug'
import type { Cache, MeshAttachment } from '../api/cache.js'
import type { Keyspace } from '../api/keyspace.js'
import { keyspaceReplica } from '../api/keyspace-replica.js'
import { KEYSPACE_NAME_RE } from '../api/options.js'
import { AckTimeoutError, InvalidMessageError, TimeoutError } from '../errors.js'
import { checkBatch } from '../replication/batch-check.js'
import { decodeBatch, encodeBatch } from '../replication/batch-codec.js'
import { WIRE_LIMITS, type WireLimits } from '../replication/limits.js'
import { OutboundBatcher } from '../replication/outbound-batcher.js'
import { recordVersion, type WriteBatch } from '../replication/write-record.js'
import type { Entry } from '../store/entry.js'
import { hash64 } from '../sync/hash.js'
import { isSyncEntry } from '../sync/sync-messages.js'
import { AntiEntropy } from './anti-entropy.js'
import { gather } from './gather.js'
import { type HelloBody, helloBody, mergeHello } from './hello.js'
import { LagHistogram, type LagSnapshot } from './lag-histogram.js'
import type { MeshLibp2p } from './libp2p-node.js'
import { LoadLeases } from './load-leases.js'
import {
  MESH_DEFAULTS,
  type MeshCounters,
  type MeshOptions,
  type MeshStats,
} from './mesh-options.js'
import { PeerGate } from './peer-gate.js'
import { PeerTable } from './peer-table.js'
import { handle, request, StreamPool } from './rpc.js'
import { scoreTopic } from './topic-score.js'
import { keyspaceOf, PROTOCOLS, topicOf } from './topics.js'
import { entryOf, fromWireEntry, recordOf, toWireEntry } from './wire-entry.js'

const log = createDebug('meshcache:mesh')

/** An encoded batch and how many records it carries. */
interface HeldBatch {
  bytes: Uint8Array
  records: number
}

/**
 * The mesh adapter: connects a {@link Cache} to libp2p. Publishes local writes in batches
 * on one gossipsub topic per keyspace, validates and applies remote batches, keeps the
 * peer table (region, RTT), and serves the request/response protocols.
 */
export class MeshNode implements MeshAttachment {
  readonly node: MeshLibp2p
  readonly peers: PeerTable
  private readonly cache: Cache<unknown>
  private readonly region: string
  private readonly self: string
  private readonly opts: typeof MESH_DEFAULTS
  private readonly limits: WireLimits
  private readonly batcher: OutboundBatcher
  private readonly lag = new Map<string, LagHistogram>()
  private readonly decoded = new WeakMap<Message, WriteBatch>()
  private readonly timers: NodeJS.Timeout[] = []
  private flushTimer: NodeJS.Timeout | undefined
  private lastFlushAt = Number.NEGATIVE_INFINITY
  private readonly closeHooks: (() => void)[] = []
  private flushImmediate: NodeJS.Immediate | undefined
  private inflightBytes = 0
  /**
   * Batches published while nobody subscribed to their topic, by topic: sent as soon as a
   * subscriber appears (a fresh node's first writes would otherwise wait for anti-entropy).
   */
  private readonly held = new Map<string, HeldBatch[]>()
  private heldBytes = 0
  private heldRetry: NodeJS.Timeout | undefined
  /** When this node last published to each keyspace (performance.now() ms). */
  private readonly writtenAt = new Map<string, number>()
  /** Anti-entropy sessions queued for subscribers that missed a batch, by `peer\0keyspace`. */
  private readonly catchUps = new Set<string>()
  private readonly inflight = new Set<Promise<unknown>>()
  private readonly dialing = new Set<string>()
  private closed = false
  readonly counters: MeshCounters = {
    batchesOut: 0,
    recordsOut: 0,
    batchesUnsent: 0,
    batchesHeld: 0,
    batchesDropped: 0,
    recordsDropped: 0,
    publishErrors: 0,
    batchesIn: 0,
    recordsIn: 0,
    recordsApplied: 0,
    rejected: {},
    lookups: 0,
    lookupHits: 0,
    directWritesIn: 0,
    syncSessions: 0,
    syncInSync: 0,
    syncErrors: 0,
    syncPulled: 0,
    syncPushed: 0,
    syncBytesOut: 0,
    syncBytesIn: 0,
  }
  private readonly syncRejects = { drift: 0, badValue: 0, notAllowed: 0 }
  private readonly antiEntropy: AntiEntropy
  private readonly pool: StreamPool
  /** Load leases this node granted as owner of their keys (mesh-wide single flight). */
  private readonly leases: LoadLeases
  /** Who may connect; `block`/`unblock` cut peers off at run time. */
  readonly gate: PeerGate

  constructor(
    node: MeshLibp2p,
    cache: Cache<unknown>,
    options: MeshOptions = {},
    gate = new PeerGate(),
  ) {
    this.node = node
    this.gate = gate
    this.pool = new StreamPool(node)
    this.cache = cache
    this.region = cache.region
    this.self = node.peerId.toString()
    const { limits, dialRewrite: _rewrite, ...rest } = options
    this.opts = {
      ...MESH_DEFAULTS,
      ...Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined)),
    }
    this.limits = { ...WIRE_LIMITS, ...limits }
    this.leases = new LoadLeases(this.opts.loadLeaseMs)
    this.peers = new PeerTable(this.region)
    this.antiEntropy = new AntiEntropy({
      node,
      cache,
      peers: this.peers,
      region: this.region,
      counters: this.counters,
      rejects: this.syncRejects,
      limits: {
        maxKeyLength: this.limits.maxKeyLength,
        maxNameLength: this.limits.maxNameLength,
        maxValueBytes: this.limits.maxValueBytes,
        maxItems: this.opts.syncMaxEntries * 4,
      },
      maxEntries: this.opts.syncMaxEntries,
      intervalMs: this.opts.syncIntervalMs,
      admits: (n) => gate.admits(n),
    })
    this.batcher = new OutboundBatcher({
      flushBytes: this.opts.flushBytes,
      maxRecords: this.limits.maxRecordsPerBatch,
    })
  }

  /** Registers protocols and listeners, dials the bootstrap peers, starts the timers. */
  async start(bootstrap: string[]): Promise<void> {
    const node = this.node
    const onInvalid = (from: PeerId, err: unknown) => {
      if (err instanceof InvalidMessageError) this.reject(`rpc:${err.message.slice(0, 40)}`)
      log('request from %s failed: %s', from, (err as Error).message)
    }
    await handle(node, PROTOCOLS.hello, (body, from) => this.onHello(body, from), onInvalid)
    await handle(node, PROTOCOLS.get, (body, from) => this.onGet(body, from), onInvalid)
    await handle(node, PROTOCOLS.write, (body, from) => this.onDirectWrite(body, from), onInvalid)
    await handle(
      node,
      PROTOCOLS.sync,
      (body, from) => this.antiEntropy.respond(body, from),
      onInvalid,
    )
    node.addEventListener('peer:connect', (evt) => {
      const id = evt.detail.toString()
      this.peers.upsert(id, Date.now()).connected = true
      void this.sayHello(evt.detail)
    })
    node.addEventListener('peer:disconnect', (evt) => {
      const p = this.peers.get(evt.detail.toString())
      if (p) p.connected = false
    })
    // Listener exceptions would surface as uncaught errors and end the process: contain them.
    node.services.pubsub.addEventListener('message', (evt) => {
      try {
        this.onMessage(evt.detail)
      } catch (err) {
        this.reject('apply-error')
        log('applying a message failed: %s', (err as Error).message)
      }
    })
    node.services.pubsub.addEventListener('subscription-change', (evt) => {
      for (const sub of evt.detail.subscriptions) {
        if (!sub.subscribe) continue
        this.release(sub.topic)
        // A write this node made just before it knew of this subscriber went only to the
        // others (the connect-time sync may have run before it): reconcile now.
        const name = keyspaceOf(sub.topic)
        const at = name === undefined ? undefined : this.writtenAt.get(name)
        if (at !== undefined && performance.now() - at < this.opts.syncIntervalMs * 2) {
          this.catchUp(evt.detail.peerId, name!)
        }
      }
    })
    if (this.opts.followKeyspaces) {
      node.services.pubsub.addEventListener('subscription-change', (evt) => {
        for (const sub of evt.detail.subscriptions) {
          const name = sub.subscribe ? keyspaceOf(sub.topic) : undefined
          if (name === undefined || this.cache.keyspaces().has(name)) continue
          if (
            this.cache.keyspaces().size >= this.opts.maxFollowedKeyspaces ||
            !KEYSPACE_NAME_RE.test(name)
          )
            continue
          try {
            this.cache.keyspace(name)
          } catch (err) {
            log('cannot follow keyspace %s: %s', name, (err as Error).message)
            continue
          }
          // Writes made before we subscribed are repaired at once, not at the next sync tick.
          void this.antiEntropy.syncWith(evt.detail.peerId, name)
        }
      })
    }
    for (const addr of bootstrap) {
      const ma = multiaddr(addr)
      const id = ma.getComponents().find((c) => c.name === 'p2p')?.value
      if (id === undefined) continue
      const p = this.peers.upsert(id, Date.now())
      if (!p.addrs.includes(addr)) p.addrs.push(addr)
    }
    const every = (ms: number, fn: () => void) => {
      const t = setInterval(fn, ms)
      t.unref()
      this.timers.push(t)
    }
    every(this.opts.redialIntervalMs, () => this.redial())
    every(this.opts.pingIntervalMs, () => {
      void this.pingAll()
      this.leases.prune(Date.now())
    })
    this.antiEntropy.start()
    this.redial()
  }

  /**
   * Connected peers that announced their region and subscribe to `keyspace`: the peers a
   * write to it reaches at once.
   */
  readyPeers(keyspace: string): number {
    const subscribers = new Set(
      this.node.services.pubsub.getSubscribers(topicOf(keyspace)).map((p) => p.toString()),
    )
    return this.peers
      .ranked()
      .filter((p) => subscribers.has(p.id) && this.canSend(peerIdFromString(p.id))).length
  }

  /** Multiaddrs this node listens on, with its peer id. */
  addresses(): string[] {
    return this.node.getMultiaddrs().map((a) => a.toString())
  }

  keyspaceOpened(ks: Keyspace<unknown>): void {
    const topic = topicOf(ks.name)
    const pubsub = this.node.services.pubsub
    pubsub.topicValidators.set(topic, (_peer, msg) => this.validate(ks.name, msg))
    scoreTopic(pubsub, topic)
    pubsub.subscribe(topic)
    // A keyspace opened on a running node warms up from its two nearest peers at once
    // (peers without it answer 'unknown-keyspace'), not at the next periodic session.
    for (const p of this.peers.ranked().slice(0, 2)) {
      void this.antiEntropy.syncWith(peerIdFromString(p.id), ks.name)
    }
  }

  /** Gossipsub score of a peer as this node sees it (below -80 it is graylisted). */
  peerScore(peer: string): number {
    // getScore is on the implementation, not on the GossipSub interface.
    const impl = this.node.services.pubsub as unknown as { getScore?: (id: string) => number }
    return impl.getScore?.(peer) ?? 0
  }

  // ---- outbound -----------------------------------------------------------------------

  publish(keyspace: string, key: string, entry: Entry, encoded?: Uint8Array): void {
    if (this.closed) return
    if (this.leases.size > 0) this.settleLease(keyspace, key)
    const full = this.batcher.add(keyspace, recordOf(key, entry, encoded))
    if (full) this.flush()
    else this.scheduleFlush()
  }

  private scheduleFlush(): void {
    if (this.flushTimer !== undefined || this.flushImmediate !== undefined) return
    const now = performance.now()
    const due = Math.max(
      now + this.opts.flushDelayMs,
      this.lastFlushAt + this.opts.minFlushIntervalMs,
    )
    if (due - now <= 0) {
      this.flushImmediate = setImmediate(() => this.flush())
    } else {
      this.flushTimer = setTimeout(() => this.flush(), due - now)
    }
  }

  /** Publishes every queued batch now. */
  flush(): void {
    if (this.flushTimer !== undefined) clearTimeout(this.flushTimer)
    if (this.flushImmediate !== undefined) clearImmediate(this.flushImmediate)
    this.flushTimer = undefined
    this.flushImmediate = undefined
    this.lastFlushAt = performance.now()
    for (const pending of this.batcher.drain()) {
      const bytes = encodeBatch({
        origin: this.self,
        region: this.region,
        keyspace: pending.keyspace,
        records: pending.records,
      })
      if (this.inflightBytes + bytes.length > this.opts.maxInflightBytes) {
        // Backpressure: the write stands locally; the gap is counted and repaired by sync.
        this.counters.batchesDropped++
        this.counters.recordsDropped += pending.records.length
        continue
      }
      this.writtenAt.set(pending.keyspace, performance.now())
      this.dispatch(pending.keyspace, { bytes, records: pending.records.length })
    }
  }

  /**
   * Sends a batch to the keyspace's subscribers that gossipsub can reach now (it needs an
   * outbound stream, which may open after the peer's subscription arrived). With none,
   * the batch is held until one appears; subscribers that cannot be reached yet are
   * reconciled by anti-entropy right after, so no write waits for the periodic sync.
   */
  private dispatch(keyspace: string, batch: HeldBatch): void {
    const topic = topicOf(keyspace)
    const subscribers = this.node.services.pubsub.getSubscribers(topic)
    const unreachable = subscribers.filter((p) => !this.canSend(p))
    if (unreachable.length === subscribers.length) {
      this.hold(topic, batch)
      return
    }
    this.send(topic, batch)
    for (const peer of unreachable) this.catchUp(peer, keyspace)
  }

  /** True when gossipsub has an outbound stream to `peer`, so a publish reaches it. */
  private canSend(peer: PeerId): boolean {
    // streamsOutbound is on the implementation, not on the GossipSub interface.
    const streams = (
      this.node.services.pubsub as unknown as { streamsOutbound?: Map<string, unknown> }
    ).streamsOutbound
    return streams === undefined || streams.has(peer.toString())
  }

  /** Reconciles `keyspace` with `peer` shortly (once, however many batches it missed). */
  private catchUp(peer: PeerId, keyspace: string): void {
    const id = `${peer.toString()}\u0000${keyspace}`
    if (this.catchUps.has(id) || this.closed) return
    this.catchUps.add(id)
    const t = setTimeout(() => {
      this.catchUps.delete(id)
      if (!this.closed) void this.antiEntropy.syncWith(peer, keyspace)
    }, this.opts.catchUpDelayMs)
    t.unref()
  }

  /** Keeps a batch nobody can receive yet; past `maxHeldBytes` the oldest go (sync repairs them). */
  private hold(topic: string, batch: HeldBatch): void {
    let list = this.held.get(topic)
    if (list === undefined) {
      list = []
      this.held.set(topic, list)
    }
    list.push(batch)
    this.heldBytes += batch.bytes.length
    this.counters.batchesHeld++
    this.heldRetry ??= setInterval(() => {
      for (const t of [...this.held.keys()]) this.release(t)
    }, this.opts.heldRetryMs)
    this.heldRetry.unref()
    while (this.heldBytes > this.opts.maxHeldBytes) {
      const [oldestTopic, oldest] = this.held.entries().next().value as [string, HeldBatch[]]
      const dropped = oldest.shift()!
      if (oldest.length === 0) this.held.delete(oldestTopic)
      this.heldBytes -= dropped.bytes.length
      this.counters.batchesDropped++
      this.counters.recordsDropped += dropped.records
    }
  }

  /** Sends what was held for `topic`, in order, once some subscriber can be reached. */
  private release(topic: string): void {
    const list = this.held.get(topic)
    const keyspace = keyspaceOf(topic)
    if (list === undefined || keyspace === undefined) return
    const subscribers = this.node.services.pubsub.getSubscribers(topic)
    if (!subscribers.some((p) => this.canSend(p))) return
    this.held.delete(topic)
    if (this.held.size === 0 && this.heldRetry !== undefined) {
      clearInterval(this.heldRetry)
      this.heldRetry = undefined
    }
    for (const batch of list) {
      this.heldBytes -= batch.bytes.length
      this.dispatch(keyspace, batch)
    }
  }

  private send(topic: string, { bytes, records }: HeldBatch): void {
    this.inflightBytes += bytes.length
    const p = this.node.services.pubsub
      .publish(topic, bytes)
      .then((res) => {
        this.counters.batchesOut++
        this.counters.recordsOut += records
        if (res.recipients.length === 0) this.counters.batchesUnsent++
      })
      .catch((err: Error) => {
        this.counters.publishErrors++
        log('publish failed: %s', err.message)
      })
      .finally(() => {
        this.inflightBytes -= bytes.length
        this.inflight.delete(p)
      })
    this.inflight.add(p)
  }

  // ---- inbound ------------------------------------------------------------------------

  private reject(reason: string): void {
    this.counters.rejected[reason] = (this.counters.rejected[reason] ?? 0) + 1
  }

  private validate(keyspace: string, msg: Message): TopicValidatorResult {
    if (msg.type !== 'signed') {
      this.reject('unsigned')
      return TopicValidatorResult.Reject
    }
    let batch: WriteBatch
    try {
      batch = decodeBatch(msg.data, this.limits)
    } catch {
      this.reject('malformed')
      return TopicValidatorResult.Reject
    }
    const why = checkBatch(batch, {
      signer: msg.from.toString(),
      now: Date.now(),
      maxDrift: this.cache.clock.maxDrift,
      topicKeyspace: keyspace,
    })
    if (why !== undefined) {
      this.reject(
        why.startsWith('origin')
          ? 'forged-origin'
          : why.includes('future')
            ? 'clock-drift'
            : 'wrong-keyspace',
      )
      log('rejected batch from %s: %s', msg.from, why)
      return TopicValidatorResult.Reject
    }
    // With an allowlist, writes of non-members are refused even when a member relays them.
    if (!this.gate.admits(batch.origin)) {
      this.reject('not-allowed')
      return TopicValidatorResult.Reject
    }
    this.decoded.set(msg, batch)
    return TopicValidatorResult.Accept
  }

  private onMessage(msg: Message): void {
    const keyspace = keyspaceOf(msg.topic)
    if (keyspace === undefined) return
    let batch = this.decoded.get(msg)
    if (batch === undefined) {
      if (this.validate(keyspace, msg) !== TopicValidatorResult.Accept) return
      batch = this.decoded.get(msg)!
    }
    this.applyBatch(batch)
  }

  /** Applies a validated batch: clock, LWW merge, lag. @returns records applied */
  private applyBatch(batch: WriteBatch): number {
    if (batch.origin === this.self) return 0
    const ks = this.cache.keyspaces().get(batch.keyspace)
    if (ks === undefined) return 0
    this.counters.batchesIn++
    this.counters.recordsIn += batch.records.length
    const peer = this.peers.get(batch.origin)
    if (peer) {
      peer.region ??= batch.region
      peer.lastSeen = Date.now()
    }
    let hist = this.lag.get(batch.region)
    if (hist === undefined) {
      hist = new LagHistogram()
      this.lag.set(batch.region, hist)
    }
    let applied = 0
    const now = Date.now()
    for (const record of batch.records) {
      const version = recordVersion(record, batch.origin)
      if (!this.cache.clock.accepts(version)) {
        this.reject('clock-drift')
        continue
      }
      let entry: Entry
      try {
        entry = entryOf(record, version)
      } catch {
        this.reject('bad-value')
        continue
      }
      this.cache.clock.update(version)
      hist.observe(now - record.wall)
      if (ks.applyRemote(record.key, entry, batch.region) === 'applied') {
        applied++
        if (this.leases.size > 0) this.settleLease(batch.keyspace, record.key)
      }
    }
    this.counters.recordsApplied += applied
    return applied
  }

  // ---- membership ---------------------------------------------------------------------

  private helloBody(): HelloBody {
    return helloBody(this.self, this.region, this.addresses(), this.peers.all())
  }

  private learn(body: unknown, from: PeerId): void {
    mergeHello(this.peers, body, from.toString(), this.self, Date.now())
  }

  private onHello(body: unknown, from: PeerId): HelloBody {
    this.learn(body, from)
    queueMicrotask(() => this.redial())
    return this.helloBody()
  }

  private async sayHello(peer: PeerId): Promise<void> {
    try {
      const res = await request(this.node, peer, PROTOCOLS.hello, this.helloBody(), 5_000)
      this.learn(res, peer)
      this.redial()
      // Streams for acks and reads, negotiated now so those cost one round trip later.
      this.pool.refill(peer, PROTOCOLS.write)
      this.pool.refill(peer, PROTOCOLS.get)
      // Anti-entropy on every (re)connection: whatever was missed while apart is repaired
      // now. One session repairs both ways, so only one side (the smaller id) starts it.
      if (this.self < peer.toString()) void this.antiEntropy.syncAll(peer)
    } catch (err) {
      log('hello to %s failed: %s', peer, (err as Error).message)
    }
  }

  /** Dials every known peer that is not connected: the mesh is a full mesh of members. */
  private redial(): void {
    if (this.closed) return
    const connected = new Set(this.node.getPeers().map((p) => p.toString()))
    for (const p of this.peers.all()) {
      p.connected = connected.has(p.id)
      if (p.connected || p.id === this.self || p.addrs.length === 0 || this.dialing.has(p.id))
        continue
      if (this.gate.denies(p.id)) continue
      this.dialing.add(p.id)
      const addrs = p.addrs.map((a) => multiaddr(a))
      this.node
        .dial(addrs, { signal: AbortSignal.timeout(5_000) })
        .then(() => {
          p.connected = true
        })
        .catch((err: Error) => {
          p.failures++
          log('dial %s failed: %s', p.id, err.message)
        })
        .finally(() => this.dialing.delete(p.id))
    }
  }

  private async pingAll(): Promise<void> {
    await Promise.all(
      this.node.getPeers().map(async (peer) => {
        try {
          const rtt = await this.node.services.ping.ping(peer, {
            signal: AbortSignal.timeout(5_000),
          })
          this.peers.recordRtt(peer.toString(), rtt, Date.now())
        } catch {
          this.peers.recordFailure(peer.toString())
        }
      }),
    )
  }

  // ---- anti-entropy -------------------------------------------------------------------

  /** Reconciles one keyspace with one peer now. @returns entries pulled plus pushed */
  syncWith(peer: PeerId, keyspace: string): Promise<number> {
    return this.antiEntropy.syncWith(peer, keyspace)
  }

  // ---- partitions ---------------------------------------------------------------------

  /** Cuts this node off from `peerIds`: closes connections and refuses new ones until {@link unblock}. */
  async block(peerIds: string[]): Promise<void> {
    this.gate.block(peerIds)
    await Promise.allSettled(
      peerIds.map((id) =>
        this.node.hangUp(peerIdFromString(id), { signal: AbortSignal.timeout(2_000) }),
      ),
    )
    for (const id of peerIds) {
      const p = this.peers.get(id)
      if (p) p.connected = false
    }
  }

  /** Lifts blocks (all when no ids are given); the redial loop reconnects and sync repairs. */
  unblock(peerIds?: string[]): void {
    this.gate.unblock(peerIds)
    this.redial()
  }

  // ---- read-through and direct writes ------------------------------------------------

  private onGet(body: unknown, from: PeerId): unknown {
    const b = body as { keyspace?: unknown; key?: unknown; any?: unknown; lease?: unknown }
    if (
      typeof b !== 'object' ||
      b === null ||
      typeof b.keyspace !== 'string' ||
      typeof b.key !== 'string'
    ) {
      throw new InvalidMessageError('get: malformed')
    }
    const ks = this.cache.keyspaces().get(b.keyspace)
    if (ks === undefined || b.key.length === 0 || b.key.length > ks.options.maxKeyLength)
      return null
    if (b.lease === true) return this.onLeaseRequest(ks, b.key, from.toString())
    if (b.any === true) {
      // Consistent reads want the newest version known, tombstone or evicted value included.
      const indexed = ks.index.get(b.key)
      if (indexed === undefined || !ks.index.retained(indexed, Date.now())) return null
      return keyspaceReplica(ks, this.cache.clock, this.syncRejects).exportEntry(b.key, indexed)
    }
    const entry = ks.entry(b.key)
    return entry === undefined ? null : toWireEntry(b.key, entry)
  }

  // ---- mesh-wide single flight ------------------------------------------------------

  /** The node that coordinates loads of `key`: highest rendezvous hash among members. */
  private ownerOf(keyspace: string, key: string): string {
    const score = (id: string) => hash64(`${id}\u0000${keyspace}\u0000${key}`)[0]
    let best = this.self
    let bestScore = score(this.self)
    for (const p of this.peers.ranked()) {
      const s = score(p.id)
      if (s > bestScore || (s === bestScore && p.id > best)) {
        best = p.id
        bestScore = s
      }
    }
    return best
  }

  /** A value for a leased key arrived: hand it to everyone waiting. */
  private settleLease(keyspace: string, key: string): void {
    const entry = this.cache.keyspaces().get(keyspace)?.entry(key)
    if (entry !== undefined) this.leases.settle(`${keyspace}\u0000${key}`, entry)
  }

  private async onLeaseRequest(ks: Keyspace<unknown>, key: string, from: string): Promise<unknown> {
    const held = ks.entry(key)
    if (held !== undefined) return { t: 'value', e: toWireEntry(key, held) }
    const r = this.leases.grantOrWait(`${ks.name}\u0000${key}`, from, Date.now())
    if (r === 'lease') return { t: 'lease' }
    const entry = await r
    return entry === undefined ? { t: 'none' } : { t: 'value', e: toWireEntry(key, entry) }
  }

  async coordinateLoad(keyspace: string, key: string): Promise<Entry | undefined> {
    const owner = this.ownerOf(keyspace, key)
    if (owner === this.self) {
      const r = this.leases.grantOrWait(`${keyspace}\u0000${key}`, this.self, Date.now())
      return r === 'lease' ? undefined : await r
    }
    try {
      const res = (await request(
        this.node,
        peerIdFromString(owner),
        PROTOCOLS.get,
        { keyspace, key, lease: true },
        this.opts.loadLeaseMs + 1_000,
        undefined,
        this.pool,
      )) as { t?: unknown; e?: unknown }
      if (res?.t !== 'value') return undefined
      const { entry } = fromWireEntry(res.e, this.limits)
      if (!this.cache.clock.accepts(entry.version) || !this.gate.admits(entry.version.node))
        return undefined
      this.cache.clock.update(entry.version)
      return entry
    } catch (err) {
      // Owner unreachable or slow: load locally rather than fail the read.
      log('load coordination for %s with %s failed: %s', key, owner, (err as Error).message)
      return undefined
    }
  }

  /**
   * Asks peers for the newest version of `key` and applies what they hold (LWW, so only
   * newer versions change anything). `quorum`: the best node of each other region, until
   * a majority of known regions (this one included) answered; `nearest`: the three best
   * peers, until one answered.
   * @throws TimeoutError when too few answered within `timeoutMs`
   */
  async readRemote(
    keyspace: string,
    key: string,
    level: 'quorum' | 'nearest',
    timeoutMs: number,
  ): Promise<void> {
    const ks = this.cache.keyspaces().get(keyspace)
    if (ks === undefined) return
    let targets: { id: string; region: string | undefined }[]
    let required: number
    if (level === 'quorum') {
      const known = new Set(
        this.peers
          .all()
          .map((p) => p.region)
          .filter((r): r is string => r !== undefined && r !== this.region),
      )
      required = Math.floor((known.size + 1) / 2 + 1) - 1
      targets = [...this.peers.bestPerRemoteRegion().values()]
    } else {
      required = 1
      targets = this.peers.ranked().slice(0, 3)
    }
    if (required <= 0) return
    const replica = keyspaceReplica(ks, this.cache.clock, this.syncRejects, undefined, (n) =>
      this.gate.admits(n),
    )
    const limits = {
      maxKeyLength: this.limits.maxKeyLength,
      maxNameLength: this.limits.maxNameLength,
      maxValueBytes: this.limits.maxValueBytes,
      maxItems: 1,
    }
    await gather(
      targets,
      required,
      timeoutMs,
      async (peer) => {
        const res = await request(
          this.node,
          peerIdFromString(peer.id),
          PROTOCOLS.get,
          { keyspace, key, any: true },
          timeoutMs,
          undefined,
          this.pool,
        )
        if (res !== null) {
          if (!isSyncEntry(res, limits)) throw new InvalidMessageError('get: malformed entry')
          replica.importEntries([res])
        }
        return peer.region ?? peer.id
      },
      (peer) => this.peers.recordFailure(peer.id),
      (answered) =>
        new TimeoutError(
          `read of '${key}' got ${answered.length} of the ${required} answer(s) '${level}' needs within ${timeoutMs} ms`,
        ),
    )
  }

  async lookup(keyspace: string, key: string, sameRegionOnly = false): Promise<Entry | undefined> {
    const candidates = this.peers
      .ranked()
      .filter((p) => !sameRegionOnly || p.region === this.region)
      .slice(0, 3)
    if (candidates.length === 0) return undefined
    this.counters.lookups++
    // Best peer first; the next one as soon as a peer answers "not here" or fails, or
    // after a few RTTs of the current one without an answer (hedging).
    return new Promise<Entry | undefined>((resolve) => {
      let next = 0
      let pending = 0
      let done = false
      const finish = (e: Entry | undefined) => {
        if (done) return
        done = true
        clearTimeout(deadline)
        resolve(e)
      }
      const deadline = setTimeout(() => finish(undefined), this.opts.lookupTimeoutMs)
      const launch = () => {
        if (done || next >= candidates.length) return
        const peer = candidates[next++]!
        pending++
        const hedge = setTimeout(launch, Math.max(20, 3 * (peer.rtt ?? 10)))
        request(
          this.node,
          peerIdFromString(peer.id),
          PROTOCOLS.get,
          { keyspace, key },
          this.opts.lookupTimeoutMs,
          undefined,
          this.pool,
        )
          .then((res) => {
            if (res === null || done) return
            const { entry } = fromWireEntry(res, this.limits)
            if (!this.cache.clock.accepts(entry.version))
              throw new InvalidMessageError('get: clock drift')
            if (!this.gate.admits(entry.version.node))
              throw new InvalidMessageError('get: writer not allowed')
            this.cache.clock.update(entry.version)
            this.counters.lookupHits++
            finish(entry)
          })
          .catch(() => this.peers.recordFailure(peer.id))
          .finally(() => {
            clearTimeout(hedge)
            pending--
            if (done) return
            if (next < candidates.length) launch()
            else if (pending === 0) finish(undefined)
          })
      }
      launch()
    })
  }

  private onDirectWrite(body: unknown, from: PeerId): unknown {
    if (!(body instanceof Uint8Array)) throw new InvalidMessageError('write: malformed')
    const batch = decodeBatch(body, this.limits)
    const why = checkBatch(batch, {
      signer: from.toString(),
      now: Date.now(),
      maxDrift: this.cache.clock.maxDrift,
      topicKeyspace: batch.keyspace,
    })
    if (why !== undefined) {
      this.reject('forged-origin')
      throw new InvalidMessageError(`write: ${why}`)
    }
    this.counters.directWritesIn++
    this.applyBatch(batch)
    return { region: this.region }
  }

  async acknowledge(
    keyspace: string,
    key: string,
    entry: Entry,
    level: 'peer' | 'quorum',
    timeoutMs: number,
  ): Promise<void> {
    const known = new Set(
      this.peers
        .all()
        .map((p) => p.region)
        .filter((r): r is string => r !== undefined && r !== this.region),
    )
    // A majority of all known regions, this one included; 'peer' needs one other region.
    const required = level === 'peer' ? 1 : Math.floor((known.size + 1) / 2 + 1) - 1
    if (required <= 0) return
    const targets = this.peers.bestPerRemoteRegion()
    const bytes = encodeBatch({
      origin: this.self,
      region: this.region,
      keyspace,
      records: [recordOf(key, entry)],
    })
    await gather(
      [...targets],
      required,
      timeoutMs,
      async ([region, peer]) => {
        await request(
          this.node,
          peerIdFromString(peer.id),
          PROTOCOLS.write,
          bytes,
          timeoutMs,
          undefined,
          this.pool,
        )
        return region
      },
      ([, peer]) => this.peers.recordFailure(peer.id),
      (acked) =>
        new AckTimeoutError(
          `write of '${key}' reached ${acked.length} of the ${required} other region(s) that ack '${level}' needs within ${timeoutMs} ms (regions: ${acked.join(', ') || 'none'}); it stands locally and replicates when the mesh allows`,
          acked,
          required,
        ),
    )
  }

  // ---- stats and shutdown -------------------------------------------------------------

  stats(): MeshStats {
    const lag: Record<string, LagSnapshot> = {}
    for (const [region, h] of this.lag) lag[region] = h.snapshot()
    const peersByRegion: Record<string, number> = {}
    for (const p of this.peers.ranked())
      peersByRegion[p.region!] = (peersByRegion[p.region!] ?? 0) + 1
    return {
      peerId: this.self,
      addresses: this.addresses(),
      peersByRegion,
      peers: this.peers.ranked().map((p) => ({
        id: p.id,
        region: p.region,
        rttMs: p.rtt,
        score: p.score,
        failures: p.failures,
      })),
      replication: {
        ...this.counters,
        rejected: {
          ...this.counters.rejected,
          syncDrift: this.syncRejects.drift,
          syncBadValue: this.syncRejects.badValue,
          syncNotAllowed: this.syncRejects.notAllowed,
        },
        inflightBytes: this.inflightBytes,
        heldBytes: this.heldBytes,
        queued: this.batcher.size,
      },
      blockedPeers: this.gate.blockedPeers,
      lagByRegion: lag,
    }
  }

  /** Registers work to do when the node closes, before the network stops (final snapshot). */
  beforeClose(fn: () => void): void {
    this.closeHooks.push(fn)
  }

  async close(): Promise<void> {
    if (this.closed) return
    for (const fn of this.closeHooks) fn()
    this.flush()
    this.closed = true
    for (const t of this.timers) clearInterval(t)
    if (this.heldRetry !== undefined) clearInterval(this.heldRetry)
    this.antiEntropy.stop()
    this.pool.close()
    const bounded = (p: Promise<unknown>, ms: number) =>
      Promise.race([p, new Promise((r) => setTimeout(r, ms).unref())])
    await bounded(Promise.allSettled([...this.inflight]), 1_000)
    // js-libp2p: stop() can hang on open TCP sockets; bound it so close() always returns.
    await bounded(Promise.resolve(this.node.stop()), this.opts.stopTimeoutMs)
  }
}

export {
  MESH_DEFAULTS,
  type MeshCounters,
  type MeshOptions,
  type MeshStats,
  type PeerStats,
} from './mesh-options.js'
export { TOPIC_SCORE } from './topic-score.js'
