import { describe, expect, it } from 'vitest'
import { ManualClock, SystemClock } from '../../src/clock/clock.js'
import { turnClock } from '../../src/clock/turn-clock.js'

describe('turnClock', () => {
  it('reads the source once per synchronous turn and again after a microtask checkpoint', async () => {
    let t = 100
    let reads = 0
    const now = turnClock(() => {
      reads++
      return t
    })
    expect(now()).toBe(100)
    t = 200
    expect(now()).toBe(100)
    expect(reads).toBe(1)
    await Promise.resolve()
    expect(now()).toBe(200)
    expect(reads).toBe(2)
  })
})

describe('SystemClock.turnNow (what writes are stamped with)', () => {
  it('reads the host clock once per turn and the correction every time', async () => {
    let correction = 0
    const clock = new SystemClock({ correction: () => correction })
    const first = clock.turnNow()
    const start = Date.now()
    while (Date.now() < start + 3) {
      // the host clock moves on within this turn
    }
    expect(clock.turnNow()).toBe(first)
    correction = 500 // a mesh correction made within the turn shows at once
    expect(clock.turnNow()).toBe(first + 500)
    await Promise.resolve()
    expect(clock.turnNow()).toBeGreaterThanOrEqual(first + 503)
  })

  it('reads a host given in the options every time (a test skews it within a turn)', () => {
    let host = 1_000
    const clock = new SystemClock({ host: () => host })
    expect(clock.turnNow()).toBe(1_000)
    host = 61_000
    expect(clock.turnNow()).toBe(61_000)
  })

  it('is now() on a manual clock', () => {
    const clock = new ManualClock(5_000)
    clock.advance(10)
    expect(clock.turnNow()).toBe(clock.now())
  })
})
