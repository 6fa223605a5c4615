import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { InvalidOptionError } from '../../src/errors.js'
import { cutPairs } from '../../src/testing/partition-plan.js'

const REGIONS = ['a', 'b', 'c', 'd', 'e']

describe('cutPairs (which region pairs a test-mesh partition cuts)', () => {
  it('cuts exactly the pairs with one region on each side, never a region from itself', () => {
    fc.assert(
      fc.property(
        fc.subarray(REGIONS, { minLength: 1, maxLength: 4 }),
        fc.option(fc.subarray(REGIONS, { minLength: 1 }), { nil: undefined }),
        (side, from) => {
          const other = from ?? REGIONS.filter((r) => !side.includes(r))
          if (other.some((r) => side.includes(r))) {
            expect(() => cutPairs(REGIONS, side, { from })).toThrow(InvalidOptionError)
            return
          }
          const pairs = cutPairs(REGIONS, side, { from })
          const key = ([x, y]: [string, string]) => [x, y].sort().join('|')
          const want = side.flatMap((x) => other.map((y) => [x, y].sort().join('|')))
          expect(pairs.map(key).sort()).toEqual(want.sort())
          for (const [x, y] of pairs) expect(x).not.toBe(y)
        },
      ),
    )
  })

  it('a single name is a side of one region; the default other side is every other region', () => {
    expect(cutPairs(['us', 'eu', 'ap'], 'eu', {})).toEqual([
      ['eu', 'us'],
      ['eu', 'ap'],
    ])
  })

  it('refuses unknown regions and cuts that cut nothing', () => {
    expect(() => cutPairs(REGIONS, 'z', {})).toThrow(/no region 'z'/)
    expect(() => cutPairs(REGIONS, REGIONS, {})).toThrow(/nothing to cut/)
    expect(() => cutPairs(REGIONS, [], {})).toThrow(/nothing to cut/)
    expect(() => cutPairs(REGIONS, 'a', { from: [] })).toThrow(/nothing to cut/)
  })
})
