import type { Clock, Timer } from '../clock/clock.js'

/**
 * The node's periodic upkeep (every `pingIntervalMs`: stale members forgotten, link
 * control, stuck frames, load leases, the mesh view's snapshot). It runs while the node
 * has a connection, once more after the last one went (disconnected peers' clock samples
 * must stop counting), and then parks: everything it does is about peers (a node that
 * lost them all keeps its member list to redial; load leases prune themselves), and a run
 * costs about a millisecond of CPU on a cold cache here, the first one ~10 ms (issue 25: a
 * peerless node's idle). A peer's connection resumes it ({@link resume}).
 */
export class UpkeepTick {
  private timer: Timer | undefined
  private parked = false
  private stopped = false
  /** No connection at the last run (a node starts with none). */
  private wasAlone = true

  /**
   * @param alone - true when the node has no connection (checked when a run falls due)
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

  /** Whether the tick is parked (no connection when it last fell due). */
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
      // One run after the last connection went (its clock samples are forgotten, the mesh
      // view notes it), then none while alone.
      const alone = this.alone()
      if (alone && this.wasAlone) {
        this.parked = true
        return
      }
      this.wasAlone = alone
      this.run()
      this.schedule()
    })
  }
}
