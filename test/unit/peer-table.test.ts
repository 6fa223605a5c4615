import { describe, expect, it } from 'vitest'
import { LagHistogram } from '../../src/mesh/lag-histogram.js'
import { PeerTable } from '../../src/mesh/peer-table.js'

describe('PeerTable', () => {
  function table() {
    const t = new PeerTable('eu')
    for (const [id, region, rtt] of [
      ['near-slow', 'eu', 30],
      ['near-fast', 'eu', 2],
      ['far-fast', 'us', 1],
      ['far-slow', 'ap', 90],
    ] as const) {
      const p = t.upsert(id, 0)
      p.region = region
      p.connected = true
      t.recordRtt(id, rtt, 0)
    }
    return t
  }

  it('ranks same-region peers first, then by RTT', () => {
    expect(
      table()
        .ranked()
        .map((p) => p.id),
    ).toEqual(['near-fast', 'near-slow', 'far-fast', 'far-slow'])
  })

  it('pushes failing and disconnected peers back', () => {
    const t = table()
    t.recordFailure('near-fast')
    expect(t.ranked()[0]!.id).toBe('near-slow')
    t.get('near-slow')!.connected = false
    expect(t.ranked().map((p) => p.id)).not.toContain('near-slow')
  })

  it('picks the best peer of each other region', () => {
    const best = table().bestPerRemoteRegion()
    expect([...best.entries()].map(([r, p]) => [r, p.id])).toEqual([
      ['us', 'far-fast'],
      ['ap', 'far-slow'],
    ])
  })

  it('smooths RTT with an EWMA', () => {
    const t = new PeerTable('eu')
    t.recordRtt('x', 100, 0)
    t.recordRtt('x', 0, 0)
    expect(t.get('x')!.rtt).toBeCloseTo(70)
  })
})

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
