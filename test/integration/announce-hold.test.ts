import { describe, expect, it } from 'vitest'
import type { Cache } from '../../src/api/cache.js'
import { ManualClock } from '../../src/clock/clock.js'
import { MESH_CONSTANTS } from '../../src/mesh/defaults.js'
import { announceHoldMs } from '../../src/mesh/member-gossip.js'
import type { MeshContext } from '../../src/mesh/mesh-context.js'
import { createCache, startNode } from '../../src/node/create-cache.js'
import { closeOnClock } from '../helpers/clock.js'
import { meshOf } from '../helpers/mesh.js'
import { waitFor } from '../helpers/wait.js'

/** The parts of a mesh node this test watches (private fields, read as a test may). */
interface Parts {
  ctx: MeshContext
  upkeep: { stop(): void }
  control: { stop(): void; links: Map<string, { pending: unknown }> }
  members: {
    stop(): void
    announce(periodic?: boolean): void
    receive(item: unknown, verify?: boolean): number | false
  }
  relayLinks: {
    queued(peer?: string): number
    out: Map<string, { held: unknown; running: unknown; scheduled: boolean }>
    counters: { framesOut: number; itemsOut: number }
  }
}
const partsOf = (c: Cache<unknown>) => meshOf(c) as unknown as Parts

describe('periodic member announcements ride with the frames a link makes anyway (issue 25)', () => {
  it('a periodic announcement waits for the next frame, at most its hold; news leaves at once; a relay holds only what told it nothing new; a hold ends with its link', async () => {
    // a runs on a manual clock: its flushes, pacing tokens and holds fire only when the test
    // advances it (advance(0) runs what is due at the end of a turn).
    // Started at the real time: b measures its clock, and a far one would refuse a's writes.
    const clock = new ManualClock(Date.now())
    const a = await startNode({ region: 'h-east', listen: ['/ip4/127.0.102.1/tcp/0'] }, { clock })
    let b: Cache<unknown> | undefined
    try {
      b = await createCache({
        region: 'h-west',
        listen: ['/ip4/127.0.102.2/tcp/0'],
        peers: [a.addresses()[0]!],
      })
      const pa = partsOf(a)
      const pb = partsOf(b)
      const verdicts: (number | false)[] = []
      const receive = pb.members.receive.bind(pb.members)
      pb.members.receive = (item, verify) => {
        const v = receive(item, verify)
        verdicts.push(v)
        return v
      }
      await b.waitForPeers(1)
      const bId = b.nodeId
      const aOut = () => pa.relayLinks.out.get(bId)
      const quiet = () =>
        pa.relayLinks.queued(bId) === 0 && aOut()?.running === undefined && !aOut()?.scheduled
      // a's start: its first announcements, pings and hellos, until nothing is left to send.
      await waitFor(() => {
        clock.advance(1_000)
        return quiet() && verdicts.length >= 1
      }, "a's start sent")
      // b learned a's summary from the first announcement: news, passed on at once.
      expect(verdicts[0]).toBe(0)
      // From here on only the test makes a send: no pings either way (b's would make a
      // answer, and a pong takes what a holds), no periodic announcement of a's own; and
      // every ping already sent answered (no pong of a's still to come).
      for (const p of [pa, pb]) {
        p.upkeep.stop()
        p.control.stop()
      }
      pa.members.stop()
      const aId = a.nodeId
      await waitFor(() => {
        clock.advance(100)
        return (
          quiet() &&
          pb.control.links.get(aId)?.pending === undefined &&
          pa.control.links.get(bId)?.pending === undefined
        )
      }, 'every ping answered, a quiet')
      // a and b are their regions' hubs: the link between them holds longer.
      const holdMs = announceHoldMs(pa.ctx) * MESH_CONSTANTS.wanHoldFactor
      expect(holdMs).toBeGreaterThan(announceHoldMs(pa.ctx))

      // 1. Alone, a periodic announcement leaves after its hold and not before (on a link to
      // another region's hub: its hold times the WAN factor).
      const frames = pa.relayLinks.counters.framesOut
      const heard = verdicts.length
      pa.members.announce(true)
      clock.advance(0)
      expect(pa.relayLinks.queued(bId)).toBe(1)
      expect(aOut()?.held).toBeDefined()
      clock.advance(holdMs - 1)
      // Still held: no flush started (one that had would have dropped the hold).
      expect(aOut()?.held).toBeDefined()
      expect(aOut()?.scheduled).toBe(false)
      expect(aOut()?.running).toBeUndefined()
      expect(pa.relayLinks.queued(bId)).toBe(1)
      expect(pa.relayLinks.counters.framesOut).toBe(frames)
      clock.advance(1)
      await waitFor(() => verdicts.length > heard, 'b got the held announcement')
      expect(pa.relayLinks.counters.framesOut).toBe(frames + 1)
      // Nothing new in it: b would hold it too on its way on.
      expect(verdicts.at(-1)).toBe(announceHoldMs(pb.ctx))

      // 2. With a write after it, both leave in the write's frame, without waiting.
      await waitFor(() => {
        clock.advance(100) // the link's pacing token
        return quiet()
      }, 'a quiet again')
      const frames2 = pa.relayLinks.counters.framesOut
      const items2 = pa.relayLinks.counters.itemsOut
      const heard2 = verdicts.length
      pa.members.announce(true)
      await a.set('k', 'v')
      // A few ms at a time (the batch's window, the link's token): far from the hold.
      await waitFor(() => {
        clock.advance(1)
        return b!.get('k') === 'v'
      }, 'the write reached b')
      await waitFor(() => verdicts.length > heard2, 'the announcement reached b')
      expect(pa.relayLinks.counters.framesOut).toBe(frames2 + 1)
      expect(pa.relayLinks.counters.itemsOut).toBe(items2 + 2)
      expect(aOut()?.held).toBeUndefined()

      // 3. An announcement with news (not periodic) leaves at the end of the turn.
      await waitFor(() => {
        clock.advance(100)
        return quiet()
      }, 'a quiet again')
      const frames3 = pa.relayLinks.counters.framesOut
      pa.members.announce()
      clock.advance(0)
      await waitFor(() => pa.relayLinks.counters.framesOut === frames3 + 1, 'news sent')
      expect(aOut()?.held).toBeUndefined()

      // 4. The peer leaves while an announcement is held: the hold ends with the link (its
      // timer would dial the peer that left); the item waits for the next connection.
      pa.members.announce(true)
      clock.advance(0)
      expect(aOut()?.held).toBeDefined()
      await b.close()
      b = undefined
      await waitFor(() => meshOf(a).node.getConnections().length === 0, 'b gone')
      expect(aOut()?.held).toBeUndefined()
      expect(pa.relayLinks.queued(bId)).toBe(1)
    } finally {
      await b?.close()
      await closeOnClock(a, clock)
    }
  })
})
