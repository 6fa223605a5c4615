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
    // Median of [-5, 0, 10] (3,600,000 ms is beyond maxOffsetMs: not believed).
    expect(o.correctionMs).toBe(0)
    expect(o.skewed).toBe(false)
  })

  it('a node off the mesh by more than the threshold is flagged and corrected to the median', () => {
    const o = new ClockOffsets()
    // This node is 20 s behind: its three peers' clocks read 20 s ahead of it.
    for (const p of ['a', 'b', 'c']) o.record(p, sample(0, 20_000, 1, 1), 1)
    expect(o.correctionMs).toBe(19_999) // within the 2 ms round trip of the truth
    expect(o.skewed).toBe(true)
    o.forget('a', 2)
    o.forget('b', 2)
    o.forget('c', 2)
    expect(o.correctionMs).toBe(0)
  })

  it('old samples age out', () => {
    const o = new ClockOffsets({ maxSampleAgeMs: 1_000, minPeers: 1 })
    o.record('a', sample(0, 5_000, 1, 1), 0)
    expect(o.correctionMs).toBe(0) // [0, 4999]: of the two middle values, the one nearer 0
    o.record('b', sample(0, 5_000, 1, 1), 10)
    expect(o.correctionMs).toBe(4_999)
    o.record('c', sample(0, 0, 1, 1), 5_000) // recomputes: a's and b's samples are too old
    expect(o.offsetOf('a')).toBeUndefined()
    expect(o.correctionMs).toBe(0)
  })

  it('one peer alone moves nothing, a huge offset is not believed, and a seed holds until two peers answer', () => {
    const o = new ClockOffsets()
    o.record('liar', sample(0, 3_600_000, 1, 1), 1)
    expect(o.correctionMs).toBe(0)
    o.record('honest', sample(0, 10, 1, 1), 1)
    expect(o.correctionMs).toBe(0) // [0, 9]: the liar is beyond maxOffsetMs
    const restarted = new ClockOffsets()
    restarted.seed(-120_000) // this host's clock was 2 min ahead before the restart
    expect(restarted.correctionMs).toBe(-120_000)
    restarted.record('a', sample(0, -120_000, 1, 1), 1)
    expect(restarted.correctionMs).toBe(-120_000)
    restarted.record('b', sample(0, -120_000, 1, 1), 1)
    expect(restarted.correctionMs).toBe(-119_999)
  })
})
