import { describe, expect, it } from 'vitest'
import { LagHistogram } from '../../src/mesh/lag-histogram.js'

describe('LagHistogram', () => {
  it('counts into cumulative buckets and estimates percentiles', () => {
    const h = new LagHistogram()
    for (let i = 0; i < 98; i++) h.observe(3)
    h.observe(40)
    h.observe(700)
    const s = h.snapshot()
    expect(s.count).toBe(100)
    expect(s.p50Ms).toBe(5)
    expect(s.p99Ms).toBe(50)
    expect(s.maxMs).toBe(700)
    expect(s.buckets.at(-1)).toEqual([Number.POSITIVE_INFINITY, 100])
  })
})
