import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  COMPACT_FRAME_VERSION,
  FrameReader,
  FrameWriter,
  MAX_COMPACT_EXCESS,
  MAX_ORIGINS,
} from '../../src/replication/compact-frame.js'
import {
  encodeFrame,
  FrameError,
  ITEM_KIND,
  itemBytes,
  type RelayItem,
} from '../../src/replication/relay-frame.js'

const originArb = fc.constantFrom(
  ...Array.from({ length: 6 }, (_, i) => `12D3KooW${String(i).repeat(44)}`),
  'é',
  'x',
)
const itemArb: fc.Arbitrary<RelayItem> = fc.record({
  kind: fc.constantFrom(ITEM_KIND.batch, ITEM_KIND.member, ITEM_KIND.control, ITEM_KIND.vouched),
  origin: originArb,
  incarnation: fc.constantFrom(1.5, 1_765_000_000_000.25, 0, -3),
  seq: fc.nat({ max: 2 ** 32 - 1 }),
  body: fc.uint8Array({ maxLength: 300 }),
})

const copy = (item: RelayItem): RelayItem => ({ ...item, body: Uint8Array.from(item.body) })
const readAll = (reader: FrameReader, frame: Uint8Array) => {
  const out: RelayItem[] = []
  reader.read(frame, (item) => out.push(copy(item)))
  return out
}

describe('compact relay frames', () => {
  it('property: frames read back, in stream order, the items they were made of', () => {
    fc.assert(
      fc.property(fc.array(fc.array(itemArb, { maxLength: 8 }), { maxLength: 8 }), (frames) => {
        const writer = new FrameWriter(true)
        const reader = new FrameReader()
        for (const items of frames) {
          const frame = writer.encode(items)
          expect(frame[0]).toBe(COMPACT_FRAME_VERSION)
          // A frame of link control alone is no replication traffic (WAN bytes count it out).
          const data = items.some((i) => i.kind !== ITEM_KIND.control)
          if (!data) expect(writer.lastReplicationBytes).toBe(0)
          else expect(writer.lastReplicationBytes).toBeGreaterThan(1)
          expect(readAll(reader, frame)).toEqual(items.map(copy))
        }
      }),
    )
  })

  it('property: an item is never more than MAX_COMPACT_EXCESS bytes over version 1, and a known origin costs its varints only', () => {
    fc.assert(
      fc.property(fc.array(itemArb, { minLength: 1, maxLength: 8 }), (items) => {
        const writer = new FrameWriter(true)
        const first = writer.encode(items)
        expect(first.length).toBeLessThanOrEqual(
          encodeFrame(items).length + MAX_COMPACT_EXCESS * items.length,
        )
        // Sent again on the same stream: every origin is known.
        const again = writer.encode(items)
        const varints = (n: number) => (n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x20_0000 ? 3 : 5)
        const bound = items.reduce(
          (n, i) => n + 1 + 2 + varints(i.seq) + varints(i.body.length) + i.body.length,
          1,
        )
        expect(again.length).toBeLessThanOrEqual(bound)
      }),
    )
  })

  it('a one-record write batch after the first: 70 bytes of header become 6', () => {
    const origin = `12D3KooW${'a'.repeat(44)}`
    const item = (seq: number): RelayItem => ({
      kind: ITEM_KIND.batch,
      origin,
      incarnation: 1_765_000_000_000.5,
      seq,
      body: new Uint8Array(246),
    })
    const writer = new FrameWriter(true)
    writer.encode([item(1)])
    const frame = writer.encode([item(200)])
    expect(itemBytes(item(200)) - 246).toBe(70)
    expect(frame.length - 1 - 246).toBe(6)
  })

  it('the origin table is bounded: the writer starts it again, and a reader refuses a peer that overfills it', () => {
    const writer = new FrameWriter(true)
    const reader = new FrameReader()
    const many = Array.from({ length: MAX_ORIGINS * 2 + 10 }, (_, i) => ({
      kind: ITEM_KIND.batch,
      origin: `node-${i}`,
      incarnation: 1,
      seq: i,
      body: Uint8Array.of(i & 0xff),
    }))
    for (let i = 0; i < many.length; i += 100) {
      const items = many.slice(i, i + 100).map((item) => ({ ...item, seq: 2 ** 32 - 1 - item.seq }))
      const frame = writer.encode(items)
      // Resets and definitions with the longest varints: still within the bound a frame's
      // size is budgeted with (relay-queue.ts).
      expect(frame.length).toBeLessThanOrEqual(
        encodeFrame(items).length + MAX_COMPACT_EXCESS * items.length,
      )
      expect(readAll(reader, frame)).toEqual(items)
    }
    // A hostile peer defines entries without ever starting again.
    const hostile = new FrameReader()
    const define = (i: number) => {
      const origin = Buffer.from(`o${i}`)
      return Buffer.concat([
        Uint8Array.of(ITEM_KIND.batch, 0, origin.length),
        origin,
        new Uint8Array(8),
        Uint8Array.of(1, 0),
      ])
    }
    const frame = Buffer.concat([
      Uint8Array.of(COMPACT_FRAME_VERSION),
      ...Array.from({ length: MAX_ORIGINS + 1 }, (_, i) => define(i)),
    ])
    expect(() => hostile.read(frame, () => {})).toThrow(/origin table full/)
  })

  it('a version 1 writer and frames: a peer that speaks only /meshcache/relay/1 reads them', () => {
    const items: RelayItem[] = [
      { kind: ITEM_KIND.batch, origin: 'a', incarnation: 2, seq: 7, body: Uint8Array.of(1, 2) },
      { kind: ITEM_KIND.control, origin: 'b', incarnation: 3, seq: 1, body: Uint8Array.of(9) },
    ]
    const writer = new FrameWriter(false)
    const frame = writer.encode(items)
    expect(frame).toEqual(encodeFrame(items))
    expect(writer.lastReplicationBytes).toBe(frame.length - itemBytes(items[1]!))
    writer.encode([items[1]!])
    expect(writer.lastReplicationBytes).toBe(0)
    // A compact stream's reader takes version 1 frames too, in between its own.
    const reader = new FrameReader()
    const compact = new FrameWriter(true)
    expect(readAll(reader, compact.encode(items))).toEqual(items)
    expect(readAll(reader, frame)).toEqual(items)
    expect(readAll(reader, compact.encode(items))).toEqual(items)
  })

  it('property: truncation or garbage is a FrameError, never a crash, and the stream is refused after it', () => {
    fc.assert(
      fc.property(fc.array(itemArb, { minLength: 1, maxLength: 5 }), fc.nat(), (items, cut) => {
        const frame = new FrameWriter(true).encode(items)
        const at = cut % frame.length
        if (at === 0) return
        const reader = new FrameReader()
        try {
          const back = readAll(reader, frame.subarray(0, at))
          // A cut exactly between items reads the whole items before it.
          expect(back).toEqual(items.slice(0, back.length).map(copy))
        } catch (err) {
          expect(err).toBeInstanceOf(FrameError)
          expect(() => reader.read(new FrameWriter(true).encode(items), () => {})).toThrow(
            /state lost/,
          )
        }
      }),
    )
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (junk) => {
        try {
          readAll(new FrameReader(), Uint8Array.of(COMPACT_FRAME_VERSION, ...junk))
        } catch (err) {
          expect(err).toBeInstanceOf(FrameError)
        }
      }),
    )
  })

  it('an origin over 255 bytes throws before the table changes: the stream stays in step', () => {
    const writer = new FrameWriter(true)
    const reader = new FrameReader()
    const ok: RelayItem = {
      kind: ITEM_KIND.batch,
      origin: 'a',
      incarnation: 1,
      seq: 1,
      body: Uint8Array.of(1),
    }
    const long: RelayItem = { ...ok, origin: 'x'.repeat(256) }
    expect(() => writer.encode([{ ...ok, origin: 'b' }, long])).toThrow(RangeError)
    // 'b' was not defined on the writer's side either: the next frame defines it.
    const items = [{ ...ok, origin: 'b' }, ok]
    expect(readAll(reader, writer.encode(items))).toEqual(items)
  })

  it('an item naming an origin the stream never defined is refused', () => {
    const frame = Uint8Array.of(COMPACT_FRAME_VERSION, ITEM_KIND.batch, 5, 1, 0)
    expect(() => new FrameReader().read(frame, () => {})).toThrow(/unknown origin ref 5/)
  })
})
