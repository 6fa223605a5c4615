import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  compareVersions,
  formatVersion,
  parseVersion,
  type Version,
} from '../../src/clock/version.js'

const versionArb = fc.record({
  wall: fc.integer({ min: 0, max: 2 ** 45 }),
  logical: fc.integer({ min: 0, max: 1000 }),
  node: fc.string({ minLength: 1, maxLength: 8 }),
})

describe('compareVersions', () => {
  it('is a total order: antisymmetric, transitive, zero only for equal versions', () => {
    fc.assert(
      fc.property(versionArb, versionArb, versionArb, (a, b, c) => {
        expect(Math.sign(compareVersions(a, b))).toBe(-Math.sign(compareVersions(b, a)))
        if (compareVersions(a, b) === 0) expect(a).toEqual(b)
        if (compareVersions(a, b) < 0 && compareVersions(b, c) < 0) {
          expect(compareVersions(a, c)).toBeLessThan(0)
        }
      }),
    )
  })

  it('breaks equal stamps by node id', () => {
    const x: Version = { wall: 1, logical: 1, node: 'a' }
    const y: Version = { wall: 1, logical: 1, node: 'b' }
    expect(compareVersions(x, y)).toBeLessThan(0)
  })

  it('round-trips through the text token', () => {
    fc.assert(
      fc.property(versionArb, (v) => {
        expect(parseVersion(formatVersion(v))).toEqual(v)
      }),
    )
    expect(parseVersion('nope')).toBeUndefined()
    expect(parseVersion('1..x')).toBeUndefined()
  })
})
