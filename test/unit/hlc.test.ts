import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { HybridClock, type MeshClockView } from '../../src/clock/hlc.js'
import { compareVersions } from '../../src/clock/version.js'
import { ClockSkewError } from '../../src/errors.js'

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
  it('stamps strictly increase when physical time goes back by less than the lead bound', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: -50, max: 50 }), { minLength: 1, maxLength: 200 }),
        (steps) => {
          // A lead bound wider than any walk of these steps: the clock never has to follow
          // physical time back (a step back beyond the bound is tested below).
          const clock = new HybridClock({ node: 'a', physical: steppedClock(steps), maxLead: 1e9 })
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

  it('a peer stamp far ahead moves the clock at most maxLead ahead of physical time (property)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(fc.integer({ min: 0, max: 50 }), fc.integer({ min: -5_000, max: 60_000 })),
          { minLength: 1, maxLength: 100 },
        ),
        (events) => {
          let t = 1_000_000
          const clock = new HybridClock({ node: 'a', physical: () => t })
          for (const [step, ahead] of events) {
            t += step
            clock.update({ wall: t + ahead, logical: 3, node: 'b' })
            const v = clock.now()
            expect(v.wall - t).toBeLessThanOrEqual(clock.maxLead)
            expect(v.wall).toBeGreaterThanOrEqual(t)
          }
        },
      ),
    )
  })

  it("a stamp read through its writer's measured lead does not move the clock at all", () => {
    let t = 1_000_000
    const mesh: MeshClockView = {
      writeRefusal: undefined,
      leadOf: (node) => (node === 'fast' ? 20_000 : undefined),
    }
    const clock = new HybridClock({ node: 'a', physical: () => t, mesh })
    clock.update({ wall: t + 20_000, logical: 0, node: 'fast' }) // written just now by a clock 20 s ahead
    expect(clock.now()).toEqual({ wall: t, logical: 2, node: 'a' })
    // Unmeasured writer: the stamp counts, but no further than the bound.
    clock.update({ wall: t + 20_000, logical: 0, node: 'unknown' })
    expect(clock.now().wall).toBe(t + clock.maxLead)
    t += 5_000
    expect(clock.now()).toEqual({ wall: t, logical: 0, node: 'a' })
  })

  it('a write after a version ahead of the clock is stamped just after it; beyond the drift bound it is refused', () => {
    const t = 1_000_000
    const clock = new HybridClock({ node: 'a', physical: () => t })
    const held = { wall: t + 20_000, logical: 4, node: 'b' }
    clock.update(held)
    expect(clock.behindUntil).toBe(t + 20_000)
    const v = clock.after(held.wall, held.logical, t)
    expect(compareVersions(v, held)).toBeGreaterThan(0)
    expect(v).toEqual({ wall: t + 20_000, logical: 5, node: 'a' })
    // The clock itself did not move: other keys' writes stay on real time.
    expect(clock.now().wall).toBeLessThanOrEqual(t + clock.maxLead)
    expect(() => clock.after(t + 60_001, 0, t)).toThrow(ClockSkewError)
  })

  it('a clear or tag invalidation orders after every stamp the clock stayed behind of, within the drift bound', () => {
    let t = 1_000_000
    const clock = new HybridClock({ node: 'a', physical: () => t })
    clock.update({ wall: t + 20_000, logical: 2, node: 'b' })
    expect(clock.nowAfterAll(t)).toEqual({ wall: t + 20_000, logical: 3, node: 'a' })
    t += 30_000
    expect(clock.nowAfterAll(t)).toEqual({ wall: t, logical: 0, node: 'a' })
  })

  it('follows physical time back when it steps back by more than the bound (a corrected clock), and remembers where it was', () => {
    let t = 1_000_000 + 1_800_000 // a host 30 min fast
    const clock = new HybridClock({ node: 'a', physical: () => t })
    const before = clock.now()
    t -= 1_800_000 // the mesh's correction
    expect(clock.now()).toEqual({ wall: t, logical: 0, node: 'a' })
    expect(clock.behindUntil).toBe(before.wall)
    // A small step back keeps stamps monotonic.
    const v = clock.now()
    t -= 500
    expect(compareVersions(clock.now(), v)).toBeGreaterThan(0)
  })

  it('refuses to stamp writes while the mesh says this clock is too far off', () => {
    const mesh = { writeRefusal: undefined as string | undefined, leadOf: () => undefined }
    const clock = new HybridClock({ node: 'a', physical: () => 1_000, mesh })
    expect(() => clock.checkWritable()).not.toThrow()
    mesh.writeRefusal = 'this node is 30 min ahead'
    expect(() => clock.checkWritable()).toThrow(/30 min ahead/)
    try {
      clock.checkWritable()
    } catch (err) {
      expect((err as ClockSkewError).code).toBe('ERR_CLOCK_SKEW')
    }
  })
})
