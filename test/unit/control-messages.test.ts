import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  pingBytes,
  pongBytes,
  type Root,
  readControl,
  rootOf,
} from '../../src/mesh/control-messages.js'
import { msgpack } from '../../src/replication/value-codec.js'

const time = fc.double({ min: 0, max: 4e12, noNaN: true })
const roots = fc.array(
  fc.tuple(fc.string({ maxLength: 20 }), fc.string({ maxLength: 16 })) as fc.Arbitrary<Root>,
  { maxLength: 5 },
)

describe('link control messages', () => {
  it('property: a ping reads back as sent, with or without the echo of a pong', () => {
    fc.assert(
      fc.property(
        time,
        fc.integer({ min: -1e6, max: 1e6 }),
        roots,
        fc.string(),
        fc.option(fc.record({ t3: time, t4: time }), { nil: undefined }),
        (t1, correction, r, digest, echo) => {
          expect(readControl(pingBytes(t1, correction, r, digest, echo))).toEqual({
            type: 'ping',
            t1,
            correction,
            roots: r,
            digest,
            echo: echo?.t3,
            t4: echo?.t4,
          })
        },
      ),
    )
  })

  it('property: a pong reads back as sent', () => {
    fc.assert(
      fc.property(time, time, time, fc.integer(), roots, fc.string(), (t1, t2, t3, c, r, d) => {
        expect(readControl(pongBytes(t1, t2, t3, c, r, d))).toEqual({
          type: 'pong',
          t1,
          t2,
          t3,
          correction: c,
          roots: r,
          digest: d,
        })
      }),
    )
  })

  it('reads anything else as nothing, without throwing', () => {
    const bad = [
      new Uint8Array(0),
      Uint8Array.of(0xc1),
      msgpack.pack('ping'),
      msgpack.pack([0, 'not a time', 0, [], '']),
      msgpack.pack([0, 1, 0, []]),
      msgpack.pack([1, 1, 2, 3, 0, []]),
      msgpack.pack([2, 1, 2, 3, 0, [], '']),
    ]
    for (const b of bad) expect(readControl(b)).toBeUndefined()
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (b) => {
        const m = readControl(b)
        if (m !== undefined) expect(['ping', 'pong']).toContain(m.type)
      }),
    )
    // A correction that is not a finite number is left out, the message still read.
    expect(readControl(msgpack.pack([0, 1, 'x', [], 'd']))).toMatchObject({ correction: undefined })
  })

  it('writes a root as its lanes in hex, eight digits each', () => {
    expect(rootOf(Uint32Array.of(0, 0xdeadbeef, 1))).toBe('00000000deadbeef00000001')
    expect(rootOf([-1])).toBe('ffffffff')
  })
})
