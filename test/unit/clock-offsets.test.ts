import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { ClockOffsets, offsetOf } from '../../src/clock/clock-offsets.js'

/** An exchange with a peer whose clock is `offset` ahead, with one-way delays `up` and `down`. */
function sample(t1: number, offset: number, up: number, down: number, service = 0) {
  const t2 = t1 + up + offset
  const t3 = t2 + service
  const t4 = t3 - offset + down
  return { t1, t2, t3, t4 }
}

const HALF_HOUR = 1_800_000

describe('clock offsets (NTP-style, min-RTT filtered, mesh median)', () => {
  it('an exchange over symmetric paths gives the exact offset and the round trip', () => {
    expect(offsetOf(sample(1_000, 20_000, 5, 5, 1))).toEqual({ offset: 20_000, delay: 10 })
    expect(offsetOf(sample(1_000, -45_000, 2, 2))).toEqual({ offset: -45_000, delay: 4 })
  })

  it('the estimate is within half the round trip whatever the asymmetry (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -200_000, max: 200_000 }),
        fc.integer({ min: 0, max: 500 }),
        fc.integer({ min: 0, max: 500 }),
        (offset, up, down) => {
          const { offset: est, delay } = offsetOf(sample(10_000, offset, up, down))
          expect(Math.abs(est - offset)).toBeLessThanOrEqual(delay / 2 + 1e-9)
        },
      ),
    )
  })

  it('the sample with the smallest round trip wins over noisier ones', () => {
    const o = new ClockOffsets()
    o.record('p', sample(0, 1_000, 300, 10), 1) // asymmetric and slow: estimate off by 145
    o.record('p', sample(10, 1_000, 1, 1), 20) // fast: exact
    o.record('p', sample(20, 1_000, 10, 200), 30)
    expect(o.offsetOf('p')).toBe(999) // 1,000 trimmed by half the 2 ms round trip
  })

  it('an offset within the uncertainty of its sample (half the round trip) counts as zero; a larger one is trimmed by it', () => {
    const o = new ClockOffsets()
    o.record('slow', sample(0, 0, 80, 10), 1) // measured +35 ms over a 90 ms round trip
    expect(o.offsetOf('slow')).toBe(0)
    o.record('skewed', sample(0, 20_000, 5, 5), 1) // +20 s over a 10 ms round trip
    expect(o.offsetOf('skewed')).toBe(19_995)
  })

  it('the correction is the median of this node (0) and its peers: one broken clock cannot move it', () => {
    const o = new ClockOffsets()
    o.record('a', sample(0, 10, 1, 1), 1)
    o.record('b', sample(0, -5, 1, 1), 1)
    o.record('broken', sample(0, 3_600_000, 1, 1), 1)
    // Median of [-5, 0, 9, 3,599,999]: of the two middle values, the one nearer 0.
    expect(o.correctionMs).toBe(0)
    expect(o.skewed).toBe(false)
    expect(o.writeRefusal).toBeUndefined()
    expect(o.peerSkewed('broken')).toBe(true)
    expect(o.peerSkewed('a')).toBe(false)
  })

  it('a node off the mesh by more than the threshold is flagged and corrected to the median', () => {
    const o = new ClockOffsets()
    // This node is 20 s behind: its three peers' clocks read 20 s ahead of it.
    for (const p of ['a', 'b', 'c']) o.record(p, sample(0, 20_000, 1, 1), 1)
    expect(o.correctionMs).toBe(19_999) // within the 2 ms round trip of the truth
    expect(o.skewed).toBe(true)
    expect(o.stats()).toMatchObject({ agreed: true, refusingWrites: false, peersMeasured: 3 })
    expect(o.stats().reason).toMatch(/-19999 ms off the mesh median and corrected by 19999 ms/)
    // Peers gone: the correction is held (the host clock is still 20 s behind), still flagged.
    o.forget('a', 2)
    o.forget('b', 2)
    o.forget('c', 2)
    expect(o.correctionMs).toBe(19_999)
    expect(o.skewed).toBe(true)
    expect(o.stats().agreed).toBe(false)
  })

  it('old samples age out', () => {
    const o = new ClockOffsets({ maxSampleAgeMs: 1_000, minPeers: 1 })
    o.record('a', sample(0, 5_000, 1, 1), 0)
    expect(o.correctionMs).toBe(0) // [0, 4999]: of the two middle values, the one nearer 0
    o.record('b', sample(0, 5_000, 1, 1), 10)
    expect(o.correctionMs).toBe(4_999)
    o.record('c', sample(0, 0, 1, 1), 5_000) // recomputes: a's and b's samples are too old
    expect(o.offsetOf('a')).toBeUndefined()
    expect(o.correctionMs).toBe(0) // [0, 0]: c alone (minPeers 1) agrees with this node
  })

  it('one peer alone moves nothing, a far clock does not move the median, and a seed holds until two peers agree', () => {
    const o = new ClockOffsets()
    o.record('liar', sample(0, 3_600_000, 1, 1), 1)
    expect(o.correctionMs).toBe(0)
    o.record('honest', sample(0, 10, 1, 1), 1)
    expect(o.correctionMs).toBe(9) // median of [0, 9, 3,599,999]
    const restarted = new ClockOffsets()
    restarted.seed(-45_000) // this host's clock was 45 s ahead before the restart
    expect(restarted.correctionMs).toBe(-45_000)
    restarted.record('a', sample(0, -45_000, 1, 1), 1)
    expect(restarted.correctionMs).toBe(-45_000)
    restarted.record('b', sample(0, -45_000, 1, 1), 1)
    expect(restarted.correctionMs).toBe(-44_999)
    // A saved correction beyond maxClockDrift is not believed (a damaged file).
    const damaged = new ClockOffsets()
    damaged.seed(-120_000)
    expect(damaged.correctionMs).toBe(0)
  })

  it('a node 30 min fast with two agreeing peers corrects by 30 min (no cap) and is flagged, not refused', () => {
    const o = new ClockOffsets()
    o.record('b', sample(0, -HALF_HOUR, 1, 1), 1)
    // One peer alone: no correction, and this node is 30 min ahead of it: refused.
    expect(o.correctionMs).toBe(0)
    expect(o.writeRefusal).toMatch(/1799998 ms ahead of 1 of the 1 peers/)
    o.record('c', sample(0, -HALF_HOUR, 1, 1), 1)
    expect(o.correctionMs).toBe(-HALF_HOUR + 1)
    expect(o.writeRefusal).toBeUndefined()
    expect(o.stats()).toMatchObject({ skewed: true, agreed: true, refusingWrites: false })
    expect(o.stats().meshOffsetMs).toBe(0)
    // The peers' stamps read (raw offset, minus our correction) about zero ahead.
    expect(Math.abs(o.leadOf('b')!)).toBeLessThanOrEqual(1)
  })

  it('the same for a node 30 min slow', () => {
    const o = new ClockOffsets()
    o.record('b', sample(0, HALF_HOUR, 1, 1), 1)
    expect(o.writeRefusal).toMatch(/ms behind 1 of the 1 peers/)
    o.record('c', sample(0, HALF_HOUR, 1, 1), 1)
    expect(o.correctionMs).toBe(HALF_HOUR - 1)
    expect(o.stats()).toMatchObject({ skewed: true, refusingWrites: false })
  })

  it('a correct node with one peer 30 min off and one correct: no correction, no flag, the far peer flagged', () => {
    const o = new ClockOffsets()
    o.record('fast', sample(0, HALF_HOUR, 1, 1), 1)
    o.record('ok', sample(0, 3, 1, 1), 1)
    expect(o.correctionMs).toBe(2) // median of [0, 2, 1,799,999]
    expect(o.stats()).toMatchObject({ skewed: false, agreed: true, refusingWrites: false })
    expect(o.peerSkewed('fast')).toBe(true)
    expect(o.peerSkewed('ok')).toBe(false)
  })

  it('no majority of clocks: the correction is held, and a node far from a majority of its peers refuses writes', () => {
    // Two peers, each 30 min away from this node and from each other.
    const o = new ClockOffsets()
    o.record('ahead', sample(0, HALF_HOUR, 1, 1), 1)
    o.record('behind', sample(0, -HALF_HOUR, 1, 1), 1)
    // This node is the median, but no majority backs it: held at 0; ahead of one, behind
    // the other: not off a majority, so it writes.
    expect(o.correctionMs).toBe(0)
    expect(o.stats()).toMatchObject({ agreed: false, refusingWrites: false, skewed: false })
    // Two peers 30 min behind and 2 h behind: no majority again, but this node is ahead of both.
    const far = new ClockOffsets()
    far.record('p', sample(0, -HALF_HOUR, 1, 1), 1)
    far.record('q', sample(0, -4 * HALF_HOUR, 1, 1), 1)
    expect(far.correctionMs).toBe(0)
    expect(far.stats()).toMatchObject({ agreed: false, refusingWrites: true, skewed: true })
    expect(far.writeRefusal).toMatch(/ahead of 2 of the 2 peers/)
  })

  it("a peer's reported correction counts: a corrected peer's stamps agree with ours whatever its raw clock", () => {
    const o = new ClockOffsets()
    // One peer, 30 min fast but corrected by -30 min (its mesh agreed): no refusal.
    o.record('corrected', sample(0, HALF_HOUR, 1, 1), 1, -HALF_HOUR)
    expect(o.writeRefusal).toBeUndefined()
    expect(o.reportedCorrectionOf('corrected')).toBe(-HALF_HOUR)
    // A stamp of it far ahead was made on its raw clock (before it corrected): read through that.
    expect(o.leadOf('corrected')).toBe(HALF_HOUR - 1)
    // Uncorrected, the same peer means this node is 30 min behind it.
    o.record('corrected', sample(0, HALF_HOUR, 1, 1), 2)
    expect(o.writeRefusal).toMatch(/behind/)
  })

  it('a peer whose clock stepped (restarted with its time fixed) is measured anew at once, not after its old samples age out', () => {
    const o = new ClockOffsets()
    o.record('p', sample(0, HALF_HOUR, 0, 0), 1) // an exact sample: the min-RTT filter's favourite
    o.record('p', sample(10, 0, 5, 5), 20)
    expect(o.offsetOf('p')).toBe(0)
    // Noise within the samples' error intervals is not a step.
    o.record('p', sample(20, 0, 40, 2), 30)
    expect(o.offsetOf('p')).toBe(0)
  })

  it('a refusal needs the offset beyond the drift bound after the uncertainty of the measurement', () => {
    const o = new ClockOffsets()
    // Measured 61 s behind over a 4 s round trip: between 59 and 63 s. Not sure: no refusal.
    o.record('p', sample(0, -61_000, 2_000, 2_000), 1)
    expect(o.writeRefusal).toBeUndefined()
    expect(o.skewed).toBe(true)
    o.record('p', sample(10, -61_000, 1, 1), 2)
    expect(o.writeRefusal).toBeDefined()
  })

  it('with a strict majority of clocks within 1 s of each other, the correction lands among them and no write is refused, whatever the others (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -86_400_000, max: 86_400_000 }),
        fc.boolean(),
        fc.array(fc.integer({ min: -500, max: 500 }), { minLength: 1, maxLength: 6 }),
        fc.array(fc.integer({ min: -1e11, max: 1e11 }), { maxLength: 6 }),
        (center, selfHonest, honest, others) => {
          // Honest clocks lie within ±500 ms of `center`: the peers in `honest`, and this
          // node's own when `selfHonest` (else its raw clock reads 0, anywhere).
          const clocks = 1 + honest.length + others.length
          fc.pre(2 * (honest.length + (selfHonest ? 1 : 0)) > clocks && clocks >= 3)
          const self = selfHonest ? center : 0
          const o = new ClockOffsets()
          for (const [i, d] of honest.entries())
            o.record(`h${i}`, sample(0, center + d - self, 1, 1), 1)
          for (const [i, x] of others.entries()) o.record(`x${i}`, sample(0, x, 1, 1), 1)
          // This node's corrected clock is among the honest ones (±1 ms of measurement).
          expect(self + o.correctionMs).toBeGreaterThanOrEqual(center - 501)
          expect(self + o.correctionMs).toBeLessThanOrEqual(center + 501)
          expect(o.writeRefusal).toBeUndefined()
        },
      ),
    )
  })
})
