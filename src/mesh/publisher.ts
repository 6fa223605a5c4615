import type { PeerId } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import type { Timer } from '../clock/clock.js'
import { logger } from '../log.js'
import { encodeBatch } from '../replication/batch-codec.js'
import { recordOf } from '../replication/entry-tuple.js'
import { OutboundBatcher } from '../replication/outbound-batcher.js'
import type { Entry } from '../store/entry.js'
import { MESH_CONSTANTS } from './defaults.js'
import type { MeshContext } from './mesh-context.js'
import { keyspaceOf, topicOf } from './topics.js'

const log = logger('meshcache:mesh')

/** An encoded batch and how many records it carries. */
interface Batch {
  bytes: Uint8Array
  records: number
}

/**
 * The outbound half of replication: groups local writes into batches per keyspace,
 * publishes them on the keyspace's gossipsub topic (at most once per
 * `minFlushIntervalMs`, so a trickle of writes forms batches), bounds what is in flight,
 * and makes sure no write is lost before peers can receive it: a batch no subscriber can
 * take yet is held until one can, and a subscriber that missed a batch is reconciled by
 * anti-entropy shortly after.
 */
export class Publisher {
  private readonly ctx: MeshContext
  private readonly syncWith: (peer: PeerId, keyspace: string) => void
  private readonly batcher: OutboundBatcher
  private flushTimer: Timer | undefined
  private flushImmediate: NodeJS.Immediate | undefined
  /**
   * Flush tokens: one comes back every `minFlushIntervalMs`, up to `flushBurst`. A write
   * that finds one leaves at the end of its turn; without one it waits for the next, and
   * the writes meanwhile join its batch. So a trickle is never delayed, and under load a
   * node publishes at most one batch per interval (per keyspace) on average.
   */
  private tokens: number = MESH_CONSTANTS.flushBurst
  private tokensAt: number
  private inflightBytes = 0
  /** When a batch was last handed to gossipsub (this.ctx.clock.monotonic() ms). */
  lastSentAt = Number.NEGATIVE_INFINITY
  private readonly inflight = new Set<Promise<unknown>>()
  /** Batches no subscriber could take yet, by topic, oldest first. */
  private readonly held = new Map<string, Batch[]>()
  private heldBytes = 0
  private heldRetry: Timer | undefined
  /** When this node last published to each keyspace (this.ctx.clock.monotonic() ms). */
  private readonly writtenAt = new Map<string, number>()
  /** Anti-entropy sessions queued for subscribers that missed a batch, by `peer\0keyspace`. */
  private readonly catchUps = new Set<string>()

  /** @param syncWith - runs an anti-entropy session for one keyspace with one peer */
  constructor(ctx: MeshContext, syncWith: (peer: PeerId, keyspace: string) => void) {
    this.ctx = ctx
    this.tokensAt = ctx.clock.monotonic()
    this.syncWith = syncWith
    this.batcher = new OutboundBatcher({
      flushBytes: ctx.opts.flushBytes,
      maxRecords: ctx.limits.maxRecordsPerBatch,
    })
  }

  /** Queues a local write (`encoded`: its value's bytes, when at hand). */
  publish(keyspace: string, key: string, entry: Entry, encoded?: Uint8Array): void {
    const full = this.batcher.add(
      keyspace,
      recordOf(key, entry, encoded),
      this.ctx.clock.monotonic(),
    )
    if (full) this.flush()
    else this.scheduleFlush()
  }

  /** Writes queued and not yet encoded. */
  get queued(): number {
    return this.batcher.size
  }

  /** Bytes handed to gossipsub and not yet sent, and bytes held for lack of subscribers. */
  get bytes(): { inflight: number; held: number } {
    return { inflight: this.inflightBytes, held: this.heldBytes }
  }

  private scheduleFlush(): void {
    if (this.flushTimer !== undefined || this.flushImmediate !== undefined) return
    const { flushDelayMs, minFlushIntervalMs } = this.ctx.opts
    this.refill(this.ctx.clock.monotonic())
    const wait = Math.max(flushDelayMs, (1 - this.tokens) * minFlushIntervalMs)
    if (wait <= 0) this.flushImmediate = setImmediate(() => this.flush())
    else this.flushTimer = this.ctx.clock.after(wait, () => this.flush())
  }

  /** Adds the flush tokens earned since the last refill. */
  private refill(now: number): void {
    const interval = this.ctx.opts.minFlushIntervalMs
    this.tokens =
      interval <= 0
        ? MESH_CONSTANTS.flushBurst
        : Math.min(MESH_CONSTANTS.flushBurst, this.tokens + (now - this.tokensAt) / interval)
    this.tokensAt = now
  }

  /** Publishes every queued batch now. */
  flush(): void {
    const ctx = this.ctx
    const counters = ctx.counters
    this.flushTimer?.cancel()
    if (this.flushImmediate !== undefined) clearImmediate(this.flushImmediate)
    this.flushTimer = undefined
    this.flushImmediate = undefined
    const trace = ctx.trace
    this.refill(this.ctx.clock.monotonic())
    this.tokens = Math.max(0, this.tokens - 1)
    for (const pending of this.batcher.drain()) {
      const started = this.ctx.clock.monotonic()
      trace.observe('queue', started - pending.openedAt)
      const bytes = ctx.signer.seal(
        encodeBatch({
          origin: ctx.self,
          region: ctx.region,
          keyspace: pending.keyspace,
          sentAt: ctx.clock.now(),
          records: pending.records,
        }),
      )
      trace.observe('encode', this.ctx.clock.monotonic() - started)
      if (this.inflightBytes + bytes.length > ctx.opts.maxInflightBytes) {
        // Backpressure: the write stands locally; the gap is counted and repaired by sync.
        counters.batchesDropped++
        counters.recordsDropped += pending.records.length
        continue
      }
      this.writtenAt.set(pending.keyspace, this.ctx.clock.monotonic())
      this.dispatch(pending.keyspace, { bytes, records: pending.records.length })
    }
  }

  /**
   * A peer subscribed to `topic`: send what was held for it, and reconcile with it when
   * this node wrote to the keyspace just before (the connect-time sync may have run
   * before that write, and the write went only to the others).
   */
  onSubscribe(peer: PeerId, topic: string): void {
    this.release(topic)
    const keyspace = keyspaceOf(topic)
    const at = keyspace === undefined ? undefined : this.writtenAt.get(keyspace)
    if (at !== undefined && this.ctx.clock.monotonic() - at < this.ctx.opts.syncIntervalMs * 2) {
      this.catchUp(peer, keyspace!)
    }
  }

  /** Connected peers (region known) that subscribe to `keyspace` and can be sent to now. */
  readyPeers(keyspace: string): number {
    const subscribers = new Set(
      this.ctx.node.services.pubsub.getSubscribers(topicOf(keyspace)).map((p) => p.toString()),
    )
    return this.ctx.peers
      .ranked()
      .filter((p) => subscribers.has(p.id) && this.canSend(peerIdFromString(p.id))).length
  }

  /**
   * On close: waits (at most `boundMs`) until held batches found a subscriber they can be
   * sent to and gossipsub took every batch, then stops the timers.
   */
  async drain(boundMs: number): Promise<void> {
    const deadline = this.ctx.clock.monotonic() + boundMs
    while (this.held.size > 0 && this.ctx.clock.monotonic() < deadline) {
      for (const t of [...this.held.keys()]) this.release(t)
      if (this.held.size > 0) await this.ctx.clock.sleep(this.ctx.opts.heldRetryMs)
    }
    this.heldRetry?.cancel()
    this.heldRetry = undefined
    await Promise.race([
      Promise.allSettled([...this.inflight]),
      this.ctx.clock.sleep(deadline - this.ctx.clock.monotonic()),
    ])
  }

  /**
   * Sends a batch to the keyspace's subscribers that gossipsub can reach now (it needs an
   * outbound stream, which may open after the peer's subscription arrived). With none,
   * the batch is held; subscribers that cannot be reached yet are caught up by sync.
   */
  private dispatch(keyspace: string, batch: Batch): void {
    const topic = topicOf(keyspace)
    const subscribers = this.ctx.node.services.pubsub.getSubscribers(topic)
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
    const impl = this.ctx.node.services.pubsub as unknown as {
      streamsOutbound?: Map<string, unknown>
    }
    return impl.streamsOutbound === undefined || impl.streamsOutbound.has(peer.toString())
  }

  /** Reconciles `keyspace` with `peer` shortly (once, however many batches it missed). */
  private catchUp(peer: PeerId, keyspace: string): void {
    const id = `${peer.toString()}\u0000${keyspace}`
    if (this.catchUps.has(id) || this.ctx.isClosed()) return
    this.catchUps.add(id)
    this.ctx.clock.after(this.ctx.opts.catchUpDelayMs, () => {
      this.catchUps.delete(id)
      if (!this.ctx.isClosed()) this.syncWith(peer, keyspace)
    })
  }

  /** Keeps a batch nobody can receive yet; past `maxHeldBytes` the oldest go (sync repairs them). */
  private hold(topic: string, batch: Batch): void {
    const counters = this.ctx.counters
    let list = this.held.get(topic)
    if (list === undefined) {
      list = []
      this.held.set(topic, list)
    }
    list.push(batch)
    this.heldBytes += batch.bytes.length
    counters.batchesHeld++
    this.heldRetry ??= this.ctx.clock.every(this.ctx.opts.heldRetryMs, () => {
      for (const t of [...this.held.keys()]) this.release(t)
    })
    while (this.heldBytes > this.ctx.opts.maxHeldBytes) {
      const [oldestTopic, oldest] = this.held.entries().next().value as [string, Batch[]]
      const dropped = oldest.shift()!
      if (oldest.length === 0) this.held.delete(oldestTopic)
      this.heldBytes -= dropped.bytes.length
      counters.batchesDropped++
      counters.recordsDropped += dropped.records
    }
  }

  /** Sends what was held for `topic`, in order, once some subscriber can be reached. */
  private release(topic: string): void {
    const list = this.held.get(topic)
    const keyspace = keyspaceOf(topic)
    if (list === undefined || keyspace === undefined) return
    const subscribers = this.ctx.node.services.pubsub.getSubscribers(topic)
    if (!subscribers.some((p) => this.canSend(p))) return
    this.held.delete(topic)
    if (this.held.size === 0 && this.heldRetry !== undefined) {
      this.heldRetry.cancel()
      this.heldRetry = undefined
    }
    for (const batch of list) {
      this.heldBytes -= batch.bytes.length
      this.dispatch(keyspace, batch)
    }
  }

  private send(topic: string, { bytes, records }: Batch): void {
    const counters = this.ctx.counters
    const sentAt = this.ctx.clock.monotonic()
    this.lastSentAt = sentAt
    this.inflightBytes += bytes.length
    const p = this.ctx.node.services.pubsub
      .publish(topic, bytes)
      .then((res) => {
        this.ctx.trace.observe('send', this.ctx.clock.monotonic() - sentAt)
        counters.batchesOut++
        for (const peer of res.recipients) {
          const region = this.ctx.peers.get(peer.toString())?.region
          if (region !== undefined && region !== this.ctx.region)
            counters.wanBytesOut += bytes.length
        }
        counters.recordsOut += records
        if (res.recipients.length === 0) counters.batchesUnsent++
      })
      .catch((err: Error) => {
        counters.publishErrors++
        log('publish failed: %s', err.message)
      })
      .finally(() => {
        this.inflightBytes -= bytes.length
        this.inflight.delete(p)
      })
    this.inflight.add(p)
  }
}
