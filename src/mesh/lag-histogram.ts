import type { LagSnapshot } from '../ports/mesh-options.js'

/** Upper bounds (ms) of the lag histogram's buckets; the last bucket is +Inf. */
export const LAG_BUCKETS_MS = [
  1, 2, 5, 10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000,
] as const

/**
 * Replication lag per origin region: receive time minus the write's HLC physical time.
 * Fixed buckets so the hot path is one comparison loop and an increment.
 */
export class LagHistogram {
  private readonly counts = new Float64Array(LAG_BUCKETS_MS.length + 1)
  private count = 0
  private sum = 0
  private max = 0

  observe(ms: number): void {
    const v = Math.max(ms, 0)
    let i = 0
    while (i < LAG_BUCKETS_MS.length && v > LAG_BUCKETS_MS[i]!) i++
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
      buckets.push([LAG_BUCKETS_MS[i] ?? Number.POSITIVE_INFINITY, acc])
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
