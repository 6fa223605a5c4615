/**
 * When a periodic anti-entropy round waits: while this node moves writes at a high rate,
 * digest roots differ by the writes in flight, and a session then mostly fetches (and
 * answers for) what gossip is about to deliver, at the cost of a full descent and a scan of
 * every differing leaf on both ends (bench:replication: a round in a 200k-write burst
 * cost its receiver ~2.5 µs per write, 40 % more). A round due in such a flow waits in
 * steps, but never longer than `maxDeferMs` in all: gaps still repair under any load.
 */
export interface SyncPacing {
  /** Records received plus published per second at or above which a round waits. */
  busyRecordsPerSec: number
  /** Longest a due round waits for the flow to calm. */
  maxDeferMs: number
}

/** The rate of a growing count between two samples, per second. */
export class FlowGauge {
  private at = Number.NaN
  private count = 0

  /**
   * Records `count` (a running total) at monotonic `now`.
   * @returns its rate per second since the previous sample; 0 for the first one or when
   *   no time passed
   */
  sample(now: number, count: number): number {
    const dt = now - this.at
    const dc = count - this.count
    this.at = now
    this.count = count
    return dt > 0 && dc > 0 ? (dc * 1000) / dt : 0
  }
}

/**
 * True when a round due for `waitedMs` already waits again: the flow is at or above the
 * busy rate and the round has not yet waited `maxDeferMs`.
 */
export function deferRound(ratePerSec: number, waitedMs: number, pacing: SyncPacing): boolean {
  return ratePerSec >= pacing.busyRecordsPerSec && waitedMs < pacing.maxDeferMs
}
