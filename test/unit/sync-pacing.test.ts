import { generateKeyPair } from '@libp2p/crypto/keys'
import type { PeerId } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import fc from 'fast-check'
import { describe, expect, it, vi } from 'vitest'
import { ManualClock } from '../../src/clock/clock.js'
import { AntiEntropy } from '../../src/mesh/anti-entropy.js'
import { MESH_CONSTANTS } from '../../src/mesh/defaults.js'
import type { MeshContext } from '../../src/mesh/mesh-context.js'
import { deferRound, FlowGauge } from '../../src/mesh/sync-pacing.js'

const PACING = { busyRecordsPerSec: 5_000, maxDeferMs: 5_000 }

describe('deferRound', () => {
  it('waits only in a busy flow, and never past the bound', () => {
    fc.assert(
      fc.property(fc.nat(100_000), fc.nat(20_000), (rate, waited) => {
        const waits = deferRound(rate, waited, PACING)
        expect(waits).toBe(rate >= PACING.busyRecordsPerSec && waited < PACING.maxDeferMs)
      }),
    )
  })
})

describe('FlowGauge', () => {
  it('gives the rate between two samples, 0 for the first or when nothing moved', () => {
    const g = new FlowGauge()
    expect(g.sample(1_000, 500)).toBe(0)
    expect(g.sample(2_000, 10_500)).toBe(10_000)
    expect(g.sample(2_500, 10_500)).toBe(0)
    expect(g.sample(2_500, 11_000)).toBe(0) // no time passed
    expect(g.sample(3_000, 12_000)).toBe(2_000)
  })
})

/** An AntiEntropy whose rounds record when they ran and how many sessions they allowed. */
class Probe extends AntiEntropy {
  readonly ran: number[] = []
  readonly sessions: (number | undefined)[] = []
  constructor(
    ctx: MeshContext,
    private readonly clock: ManualClock,
  ) {
    super(ctx)
  }
  override syncAll(_peer: PeerId, maxSessions?: number): Promise<number> {
    this.ran.push(this.clock.monotonic())
    this.sessions.push(maxSessions)
    return Promise.resolve(0)
  }
}

const PEER = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()

/**
 * The periodic rounds of one AntiEntropy over a ManualClock, with a flow of writes of
 * `rateAt(t)` records per second (t in ms since start), for `forMs` or until `stopAt`
 * (stop() then, and time goes on). `peers`: whether it has a peer to sync with.
 */
async function rounds(
  rateAt: (t: number) => number,
  forMs: number,
  { peers = true, stopAt = Number.POSITIVE_INFINITY } = {},
) {
  const clock = new ManualClock()
  const counters = { recordsIn: 0, recordsOut: 0, syncDeferred: 0 }
  const ctx = {
    clock,
    region: 'us-east',
    counters,
    opts: { syncIntervalMs: 5_000, syncMaxEntries: 5_000 },
    limits: { maxKeyLength: 256, maxNameLength: 64, maxValueBytes: 1 << 20 },
    peers: { ranked: () => (peers ? [{ id: PEER, region: 'eu-west' }] : []) },
    node: { getConnections: () => (peers ? [{ remotePeer: PEER }] : []) },
  } as unknown as MeshContext
  const ae = new Probe(ctx, clock)
  ae.start()
  let carry = 0
  for (let t = 0; t < forMs; t += 100) {
    if (t === stopAt) ae.stop()
    const records = (rateAt(t) * 100) / 1000 + carry
    counters.recordsIn += Math.floor(records)
    carry = records - Math.floor(records)
    clock.advance(100)
    // A round's end (syncAll's promise) schedules the next: let it run.
    await new Promise((r) => setImmediate(r))
  }
  ae.stop()
  return { ran: ae.ran, deferred: counters.syncDeferred, sessions: ae.sessions, fired: clock.fired }
}

const BUSY = MESH_CONSTANTS.syncBusyRecordsPerSec * 4

describe('periodic anti-entropy rounds', () => {
  it('run every interval (+-20%) when writes flow slowly, none waits, each with the default sessions', async () => {
    const { ran, deferred, sessions } = await rounds(() => 1_000, 60_000)
    expect(deferred).toBe(0)
    expect(ran.length).toBeGreaterThanOrEqual(9) // 60 s / 6 s at the longest
    for (let i = 1; i < ran.length; i++)
      expect(ran[i]! - ran[i - 1]!).toBeLessThanOrEqual(6_000 + 100)
    expect(sessions.every((n) => n === undefined)).toBe(true)
  })

  it('wait while writes flow fast, but run at least every two intervals, one session each', async () => {
    const { ran, deferred, sessions } = await rounds(() => BUSY, 60_000)
    expect(deferred).toBeGreaterThan(0)
    expect(ran.length).toBeGreaterThanOrEqual(5) // 60 s / 11 s at the longest
    // A round falls due within 6 s of the last and waits 5 s at most.
    for (let i = 1; i < ran.length; i++)
      expect(ran[i]! - ran[i - 1]!).toBeLessThanOrEqual(11_000 + 200)
    expect(sessions.every((n) => n === 1)).toBe(true)
  })

  it('wait whole steps up to the bound, also from a fractional due time', async () => {
    // 0.072 puts the first round due at 4,144.000000000001 ms: five steps later reads as
    // 4,999.999999999999 ms of waiting, one more wait when measured by the clock.
    const random = vi.spyOn(Math, 'random').mockReturnValue(0.072)
    try {
      const { ran, deferred } = await rounds(() => BUSY, 10_000)
      expect(deferred).toBe(5)
      expect(ran[0]).toBeCloseTo(4_144 + 5_000, 3)
    } finally {
      random.mockRestore()
    }
  })

  it('a round due in a burst runs within a step of its end, with the default sessions', async () => {
    // A burst from 3 s to 7 s: the first round falls due in it (4-6 s; its flow is
    // measured over the second before).
    const { ran, deferred, sessions } = await rounds(
      (t) => (t >= 3_000 && t < 7_000 ? BUSY : 0),
      12_000,
    )
    expect(deferred).toBeGreaterThan(0)
    expect(ran[0]).toBeGreaterThanOrEqual(7_000)
    // Waits in steps of a fifth of an interval: the first step whose window is calm runs.
    expect(ran[0]).toBeLessThanOrEqual(7_000 + 2 * 1_000 + 200)
    expect(sessions[0]).toBeUndefined()
  })

  it('do not wait when there is nobody to sync with, and stop falling due with no peer at all', async () => {
    const { deferred, ran, fired } = await rounds(() => BUSY, 30_000, { peers: false })
    expect(deferred).toBe(0)
    expect(ran).toEqual([])
    // The first round's two timers (its flow sample, then due), then none: parked.
    expect(fired).toBe(2)
  })

  it('stop for good when stopped while waiting', async () => {
    // Due at 4-6 s in a busy flow: waiting at 6.5 s.
    const { ran, deferred } = await rounds(() => BUSY, 30_000, { stopAt: 6_500 })
    expect(deferred).toBeGreaterThan(0)
    expect(ran).toEqual([])
  })
})
