import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { RelayQueue, writableItems } from '../../src/mesh/relay-queue.js'
import { FrameWriter, MAX_COMPACT_EXCESS } from '../../src/replication/compact-frame.js'
import { ITEM_KIND, itemBytes, type RelayItem } from '../../src/replication/relay-frame.js'

const item = (seq: number, size: number, kind: RelayItem['kind'] = ITEM_KIND.batch): RelayItem => ({
  kind,
  origin: `node-${seq % 7}`,
  incarnation: 1,
  seq,
  body: new Uint8Array(size),
})

/** Bytes an item is counted at: a stripped batch as the signed one it may go as. */
const counted = (i: RelayItem) => itemBytes(i.signed ?? i)

/** Bytes a frame of `items` is budgeted at (the bound `take` keeps). */
const budget = (items: RelayItem[]) =>
  1 + items.reduce((n, i) => n + counted(i) + MAX_COMPACT_EXCESS, 0)

const takeAll = (q: RelayQueue, maxFrameBytes: number) => {
  const frames: RelayItem[][] = []
  while (q.length > 0) frames.push(q.take(maxFrameBytes))
  return frames
}

describe('a relay link queue', () => {
  it('property: frames hold every item kept, in order, each within the bound and as full as the bound allows', () => {
    fc.assert(
      fc.property(
        fc.array(fc.nat({ max: 400 }), { maxLength: 60 }),
        fc.integer({ min: 200, max: 2_000 }),
        fc.integer({ min: 100, max: 6_000 }),
        (sizes, maxFrameBytes, maxQueuedBytes) => {
          const q = new RelayQueue(maxQueuedBytes)
          const pushed = sizes.map((s, seq) => item(seq, s))
          let dropped = 0
          for (const i of pushed) dropped += q.push(i)
          const frames = takeAll(q, maxFrameBytes)
          // The oldest were dropped, the rest kept in order.
          expect(frames.flat()).toEqual(pushed.slice(dropped))
          // What is kept fits the bound (or is the one item pushed last).
          const kept = pushed.slice(dropped)
          const keptBytes = kept.reduce((n, i) => n + itemBytes(i), 0)
          if (kept.length > 1) expect(keptBytes).toBeLessThanOrEqual(maxQueuedBytes)
          // ...and no more was dropped than needed: one item more would not fit.
          if (dropped > 0)
            expect(keptBytes + itemBytes(pushed[dropped - 1]!)).toBeGreaterThan(maxQueuedBytes)
          frames.forEach((f, n) => {
            expect(f.length).toBeGreaterThan(0)
            if (f.length > 1) expect(budget(f)).toBeLessThanOrEqual(maxFrameBytes)
            const next = frames[n + 1]?.[0]
            if (next !== undefined) expect(budget([...f, next])).toBeGreaterThan(maxFrameBytes)
          })
        },
      ),
    )
  })

  it('a frame taken encodes within its bound on a compact stream', () => {
    const q = new RelayQueue()
    for (let seq = 0; seq < 500; seq++) q.push(item(2 ** 32 - 1 - seq, seq % 50))
    const writer = new FrameWriter(true)
    for (const f of takeAll(q, 4_096)) expect(writer.encode(f).length).toBeLessThanOrEqual(4_096)
  })

  it('property: pushes and takes in any order keep the byte count exact and the queue as a model does', () => {
    const op = fc.oneof(
      fc.record({ push: fc.nat({ max: 300 }), signed: fc.option(fc.nat({ max: 400 })) }),
      fc.record({ take: fc.integer({ min: 64, max: 1_500 }) }),
    )
    fc.assert(
      fc.property(
        fc.array(op, { maxLength: 80 }),
        fc.integer({ min: 50, max: 3_000 }),
        (ops, max) => {
          const q = new RelayQueue(max)
          const model: RelayItem[] = []
          ops.forEach((o, seq) => {
            if ('push' in o) {
              const i =
                o.signed === null
                  ? item(seq, o.push)
                  : { ...item(seq, o.push, ITEM_KIND.vouched), signed: item(seq, o.signed) }
              const dropped = q.push(i)
              model.push(i)
              let expected = 0
              while (model.reduce((n, m) => n + counted(m), 0) > max && model.length > 1) {
                model.shift()
                expected++
              }
              expect(dropped).toBe(expected)
            } else if (model.length > 0) {
              const f = q.take(o.take)
              expect(f).toEqual(model.splice(0, f.length))
              if (f.length > 1) expect(budget(f)).toBeLessThanOrEqual(o.take)
              if (model.length > 0) expect(budget([...f, model[0]!])).toBeGreaterThan(o.take)
            }
            expect(q.length).toBe(model.length)
            expect(q.bytesQueued).toBe(model.reduce((n, m) => n + counted(m), 0))
          })
        },
      ),
    )
  })

  it('a stream of an older version gets a vouched batch signed, or not at all', () => {
    const signed = item(1, 10)
    const stripped = { ...item(1, 5, ITEM_KIND.vouched), signed }
    const unsigned = item(2, 5, ITEM_KIND.vouched)
    const member = item(3, 5, ITEM_KIND.member)
    const all = [stripped, member, unsigned]
    expect(writableItems(all, true)).toEqual({ items: all, withheld: 0 })
    expect(writableItems(all, false)).toEqual({ items: [signed, member], withheld: 1 })
    const plain = [member, signed]
    expect(writableItems(plain, false).items).toBe(plain)
  })
})
