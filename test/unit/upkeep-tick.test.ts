import { describe, expect, it } from 'vitest'
import { ManualClock } from '../../src/clock/clock.js'
import { UpkeepTick } from '../../src/mesh/upkeep-tick.js'

describe('the upkeep tick (a manual clock counts runs)', () => {
  it('runs while connected, once more after the last connection goes, then parks until resumed', () => {
    const clock = new ManualClock()
    let alone = true
    let runs = 0
    const tick = new UpkeepTick(
      clock,
      5_000,
      () => alone,
      () => runs++,
    )
    tick.start()
    // A node that never had a peer: no run at all.
    clock.advance(60_000)
    expect(runs).toBe(0)
    expect(tick.isParked).toBe(true)
    expect(clock.pending).toBe(0)

    alone = false
    tick.resume()
    tick.resume() // a second connection: still one loop
    clock.advance(20_000)
    expect(runs).toBe(4)

    // The last peer goes: one more run (its clock samples forgotten), then nothing.
    alone = true
    clock.advance(60_000)
    expect(runs).toBe(5)
    expect(tick.isParked).toBe(true)

    alone = false
    tick.resume()
    clock.advance(5_000)
    expect(runs).toBe(6)
    tick.stop()
    clock.advance(60_000)
    expect(runs).toBe(6)
    tick.resume() // after stop: nothing
    clock.advance(60_000)
    expect(runs).toBe(6)
  })
})
