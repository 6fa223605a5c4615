import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { InvalidOptionError } from '../../src/errors.js'
import { linkBetween } from '../../src/sim/latency-matrix.js'
import { TESTING_DEFAULTS } from '../../src/testing/defaults.js'
import { cutPairs } from '../../src/testing/partition-plan.js'
import { resolveTestMeshOptions } from '../../src/testing/test-mesh-options.js'

const regionNames = fc.uniqueArray(fc.constantFrom('us-east', 'eu-west', 'ap-south', 'sa-east'), {
  minLength: 1,
})

describe('resolveTestMeshOptions', () => {
  it('lists every node in region order, and a latency for every pair of regions, in both directions', () => {
    fc.assert(
      fc.property(
        regionNames,
        fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 4, maxLength: 4 }),
        fc.integer({ min: 0, max: 500 }),
        (names, counts, oneWayMs) => {
          const regions = Object.fromEntries(names.map((r, i) => [r, counts[i]!]))
          const plan = resolveTestMeshOptions({ regions, oneWayMs })
          expect(plan.nodes.map((n) => `${n.region}#${n.index}`)).toEqual(
            names.flatMap((r, i) => Array.from({ length: counts[i]! }, (_, k) => `${r}#${k}`)),
          )
          for (const a of names)
            for (const b of names) {
              const link = linkBetween(plan.matrix, a, b)
              expect(link.latencyMs).toBe(a === b ? TESTING_DEFAULTS.localMs : oneWayMs)
              expect(link).toEqual(linkBetween(plan.matrix, b, a))
            }
        },
      ),
    )
  })

  it('takes latencies per pair in either order, and wants every pair named', () => {
    const plan = resolveTestMeshOptions({
      regions: { us: 1, eu: 1, ap: 1 },
      oneWayMs: { 'us|eu': 40, 'ap|us': 95, 'eu|ap': 60 },
      localMs: 2,
      jitterMs: 1,
    })
    expect(linkBetween(plan.matrix, 'eu', 'us')).toEqual({ latencyMs: 40, jitterMs: 1, loss: 0 })
    expect(linkBetween(plan.matrix, 'us', 'ap').latencyMs).toBe(95)
    expect(linkBetween(plan.matrix, 'ap', 'ap')).toEqual({ latencyMs: 2, jitterMs: 1, loss: 0 })
    expect(() =>
      resolveTestMeshOptions({ regions: { us: 1, eu: 1, ap: 1 }, oneWayMs: { 'us|eu': 40 } }),
    ).toThrow(/no latency for 'us\|ap'/)
  })

  it('defaults: 20 ms between regions, 0 inside, a start timeout that grows with the node count', () => {
    const small = resolveTestMeshOptions({ regions: { us: 2, eu: 1 } })
    expect(linkBetween(small.matrix, 'us', 'eu').latencyMs).toBe(20)
    expect(small.startTimeoutMs).toBe(10_000)
    expect(resolveTestMeshOptions({ regions: { us: 8, eu: 4 } }).startTimeoutMs).toBe(24_000)
    expect(resolveTestMeshOptions({ regions: { us: 1 }, startTimeout: '3s' }).startTimeoutMs).toBe(
      3_000,
    )
  })

  it('refuses what it cannot start, naming the option', () => {
    const bad: [unknown, RegExp][] = [
      [undefined, /must be an object/],
      [{ regions: [] }, /regions must name/],
      [{ regions: { us: 251 } }, /from 1 to 250/],
      [{ regions: { us: 1 }, jitterMs: Number.NaN }, /jitterMs/],
      [{ regions: { us: 1, eu: 1 }, oneWayMs: { 'us|us': 1 } }, /two different regions/],
      [{ regions: { us: 1, eu: 1 }, oneWayMs: { 'us|eu|ap': 1 } }, /two different regions/],
      [{ regions: { us: 1, eu: 1 }, oneWayMs: { 'us|eu': -1 } }, /oneWayMs\['us\|eu'\]/],
      [{ regions: { us: 1 }, oneWayMs: '20' }, /oneWayMs must be/],
      [{ regions: { us: 1 }, startTimeout: 'soon' }, /startTimeout/],
    ]
    for (const [options, message] of bad) {
      expect(() => resolveTestMeshOptions(options as never)).toThrow(InvalidOptionError)
      expect(() => resolveTestMeshOptions(options as never)).toThrow(message)
    }
  })
})

describe('meshcache/testing refuses misspelt options', () => {
  it('createTestMesh, partition: a typo is an InvalidOptionError naming the near option, not a default', () => {
    expect(() =>
      resolveTestMeshOptions({ regions: { 'us-east': 1 }, oneWayMS: 40 } as never),
    ).toThrow(/unknown createTestMesh option 'oneWayMS' \(did you mean 'oneWayMs'\?\)/)
    expect(() =>
      resolveTestMeshOptions({ regions: { 'us-east': 1 }, jiterMs: 5 } as never),
    ).toThrow(InvalidOptionError)
    expect(() =>
      cutPairs(['us-east', 'eu-west'], 'us-east', { dropConection: true } as never),
    ).toThrow(/unknown partition option 'dropConection'/)
  })
})
