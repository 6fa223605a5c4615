import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { InvalidMessageError } from '../../src/errors.js'
import { decodeBatch, encodeBatch } from '../../src/replication/batch-codec.js'
import type { EntryTuple } from '../../src/replication/entry-tuple.js'
import { WIRE_LIMITS } from '../../src/replication/limits.js'
import { msgpack } from '../../src/replication/value-codec.js'
import type { WriteBatch } from '../../src/replication/write-record.js'

/** A batch whose records name its origin (the wire names it once per batch). */
const batchArb: fc.Arbitrary<WriteBatch> = fc
  .record({
    origin: fc.string({ minLength: 1, maxLength: 52 }),
    region: fc.string({ minLength: 1, maxLength: 20 }),
    keyspace: fc.string({ minLength: 1, maxLength: 20 }),
    sentAt: fc.integer({ min: 0, max: 2 ** 45 }),
    incarnation: fc.double({ noNaN: true, noDefaultInfinity: true }),
    seq: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
    rows: fc.array(
      fc.record({
        key: fc.string({ minLength: 1, maxLength: 40 }),
        wall: fc.integer({ min: 0, max: 2 ** 45 }),
        logical: fc.integer({ min: 0, max: 2 ** 20 }),
        expiresAt: fc.integer({ min: 0, max: 2 ** 45 }),
        value: fc.option(fc.uint8Array({ minLength: 1, maxLength: 64 }), { nil: null }),
      }),
      { minLength: 1, maxLength: 20 },
    ),
  })
  .map(({ rows, ...b }) => ({
    ...b,
    incarnation: Object.is(b.incarnation, -0) ? 0 : b.incarnation,
    records: rows.map(
      (r) =>
        [
          r.key,
          r.wall,
          r.logical,
          b.origin,
          r.expiresAt,
          r.value === null ? 1 : 0,
          r.value,
        ] as EntryTuple,
    ),
  }))

const normalize = (b: WriteBatch) => ({
  ...b,
  records: b.records.map((r) => r.map((x) => (x instanceof Uint8Array ? [...x] : x))),
})

describe('batch codec', () => {
  it('decode(encode(batch)) is the batch (property)', () => {
    fc.assert(
      fc.property(batchArb, (batch) => {
        expect(normalize(decodeBatch(encodeBatch(batch), WIRE_LIMITS))).toEqual(normalize(batch))
      }),
    )
  })

  it('random bytes never crash the decoder: valid batch or InvalidMessageError (fuzz)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
        try {
          decodeBatch(bytes, WIRE_LIMITS)
        } catch (err) {
          expect(err).toBeInstanceOf(InvalidMessageError)
        }
      }),
      { numRuns: 2_000 },
    )
  })

  it('mutated valid batches never crash the decoder (fuzz)', () => {
    fc.assert(
      fc.property(
        batchArb,
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }),
        (batch, flips) => {
          const bytes = encodeBatch(batch)
          for (const [pos, val] of flips) bytes[pos % bytes.length] = val
          try {
            decodeBatch(bytes, WIRE_LIMITS)
          } catch (err) {
            expect(err).toBeInstanceOf(InvalidMessageError)
          }
        },
      ),
      { numRuns: 1_000 },
    )
  })

  it('rejects structurally bad batches with the reason', () => {
    const bad = (v: unknown) => () => decodeBatch(msgpack.pack(v), WIRE_LIMITS)
    expect(bad([1, 'o', 'r', 'k', 0, 1, 1, []])).toThrow(/unknown format/)
    expect(bad([3, 'o', 'r', 'k', 0, []])).toThrow(/8-element/)
    expect(bad([3, 'o', 'r', 'k', -5, 1, 1, [['k', 1, 0, 0, 1, null]]])).toThrow(/bad send time/)
    expect(bad([3, 'o', 'r', 'k', 0, 'x', 1, [['k', 1, 0, 0, 1, null]]])).toThrow(/incarnation/)
    expect(bad([3, 'o', 'r', 'k', 0, 1, -1, [['k', 1, 0, 0, 1, null]]])).toThrow(/sequence/)
    expect(bad([3, 'o', 'r', 'k', 0, 1, 1, []])).toThrow(/no records/)
    expect(bad([3, 'o', 'r', 'k', 0, 1, 1, [['k', -1, 0, 0, 0, new Uint8Array([1])]]])).toThrow(
      /bad stamp/,
    )
    expect(bad([3, 'o', 'r', 'k', 0, 1, 1, [['k', 1, 0, 0, 1, new Uint8Array([1])]]])).toThrow(
      /tombstone with a value/,
    )
    expect(bad([3, 'o', 'r', 'k', 0, 1, 1, [['', 1, 0, 0, 1, null]]])).toThrow(/bad key/)
    const many = Array.from({ length: 11 }, () => ['k', 1, 0, 0, 1, null])
    expect(() =>
      decodeBatch(msgpack.pack([3, 'o', 'r', 'k', 0, 1, 1, many]), {
        ...WIRE_LIMITS,
        maxRecordsPerBatch: 10,
      }),
    ).toThrow(/over 10/)
    expect(() => decodeBatch(new Uint8Array(100), { ...WIRE_LIMITS, maxBatchBytes: 50 })).toThrow(
      /over 50/,
    )
  })
})
