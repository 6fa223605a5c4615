import type { LagSnapshot, TraceStage } from '../ports/mesh-options.js'
import { LagHistogram, STAGE_BUCKETS_MS } from './lag-histogram.js'

/** The stages of a write's way from `set` to a remote replica, in order. */
export const TRACE_STAGES: readonly TraceStage[] = [
  'queue',
  'encode',
  'send',
  'transit',
  'verify',
  'apply',
]

/**
 * Where replication lag goes, one histogram per stage (`stats().mesh.stages`): on the
 * writer, `queue` (oldest write of a batch waiting for its flush), `encode` (encode and
 * sign the batch) and `send` (a relay frame's write to its stream, per link); on the receiver, `transit` (receipt minus the batch's send time: sockets, the
 * network, and both event loops), `verify` (decode, signature, checks) and `apply`
 * (admitting the records, change events included). Per batch, so the cost is a few
 * increments per message, not per write.
 */
export class StageTrace {
  private readonly hists = new Map<TraceStage, LagHistogram>(
    TRACE_STAGES.map((s) => [s, new LagHistogram(STAGE_BUCKETS_MS)]),
  )

  observe(stage: TraceStage, ms: number): void {
    this.hists.get(stage)!.observe(ms)
  }

  snapshot(): Record<TraceStage, LagSnapshot> {
    return Object.fromEntries(
      TRACE_STAGES.map((s) => [s, this.hists.get(s)!.snapshot()]),
    ) as Record<TraceStage, LagSnapshot>
  }
}
