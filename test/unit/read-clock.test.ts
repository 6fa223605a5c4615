import { describe, expect, it } from 'vitest'
import { turnClock } from '../../src/api/read-clock.js'
import { ManualClock } from '../../src/clock/clock.js'

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

  it('reads a stepped clock again within the turn (a ManualClock advanced or corrected)', () => {
    const clock = new ManualClock(1_000)
    const now = turnClock(() => clock.now(), clock)
    expect(now()).toBe(1_000)
    clock.advance(50)
    expect(now()).toBe(1_050)
    clock.correctionMs = 7
    expect(now()).toBe(1_057)
  })
})
