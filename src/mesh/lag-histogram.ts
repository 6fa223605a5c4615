import type { LagSnapshot } from '../ports/mesh-options.js'

/** Upper bounds (ms) of the lag histogram's buckets; the last bucket is +Inf. */
export const LAG_BUCKETS_MS = [
  1, 2, 5, 10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000,
] as const

/** Upper bounds (ms) of the per-stage trace's buckets: stages take microseconds to ms. */
export const STAGE_BUCKETS_MS = [
  0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1_000, 5_000,
] as const

/**
 * A histogram of durations in ms: replication lag per origin region (receive time minus
 * the write's HLC physical time) or one stage of the replication trace. Fixed buckets so
 * the hot path is one comparison loop and an increment.
 */
export class LagHistogram {
  private readonly bounds: readonly number[]
  private readonly counts: Float64Array
  private count = 0
  private sum = 0
  private max = 0

  /** @param bounds - upper bounds of the buckets, ascending; a last +Inf bucket is added */
  constructor(bounds: readonly number[] = LAG_BUCKETS_MS) {
    this.bounds = bounds
    this.counts = new Float64Array(bounds.length + 1)
  }

  observe(ms: number): void {
    const v = Math.max(ms, 0)
    let i = 0
    const bounds = this.bounds
    while (i < bounds.length && v > bounds[i]!) i++
    this.counts[i]!++
    this.count++
    this.sum += v
    if (v > this.max) this.max = v
  }

  snapshot(): LagSnapshot {
    const buckets: [number, number][] = []
    let acc = 0
    for (let i = 0; i < this.counts.length; i++) {
      acc += this.counts[i]!
      buckets.push([this.bounds[i] ?? Number.POSITIVE_INFINITY, acc])
    }
    const pct = (q: number) => {
      if (this.count === 0) return 0
      const rank = q * this.count
      for (const [bound, c] of buckets) if (c >= rank) return Math.min(bound, this.max)
      return this.max
    }
    return {
      count: this.count,
      sumMs: this.sum,
      maxMs: this.max,
      p50Ms: pct(0.5),
      p99Ms: pct(0.99),
      buckets,
    }
  }
}
