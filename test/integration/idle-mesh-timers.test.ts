import { describe, expect, it } from 'vitest'
import type { Cache } from '../../src/api/cache.js'
import { ManualClock } from '../../src/clock/clock.js'
import { createCache, startNode } from '../../src/node/create-cache.js'
import { closeOnClock } from '../helpers/clock.js'
import { meshOf } from '../helpers/mesh.js'
import { waitFor } from '../helpers/wait.js'

const MINUTE = 60_000

describe("a mesh node's timers when it has nobody to talk to (a manual clock counts wake-ups)", () => {
  it('a peerless node sets no timer at all; a peer brings the upkeep tick, announcements, redial and anti-entropy back', async () => {
    const clock = new ManualClock()
    const a = await startNode({ region: 'w-east', listen: ['/ip4/127.0.96.1/tcp/0'] }, { clock })
    let b: Cache<unknown> | undefined
    try {
      clock.advance(MINUTE) // the start's first announcements and anti-entropy round
      const before = clock.fired
      clock.advance(MINUTE)
      // Nothing: no upkeep tick every 5 s (12 a minute), no announcement every ~15 s, no
      // redial every 2 s (30) nor anti-entropy rounds (two timers every ~5 s) with nobody to
      // announce to, dial or sync with (68-71 a minute before issue 25's parking, 16 with
      // the tick and the announcements still running).
      expect(clock.fired - before).toBe(0)
      const idle = clock.pending

      b = await createCache({
        region: 'w-west',
        listen: ['/ip4/127.0.96.2/tcp/0'],
        peers: [a.addresses()[0]!],
      })
      await b.waitForPeers(1)
      // The connection resumes the upkeep tick, the announcements, the redial loop and the
      // periodic anti-entropy rounds.
      await waitFor(() => clock.pending >= idle + 4, 'the four loops back')
      const membership = (meshOf(a) as unknown as { membership: { redial: () => void } }).membership
      const redial = membership.redial.bind(membership)
      let redials = 0
      membership.redial = () => {
        redials++
        redial()
      }
      const withPeer = clock.fired
      clock.advance(MINUTE)
      // 12 ticks, about 4 announcements, and a redial pass every 10 s, not every 2 s: the
      // only link is up and there is nothing to hang up on (30 a minute before).
      expect(redials).toBeGreaterThanOrEqual(5)
      expect(redials).toBeLessThanOrEqual(7)
      expect(clock.fired - withPeer).toBeGreaterThanOrEqual(12 + 5 + 3)
      const parts = meshOf(a) as unknown as {
        members: { parked: boolean; timer: unknown }
        upkeep: { isParked: boolean }
      }
      expect(parts.members.parked).toBe(false)
      expect(parts.members.timer).toBeDefined()
      expect(parts.upkeep.isParked).toBe(false)
      await waitFor(() => a.stats().mesh!.clock.peersMeasured === 1, "a measured b's clock")

      // The last peer goes: one more upkeep run stops counting its clock, then quiet again.
      await b.close()
      b = undefined
      await waitFor(() => meshOf(a).node.getPeers().length === 0, 'a alone again')
      clock.advance(MINUTE)
      expect(a.stats().mesh!.clock.peersMeasured).toBe(0)
      expect(parts.upkeep.isParked).toBe(true)
    } finally {
      await b?.close()
      await closeOnClock(a, clock)
    }
  })
})
