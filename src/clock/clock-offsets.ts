import { DEFAULT_MAX_DRIFT_MS } from './hlc.js'

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
    // A round trip below 0 (whole-ms readings, clock rates; a step is refused before
    // this) is at least that uncertain: never a delay of 0 that the min-delay filter
    // would trust over every honest sample.
    delay: Math.abs(s.t4 - s.t1 - (s.t3 - s.t2)),
  }
}

/**
 * False when an exchange cannot be one pair of clocks' readings: the answering clock ran
 * further between the two messages than the asking one did between sending the one and
 * hearing the other (a round trip below `-toleranceMs`): one of them stepped in between.
 * A step the other way shows as a long round trip, which the min-delay filter distrusts.
 */
export function holdsTogether(s: TimeSample, toleranceMs: number): boolean {
  return s.t4 - s.t1 - (s.t3 - s.t2) > -toleranceMs
}

/** Defaults of {@link ClockOffsets}. */
export const CLOCK_OFFSET_DEFAULTS = {
  /** Samples kept per peer; the one with the smallest delay is trusted (min-RTT filter). */
  window: 8,
  /** Samples older than this are dropped (clocks drift), ms. */
  maxSampleAgeMs: 300_000,
  /** A correction (or a disagreement with a majority of peers) larger than this flags this node's clock as skewed, ms. */
  skewThresholdMs: 1_000,
  /** Peers measured before this node corrects anything: one peer alone can be the wrong one. */
  minPeers: 2,
  /**
   * Slack when checking that a new sample agrees with older ones of the same peer, ms:
   * clock rates differ (100 ppm over the 5-minute sample age is 30 ms).
   */
  stepToleranceMs: 50,
  /**
   * The node's `maxClockDrift`, ms: clocks within it of the median agree with it (their
   * stamps are accepted by one another), and a node further than it off a majority of its
   * peers, uncorrected, refuses writes.
   */
  maxDriftMs: DEFAULT_MAX_DRIFT_MS,
} as const

/** This node's clock against the mesh, as {@link ClockOffsets.stats} reports it. */
export interface ClockReport {
  /** What this node adds to its raw clock to read the mesh median clock, ms. */
  correctionMs: number
  /** True when this node's clock is flagged: corrected by more than 1 s, or that far off a majority of its peers. */
  skewed: boolean
  /** Peers whose clock offset is known. */
  peersMeasured: number
  /** True when a strict majority of clocks (this node's and its measured peers') back the correction. */
  agreed: boolean
  /** True while writes are refused (`ClockSkewError`): too far off a majority of peers, and no correction agreed. */
  refusingWrites: boolean
  /** This node's corrected clock minus that of a majority of its measured peers, ms (0: within uncertainty). */
  meshOffsetMs: number
  /** What is wrong and what to do, when `skewed`. */
  reason?: string
}

interface Sample {
  offset: number
  delay: number
  at: number
}

/** A peer's clock as measured: best offset estimate and its uncertainty (half the round trip), ms. */
interface Estimate {
  peer: string
  offset: number
  uncertainty: number
}

/**
 * This node's view of the mesh's clocks: an offset estimate per peer (NTP-style, min-RTT
 * filtered), the correction that brings this node's clock to the mesh median, and whether
 * this node may write at all.
 *
 * Every node estimates the peers' **raw** clocks against its own raw clock and corrects
 * itself by the median of {0 (itself)} and those offsets, **when a strict majority of
 * those clocks agree with the median** (lie within `maxDriftMs` of it, beyond their
 * measurement uncertainty), whatever the size of the correction. All nodes thus converge
 * on the median of the raw clocks (one broken clock cannot move it), and since raw
 * readings are never corrected, corrections do not feed back into the estimates. Without
 * such a majority (fewer than `minPeers` peers, or clocks spread too far apart) the
 * correction is held (the last agreed one, or the one saved before a restart), and a node
 * whose corrected clock lies more than `maxDriftMs` off a strict majority of its measured
 * peers' clocks (as they stamp: corrected by what they report) refuses writes
 * ({@link writeRefusal}): those peers would refuse its stamps as drift, or drop its values
 * as expired. Pure: time is a parameter.
 */
export class ClockOffsets {
  private readonly samples = new Map<string, Sample[]>()
  /** The correction each peer reported with its last answer (its stamps are its raw clock plus it). */
  private readonly reported = new Map<string, number>()
  private readonly window: number
  private readonly maxAgeMs: number
  private readonly skewThresholdMs: number
  private readonly minPeers: number
  private readonly maxDriftMs: number
  private readonly stepToleranceMs: number
  private correction = 0
  private agreedNow = false
  private aheadMs = 0
  private behindMs = 0
  private beyond = 0
  private refusal: string | undefined
  private why: string | undefined

  constructor(
    options: {
      window?: number
      maxSampleAgeMs?: number
      skewThresholdMs?: number
      minPeers?: number
      maxDriftMs?: number
      stepToleranceMs?: number
    } = {},
  ) {
    this.window = options.window ?? CLOCK_OFFSET_DEFAULTS.window
    this.maxAgeMs = options.maxSampleAgeMs ?? CLOCK_OFFSET_DEFAULTS.maxSampleAgeMs
    this.skewThresholdMs = options.skewThresholdMs ?? CLOCK_OFFSET_DEFAULTS.skewThresholdMs
    this.minPeers = options.minPeers ?? CLOCK_OFFSET_DEFAULTS.minPeers
    this.maxDriftMs = options.maxDriftMs ?? CLOCK_OFFSET_DEFAULTS.maxDriftMs
    this.stepToleranceMs = options.stepToleranceMs ?? CLOCK_OFFSET_DEFAULTS.stepToleranceMs
  }

  /**
   * Starts from a correction this node had before a restart (its data dir), held until
   * enough peers agree on one. Ignored beyond `maxDriftMs` (a damaged file must not move
   * the clock further than peers would accept).
   */
  seed(correctionMs: number): void {
    if (Number.isFinite(correctionMs) && Math.abs(correctionMs) <= this.maxDriftMs) {
      if (this.samples.size < this.minPeers) {
        this.correction = Math.round(correctionMs)
        this.assess()
      }
    }
  }

  /**
   * Records an exchange with `peer` at monotonic time `now` (samples age by it; the wall
   * clock steps), and recomputes the correction.
   * @param peerCorrection - the correction the peer reported (what it adds to its raw
   *   clock); undefined when it reports none (an older node: taken as 0)
   */
  record(peer: string, sample: TimeSample, now: number, peerCorrection?: number): void {
    const { offset, delay } = offsetOf(sample)
    if (!Number.isFinite(offset) || !Number.isFinite(delay)) return
    let list = this.samples.get(peer)
    if (list === undefined) {
      list = []
      this.samples.set(peer, list)
    }
    // A sample that the older ones cannot both be right with (their error intervals,
    // ±delay/2, do not meet) means a clock stepped (the peer restarted with its time
    // fixed, or a host's clock was set): the older samples measured another clock.
    const stepped = list.filter(
      (s) => Math.abs(s.offset - offset) > (s.delay + delay) / 2 + this.stepToleranceMs,
    )
    if (stepped.length > 0) list.splice(0, list.length, ...list.filter((s) => !stepped.includes(s)))
    list.push({ offset, delay, at: now })
    if (list.length > this.window) list.shift()
    if (peerCorrection !== undefined && Number.isFinite(peerCorrection)) {
      this.reported.set(peer, peerCorrection)
    } else {
      this.reported.delete(peer)
    }
    this.recompute(now)
  }

  /** Forgets a peer (it left the mesh). */
  forget(peer: string, now: number): void {
    this.reported.delete(peer)
    if (this.samples.delete(peer)) this.recompute(now)
  }

  /**
   * The best estimate of `peer`'s raw clock minus ours, ms: from the sample with the
   * smallest round trip, the value nearest zero that the sample allows (the true offset
   * lies within ±delay/2 of the measured one). A slow first exchange (stream negotiation, a
   * busy event loop) thus cannot make up an offset of tens of ms between clocks that
   * agree; a real skew of seconds is corrected to within the round trip.
   */
  offsetOf(peer: string): number | undefined {
    return this.estimate(peer)?.offset
  }

  /** The correction `peer` reports applying, heard without a sample (a control message). */
  noteCorrection(peer: string, correction: number): void {
    if (Number.isFinite(correction) && this.samples.has(peer)) this.reported.set(peer, correction)
  }

  /** The correction `peer` reported with its last answer, ms; undefined for older nodes. */
  reportedCorrectionOf(peer: string): number | undefined {
    return this.reported.get(peer)
  }

  /**
   * How far `peer`'s stamps may run ahead of this node's (corrected) clock, ms: the larger
   * of its raw clock and its corrected clock (raw plus the correction it reported), minus
   * ours. A stamp far ahead was made on one of them: on its raw clock before it corrected
   * itself, or on a correction that is wrong. Undefined when not measured.
   */
  leadOf(peer: string): number | undefined {
    const offset = this.offsetOf(peer)
    if (offset === undefined) return undefined
    return Math.max(offset, offset + (this.reported.get(peer) ?? 0)) - this.correction
  }

  /** True when `peer`'s raw clock is off this node's corrected clock (the mesh's) by more than the threshold. */
  peerSkewed(peer: string): boolean {
    const offset = this.offsetOf(peer)
    return offset !== undefined && Math.abs(offset - this.correction) > this.skewThresholdMs
  }

  /** Ids of the peers with an estimate. */
  measured(): string[] {
    return [...this.samples.keys()]
  }

  /** Peers with an estimate. */
  get peers(): number {
    return this.samples.size
  }

  /** What to add to this node's raw clock to read the mesh median clock, ms. */
  get correctionMs(): number {
    return this.correction
  }

  /**
   * True when this node's clock is flagged: corrected by more than the threshold, or off
   * a strict majority of its measured peers by more than it.
   */
  get skewed(): boolean {
    return this.why !== undefined
  }

  /**
   * Why this node must refuse writes now, or undefined: its corrected clock is more than
   * `maxDriftMs` off a strict majority of its measured peers, and no majority agrees on a
   * correction (see the class). Read by the HLC on every write.
   */
  get writeRefusal(): string | undefined {
    return this.refusal
  }

  /** This node's clock against the mesh, for `stats().mesh.clock`. */
  stats(): ClockReport {
    return {
      correctionMs: this.correction,
      skewed: this.skewed,
      peersMeasured: this.samples.size,
      agreed: this.agreedNow,
      refusingWrites: this.refusal !== undefined,
      // `|| 0`: never -0 (a fraction of a ms behind rounds to it).
      meshOffsetMs: Math.round(this.aheadMs > 0 ? this.aheadMs : -this.behindMs) || 0,
      ...(this.why === undefined ? {} : { reason: this.why }),
    }
  }

  private estimate(peer: string): Estimate | undefined {
    let best: Sample | undefined
    for (const s of this.samples.get(peer) ?? [])
      if (best === undefined || s.delay < best.delay) best = s
    if (best === undefined) return undefined
    const slack = best.delay / 2
    const offset =
      Math.abs(best.offset) <= slack
        ? 0
        : best.offset > 0
          ? best.offset - slack
          : best.offset + slack
    return { peer, offset, uncertainty: slack }
  }

  private recompute(now: number): void {
    const estimates: Estimate[] = []
    for (const [peer, list] of this.samples) {
      while (list.length > 0 && now - list[0]!.at > this.maxAgeMs) list.shift()
      if (list.length === 0) {
        this.samples.delete(peer)
        this.reported.delete(peer)
        continue
      }
      estimates.push(this.estimate(peer)!)
    }
    this.agreedNow = false
    if (estimates.length >= this.minPeers) {
      const median = medianNearZero([0, ...estimates.map((e) => e.offset)])
      // The clocks backing the median: this node's (exact) and each peer's within its
      // uncertainty. A strict majority of them makes the correction, whatever its size.
      let backers = Math.abs(median) <= this.maxDriftMs ? 1 : 0
      for (const e of estimates) {
        if (Math.abs(e.offset - median) <= this.maxDriftMs + e.uncertainty) backers++
      }
      if (2 * backers > estimates.length + 1) {
        // Whole ms: stamps and expiries are integers.
        this.correction = Math.round(median)
        this.agreedNow = true
      }
    }
    // Otherwise the correction is held: the last agreed one, or the seed.
    this.assess(estimates)
  }

  /** Sets the flag, the refusal and their reason from the estimates and the correction. */
  private assess(estimates: Estimate[] = this.current()): void {
    const n = estimates.length
    // This node's corrected clock minus each peer's stamping clock, as an interval.
    const low: number[] = []
    const high: number[] = []
    for (const e of estimates) {
      const lead = this.correction - e.offset - (this.reported.get(e.peer) ?? 0)
      low.push(lead - e.uncertainty)
      high.push(lead + e.uncertainty)
    }
    // Ahead of (behind) a strict majority by at least the k-th largest lower bound (the
    // k-th smallest upper bound), k = floor(n/2) + 1.
    const k = n >> 1
    this.aheadMs = n === 0 ? 0 : Math.max(0, low.sort((a, b) => b - a)[k]!)
    this.behindMs = n === 0 ? 0 : Math.max(0, -high.sort((a, b) => a - b)[k]!)
    const off = Math.max(this.aheadMs, this.behindMs)
    const dir = this.aheadMs > 0 ? 'ahead of' : 'behind'
    const drift = this.maxDriftMs
    this.refusal = undefined
    this.why = undefined
    if (off > drift) {
      this.beyond =
        this.aheadMs > 0
          ? low.filter((l) => l > drift).length
          : high.filter((h) => h < -drift).length
      this.refusal = `this node's clock is ${Math.round(off)} ms ${dir} ${this.beyond} of the ${n} peers it measured, beyond maxClockDrift (${drift} ms), and no majority of clocks agrees on a correction: writes are refused (ERR_CLOCK_SKEW), since those peers would not hold them; fix this host's time source (NTP), or add peers that agree`
      this.why = this.refusal
    } else if (Math.abs(this.correction) > this.skewThresholdMs) {
      this.why = `this node's clock is ${-this.correction} ms off the mesh median and corrected by ${this.correction} ms${this.agreedNow ? '' : ' (held: no majority of clocks agrees now)'}; fix this host's time source (NTP)`
    } else if (off > this.skewThresholdMs) {
      this.why = `this node's clock is ${Math.round(off)} ms ${dir} a majority of the ${n} peers it measured and no majority of clocks agrees on a correction; its writes are still held (within maxClockDrift, ${drift} ms); fix the time source of whichever is wrong`
    }
  }

  private current(): Estimate[] {
    const out: Estimate[] = []
    for (const peer of this.samples.keys()) out.push(this.estimate(peer)!)
    return out
  }
}

/**
 * The median of `values`; of the two middle values of an even count, the one nearer zero
 * (no correction is the safer default), never their mean, which one far value could drag.
 */
function medianNearZero(values: number[]): number {
  values.sort((a, b) => a - b)
  const mid = values.length >> 1
  if (values.length % 2 === 1) return values[mid]!
  const lo = values[mid - 1]!
  const hi = values[mid]!
  return Math.abs(lo) <= Math.abs(hi) ? lo : hi
}
