import type { Timer } from '../clock/clock.js'
import { encodeBatch } from '../replication/batch-codec.js'
import { tupleOf } from '../replication/entry-tuple.js'
import { FlushTokens } from '../replication/flush-tokens.js'
import { OutboundBatcher } from '../replication/outbound-batcher.js'
import { ITEM_KIND } from '../replication/relay-frame.js'
import type { Entry } from '../store/entry.js'
import { MESH_CONSTANTS } from './defaults.js'
import type { MeshContext } from './mesh-context.js'
import type { Relay } from './relay.js'

/**
 * The outbound half of replication: this node's writes, batched per keyspace, signed
 * with its key (the signature travels end-to-end), numbered, and handed to the
 * {@link Relay}. A batch costs a signature (~60 µs), so batches are paced with flush
 * tokens: one comes back every `minFlushIntervalMs`, up to `flushBurst`; a write that
 * finds one leaves at the end of its turn, else it waits for the next and the writes
 * meanwhile join its batch. A trickle is never delayed; under load a node makes about one
 * batch per interval per keyspace.
 */
export class Publisher {
  private readonly batcher: OutboundBatcher
  private flushTimer: Timer | undefined
  private flushSoon = false
  private readonly tokens: FlushTokens

  constructor(
    private readonly ctx: MeshContext,
    private readonly relay: Relay,
  ) {
    this.tokens = new FlushTokens(ctx.clock.monotonic(), MESH_CONSTANTS.flushBurst)
    this.batcher = new OutboundBatcher({
      flushBytes: ctx.opts.flushBytes,
      maxRecords: ctx.limits.maxRecordsPerBatch,
    })
  }

  /** Queues a local write (`encoded`: its value's bytes, when at hand). */
  publish(keyspace: string, key: string, entry: Entry, encoded?: Uint8Array): void {
    const full = this.batcher.add(
      keyspace,
      tupleOf(key, entry, encoded),
      this.ctx.clock.monotonic(),
    )
    if (full) this.flush()
    else this.scheduleFlush()
  }

  /** Writes queued and not yet batched. */
  get queued(): number {
    return this.batcher.size
  }

  private scheduleFlush(): void {
    if (this.flushTimer !== undefined || this.flushSoon) return
    const { flushDelayMs, minFlushIntervalMs } = this.ctx.opts
    const wait = Math.max(
      flushDelayMs,
      this.tokens.waitMs(this.ctx.clock.monotonic(), minFlushIntervalMs, MESH_CONSTANTS.flushBurst),
    )
    if (wait > 0) {
      this.flushTimer = this.ctx.clock.after(wait, () => this.flush())
      return
    }
    this.flushSoon = true
    this.ctx.clock.soon(() => {
      if (this.flushSoon) this.flush()
    })
  }

  /** Batches, signs and sends every queued write now. */
  flush(): void {
    const { ctx } = this
    this.flushTimer?.cancel()
    this.flushTimer = undefined
    this.flushSoon = false
    const trace = ctx.trace
    this.tokens.take(ctx.clock.monotonic(), ctx.opts.minFlushIntervalMs, MESH_CONSTANTS.flushBurst)
    for (const pending of this.batcher.drain()) {
      const started = ctx.clock.monotonic()
      trace.observe('queue', started - pending.openedAt)
      const seq = this.relay.nextSeq()
      const body = ctx.signer.seal(
        encodeBatch({
          origin: ctx.self,
          region: ctx.region,
          keyspace: pending.keyspace,
          sentAt: ctx.clock.now(),
          incarnation: this.relay.incarnation,
          seq,
          records: pending.records,
        }),
      )
      trace.observe('encode', ctx.clock.monotonic() - started)
      ctx.counters.batchesOut++
      ctx.counters.recordsOut += pending.records.length
      this.relay.originate(ITEM_KIND.batch, seq, body)
    }
  }
}
