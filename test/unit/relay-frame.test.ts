import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  encodeFrame,
  FrameError,
  ITEM_KIND,
  itemBytes,
  type RelayItem,
  readFrame,
} from '../../src/replication/relay-frame.js'
import { SeenItems } from '../../src/replication/seen-items.js'

const itemArb: fc.Arbitrary<RelayItem> = fc.record({
  kind: fc.constantFrom(ITEM_KIND.batch, ITEM_KIND.member, ITEM_KIND.control, ITEM_KIND.vouched),
  origin: fc.string({ minLength: 1, maxLength: 60, unit: 'grapheme' }),
  incarnation: fc.double({ noNaN: true, noDefaultInfinity: true }),
  seq: fc.nat({ max: 2 ** 32 - 1 }),
  body: fc.uint8Array({ maxLength: 300 }),
})

const read = (frame: Uint8Array) => {
  const out: RelayItem[] = []
  readFrame(frame, (item) => out.push({ ...item, body: Uint8Array.from(item.body) }))
  return out
}

describe('relay frames', () => {
  it('property: a frame reads back the items it was made of, in order, and is as long as they say', () => {
    fc.assert(
      fc.property(fc.array(itemArb, { maxLength: 20 }), (items) => {
        const frame = encodeFrame(items)
        expect(frame.length).toBe(1 + items.reduce((n, i) => n + itemBytes(i), 0))
        const back = read(frame)
        expect(
          back.map((i) => ({
            ...i,
            incarnation: Object.is(i.incarnation, -0) ? 0 : i.incarnation,
          })),
        ).toEqual(
          items.map((i) => ({
            ...i,
            incarnation: Object.is(i.incarnation, -0) ? 0 : i.incarnation,
          })),
        )
      }),
    )
  })

  it('property: any truncation or garbage is a FrameError, never a crash or a wrong item', () => {
    fc.assert(
      fc.property(fc.array(itemArb, { minLength: 1, maxLength: 5 }), fc.nat(), (items, cut) => {
        const frame = encodeFrame(items)
        const at = cut % frame.length
        if (at === 0) return
        const torn = frame.subarray(0, at)
        try {
          const back = read(torn)
          // A cut exactly between items reads the whole items before it.
          expect(back).toEqual(read(frame).slice(0, back.length))
        } catch (err) {
          expect(err).toBeInstanceOf(FrameError)
        }
      }),
    )
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (junk) => {
        try {
          read(junk)
        } catch (err) {
          expect(err).toBeInstanceOf(FrameError)
        }
      }),
    )
  })
})

describe('the duplicate filter', () => {
  it("property: an item is new exactly once, within the window of its origin's newest incarnation", () => {
    const ops = fc.array(
      fc.record({
        origin: fc.constantFrom('a', 'b', 'c'),
        inc: fc.integer({ min: 1, max: 3 }),
        seq: fc.integer({ min: 1, max: 300 }),
      }),
      { maxLength: 400 },
    )
    fc.assert(
      fc.property(ops, (list) => {
        const seen = new SeenItems({ window: 64 })
        const model = new Map<string, { inc: number; high: number; got: Set<number> }>()
        for (const { origin, inc, seq } of list) {
          let m = model.get(origin)
          let expected: boolean
          if (m === undefined || inc > m.inc) {
            m = { inc, high: 0, got: new Set() }
            model.set(origin, m)
          }
          if (inc < m.inc) expected = false
          else if (m.got.has(seq) || seq <= m.high - 64) expected = false
          else {
            expected = true
            m.got.add(seq)
            m.high = Math.max(m.high, seq)
          }
          expect(seen.has(origin, inc, seq)).toBe(!expected)
          expect(seen.admit(origin, inc, seq)).toBe(expected)
        }
      }),
    )
  })

  it('forgets the least recently heard origin past its bound', () => {
    const seen = new SeenItems({ maxOrigins: 2 })
    expect(seen.admit('a', 1, 1)).toBe(true)
    expect(seen.admit('b', 1, 1)).toBe(true)
    expect(seen.admit('c', 1, 1)).toBe(true)
    expect(seen.size).toBe(2)
    // 'a' was forgotten: its item counts as new again (a duplicate the replica drops as stale).
    expect(seen.admit('a', 1, 1)).toBe(true)
  })
})
