import { type Message, TopicValidatorResult } from '@libp2p/gossipsub'
import type { PeerId } from '@libp2p/interface'
import { InvalidMessageError } from '../errors.js'
import { logger } from '../log.js'
import type { LagSnapshot } from '../ports/mesh-options.js'
import { isRefusal } from '../replica/keyspace-replica.js'
import { checkBatch } from '../replication/batch-check.js'
import { decodeBatch } from '../replication/batch-codec.js'
import { tupleOfRecord } from '../replication/entry-tuple.js'
import type { WriteBatch } from '../replication/write-record.js'
import { openEnvelope } from './batch-signing.js'
import { LagHistogram } from './lag-histogram.js'
import type { MeshContext } from './mesh-context.js'
import { keyspaceOf } from './topics.js'

const log = logger('meshcache:mesh')

/**
 * The inbound half of replication: the gossipsub topic validator (the origin's signature
 * over the batch, sizes, drift, allowlist; invalid batches are rejected so gossipsub
 * lowers the sender's score), admission of each record into its keyspace's replica, lag
 * per origin region, and direct writes (`ack: 'peer' | 'quorum'`).
 */
export class Receiver {
  private readonly ctx: MeshContext
  private readonly onApplied: (keyspace: string, key: string) => void
  private readonly lag = new Map<string, LagHistogram>()
  private readonly decoded = new WeakMap<Message, WriteBatch>()

  private readonly relays: (origin: string, region: string) => boolean

  /**
   * @param onApplied - told of every remote write that now stands (load leases wait for them)
   * @param relays - whether this node must pass on the batches of an origin it received
   *   straight from that origin (peers of its forwarding mesh are not linked to the origin)
   */
  constructor(
    ctx: MeshContext,
    onApplied: (keyspace: string, key: string) => void,
    relays: (origin: string, region: string) => boolean = () => false,
  ) {
    this.ctx = ctx
    this.onApplied = onApplied
    this.relays = relays
  }

  /**
   * Gossipsub's topic validator for `keyspace`'s topic.
   *
   * A copy sent by its origin (`from`, authenticated by Noise) is proved by the
   * connection: when no peer needs it from this node, it is applied here at once, without
   * verifying the signature, and not forwarded (`Ignore`: nothing relays an unverified
   * message, so a bad signature cannot get this node penalized). Relayed copies, and
   * copies this node must relay, are verified (Ed25519, cached key) and `Accept`ed.
   * @param from - the peer that sent this copy
   */
  validate(keyspace: string, msg: Message, from?: PeerId): TopicValidatorResult {
    const { ctx } = this
    const started = this.ctx.clock.monotonic()
    const receivedAt = ctx.clock.now()
    const envelope = openEnvelope(msg.data)
    if (envelope === undefined) {
      ctx.replicas.reject('malformed')
      return TopicValidatorResult.Reject
    }
    let batch: WriteBatch
    try {
      batch = decodeBatch(envelope.body, ctx.limits)
    } catch {
      ctx.replicas.reject('malformed')
      return TopicValidatorResult.Reject
    }
    // The signature binds every record to the origin its versions name, however many
    // relays the batch took: a batch signed by anyone else is a forged origin.
    const direct = from !== undefined && from.toString() === batch.origin
    const forward = !direct || this.relays(batch.origin, batch.region)
    if (forward && !ctx.originKeys.verify(batch.origin, envelope.body, envelope.signature)) {
      ctx.replicas.reject('forged-origin')
      log('rejected batch claiming origin %s: bad signature', batch.origin)
      return TopicValidatorResult.Reject
    }
    const rejection = checkBatch(batch, {
      signer: batch.origin,
      now: ctx.clock.now(),
      maxDrift: ctx.replicas.hlc.maxDrift,
      topicKeyspace: keyspace,
    })
    if (rejection !== undefined) {
      ctx.replicas.reject(rejection.code)
      log('rejected batch from %s: %s', batch.origin, rejection.why)
      return TopicValidatorResult.Reject
    }
    // With an allowlist, writes of non-members are refused even when a member relays them.
    if (!ctx.replicas.admits(batch.origin)) {
      ctx.replicas.reject('not-allowed')
      return TopicValidatorResult.Reject
    }
    // An origin configured differently for this keyspace: ignored, without penalizing
    // the honest relay that forwarded it.
    if (ctx.peers.get(batch.origin)?.mismatched?.has(keyspace)) {
      ctx.replicas.reject('config-mismatch')
      return TopicValidatorResult.Ignore
    }
    ctx.trace.observe('transit', receivedAt - batch.sentAt)
    ctx.trace.observe('verify', this.ctx.clock.monotonic() - started)
    if (!forward) {
      this.apply(batch)
      return TopicValidatorResult.Ignore
    }
    this.decoded.set(msg, batch)
    return TopicValidatorResult.Accept
  }

  /** A gossip message arrived (validated by {@link validate}, or validated now). */
  onMessage(msg: Message): void {
    const keyspace = keyspaceOf(msg.topic)
    if (keyspace === undefined) return
    let batch = this.decoded.get(msg)
    if (batch === undefined) {
      if (this.validate(keyspace, msg) !== TopicValidatorResult.Accept) return
      batch = this.decoded.get(msg)!
    }
    this.apply(batch)
  }

  /** Applies a validated gossip batch; a throw (a bug) is contained and counted. */
  private apply(batch: WriteBatch): void {
    const started = this.ctx.clock.monotonic()
    try {
      this.applyBatch(batch)
    } catch (err) {
      this.ctx.replicas.reject('apply-error')
      log('applying a batch failed: %s', (err as Error).message)
    }
    this.ctx.trace.observe('apply', this.ctx.clock.monotonic() - started)
  }

  /**
   * A direct write (`/meshcache/write/1`): the sender must be the origin; applied, then
   * answered with this node's region (the acknowledgement).
   * @throws InvalidMessageError for a malformed or forged batch
   */
  onDirectWrite(body: unknown, from: PeerId): unknown {
    const { ctx } = this
    if (!(body instanceof Uint8Array)) throw new InvalidMessageError('write: malformed')
    const batch = decodeBatch(body, ctx.limits)
    const rejection = checkBatch(batch, {
      signer: from.toString(),
      now: ctx.clock.now(),
      maxDrift: ctx.replicas.hlc.maxDrift,
      topicKeyspace: batch.keyspace,
    })
    if (rejection !== undefined) {
      ctx.replicas.reject(rejection.code)
      throw new InvalidMessageError(`write: ${rejection.why}`)
    }
    if (ctx.peers.get(batch.origin)?.mismatched?.has(batch.keyspace)) {
      ctx.replicas.reject('config-mismatch')
      throw new InvalidMessageError(`write: keyspace ${batch.keyspace} has another maxTtl here`)
    }
    if (ctx.replicas.get(batch.keyspace) === undefined)
      throw new InvalidMessageError(`write: keyspace ${batch.keyspace} is not open here`)
    ctx.counters.directWritesIn++
    const refused = this.applyBatch(batch).refused
    // An ack promises the write is held here: refuse to give one for records refused.
    if (refused > 0) throw new InvalidMessageError(`write: ${refused} record(s) refused`)
    return { region: ctx.region }
  }

  /** Replication lag per origin region. */
  lagByRegion(): Record<string, LagSnapshot> {
    const out: Record<string, LagSnapshot> = {}
    for (const [region, h] of this.lag) out[region] = h.snapshot()
    return out
  }

  /** Admits every record of a validated batch. @returns records applied and refused */
  private applyBatch(batch: WriteBatch): { applied: number; refused: number } {
    const { ctx } = this
    if (batch.origin === ctx.self) return { applied: 0, refused: 0 }
    const replica = ctx.replicas.get(batch.keyspace)
    if (replica === undefined) return { applied: 0, refused: 0 }
    ctx.counters.batchesIn++
    ctx.counters.recordsIn += batch.records.length
    const now = ctx.clock.now()
    const peer = ctx.peers.get(batch.origin)
    if (peer) {
      if (peer.region === undefined) ctx.peers.setRegion(peer, batch.region)
      peer.lastSeen = now
    }
    let hist = this.lag.get(batch.region)
    if (hist === undefined) {
      hist = new LagHistogram()
      this.lag.set(batch.region, hist)
    }
    let applied = 0
    let refused = 0
    for (const record of batch.records) {
      const outcome = replica.admitRemote(tupleOfRecord(record, batch.origin), batch.region)
      if (isRefusal(outcome)) {
        refused++
        continue
      }
      hist.observe(now - record.wall)
      if (outcome === 'applied') {
        applied++
        this.onApplied(batch.keyspace, record.key)
      }
    }
    ctx.counters.recordsApplied += applied
    return { applied, refused }
  }
}
