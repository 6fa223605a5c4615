import type { ClockOffsets, TimeSample } from '../clock/clock-offsets.js'
import { logger } from '../log.js'
import { connectedPeerIds } from './connected-peers.js'
import type { MeshContext } from './mesh-context.js'

const log = logger('meshcache:clock')

/**
 * Measures the peers' clocks from NTP-style samples (four timestamps read from the **raw**
 * wall clock on both sides, never the corrected one, so corrections cannot feed back),
 * taken by {@link LinkControl}'s pings on the links' relay streams; the estimates, this
 * node's correction and its write refusal live in {@link ClockOffsets}. Each pong also
 * carries the correction its sender applies, so each side knows what the other's stamps
 * read.
 */
export class TimeSync {
  private skewedBefore = false
  private refusingBefore = false

  constructor(
    private readonly ctx: MeshContext,
    private readonly offsets: ClockOffsets,
    /** The host's raw wall clock. */
    readonly rawNow: () => number = () => ctx.clock.hostNow(),
  ) {}

  /** A sample of `peer`'s clock (and the correction it reported applying). */
  record(peer: string, sample: TimeSample, peerCorrection: number | undefined): void {
    // Samples age by the monotonic clock: a step of the wall clock (set by hand, NTP)
    // must not age them all at once, nor keep them forever.
    this.offsets.record(peer, sample, this.ctx.clock.monotonic(), peerCorrection)
    this.report()
  }

  /** The correction `peer` reports applying, heard without a clock sample. */
  noteCorrection(peer: string, correction: number): void {
    this.offsets.noteCorrection(peer, correction)
  }

  /**
   * Forgets the clocks of peers no longer connected: the majority that corrects this
   * node, or refuses its writes, is made of the peers it can reach now (a node that left,
   * or restarted with another clock, must not count for the five minutes its samples
   * would live).
   */
  forgetDisconnected(): void {
    const connected = new Set(connectedPeerIds(this.ctx.node))
    for (const id of this.offsets.measured()) if (!connected.has(id)) this.forget(id)
  }

  /** A peer left for good. */
  forget(peer: string): void {
    this.offsets.forget(peer, this.ctx.clock.monotonic())
    this.report()
  }
  /** Logs when this node's clock becomes (or stops being) skewed or refused against the mesh. */
  private report(): void {
    const skewed = this.offsets.skewed
    const refusing = this.offsets.writeRefusal !== undefined
    if (skewed === this.skewedBefore && refusing === this.refusingBefore) return
    this.skewedBefore = skewed
    this.refusingBefore = refusing
    const { reason, correctionMs } = this.offsets.stats()
    if (skewed) log('clock skewed: %s', reason)
    else
      log(
        'this node clock is back within the threshold of the mesh (correction %d ms)',
        correctionMs,
      )
  }
}
