import { describe, expect, it } from 'vitest'
import { ManualClock } from '../../src/clock/clock.js'
import { CLOCK_OFFSET_DEFAULTS, ClockOffsets } from '../../src/clock/clock-offsets.js'
import type { MeshContext } from '../../src/mesh/mesh-context.js'
import { TimeSync } from '../../src/mesh/time-sync.js'

// TimeSync over a ManualClock whose raw wall clock can be set by hand: samples age by the
// monotonic clock, so a wall clock step neither drops every sample at once (a step ahead
// past the sample age left a node with too few measured peers to correct itself, and its
// writes refused) nor keeps them forever (a step back).

function sync(): {
  time: TimeSync
  offsets: ClockOffsets
  clock: ManualClock
  raw: { step: number }
} {
  const clock = new ManualClock()
  const raw = { step: 0 }
  const ctx = { clock } as unknown as MeshContext
  const offsets = new ClockOffsets()
  const time = new TimeSync(ctx, offsets, () => clock.hostNow() + raw.step)
  return { time, offsets, clock, raw }
}

/** An exchange with a peer whose raw clock reads `offset` ms ahead of ours, 10 ms each way. */
function exchange(time: TimeSync, peer: string, offset: number): void {
  const t1 = time.rawNow()
  time.record(peer, { t1, t2: t1 + 10 + offset, t3: t1 + 10 + offset, t4: t1 + 20 }, 0)
}

describe('TimeSync', () => {
  for (const step of [30 * 60_000, -30 * 60_000]) {
    it(`keeps its peers' samples for their age when its wall clock steps ${step > 0 ? 'ahead' : 'back'}`, () => {
      const { time, offsets, clock, raw } = sync()
      exchange(time, 'p1', 0)
      exchange(time, 'p2', 0)
      expect(offsets.measured().sort()).toEqual(['p1', 'p2'])
      raw.step = step
      clock.advance(1_000)
      // An exchange with p2 after the step (its offset now reads minus the step): p1's
      // sample, taken a second ago, still counts.
      exchange(time, 'p2', -step)
      expect(offsets.measured().sort()).toEqual(['p1', 'p2'])
      // And it ages out when its time has come, whatever the wall clock did.
      clock.advance(CLOCK_OFFSET_DEFAULTS.maxSampleAgeMs)
      exchange(time, 'p2', -step)
      expect(offsets.measured()).toEqual(['p2'])
    })
  }
})
