import type { Clock, Timer } from '../clock/clock.js'

/**
 * The node's periodic upkeep (every `pingIntervalMs`: stale members forgotten, link
 * control, stuck frames, load leases, the mesh view's snapshot). It runs while the node
 * has a connection and parks after a run with none: everything it does is about peers, and
 * a wake-up costs about a millisecond of CPU on a cold cache here (issue 25: a peerless
 * node's idle). A peer's connection resumes it ({@link resume}).
 */
export class UpkeepTick {
  private timer: Timer | undefined
  private parked = false
  private stopped = false

  /**
   * @param alone - true when the node has no connection (checked after each run)
   * @param run - the upkeep
   */
  constructor(
    private readonly clock: Clock,
    private readonly everyMs: number,
    private readonly alone: () => boolean,
    private readonly run: () => void,
  ) {}

  /** Starts the ticks. */
  start(): void {
    this.schedule()
  }

  /** A peer connected: a parked tick starts again (one interval from now). */
  resume(): void {
    if (!this.parked || this.stopped) return
    this.parked = false
    this.schedule()
  }

  /** Whether the tick is parked (no connection at its last run). */
  get isParked(): boolean {
    return this.parked
  }

  stop(): void {
    this.stopped = true
    this.timer?.cancel()
    this.timer = undefined
  }

  private schedule(): void {
    this.timer = this.clock.after(this.everyMs, () => {
      this.timer = undefined
      if (this.stopped) return
      this.run()
      if (this.alone()) this.parked = true
      else this.schedule()
    })
  }
}
