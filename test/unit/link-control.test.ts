import { describe, expect, it } from 'vitest'
import { ManualClock } from '../../src/clock/clock.js'
import { ClockOffsets } from '../../src/clock/clock-offsets.js'
import { pingBytes, readControl } from '../../src/mesh/control-messages.js'
import { MESH_CONSTANTS } from '../../src/mesh/defaults.js'
import { LinkControl } from '../../src/mesh/link-control.js'
import type { MeshContext } from '../../src/mesh/mesh-context.js'
import type { RelayLinks } from '../../src/mesh/relay-links.js'
import { TimeSync } from '../../src/mesh/time-sync.js'
import { ITEM_KIND, type RelayItem } from '../../src/replication/relay-frame.js'

// LinkControl's rules over a ManualClock: two ends wired to each other through a fake
// relay link that delivers at once (the real link is covered by the mesh tests).

const INTERVAL = 5_000
const SYNC = 30_000

interface End {
  id: string
  control: LinkControl
  clock: ManualClock
  sent: RelayItem[]
  repairs: string[]
  rejected: string[]
  failures: string[]
  roots: Map<string, number>
  offsets: ClockOffsets
  /** The member digest this end reports, and the peers it asked for member lists. */
  digest: string
  exchanges: string[]
  counters: { framesFailed: number; itemsDropped: number }
  /** The node's replication counters (records written, received, pulled by sync). */
  moved: { recordsIn: number; recordsOut: number; syncPulled: number }
  /** Ms this end's raw wall clock is stepped by (a clock set by hand). */
  step: number
  /** Monotonic ms this end last wrote a write batch to its peer. */
  batchWritten: number
}

function pair(): { a: End; b: End; clock: ManualClock; dropped: Set<string> } {
  const clock = new ManualClock()
  const ends: Record<string, End> = {}
  const make = (id: string, other: string): End => {
    const end = {
      id,
      clock,
      sent: [],
      repairs: [],
      rejected: [],
      failures: [],
      roots: new Map([['default', 1]]),
      digest: 'members-1',
      exchanges: [],
      counters: { framesFailed: 0, itemsDropped: 0 },
      moved: { recordsIn: 0, recordsOut: 0, syncPulled: 0 },
      step: 0,
      batchWritten: Number.NEGATIVE_INFINITY,
    } as unknown as End
    const replicas = {
      *[Symbol.iterator]() {
        for (const [name, root] of end.roots) {
          yield { name, index: { tree: { digest: () => Uint32Array.of(root) } } }
        }
      },
      get(name: string) {
        const root = end.roots.get(name)
        if (root === undefined) return undefined
        return { name, index: { tree: { digest: () => Uint32Array.of(root) } } }
      },
      reject(code: string) {
        end.rejected.push(code)
      },
    }
    const ctx = {
      self: id,
      clock,
      opts: { pingIntervalMs: INTERVAL, syncIntervalMs: SYNC },
      counters: end.moved,
      node: { getConnections: () => [{ remotePeer: { toString: () => other } }] },
      replicas,
      isClosed: () => false,
      peers: {
        recordFailure: (peer: string) => end.failures.push(peer),
        recordRtt: () => {},
      },
    } as unknown as MeshContext
    const links = {
      counters: end.counters,
      batchWrittenAt: () => end.batchWritten,
      send(peer: string, item: RelayItem) {
        end.sent.push(item)
        const to = ends[peer]
        // A link that delivers: the receiver hears the frame, then reads the control item.
        if (to !== undefined && !dropped.has(id)) {
          to.control.heard(id)
          to.control.onControl(item, id)
        }
      },
    } as unknown as RelayLinks
    const offsets = new ClockOffsets()
    end.offsets = offsets
    const time = new TimeSync(ctx, offsets, () => clock.hostNow() + end.step)
    end.control = new LinkControl(
      ctx,
      links,
      offsets,
      time,
      (peer, keyspace) => end.repairs.push(`${peer}:${keyspace}`),
      { digest: () => end.digest, exchange: (peer) => end.exchanges.push(peer) },
    )
    ends[id] = end
    return end
  }
  const dropped = new Set<string>()
  const a = make('peer-a', 'peer-b')
  const b = make('peer-b', 'peer-a')
  return { a, b, clock, dropped }
}

/** A control message's type (0 ping, 1 pong): the first element after the array header. */
const typeOf = (item: RelayItem): number => item.body[1]!
const pings = (end: End) => end.sent.filter((i) => typeOf(i) === 0).length

describe('LinkControl', () => {
  it('pings a quiet link from the smaller id every interval until it is settled', () => {
    const { a, b, clock } = pair()
    // Roots differ (and stay so: the repair is a stub): never settled.
    b.roots.set('default', 2)
    for (let i = 0; i < 10; i++) {
      clock.advance(INTERVAL)
      a.control.tick()
      b.control.tick()
    }
    expect(a.sent.every((i) => i.kind === ITEM_KIND.control)).toBe(true)
    // a (smaller id) sends one ping per round; b answers each and pings only for its own
    // clock sample (the first at once, then never: a's pings give it samples).
    expect(pings(a)).toBe(10)
    expect(b.sent.filter((i) => typeOf(i) === 1)).toHaveLength(10)
    expect(pings(b)).toBe(1)
    // Both ends measured the other's clock: b from a's pings echoing its pongs.
    expect(a.offsets.measured()).toEqual(['peer-b'])
    expect(b.offsets.measured()).toEqual(['peer-a'])
  })

  it('pings a settled quiet link only for its clock sample, every timeSampleIntervals', () => {
    const { a, b, clock } = pair()
    const rounds = 10 * MESH_CONSTANTS.timeSampleIntervals
    for (let i = 0; i < rounds; i++) {
      clock.advance(INTERVAL)
      a.control.tick()
      b.control.tick()
    }
    // Same roots, same members: one exchange per clock-sample period on the link, not one
    // per interval (an idle node with 24 links: ~1.2 items/s instead of ~5).
    const all = pings(a) + pings(b)
    expect(all).toBeGreaterThanOrEqual(rounds / MESH_CONSTANTS.timeSampleIntervals)
    expect(all).toBeLessThanOrEqual(rounds / MESH_CONSTANTS.timeSampleIntervals + 2)
    expect(a.control.inSync('peer-b')).toBe(true)
    expect(b.control.inSync('peer-a')).toBe(true)
    // Clocks stay measured at both ends.
    expect(a.offsets.measured()).toEqual(['peer-b'])
    expect(b.offsets.measured()).toEqual(['peer-a'])
  })

  it('pings a settled link at the next round after news or lost frames', () => {
    const { a, b, clock } = pair()
    a.control.onPeer('peer-b')
    clock.advance(INTERVAL)
    a.control.tick()
    b.control.tick()
    const before = pings(a) + pings(b)
    clock.advance(INTERVAL)
    a.control.tick()
    expect(pings(a) + pings(b)).toBe(before)
    a.control.news()
    clock.advance(INTERVAL)
    a.control.tick()
    expect(pings(a) + pings(b)).toBe(before + 1)
    // News is told once: the round after, the link is settled again.
    clock.advance(INTERVAL)
    a.control.tick()
    expect(pings(a) + pings(b)).toBe(before + 1)
    b.counters.framesFailed++
    clock.advance(INTERVAL)
    b.control.tick()
    expect(pings(a) + pings(b)).toBe(before + 2)
  })

  it('pings a settled link at the next round after its own raw clock stepped', () => {
    const { a, b, clock } = pair()
    a.control.onPeer('peer-b')
    clock.advance(INTERVAL)
    b.control.tick()
    const before = pings(a) + pings(b)
    clock.advance(INTERVAL)
    b.control.tick()
    expect(pings(a) + pings(b)).toBe(before)
    // A step under the news threshold is jitter; one at it is a clock set by hand.
    b.step = MESH_CONSTANTS.correctionNewsMs - 1
    clock.advance(INTERVAL)
    b.control.tick()
    expect(pings(a) + pings(b)).toBe(before)
    b.step = 30 * 60_000
    clock.advance(INTERVAL)
    b.control.tick()
    expect(pings(b)).toBeGreaterThan(0)
    // b's ping, and a's ping back for its own sample of b's new clock (see below).
    expect(pings(a) + pings(b)).toBe(before + 2)
  })

  for (const step of [30 * 60_000, -30 * 60_000]) {
    it(`measures a peer whose clock stepped ${step > 0 ? 'ahead' : 'back'} at the exchange after the step, not at the next clock sample`, () => {
      const { a, b, clock } = pair()
      a.control.onPeer('peer-b')
      b.control.onPeer('peer-a')
      // Settle: both ends have taken samples from the other's echoing pings.
      for (let i = 0; i < 2 * MESH_CONSTANTS.timeSampleIntervals; i++) {
        clock.advance(INTERVAL)
        a.control.tick()
        b.control.tick()
      }
      expect(a.offsets.offsetOf('peer-b')).toBe(0)
      // b's clock is set by hand (a clock fixed after running 30 minutes off, or broken).
      b.step = step
      clock.advance(INTERVAL)
      const n0 = a.sent.length + b.sent.length
      b.control.tick()
      // b pinged at once; its ping echoes no pong heard before the step (that sample
      // would be off by half the step) and a pings back for its own: both ends know the
      // new clock now, 8 intervals before the link's clock sample would have told a.
      expect(a.offsets.offsetOf('peer-b')).toBe(step)
      expect(b.offsets.offsetOf('peer-a')).toBe(-step)
      // Two exchanges: b's ping (news) and a's ping back.
      expect(a.sent.length + b.sent.length - n0).toBe(4)
      // Nothing more: the link is settled again.
      const before = pings(a) + pings(b)
      for (let i = 0; i < MESH_CONSTANTS.timeSampleIntervals - 2; i++) {
        clock.advance(INTERVAL)
        a.control.tick()
        b.control.tick()
      }
      expect(pings(a) + pings(b)).toBe(before)
    })
  }

  /** A pair whose link has settled: both ends sampled each other's clock (offset 0). */
  function settled(): ReturnType<typeof pair> {
    const p = pair()
    p.a.control.onPeer('peer-b')
    p.b.control.onPeer('peer-a')
    for (let i = 0; i < 2; i++) {
      p.clock.advance(INTERVAL)
      p.a.control.tick()
      p.b.control.tick()
    }
    expect(p.a.offsets.offsetOf('peer-b')).toBe(0)
    expect(p.b.offsets.offsetOf('peer-a')).toBe(0)
    return p
  }

  for (const step of [30 * 60_000, -30 * 60_000]) {
    it(`takes no sample from a pong when its own clock stepped ${step > 0 ? 'ahead' : 'back'} while the ping was out, and asks again`, () => {
      const { a, b, clock, dropped } = settled()
      // a pings; b's pong is held on the way, and a's clock is set by hand meanwhile.
      dropped.add('peer-b')
      a.control.news()
      clock.advance(INTERVAL)
      a.control.tick()
      const pong = b.sent.at(-1)!
      expect(typeOf(pong)).toBe(1)
      dropped.delete('peer-b')
      a.step = step
      clock.advance(20)
      a.control.heard('peer-b')
      a.control.onControl(pong, 'peer-b')
      // Sent before the step, heard after: that sample would put b half the step off.
      expect(a.offsets.offsetOf('peer-b')).toBe(0)
      // The next round sees the step against the link's last sample, asks again, and
      // measures b's clock against the new one.
      clock.advance(INTERVAL)
      a.control.tick()
      expect(a.offsets.offsetOf('peer-b')).toBe(-step)
    })
  }

  it('pings a link after its own clock stepped even when an exchange on it since gave it no sample', () => {
    const { a, b, clock } = settled()
    // b's clock is set by hand; before b's next round, a pings b (its own news) and b
    // answers: that exchange gives b no sample of a (a's ping echoes b's pong from before
    // b's step), so it must not hide the step from b's round.
    b.step = 30 * 60_000
    a.control.news()
    clock.advance(INTERVAL)
    a.control.tick()
    const before = pings(b)
    b.control.tick()
    expect(pings(b)).toBe(before + 1)
    expect(b.offsets.offsetOf('peer-a')).toBe(-30 * 60_000)
  })

  it('does not ping back while its own ping is out (its pong brings the sample)', () => {
    const { a, b, clock, dropped } = settled()
    // a's ping is lost on the way: a waits for its pong.
    dropped.add('peer-a')
    a.control.news()
    clock.advance(INTERVAL)
    a.control.tick()
    dropped.delete('peer-a')
    const before = pings(a)
    // b's clock steps and b pings (echoing nothing): a, with a ping out, does not add one.
    b.step = 30 * 60_000
    clock.advance(INTERVAL / 10)
    b.control.tick()
    expect(pings(a)).toBe(before)
  })

  it('takes no sample from a ping whose echo makes a negative round trip, and pings back', () => {
    const { a, b, clock } = settled()
    // An older node's ping that echoes across its own step ahead: b heard a's last pong
    // before the step and pings after it. Its times say b answered before a asked.
    const lastPong = readControl(a.sent.filter((i) => typeOf(i) === 1).at(-1)!.body)
    expect(lastPong?.type).toBe('pong')
    const pongSent = (lastPong as { t3: number }).t3
    clock.advance(INTERVAL / 2)
    const heardAt = clock.hostNow() - INTERVAL / 2
    const forged = pingBytes(
      clock.hostNow() + 30 * 60_000,
      0,
      [['default', '00000001']],
      'members-1',
      {
        t3: pongSent,
        t4: heardAt,
      },
    )
    const before = pings(a)
    a.control.heard('peer-b')
    a.control.onControl(
      { kind: ITEM_KIND.control, origin: 'peer-b', incarnation: 0, seq: 0, body: forged },
      'peer-b',
    )
    expect(a.offsets.offsetOf('peer-b')).toBe(0)
    expect(pings(a)).toBe(before + 1)
    void b
  })

  it('pings back after a ping it takes no sample from at most once per half interval', () => {
    const { a, b, clock } = pair()
    a.control.onPeer('peer-b')
    b.control.onPeer('peer-a')
    for (let i = 0; i < 2 * MESH_CONSTANTS.timeSampleIntervals; i++) {
      clock.advance(INTERVAL)
      a.control.tick()
      b.control.tick()
    }
    // b's pings stop echoing (its clock keeps stepping, or it is hostile): a asks for its
    // own sample once, then not again within half an interval however often b pings.
    const before = pings(a)
    for (let i = 0; i < 10; i++) {
      b.step += 10 * MESH_CONSTANTS.correctionNewsMs
      clock.advance(INTERVAL / 40)
      b.control.news()
      b.control.tick()
    }
    expect(pings(a) - before).toBe(1)
    clock.advance(INTERVAL / 2)
    b.step += 10 * MESH_CONSTANTS.correctionNewsMs
    b.control.tick()
    expect(pings(a) - before).toBe(2)
  })

  it('pings a settled link that carried writes and brought nothing back, and counts the silence as a failure', () => {
    const { a, b, clock, dropped } = pair()
    a.control.onPeer('peer-b')
    clock.advance(INTERVAL)
    a.control.tick()
    b.control.tick()
    // b goes silent (a partition, a host lost without closing its sockets).
    dropped.add('peer-b')
    const before = pings(a)
    for (let i = 0; i < MESH_CONSTANTS.timeSampleIntervals - 4; i++) {
      clock.advance(INTERVAL)
      a.control.tick()
    }
    // Settled and idle: nothing to tell, nothing asked until the clock sample.
    expect(pings(a)).toBe(before)
    expect(a.failures).toEqual([])
    // a writes to b: the next round asks b, and the silence that follows is a failure.
    a.batchWritten = clock.monotonic()
    clock.advance(INTERVAL)
    a.control.tick()
    expect(pings(a)).toBe(before + 1)
    clock.advance(MESH_CONSTANTS.dialTimeoutMs + 1)
    a.control.tick()
    expect(a.failures).toEqual(['peer-b'])
  })

  it('does not ping a settled link whose writes were answered, or heard from within half an interval', () => {
    const { a, b, clock } = pair()
    a.control.onPeer('peer-b')
    clock.advance(INTERVAL)
    a.control.tick()
    b.control.tick()
    const before = pings(a)
    // a wrote, then heard from b (any frame): nothing to ask.
    a.batchWritten = clock.monotonic()
    clock.advance(1)
    a.control.heard('peer-b')
    clock.advance(INTERVAL)
    a.control.tick()
    expect(pings(a)).toBe(before)
    // a wrote after it last heard from b, but heard from b less than half an interval ago.
    clock.advance(INTERVAL)
    a.control.heard('peer-b')
    clock.advance(INTERVAL / 2 - 100)
    a.batchWritten = clock.monotonic()
    a.control.tick()
    expect(pings(a)).toBe(before)
    // Half an interval of silence after the write: asked.
    clock.advance(100)
    a.control.tick()
    expect(pings(a)).toBe(before + 1)
  })

  it('pings a link carrying writes to a peer that answers about once per interval', () => {
    const { a, b, clock } = pair()
    a.control.onPeer('peer-b')
    clock.advance(INTERVAL)
    a.control.tick()
    b.control.tick()
    // b writes to a every second; a never writes back (the larger id never pings a quiet
    // link; this one is settled too).
    const before = pings(b)
    const seconds = 10 * (INTERVAL / 1_000)
    for (let t = 1; t <= seconds; t++) {
      b.batchWritten = clock.monotonic()
      clock.advance(1_000)
      if (t % (INTERVAL / 1_000) === 0) b.control.tick()
    }
    expect(pings(b) - before).toBeGreaterThanOrEqual(9)
    expect(pings(b) - before).toBeLessThanOrEqual(10)
    expect(b.failures).toEqual([])
  })

  it('asks for the member list when a pong shows another digest, at most once a second', () => {
    const { a, b, clock } = pair()
    b.digest = 'members-2'
    a.control.onPeer('peer-b')
    // The pinger asks (the hello answers both ways); the answering end does not.
    expect(a.exchanges).toEqual(['peer-b'])
    expect(b.exchanges).toEqual([])
    expect(a.control.inSync('peer-b')).toBe(true)
    // Not settled while member lists differ: the quiet link is pinged every interval.
    clock.advance(MESH_CONSTANTS.memberNewsMinIntervalMs / 2)
    a.control.tick()
    expect(a.exchanges).toHaveLength(1)
    clock.advance(INTERVAL)
    a.control.tick()
    expect(a.exchanges).toHaveLength(2)
    b.digest = 'members-1'
    clock.advance(INTERVAL)
    a.control.tick()
    expect(a.exchanges).toHaveLength(2)
  })

  it('pings every link soon after the member list changed, at most once a second', () => {
    const { a, clock } = pair()
    a.control.membersChanged()
    a.control.membersChanged()
    expect(pings(a)).toBe(0)
    clock.advance(MESH_CONSTANTS.memberNewsDelayMs)
    expect(pings(a)).toBe(1)
    // Changes right after a round gather into the next one, a second after the last.
    a.control.membersChanged()
    clock.advance(MESH_CONSTANTS.memberNewsDelayMs)
    a.control.membersChanged()
    expect(pings(a)).toBe(1)
    clock.advance(MESH_CONSTANTS.memberNewsMinIntervalMs - MESH_CONSTANTS.memberNewsDelayMs)
    expect(pings(a)).toBe(2)
    a.control.stop()
  })

  it('sends nothing on a busy link but a clock sample every timeSampleIntervals', () => {
    const { a, b, clock } = pair()
    const rounds = 10 * MESH_CONSTANTS.timeSampleIntervals
    for (let i = 0; i < rounds; i++) {
      clock.advance(INTERVAL)
      // Replication traffic both ways within every interval.
      a.control.heard('peer-b')
      b.control.heard('peer-a')
      a.control.tick()
      b.control.tick()
    }
    // One clock sample per timeSampleIntervals on the link (the first at once); an end
    // that sampled from the other's ping does not ping itself.
    const samples = pings(a) + pings(b)
    expect(samples).toBeGreaterThanOrEqual(rounds / MESH_CONSTANTS.timeSampleIntervals)
    expect(samples).toBeLessThanOrEqual(rounds / MESH_CONSTANTS.timeSampleIntervals + 2)
    expect(a.offsets.measured()).toEqual(['peer-b'])
    expect(b.offsets.measured()).toEqual(['peer-a'])
  })

  it('tells every link at once when its clock correction changed, busy links included', () => {
    const { a, b, clock } = pair()
    a.control.tick()
    b.control.tick()
    const before = pings(b)
    clock.advance(INTERVAL)
    b.control.heard('peer-a')
    b.control.tick()
    expect(pings(b)).toBe(before)
    b.offsets.seed(1_000)
    b.control.tick()
    expect(pings(b)).toBe(before + 1)
    expect(a.offsets.reportedCorrectionOf('peer-b')).toBe(1_000)
  })

  it('repairs a keyspace whose roots differ at once, at most once per sync interval', () => {
    const { a, b, clock } = pair()
    b.roots.set('default', 2)
    a.control.onPeer('peer-b')
    // b compares a's ping, a compares b's pong: both start a repair.
    expect(b.repairs).toEqual(['peer-a:default'])
    expect(a.repairs).toEqual(['peer-b:default'])
    expect(a.control.inSync('peer-b')).toBe(false)
    clock.advance(INTERVAL)
    a.control.tick()
    expect(a.repairs).toHaveLength(1)
    clock.advance(SYNC)
    a.control.tick()
    expect(a.repairs).toHaveLength(2)
  })

  it('starts no repair while write batches arrive, and repairs once they stopped', () => {
    const { a, b, clock } = pair()
    b.roots.set('default', 2)
    a.control.batchHeard()
    b.control.batchHeard()
    a.control.onPeer('peer-b')
    // Roots differ mid-stream by the writes in flight: compared, not repaired.
    expect(a.repairs).toEqual([])
    expect(b.repairs).toEqual([])
    expect(a.control.inSync('peer-b')).toBe(false)
    // A whole interval without a batch: the next quiet ping repairs.
    clock.advance(INTERVAL)
    a.control.tick()
    expect(a.repairs).toEqual(['peer-b:default'])
  })

  it('marks a peer in sync while roots match, and not after they stop being compared', () => {
    const { a, b, clock } = pair()
    a.control.onPeer('peer-b')
    expect(a.control.inSync('peer-b')).toBe(true)
    expect(b.control.inSync('peer-a')).toBe(true)
    expect(a.repairs).toEqual([])
    clock.advance((MESH_CONSTANTS.timeSampleIntervals + 1) * INTERVAL)
    expect(a.control.inSync('peer-b')).toBe(false)
  })

  it('does not count a peer in sync once this node wrote, received or pulled since the match', () => {
    for (const field of ['recordsOut', 'recordsIn', 'syncPulled'] as const) {
      const { a, b } = pair()
      a.control.onPeer('peer-b')
      expect(a.control.inSync('peer-b')).toBe(true)
      a.moved[field]++ // a write that may not have reached peer-b
      expect(a.control.inSync('peer-b')).toBe(false)
      expect(b.control.inSync('peer-a')).toBe(true)
      // The next exchange that finds the roots equal counts again.
      a.control.onPeer('peer-b')
      expect(a.control.inSync('peer-b')).toBe(true)
    }
  })

  it('counts a ping left unanswered as a failure of the peer', () => {
    const { a, clock, dropped } = pair()
    dropped.add('peer-a')
    a.control.tick()
    clock.advance(MESH_CONSTANTS.dialTimeoutMs + 1)
    a.control.tick()
    expect(a.failures).toEqual(['peer-b'])
  })

  it('rejects malformed control items as malformed, without throwing', () => {
    const { a } = pair()
    const item = (body: Uint8Array): RelayItem => ({
      kind: ITEM_KIND.control,
      origin: 'peer-b',
      incarnation: 0,
      seq: 0,
      body,
    })
    a.control.onControl(item(Uint8Array.of(0xc1)), 'peer-b') // never-used msgpack byte
    a.control.onControl(item(Uint8Array.of(0x01)), 'peer-b') // not an array
    a.control.onControl(item(Uint8Array.of(0x92, 0x07, 0x00)), 'peer-b') // unknown type
    expect(a.rejected).toEqual(['malformed', 'malformed', 'malformed'])
  })
})
