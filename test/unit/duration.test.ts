import { describe, expect, it } from 'vitest'
import { parseDuration } from '../../src/duration.js'
import { InvalidOptionError } from '../../src/errors.js'

describe('parseDuration', () => {
  it('reads ms numbers and unit strings', () => {
    expect(parseDuration(250, 'x')).toBe(250)
    expect(parseDuration('500ms', 'x')).toBe(500)
    expect(parseDuration('1.5s', 'x')).toBe(1500)
    expect(parseDuration('5m', 'x')).toBe(300_000)
    expect(parseDuration('1h', 'x')).toBe(3_600_000)
    expect(parseDuration('2d', 'x')).toBe(172_800_000)
    expect(() => parseDuration('-1s', 'x')).toThrow(InvalidOptionError)
    expect(() => parseDuration(Number.NaN, 'x')).toThrow(InvalidOptionError)
  })

  it('returns whole ms: a number with a fraction is rounded, as a string is', () => {
    expect(parseDuration(1500.5, 'x')).toBe(1501)
    expect(parseDuration(1500.4, 'x')).toBe(1500)
    expect(parseDuration('1500.5ms', 'x')).toBe(1501)
    // Above 0 but less than half a ms would round to 0, which turns some options off.
    expect(() => parseDuration(0.2, 'x')).toThrow(/must be 0 or at least 1 ms/)
    expect(() => parseDuration('0.4ms', 'x')).toThrow(InvalidOptionError)
    expect(parseDuration(0, 'x')).toBe(0)
    expect(parseDuration(0.5, 'x')).toBe(1)
  })

  it('a maxTtl over 100 years is refused: expiries and tombstones (now + maxTtl) must stay whole ms peers accept', async () => {
    const { createCache } = await import('../../src/node/create-cache.js')
    await expect(createCache({ maxTtl: Number.MAX_SAFE_INTEGER })).rejects.toThrow(
      /at most 100 years/,
    )
    await expect(createCache({ maxTtl: '1e9d' })).rejects.toThrow(InvalidOptionError)
    const ok = await createCache({ maxTtl: '36500d' })
    await ok.close()
  })

  it('a BigInt, a function or a cyclic object is a typed error that says what it got, never a TypeError from the message', async () => {
    expect(() => parseDuration(5000n as never, 'ttl')).toThrow(/ttl must be .* got 5000n$/)
    expect(() => parseDuration((() => 1) as never, 'ttl')).toThrow(/got a function$/)
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    expect(() => parseDuration(cyclic as never, 'ttl')).toThrow(InvalidOptionError)
    const { createCache } = await import('../../src/node/create-cache.js')
    await expect(createCache({ snapshotInterval: 5000n as never })).rejects.toThrow(
      InvalidOptionError,
    )
    const cache = await createCache()
    try {
      expect(() => cache.keyspace(5n as never)).toThrow(/keyspace name .* got 5n/)
      await expect(cache.set('k', 1, { ttl: 60000n as never })).rejects.toThrow(InvalidOptionError)
      await expect(
        cache.fetch('k', {
          consistency: 'strong',
          atLeast: { wall: 1n, logical: 0, node: 'x' },
        } as never),
      ).rejects.toThrow(InvalidOptionError)
    } finally {
      await cache.close()
    }
  })
})
