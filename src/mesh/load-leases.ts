import type { Clock } from '../clock/clock.js'
import type { Entry } from '../store/entry.js'

/**
 * Load leases an owner node grants for mesh-wide single flight: per key, one holder may
 * call its loader; everyone else asking meanwhile waits for the value (or the lease's
 * end). Timers only bound waits; time is passed in.
 */
export class LoadLeases {
  private readonly leases = new Map<
    string,
    { holder: string; until: number; waiters: ((e: Entry | undefined) => void)[] }
  >()

  /** When expired leases are next forgotten on a grant (no timer: a peerless node has none running). */
  private pruneAt = 0

  constructor(
    private readonly leaseMs: number,
    private readonly clock: Pick<Clock, 'after'>,
  ) {}

  /** Leases outstanding (the write path checks this before anything else). */
  get size(): number {
    return this.leases.size
  }

  /**
   * Grants the lease of `id` to `holder` (when free, expired or already theirs), or
   * returns a wait that resolves with the holder's value, or undefined when the lease ends.
   */
  grantOrWait(id: string, holder: string, now: number): 'lease' | Promise<Entry | undefined> {
    // Leases of loads that wrote nothing end by time; at most one lease length after the
    // last pass they are forgotten here, whether or not the node's upkeep runs.
    if (now >= this.pruneAt) {
      this.pruneAt = now + this.leaseMs
      this.prune(now)
    }
    const lease = this.leases.get(id)
    if (lease === undefined || lease.until <= now || lease.holder === holder) {
      this.leases.set(id, { holder, until: now + this.leaseMs, waiters: lease?.waiters ?? [] })
      return 'lease'
    }
    return new Promise((resolve) => {
      lease.waiters.push(resolve)
      this.clock.after(lease.until - now, () => resolve(undefined))
    })
  }

  /** Forgets leases that ended (their holders failed or never wrote). @returns how many */
  prune(now: number): number {
    let n = 0
    for (const [id, lease] of this.leases) {
      if (lease.until <= now) {
        this.leases.delete(id)
        n++
      }
    }
    return n
  }

  /** The value of `id` arrived: ends its lease and hands the value to every waiter. */
  settle(id: string, entry: Entry): void {
    const lease = this.leases.get(id)
    if (lease === undefined) return
    this.leases.delete(id)
    for (const w of lease.waiters) w(entry)
  }
}
