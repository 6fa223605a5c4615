import { describe, expect, it } from 'vitest'
import { InvalidOptionError } from '../../src/errors.js'
import {
  DEFAULT_MATRIX,
  linkBetween,
  loadMatrix,
  parseMatrix,
} from '../../src/sim/latency-matrix.js'

describe('latency matrix', () => {
  it('is symmetric and uses the intra-region link within a region', () => {
    expect(linkBetween(DEFAULT_MATRIX, 'us-east', 'eu-west').latencyMs).toBe(40)
    expect(linkBetween(DEFAULT_MATRIX, 'eu-west', 'us-east').latencyMs).toBe(40)
    expect(linkBetween(DEFAULT_MATRIX, 'ap-south', 'ap-south')).toBe(DEFAULT_MATRIX.intra)
    expect(() => linkBetween(DEFAULT_MATRIX, 'us-east', 'mars')).toThrow(InvalidOptionError)
  })

  it('loads the example file and rejects malformed matrices', () => {
    const m = loadMatrix('docs/wan-matrix.example.json')
    expect(m.regions.sort()).toEqual(['ap-south', 'eu-west', 'us-east'])
    expect(linkBetween(m, 'us-east', 'ap-south')).toEqual({
      latencyMs: 95,
      jitterMs: 4,
      loss: 0.001,
    })
    expect(() => parseMatrix({ pairs: { 'a-b': { latencyMs: 1 } } })).toThrow(/region-a\|region-b/)
    expect(() => parseMatrix({ pairs: { 'a|b': { latencyMs: -1 } } })).toThrow(InvalidOptionError)
    expect(() => parseMatrix({ pairs: { 'a|b': { latencyMs: 1, loss: 2 } } })).toThrow(/loss/)
    expect(() => loadMatrix('docs/missing.json')).toThrow(/cannot read latency matrix/)
  })
})
