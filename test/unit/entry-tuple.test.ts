import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { Version } from '../../src/clock/version.js'
import {
  type EntryTuple,
  isEntryTuple,
  TUPLE_KIND,
  type TupleLimits,
  tupleOf,
  versionOnlyTuple,
} from '../../src/replication/entry-tuple.js'
import { WIRE_LIMITS } from '../../src/replication/limits.js'
import { decodeValue, encodeValue } from '../../src/replication/value-codec.js'
import type { Entry } from '../../src/store/entry.js'

const LIMITS: TupleLimits = { maxKeyLength: 16, maxNameLength: 8, maxValueBytes: 32 }
const MAX = Number.MAX_SAFE_INTEGER

const keyArb = fc.string({ minLength: 1, maxLength: LIMITS.maxKeyLength })
const nodeArb = fc.string({ minLength: 1, maxLength: LIMITS.maxNameLength })
const natArb = fc.oneof(fc.constantFrom(0, 1, MAX), fc.maxSafeNat())

const valueTupleArb: fc.Arbitrary<EntryTuple> = fc.tuple(
  keyArb,
  natArb,
  natArb,
  nodeArb,
  natArb,
  fc.constant(0 as const),
  fc.uint8Array({ minLength: 1, maxLength: LIMITS.maxValueBytes }),
)
const bareTupleArb: fc.Arbitrary<EntryTuple> = fc.tuple(
  keyArb,
  natArb,
  natArb,
  nodeArb,
  natArb,
  fc.constantFrom(1 as const, 2 as const),
  fc.constant(null),
)
const validTupleArb = fc.oneof(valueTupleArb, bareTupleArb)

/** Wrong types and sizes, by field. */
const badKey = fc.constantFrom<unknown>(
  '',
  'k'.repeat(LIMITS.maxKeyLength + 1),
  5,
  null,
  undefined,
  ['k'],
)
const badNumber = fc.constantFrom<unknown>(
  -1,
  0.5,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  MAX + 1,
  '1',
  null,
  undefined,
  1n,
  true,
)
const badNode = fc.constantFrom<unknown>('', 'n'.repeat(LIMITS.maxNameLength + 1), 7, null)
const badKind = fc.constantFrom<unknown>(3, -1, '0', '1', null, undefined, 0.5, true)
const badBytes = fc.constantFrom<unknown>(
  null,
  undefined,
  new Uint8Array(0),
  new Uint8Array(LIMITS.maxValueBytes + 1),
  [1, 2],
  'ab',
  new Uint16Array(1),
  new ArrayBuffer(1),
)
const badNull = fc.constantFrom<unknown>(Uint8Array.of(1), undefined, [], '', 0, new Uint8Array(0))

/** A valid tuple with exactly one field made wrong. */
const mutatedArb = validTupleArb.chain((t) =>
  fc.oneof(
    badKey.map((b) => withField(t, 0, b)),
    badNumber.map((b) => withField(t, 1, b)),
    badNumber.map((b) => withField(t, 2, b)),
    badNode.map((b) => withField(t, 3, b)),
    badNumber.map((b) => withField(t, 4, b)),
    badKind.map((b) => withField(t, 5, b)),
    (t[5] === 0 ? badBytes : badNull).map((b) => withField(t, 6, b)),
  ),
)

function withField(t: EntryTuple, i: number, v: unknown): unknown[] {
  const copy: unknown[] = [...t]
  copy[i] = v
  return copy
}

/** Values msgpack carries unchanged (no -0, no `__proto__` keys). */
const valueArb: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  leaf: fc.oneof(
    fc.string(),
    fc.integer(),
    fc.double({ noNaN: true, noDefaultInfinity: true }).filter((d) => !Object.is(d, -0)),
    fc.boolean(),
    fc.constant(null),
  ),
  node: fc.oneof(
    { depthSize: 'small' },
    tie('leaf'),
    fc.array(tie('node'), { maxLength: 4 }),
    fc.dictionary(
      fc.string().filter((k) => k !== '__proto__'),
      tie('node'),
      { maxKeys: 4 },
    ),
  ),
})).node

const versionArb: fc.Arbitrary<Version> = fc.record({
  wall: fc.maxSafeNat(),
  logical: fc.nat(),
  node: fc.string({ minLength: 1, maxLength: 20 }),
})

describe('isEntryTuple', () => {
  it('accepts every well-formed tuple within the limits', () => {
    fc.assert(fc.property(validTupleArb, (t) => isEntryTuple(t, LIMITS)))
  })

  it('rejects a tuple with any one field of the wrong type or size', () => {
    fc.assert(fc.property(mutatedArb, (t) => !isEntryTuple(t, LIMITS)))
  })

  it('rejects anything that is not an array of exactly seven fields', () => {
    const ok: EntryTuple = ['k', 1, 0, 'n', 2, 1, null]
    expect(isEntryTuple(ok, LIMITS)).toBe(true)
    for (const bad of [
      ok.slice(0, 6),
      [...ok, null],
      [],
      { ...ok, length: 7 },
      null,
      undefined,
      'k',
      7,
    ]) {
      expect(isEntryTuple(bad, LIMITS)).toBe(false)
    }
  })

  it('holds the limits exactly at their bounds', () => {
    const key = 'k'.repeat(LIMITS.maxKeyLength)
    const node = 'n'.repeat(LIMITS.maxNameLength)
    const bytes = new Uint8Array(LIMITS.maxValueBytes)
    expect(isEntryTuple([key, MAX, MAX, node, MAX, 0, bytes], LIMITS)).toBe(true)
    expect(isEntryTuple([key, 0, 0, node, 0, 0, Uint8Array.of(0)], LIMITS)).toBe(true)
    expect(isEntryTuple([`${key}k`, 0, 0, node, 0, 1, null], LIMITS)).toBe(false)
    expect(isEntryTuple([key, 0, 0, `${node}n`, 0, 1, null], LIMITS)).toBe(false)
    expect(
      isEntryTuple([key, 0, 0, node, 0, 0, new Uint8Array(LIMITS.maxValueBytes + 1)], LIMITS),
    ).toBe(false)
  })

  it('needs value bytes exactly for kind 0, and null for kinds 1 and 2', () => {
    expect(isEntryTuple(['k', 1, 0, 'n', 2, 0, null], LIMITS)).toBe(false)
    expect(isEntryTuple(['k', 1, 0, 'n', 2, 0, new Uint8Array(0)], LIMITS)).toBe(false)
    expect(isEntryTuple(['k', 1, 0, 'n', 2, 1, Uint8Array.of(1)], LIMITS)).toBe(false)
    expect(isEntryTuple(['k', 1, 0, 'n', 2, 2, Uint8Array.of(1)], LIMITS)).toBe(false)
    expect(isEntryTuple(['k', 1, 0, 'n', 2, 1, undefined], LIMITS)).toBe(false)
    expect(isEntryTuple(['k', 1, 0, 'n', 2, 2, null], LIMITS)).toBe(true)
  })
})

describe('tupleOf, versionOnlyTuple', () => {
  it('names the kinds 0, 1, 2', () => {
    expect(TUPLE_KIND).toEqual({ value: 0, tombstone: 1, versionOnly: 2 })
  })

  it('tupleOf a stored value carries its version and bytes that decode to the value', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 40 }),
        versionArb,
        fc.maxSafeNat(),
        valueArb,
        (key, version, expiresAt, value) => {
          const entry: Entry = { value, version, expiresAt, tombstone: false, size: 1 }
          const t = tupleOf(key, entry)
          expect(t.slice(0, 6)).toEqual([
            key,
            version.wall,
            version.logical,
            version.node,
            expiresAt,
            0,
          ])
          expect(t[6]).toBeInstanceOf(Uint8Array)
          expect(decodeValue(t[6]!)).toEqual(value)
          expect(isEntryTuple(t, { ...WIRE_LIMITS, maxNameLength: 20, maxKeyLength: 40 })).toBe(
            true,
          )
        },
      ),
    )
  })

  it('tupleOf uses the encoding the caller already has', () => {
    const encoded = encodeValue('k', { a: 1 })
    const entry: Entry = {
      value: { a: 1 },
      version: { wall: 5, logical: 1, node: 'n' },
      expiresAt: 9,
      tombstone: false,
      size: 1,
    }
    expect(tupleOf('k', entry, encoded)[6]).toBe(encoded)
  })

  it('tupleOf a tombstone is kind 1 without a value', () => {
    const entry: Entry = {
      value: undefined,
      version: { wall: 5, logical: 2, node: 'n' },
      expiresAt: 9,
      tombstone: true,
      size: 1,
    }
    const t = tupleOf('k', entry)
    expect(t).toEqual(['k', 5, 2, 'n', 9, 1, null])
    expect(isEntryTuple(t, WIRE_LIMITS)).toBe(true)
  })

  it('versionOnlyTuple is kind 2 without a value', () => {
    const t = versionOnlyTuple('k', { wall: 5, logical: 2, node: 'n' }, 9)
    expect(t).toEqual(['k', 5, 2, 'n', 9, 2, null])
    expect(isEntryTuple(t, WIRE_LIMITS)).toBe(true)
  })
})
