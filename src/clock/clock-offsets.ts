/**
 * One NTP-style exchange with a peer, four raw wall-clock readings (ms): `t1` request
 * sent and `t4` answer received, on this node's clock; `t2` request received and `t3`
 * answer sent, on the peer's clock.
 */
export interface TimeSample {
  t1: number
  t2: number
  t3: number
  t4: number
}

/** The peer's clock minus ours (ms), and the round trip the sample took (ms). */
export function offsetOf(s: TimeSample): { offset: number; delay: number } {
  // RFC 5905 §8: the offset assumes symmetric paths; its error is at most delay / 2.
  return {
    offset: (s.t2 - s.t1 + (s.t3 - s.t4)) / 2,
    delay: Math.max(0, s.t4 - s.t1 - (s.t3 - s.t2)),
  }
}

/** Defaults of {@link ClockOffsets}. */
export const CLOCK_OFFSET_DEFAULTS = {
  /** Samples kept per peer; the one with the smallest delay is trusted (min-RTT filter). */
  window: 8,
  /** Samples older than this are dropped (clocks drift), ms. */
  maxSampleAgeMs: 300_000,
  /** A correction larger than this flags this node's clock as skewed, ms. */
  skewThresholdMs: 1_000,
  /** Peer offsets larger than this are not believed (a broken or hostile peer), ms. */
  maxOffsetMs: 600_000,
  /** Peers measured before this node corrects anything: one peer alone can be the wrong one. */
  minPeers: 2,
} as const

interface Sample {
  offset: number
  delay: number
  at: number
}

/**
 * This node's view of the mesh's clocks: an offset estimate per peer (NTP-style, min-RTT
 * filtered) and the correction that brings this node's clock to the mesh median.
 *
 * Every node estimates the peers' **raw** clocks against its own raw clock, and corrects
 * itself by the median of {0 (itself)} and those offsets. All nodes thus converge on the
 * median of the raw clocks (one broken clock cannot move it), and since raw readings are
 * never corrected, corrections do not feed back into the estimates. Pure: time is a
 * parameter.
 */
export class ClockOffsets {
  private readonly samples = new Map<string, Sample[]>()
  private readonly window: number
  private readonly maxAgeMs: number
  private readonly skewThresholdMs: number
  private readonly maxOffsetMs: number
  private readonly minPeers: number
  private correction = 0
  /** The correction to use until enough peers are measured (saved before a restart). */
  private seeded = 0

  constructor(
    options: {
      window?: number
      maxSampleAgeMs?: number
      skewThresholdMs?: number
      maxOffsetMs?: number
      minPeers?: number
    } = {},
  ) {
    this.window = options.window ?? CLOCK_OFFSET_DEFAULTS.window
    this.maxAgeMs = options.maxSampleAgeMs ?? CLOCK_OFFSET_DEFAULTS.maxSampleAgeMs
    this.skewThresholdMs = options.skewThresholdMs ?? CLOCK_OFFSET_DEFAULTS.skewThresholdMs
    this.maxOffsetMs = options.maxOffsetMs ?? CLOCK_OFFSET_DEFAULTS.maxOffsetMs
    this.minPeers = options.minPeers ?? CLOCK_OFFSET_DEFAULTS.minPeers
  }

  /**
   * Starts from a correction this node had before a restart (its data dir), kept until
   * enough peers are measured again. Bounded like any offset.
   */
  seed(correctionMs: number): void {
    if (Number.isFinite(correctionMs) && Math.abs(correctionMs) <= this.maxOffsetMs) {
      this.seeded = Math.round(correctionMs)
      if (this.samples.size < this.minPeers) this.correction = this.seeded
    }
  }

  /** Records an exchange with `peer` at raw local time `now`, and recomputes the correction. */
  record(peer: string, sample: TimeSample, now: number): void {
    const { offset, delay } = offsetOf(sample)
    if (!Number.isFinite(offset) || !Number.isFinite(delay)) return
    let list = this.samples.get(peer)
    if (list === undefined) {
      list = []
      this.samples.set(peer, list)
    }
    list.push({ offset, delay, at: now })
    if (list.length > this.window) list.shift()
    this.recompute(now)
  }

  /** Forgets a peer (it left the mesh). */
  forget(peer: string, now: number): void {
    if (this.samples.delete(peer)) this.recompute(now)
  }

  /**
   * The best estimate of `peer`'s clock minus ours, ms: from the sample with the smallest
   * round trip, the value nearest zero that the sample allows (the true offset lies
   * within ±delay/2 of the measured one). A slow first exchange (stream negotiation, a
   * busy event loop) thus cannot make up an offset of tens of ms between clocks that
   * agree; a real skew of seconds is corrected to within the round trip.
   */
  offsetOf(peer: string): number | undefined {
    const best = this.best(this.samples.get(peer))
    if (best === undefined) return undefined
    const slack = best.delay / 2
    if (Math.abs(best.offset) <= slack) return 0
    return best.offset > 0 ? best.offset - slack : best.offset + slack
  }

  /** Peers with an estimate. */
  get peers(): number {
    return this.samples.size
  }

  /** What to add to this node's raw clock to read the mesh median clock, ms. */
  get correctionMs(): number {
    return this.correction
  }

  /** True when this node's clock is off the mesh median by more than the threshold. */
  get skewed(): boolean {
    return Math.abs(this.correction) > this.skewThresholdMs
  }

  private best(list: Sample[] | undefined): Sample | undefined {
    let best: Sample | undefined
    for (const s of list ?? []) if (best === undefined || s.delay < best.delay) best = s
    return best
  }

  private recompute(now: number): void {
    const offsets = [0]
    for (const [peer, list] of this.samples) {
      while (list.length > 0 && now - list[0]!.at > this.maxAgeMs) list.shift()
      if (list.length === 0) {
        this.samples.delete(peer)
        continue
      }
      const offset = this.offsetOf(peer)!
      // A peer claiming a clock more than maxOffsetMs away is not believed.
      if (Math.abs(offset) <= this.maxOffsetMs) offsets.push(offset)
    }
    if (offsets.length - 1 < this.minPeers) {
      this.correction = this.seeded
      return
    }
    offsets.sort((a, b) => a - b)
    const mid = offsets.length >> 1
    // An even count has two middle values: take the one nearer zero (no correction is the
    // safer default), never their mean, which one far value could drag.
    const median =
      offsets.length % 2 === 1
        ? offsets[mid]!
        : Math.abs(offsets[mid - 1]!) <= Math.abs(offsets[mid]!)
          ? offsets[mid - 1]!
          : offsets[mid]!
    // Whole ms: stamps and expiries are integers.
    this.correction = Math.round(median)
  }
}
