import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  bootstrapBackoffMs,
  dialsNow,
  extraConnection,
  pickDials,
} from '../../src/mesh/connection-rules.js'

describe('extraConnection: who closes a connection that is not a link', () => {
  const never = () => {
    throw new Error('direction asked for although the age decides')
  }

  it('keeps every connection through its grace, whoever dialled', () => {
    expect(extraConnection(0, 10_000, 6, never)).toBe('grace')
    expect(extraConnection(10_000, 10_000, 6, never)).toBe('grace')
  })

  it('after the grace the dialler closes it and the end that accepted keeps it', () => {
    expect(extraConnection(10_001, 10_000, 6, () => true)).toBe('close')
    expect(extraConnection(10_001, 10_000, 6, () => false)).toBe('keep')
    expect(extraConnection(60_000, 10_000, 6, () => false)).toBe('keep')
  })

  it('the end that accepted closes it too after inboundFactor graces', () => {
    expect(extraConnection(60_001, 10_000, 6, never)).toBe('close')
  })

  it('for every age, a connection is closed no later by its acceptor than by its dialler', () => {
    const rank = { grace: 0, keep: 1, close: 2 } as const
    fc.assert(
      fc.property(
        fc.nat(200_000),
        fc.integer({ min: 1, max: 20_000 }),
        fc.integer({ min: 1, max: 10 }),
        (age, grace, factor) => {
          const dialler = extraConnection(age, grace, factor, () => true)
          const acceptor = extraConnection(age, grace, factor, () => false)
          expect(rank[dialler]).toBeGreaterThanOrEqual(rank[acceptor])
          if (age > grace) expect(dialler).toBe('close')
          if (age <= grace) expect(acceptor).toBe('grace')
        },
      ),
    )
  })
})

describe('bootstrapBackoffMs', () => {
  it('doubles from the redial interval up to the cap, times 0.5-1.5', () => {
    expect(bootstrapBackoffMs(1, 2_000, 10_000, 0.5)).toBe(2_000)
    expect(bootstrapBackoffMs(2, 2_000, 10_000, 0.5)).toBe(4_000)
    expect(bootstrapBackoffMs(3, 2_000, 10_000, 0)).toBe(4_000)
    expect(bootstrapBackoffMs(9, 2_000, 10_000, 0.5)).toBe(10_000)
  })

  it('never waits less than half the interval nor more than 1.5 times the cap', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 60 }),
        fc.double({ min: 0, max: 0.999_999, noNaN: true }),
        (failures, jitter) => {
          const ms = bootstrapBackoffMs(failures, 2_000, 10_000, jitter)
          expect(ms).toBeGreaterThanOrEqual(1_000)
          expect(ms).toBeLessThan(15_000)
        },
      ),
    )
  })
})

describe('pickDials: which peers a pass dials when the window is short', () => {
  it('takes at most the free slots, none when there are none', () => {
    const peers: { id: string; dialFailures?: number }[] = [{ id: 'a' }, { id: 'b' }, { id: 'c' }]
    expect(pickDials(peers, 2).map((p) => p.id)).toEqual(['a', 'b'])
    expect(pickDials(peers, 0)).toEqual([])
    expect(pickDials(peers, -1)).toEqual([])
    expect(pickDials(peers, 9)).toHaveLength(3)
  })

  it('puts peers that keep failing behind the rest, so they cannot hold every slot', () => {
    const dead = Array.from({ length: 6 }, (_, i) => ({ id: `dead${i}`, dialFailures: 3 }))
    const hub = { id: 'hub', dialFailures: 0 }
    expect(pickDials([...dead, hub], 6)[0]).toBe(hub)
  })

  it('for any peers and slots: the fewest failures first, the given order among equals', () => {
    fc.assert(
      fc.property(
        fc.array(fc.option(fc.nat(5), { nil: undefined }), { maxLength: 30 }),
        fc.integer({ min: -2, max: 40 }),
        (failures, slots) => {
          const wanted = failures.map((f, i) => ({ i, dialFailures: f }))
          const picked = pickDials(wanted, slots)
          expect(picked).toHaveLength(Math.max(0, Math.min(slots, wanted.length)))
          const left = wanted.filter((p) => !picked.includes(p))
          const most = Math.max(-1, ...picked.map((p) => p.dialFailures ?? 0))
          for (const p of left) expect(p.dialFailures ?? 0).toBeGreaterThanOrEqual(most)
          for (let k = 1; k < picked.length; k++) {
            const a = picked[k - 1]!
            const b = picked[k]!
            const fa = a.dialFailures ?? 0
            const fb = b.dialFailures ?? 0
            expect(fa < fb || (fa === fb && a.i < b.i)).toBe(true)
          }
        },
      ),
    )
  })
})

describe('dialsNow: which end of a link dials it', () => {
  it('the smaller id at once, the larger only after the wait', () => {
    expect(dialsNow('a', 'b', 0, 4_000)).toBe(true)
    expect(dialsNow('b', 'a', 0, 4_000)).toBe(false)
    expect(dialsNow('b', 'a', 3_999, 4_000)).toBe(false)
    expect(dialsNow('b', 'a', 4_000, 4_000)).toBe(true)
  })

  it('for any two distinct ids and any time, exactly one end dials before the wait, both after', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), fc.nat(10_000), (x, y, missing) => {
        fc.pre(x !== y)
        const both = [dialsNow(x, y, missing, 4_000), dialsNow(y, x, missing, 4_000)]
        expect(both.filter(Boolean)).toHaveLength(missing >= 4_000 ? 2 : 1)
      }),
    )
  })
})
