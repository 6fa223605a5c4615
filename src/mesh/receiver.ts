import type { PeerId } from '@libp2p/interface'
import { InvalidMessageError } from '../errors.js'
import { logger } from '../log.js'
import type { LagSnapshot } from '../ports/mesh-options.js'
import { NAME_RE } from '../replica/keyspace-options.js'
import { isRefusal, type KeyspaceReplica } from '../replica/keyspace-replica.js'
import { checkBatch } from '../replication/batch-check.js'
import { decodeBatch } from '../replication/batch-codec.js'
import type { RejectCode } from '../replication/reject-codes.js'
import { ITEM_KIND, type RelayItem } from '../replication/relay-frame.js'
import type { WriteBatch } from '../replication/write-record.js'
import { type ReplicateTrace, replicateChannel } from '../trace-channels.js'
import { openEnvelope } from './batch-signing.js'
import { LagHistogram } from './lag-histogram.js'
import type { MeshContext } from './mesh-context.js'

const log = logger('meshcache:mesh')

/**
 * Most regions with a lag histogram of their own (`stats().mesh.lagByRegion`, `/metrics`):
 * a member naming a new region in every batch made one each, never freed. Beyond them,
 * and for origins that have not stated a region, batches share {@link OTHER_REGIONS}.
 */
const MAX_LAG_REGIONS = 64
/** The histogram of the regions past {@link MAX_LAG_REGIONS}. */
const OTHER_REGIONS = '(other)'

/** Records of a batch that now stand here, refused, and admitted but not held here (too large, expired, invalidated). */
interface Admitted {
  unheld: number
  applied: number
  refused: number
}

/** Lag of a batch's oldest record at `now`: receive time minus its stamp, ms. */
function oldestLag(batch: WriteBatch, now: number): number {
  let oldest = now
  for (const record of batch.records) if (record[1] < oldest) oldest = record[1]
  return now - oldest
}

/**
 * The inbound half of replication, one door for every write batch from elsewhere
 * (relayed items and direct writes alike): the envelope's verdict (signature where the
 * item entered this region, structure, the origin and numbering its signed body names),
 * then each record through its keyspace replica's `admitRemote`, which owns every check of
 * a record (allowlist, clock drift, sizes, last-writer-wins). Lag per origin region.
 */
export class Receiver {
  private readonly lag = new Map<string, LagHistogram>()
  /** Monotonic ms of the last pull after a refused vouched batch, per sender and keyspace. */
  private readonly pulled = new Map<string, number>()

  /**
   * @param onApplied - told of every remote write that now stands (load leases wait for them)
   * @param onFollow - a batch of a keyspace this node had not opened, now opened (a
   *   headless node follows its peers' keyspaces), or one it refused for want of a
   *   signature: repair what came before it from the sender
   */
  constructor(
    private readonly ctx: MeshContext,
    private readonly onApplied: (keyspace: string, key: string) => void,
    private readonly onFollow: (keyspace: string, from: string) => void,
  ) {}

  /**
   * A relayed batch item, first seen here. @param verify - check the origin's signature
   * (the item came into this region from another) @returns false when it must not be
   * relayed further (forged or malformed)
   */
  receive(item: RelayItem, from: string, verify: boolean): boolean {
    const { ctx } = this
    const started = ctx.clock.monotonic()
    const receivedAt = ctx.clock.now()
    // A vouched batch is the body alone; the relay refused it where a check was due.
    let body = item.body
    if (item.kind !== ITEM_KIND.vouched) {
      const envelope = openEnvelope(item.body)
      if (envelope === undefined) return this.refuse('malformed', `short envelope from ${from}`)
      if (verify) {
        ctx.counters.signaturesChecked++
        if (!ctx.originKeys.verify(item.origin, envelope.body, envelope.signature))
          return this.refuse('forged-origin', `bad signature of ${item.origin} relayed by ${from}`)
      }
      body = envelope.body
    } else if (verify) {
      this.pullRefused(body, from)
      return this.refuse('unsigned', `unsigned batch of ${item.origin} from ${from}`)
    }
    let batch: WriteBatch
    try {
      batch = decodeBatch(body, ctx.limits)
    } catch (err) {
      return this.refuse('malformed', (err as Error).message)
    }
    const rejection = checkBatch(batch, item)
    if (rejection !== undefined) return this.refuse(rejection.code, rejection.why)
    ctx.trace.observe('transit', receivedAt - batch.sentAt)
    ctx.trace.observe('verify', ctx.clock.monotonic() - started)
    this.apply(batch, from)
    return true
  }

  /**
   * A vouched batch refused here (the sender's plan or its knowledge of the writer's
   * region differs from ours: a member that just joined, hubs changing): its writes are
   * pulled from the sender by anti-entropy now, not at the next round. At most once a
   * second per sender and keyspace.
   */
  private pullRefused(body: Uint8Array, from: string): void {
    const { ctx } = this
    let keyspace: string
    try {
      keyspace = decodeBatch(body, ctx.limits).keyspace
    } catch {
      return
    }
    if (ctx.replicas.get(keyspace) === undefined) return
    const key = `${from}\u0000${keyspace}`
    const now = ctx.clock.monotonic()
    if (now - (this.pulled.get(key) ?? Number.NEGATIVE_INFINITY) < 1_000) return
    if (this.pulled.size >= 1_024) this.pulled.clear()
    this.pulled.set(key, now)
    this.onFollow(keyspace, from)
  }

  /**
   * A direct write (`/meshcache/write/1`, for `ack: 'peer' | 'quorum'`): the sender, whom
   * its connection proves, must be the origin; applied, then answered with this node's
   * region (the acknowledgement).
   * @throws InvalidMessageError for a malformed or forged batch, or records refused here
   */
  onDirectWrite(body: unknown, from: PeerId): unknown {
    const { ctx } = this
    if (!(body instanceof Uint8Array)) throw new InvalidMessageError('write: malformed')
    const batch = decodeBatch(body, ctx.limits)
    const rejection = checkBatch(batch, { origin: from.toString() })
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
    const { refused, unheld } = this.admit(batch, 'direct')
    // An ack promises the write is held here: none for records refused, nor for records
    // this node does not hold (too large for its limits, expired on arrival, older than a
    // clear or tag invalidation it has).
    if (refused > 0) throw new InvalidMessageError(`write: ${refused} record(s) refused`)
    if (unheld > 0)
      throw new InvalidMessageError(
        `write: ${unheld} record(s) not held here (too large, expired or invalidated)`,
      )
    return { region: ctx.region }
  }

  /** Replication lag per origin region. */
  lagByRegion(): Record<string, LagSnapshot> {
    const out: Record<string, LagSnapshot> = {}
    for (const [region, h] of this.lag) out[region] = h.snapshot()
    return out
  }

  /** Admits a relayed batch; a throw (a bug) is contained and counted. */
  private apply(batch: WriteBatch, from: string): void {
    const { ctx } = this
    const started = ctx.clock.monotonic()
    try {
      if (ctx.replicas.get(batch.keyspace) === undefined && !this.follow(batch.keyspace)) return
      // An origin configured differently for this keyspace: not replicated with it.
      if (ctx.peers.get(batch.origin)?.mismatched?.has(batch.keyspace)) {
        ctx.replicas.reject('config-mismatch')
        return
      }
      const before = ctx.replicas.get(batch.keyspace) === undefined
      this.admit(batch, 'relay')
      if (before) this.onFollow(batch.keyspace, from)
    } catch (err) {
      ctx.replicas.reject('apply-error')
      log('applying a batch failed: %s', (err as Error).message)
    }
    ctx.trace.observe('apply', ctx.clock.monotonic() - started)
  }

  /** A headless node opens the keyspaces its peers write (bounded). @returns true when open */
  private follow(keyspace: string): boolean {
    const { opts, replicas } = this.ctx
    if (!opts.followKeyspaces || replicas.size >= opts.maxFollowedKeyspaces) return false
    if (!NAME_RE.test(keyspace)) return false
    try {
      replicas.open(keyspace)
    } catch (err) {
      log('cannot follow keyspace %s: %s', keyspace, (err as Error).message)
      return false
    }
    return true
  }

  /**
   * Admits every record of a batch, inside a `meshcache:replicate` trace when someone
   * subscribes. @returns records applied and refused
   */
  private admit(batch: WriteBatch, via: ReplicateTrace['via']): Admitted {
    const { ctx } = this
    if (batch.origin === ctx.self) return { applied: 0, refused: 0, unheld: 0 }
    const replica = ctx.replicas.get(batch.keyspace)
    if (replica === undefined) return { applied: 0, refused: 0, unheld: 0 }
    ctx.counters.batchesIn++
    ctx.counters.recordsIn += batch.records.length
    const now = ctx.clock.now()
    const peer = ctx.peers.get(batch.origin)
    if (peer) {
      ctx.peers.setRegion(peer, batch.region)
      peer.lastSeen = now
    }
    if (!replicateChannel.hasSubscribers) return this.admitRecords(batch, replica, now)
    const trace: ReplicateTrace = {
      keyspace: batch.keyspace,
      origin: batch.origin,
      region: batch.region,
      via,
      records: batch.records.length,
      lagMs: oldestLag(batch, now),
      applied: 0,
      refused: 0,
    }
    return replicateChannel.traceSync(() => {
      const admitted = this.admitRecords(batch, replica, now)
      trace.applied = admitted.applied
      trace.refused = admitted.refused
      return admitted
    }, trace)
  }

  /** Each record through `admitRemote`; lag per origin region; applied writes settle leases. */
  private admitRecords(batch: WriteBatch, replica: KeyspaceReplica, now: number): Admitted {
    const { ctx } = this
    // Per the region the origin stated itself (its hello, its signed announcement); the
    // region a batch names is only the sender's word. At most MAX_LAG_REGIONS, then one.
    const region = ctx.peers.ownRegion(batch.origin) ?? OTHER_REGIONS
    let hist = this.lag.get(region)
    if (hist === undefined) {
      const kept = this.lag.size < MAX_LAG_REGIONS ? region : OTHER_REGIONS
      hist = this.lag.get(kept) ?? new LagHistogram()
      this.lag.set(kept, hist)
    }
    let applied = 0
    let refused = 0
    let unheld = 0
    // One clock read per batch, not per record.
    for (const record of batch.records) {
      const outcome = replica.admitRemoteAt(record, batch.region, now)
      if (isRefusal(outcome)) {
        refused++
        continue
      }
      if (outcome === 'too-large' || outcome === 'expired' || outcome === 'invalidated') unheld++
      hist.observe(now - record[1])
      if (outcome === 'applied') {
        applied++
        this.onApplied(batch.keyspace, record[0])
      }
    }
    ctx.counters.recordsApplied += applied
    return { applied, refused, unheld }
  }

  private refuse(code: RejectCode, why: string): false {
    this.ctx.replicas.reject(code)
    log('refused a batch: %s', why)
    return false
  }
}
