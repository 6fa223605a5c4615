import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { ManualClock } from '../../src/clock/clock.js'
import { ServeSlots, SYNC_SERVING, SyncBusyError } from '../../src/mesh/sync-pacing.js'

const LIMITS = { perPeer: 2, maxWaiting: 3, maxWaitMs: 1_000 }

/** Lets promise callbacks run. */
const settle = () => new Promise((r) => setImmediate(r))

function slots(limits = LIMITS) {
  const clock = new ManualClock()
  return { clock, slots: new ServeSlots((ms, fn) => clock.after(ms, fn), limits) }
}

/** Tracks one acquire: its release once granted, its error once refused. */
function track(p: Promise<() => void>) {
  const t: { release?: () => void; error?: unknown } = {}
  p.then(
    (r) => {
      t.release = r
    },
    (e) => {
      t.error = e
    },
  )
  return t
}

describe('ServeSlots', () => {
  it('serves two requests of a peer at once; the next waits and gets the first slot given back', async () => {
    const { slots: s } = slots()
    const [a, b, c, d] = ['p', 'p', 'p', 'p'].map((p) => track(s.acquire(p)))
    await settle()
    expect(a!.release).toBeDefined()
    expect(b!.release).toBeDefined()
    expect(c!.release ?? d!.release).toBeUndefined()
    expect(s.served('p')).toBe(2)
    a!.release!()
    a!.release!() // idempotent: gives back one slot only
    await settle()
    expect(c!.release).toBeDefined()
    expect(d!.release).toBeUndefined()
    expect(s.served('p')).toBe(2)
    b!.release!()
    c!.release!()
    await settle()
    d!.release!()
    expect(s.served('p')).toBe(0)
  })

  it('peers are bounded apart', async () => {
    const { slots: s } = slots()
    const held = ['p', 'p', 'q', 'q'].map((p) => track(s.acquire(p)))
    await settle()
    expect(held.every((t) => t.release !== undefined)).toBe(true)
  })

  it('refuses at once past maxWaiting, and a waiter after maxWaitMs', async () => {
    const { clock, slots: s } = slots()
    const all = Array.from({ length: 2 + LIMITS.maxWaiting + 1 }, () => track(s.acquire('p')))
    await settle()
    expect(all.at(-1)!.error).toBeInstanceOf(SyncBusyError)
    expect(all.slice(2, -1).every((t) => t.release === undefined && t.error === undefined)).toBe(
      true,
    )
    clock.advance(LIMITS.maxWaitMs)
    await settle()
    for (const t of all.slice(2, -1)) expect(t.error).toBeInstanceOf(SyncBusyError)
    // The refused left no trace: a slot given back now frees it.
    all[0]!.release!()
    all[1]!.release!()
    expect(s.served('p')).toBe(0)
  })

  it('never serves more than perPeer of a peer at once, and settles every request (property)', async () => {
    const op = fc.oneof(
      fc.record({ t: fc.constant('acquire' as const), peer: fc.constantFrom('p', 'q') }),
      fc.record({ t: fc.constant('release' as const), which: fc.nat(20) }),
      fc.record({ t: fc.constant('advance' as const), ms: fc.constantFrom(100, 600, 1_000) }),
    )
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 60 }), async (ops) => {
        const { clock, slots: s } = slots()
        const all: { peer: string; t: ReturnType<typeof track>; released: boolean }[] = []
        for (const o of ops) {
          if (o.t === 'acquire')
            all.push({ peer: o.peer, t: track(s.acquire(o.peer)), released: false })
          else if (o.t === 'advance') clock.advance(o.ms)
          else {
            const granted = all.filter((x) => x.t.release !== undefined && !x.released)
            const x = granted[o.which % Math.max(1, granted.length)]
            if (x !== undefined) {
              x.t.release!()
              x.released = true
            }
          }
          await settle()
          for (const peer of ['p', 'q']) {
            const held = all.filter((x) => x.peer === peer && x.t.release && !x.released).length
            expect(held).toBeLessThanOrEqual(LIMITS.perPeer)
            expect(s.served(peer)).toBe(held)
          }
        }
        // Everything still held given back, and the waits run out: every request settled.
        for (const x of all) if (x.t.release && !x.released) x.t.release()
        clock.advance(LIMITS.maxWaitMs)
        await settle()
        for (const x of all) if (x.t.release && !x.released) x.t.release()
        expect(all.every((x) => x.t.release !== undefined || x.t.error !== undefined)).toBe(true)
      }),
      { numRuns: 100 },
    )
  })

  it('a node serves two sync requests per peer at once, 64 wait at most, five seconds each', () => {
    expect(SYNC_SERVING).toEqual({ perPeer: 2, maxWaiting: 64, maxWaitMs: 5_000 })
  })
})
