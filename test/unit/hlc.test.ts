import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { HybridClock } from '../../src/clock/hlc.js'
import { compareVersions } from '../../src/clock/version.js'

/** A physical clock driven by the test: jumps forward or backward as told. */
function steppedClock(steps: number[], start = 1_000_000) {
  let t = start
  let i = 0
  return () => {
    t += steps[i++ % steps.length] ?? 0
    return t
  }
}

describe('HybridClock', () => {
  it('stamps strictly increase even when physical time goes backwards', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: -50, max: 50 }), { minLength: 1, maxLength: 200 }),
        (steps) => {
          const clock = new HybridClock({ node: 'a', physical: steppedClock(steps) })
          let prev = clock.now()
          for (let i = 0; i < steps.length * 2; i++) {
            const next = clock.now()
            expect(compareVersions(next, prev)).toBeGreaterThan(0)
            prev = next
          }
        },
      ),
    )
  })

  it('a stamp taken after receiving a remote stamp is larger than it (causality)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.boolean(), fc.integer({ min: -20, max: 20 })), {
          minLength: 1,
          maxLength: 100,
        }),
        (events) => {
          const a = new HybridClock({
            node: 'a',
            physical: steppedClock([3, -1, 2]),
            maxDrift: 1e9,
          })
          const b = new HybridClock({
            node: 'b',
            physical: steppedClock([1, 5, -4], 1_000_050),
            maxDrift: 1e9,
          })
          for (const [aToB] of events) {
            const [from, to] = aToB ? [a, b] : [b, a]
            const sent = from.now()
            to.update(sent)
            expect(compareVersions(to.now(), sent)).toBeGreaterThan(0)
          }
        },
      ),
    )
  })

  it('stays within the drift bound of physical time when peers are honest', () => {
    let t = 5_000
    const clock = new HybridClock({ node: 'a', physical: () => t })
    clock.update({ wall: 5_010, logical: 7, node: 'b' })
    const v = clock.now()
    expect(v.wall).toBe(5_010)
    expect(v.logical).toBe(9)
    t = 6_000
    expect(clock.now()).toEqual({ wall: 6_000, logical: 0, node: 'a' })
  })

  it('rejects remote stamps further ahead than maxDrift and stays unchanged', () => {
    const clock = new HybridClock({ node: 'a', physical: () => 1_000, maxDrift: 100 })
    const before = clock.now()
    expect(clock.update({ wall: 1_101, logical: 0, node: 'evil' })).toBe(false)
    expect(clock.peek()).toEqual(before)
    expect(clock.update({ wall: 1_100, logical: 0, node: 'ok' })).toBe(true)
  })
})
