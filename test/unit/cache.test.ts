import { afterEach, describe, expect, it, vi } from 'vitest'
import type { Cache } from '../../src/api/cache.js'
import { compareVersions } from '../../src/clock/version.js'
import {
  CacheClosedError,
  InvalidKeyError,
  InvalidOptionError,
  UnencodableValueError,
  ValueTooLargeError,
} from '../../src/errors.js'
import { createCache } from '../../src/node/create-cache.js'
import { replicaOf } from '../../src/node/internals.js'

const open: Cache<unknown>[] = []
async function make(options?: Parameters<typeof createCache>[0]) {
  const c = await createCache(options)
  open.push(c)
  return c
}
afterEach(async () => {
  vi.useRealTimers()
  await Promise.all(open.splice(0).map((c) => c.close()))
})

describe('createCache() embedded', () => {
  it('stores and reads structured values synchronously', async () => {
    const cache = await make()
    await cache.set('user:42', { name: 'Ada', tags: ['x'], n: 1n })
    expect(cache.get('user:42')).toEqual({ name: 'Ada', tags: ['x'], n: 1n })
    expect(cache.has('user:42')).toBe(true)
    expect(cache.get('nope')).toBeUndefined()
    expect(cache.stats()).toMatchObject({ hits: 1, misses: 1, entries: 1, hitRatio: 0.5 })
  })

  it('expires an entry exactly at its TTL and never serves it after', async () => {
    vi.useFakeTimers({ now: 1_000_000, toFake: ['Date'] })
    const cache = await make()
    const expired: string[] = []
    cache.on('expire', (e) => expired.push(e.key))
    await cache.set('k', 'v', { ttl: '5s' })
    vi.setSystemTime(1_004_999)
    await Promise.resolve() // reads see one instant per synchronous turn
    expect(cache.get('k')).toBe('v')
    vi.setSystemTime(1_005_000)
    await Promise.resolve()
    expect(cache.get('k')).toBeUndefined()
    expect(cache.has('k')).toBe(false)
    expect(expired).toEqual(['k'])
  })

  it('evicts least recently used first, where get refreshes recency', async () => {
    const cache = await make({ maxEntries: 2 })
    const evicted: string[] = []
    cache.on('evict', (e) => evicted.push(e.key))
    await cache.set('a', 1)
    await cache.set('b', 2)
    cache.get('a')
    await cache.set('c', 3)
    expect(evicted).toEqual(['b'])
    expect(cache.get('a')).toBe(1)
    expect(cache.get('b')).toBeUndefined()
  })

  it('delete removes the value and reports whether one was held', async () => {
    const cache = await make()
    await cache.set('k', 'v')
    expect(await cache.delete('k')).toBe(true)
    expect(cache.get('k')).toBeUndefined()
    expect(await cache.delete('k')).toBe(false)
    await cache.set('k', 'again')
    expect(cache.get('k')).toBe('again')
  })

  it('fetch calls load once for concurrent misses of one key', async () => {
    const cache = await make()
    let calls = 0
    const load = async () => {
      calls++
      await new Promise((r) => setTimeout(r, 20))
      return { id: calls }
    }
    const results = await Promise.all(Array.from({ length: 10 }, () => cache.fetch('k', { load })))
    expect(calls).toBe(1)
    expect(results.every((r) => (r as { id: number }).id === 1)).toBe(true)
    expect(cache.get('k')).toEqual({ id: 1 })
    expect(await cache.fetch('k', { load })).toEqual({ id: 1 })
    expect(calls).toBe(1)
  })

  it('a fetch with load does not join a fetch without one: its loader runs', async () => {
    const cache = await make()
    // The caller without a loader went first: the second used to share its miss, and got
    // undefined with its loader never called.
    const [lookup, loaded] = await Promise.all([
      cache.fetch('k'),
      cache.fetch('k', { load: async () => 42 }),
    ])
    expect(lookup).toBeUndefined()
    expect(loaded).toBe(42)
    expect(cache.get('k')).toBe(42)
    // A caller without a loader joins a load in flight (and gets its value).
    const both = await Promise.all([cache.fetch('j', { load: async () => 'x' }), cache.fetch('j')])
    expect(both).toEqual(['x', 'x'])
  })

  it('fetch and wrap check their options on a hit as on a miss: typos and windows past what is kept are refused', async () => {
    const cache = await make()
    await cache.set('k', 'held')
    const load = async () => 'loaded'
    for (const bad of [
      { load, ttl: 'x' },
      { load, ttl: '400d' }, // over maxTtl
      { load, readTimeout: 'x' },
      { load, staleIfError: '1h' }, // expired values are kept 60 s: it was cut silently
      { load, staleWhileRevalidate: '5m' },
      { staleWhileRevalidate: '5s' }, // nothing to refresh with
    ]) {
      await expect(cache.fetch('k', bad as never)).rejects.toBeInstanceOf(InvalidOptionError)
    }
    expect(await cache.fetch('k', { load, staleIfError: '60s', ttl: '1m' })).toBe('held')
    expect(() => cache.wrap(async () => 1, { name: 'one', ttl: 'x' as never })).toThrow(
      InvalidOptionError,
    )
  })

  it('fetch shares a load failure with all waiters and caches nothing', async () => {
    const cache = await make()
    let calls = 0
    const load = async () => {
      calls++
      throw new Error('db down')
    }
    const all = await Promise.allSettled([cache.fetch('k', { load }), cache.fetch('k', { load })])
    expect(all.map((r) => r.status)).toEqual(['rejected', 'rejected'])
    expect(calls).toBe(1)
    expect(cache.has('k')).toBe(false)
    expect(await cache.fetch('k', { load: () => 'ok' })).toBe('ok')
  })

  it('wrap memoizes an async function by its arguments', async () => {
    const cache = await make()
    const seen: number[] = []
    const getUser = cache.wrap(
      async (id: number) => {
        seen.push(id)
        return { id }
      },
      { key: (id) => `user:${id}`, ttl: '1m' },
    )
    expect(await getUser(1)).toEqual({ id: 1 })
    expect(await getUser(1)).toEqual({ id: 1 })
    expect(await getUser(2)).toEqual({ id: 2 })
    expect(seen).toEqual([1, 2])
    expect(cache.get('user:1')).toEqual({ id: 1 })
  })

  it('wrap refuses arguments its default key would confuse with others', async () => {
    const cache = await make()
    async function show(x: unknown) {
      return `got ${typeof x}: ${String(x)}`
    }
    const cached = cache.wrap(show)
    expect(await cached(null)).toBe('got object: null')
    expect(await cached({ a: [1, 'b', null, true] })).toBe('got object: [object Object]')
    // JSON writes each of these as null, 0, {} or a string: they read another's result.
    for (const arg of [
      undefined,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      new Map([[1, 2]]),
      new Date(0),
      () => 1,
      [undefined],
      -0, // JSON writes 0: f(-0) read f(0)'s result (1 / -0 is -Infinity)
      [-0],
    ]) {
      await expect(cached(arg)).rejects.toBeInstanceOf(InvalidKeyError)
    }
    // A key function takes them.
    const keyed = cache.wrap(show, { name: 'keyed', key: (x) => `d:${String(x)}` })
    expect(await keyed(undefined)).toBe('got undefined: undefined')
  })

  it('wrap keys calls by function name and arguments by default', async () => {
    const cache = await make()
    let calls = 0
    async function price(sku: string, qty: number) {
      calls++
      return { sku, total: qty * 2 }
    }
    const cached = cache.wrap(price)
    expect(await cached('a', 2)).toEqual({ sku: 'a', total: 4 })
    expect(await cached('a', 2)).toEqual({ sku: 'a', total: 4 })
    expect(await cached('a', 3)).toEqual({ sku: 'a', total: 6 })
    expect(calls).toBe(2)
    expect(cache.get('price:["a",2]')).toEqual({ sku: 'a', total: 4 })
  })

  it('keyspaces have their own limits and do not share keys', async () => {
    const cache = await make()
    const sessions = cache.keyspace<string>('sessions', { maxEntries: 1, defaultTtl: '30m' })
    await sessions.set('s1', 'a')
    await sessions.set('s2', 'b')
    await cache.set('s2', 'default')
    expect(sessions.get('s1')).toBeUndefined()
    expect(sessions.get('s2')).toBe('b')
    expect(cache.get('s2')).toBe('default')
    expect(cache.keyspace('sessions')).toBe(sessions)
    expect(() => cache.keyspace('sessions', { maxEntries: 5 })).toThrow(InvalidOptionError)
    expect(sessions.entry('s2')!.expiresAt - Date.now()).toBeGreaterThan(29 * 60_000)
  })

  it('a keyspace opened without options keeps them: a later open with others is refused, not a second replica', async () => {
    const cache = await make()
    const s = cache.keyspace('s')
    await s.set('x', 1)
    // It used to rebuild the replica: writes through `s` then went where nothing read them.
    expect(() => cache.keyspace('s', { maxEntries: 10 })).toThrow(
      /already open with different options/,
    )
    expect(() => cache.keyspace('default', { maxEntries: 50 })).toThrow(InvalidOptionError)
    await s.set('y', 2)
    await cache.set('d', 3)
    expect(cache.keyspace('s').get('y')).toBe(2)
    expect(s.get('x')).toBe(1)
    expect(cache.keyspace('default').get('d')).toBe(3)
    expect(cache.keyspace('s')).toBe(s)
    // The same options as the open ones (here the defaults, spelled out) are no conflict.
    expect(cache.keyspace('s', { maxEntries: s.options.maxEntries })).toBe(s)
  })

  it('emits change events with origin local', async () => {
    const cache = await make({ region: 'eu-west' })
    const changes: unknown[] = []
    cache.on('change', (e) => changes.push([e.key, e.value, e.deleted, e.origin, e.region]))
    await cache.set('k', 1)
    await cache.delete('k')
    expect(changes).toEqual([
      ['k', 1, false, 'local', 'eu-west'],
      ['k', undefined, true, 'local', 'eu-west'],
    ])
  })

  it('set resolves to the write version, newer for each write', async () => {
    const cache = await make()
    const t1 = await cache.set('k', 1)
    const t2 = await cache.set('k', 2)
    expect(compareVersions(t2, t1)).toBeGreaterThan(0)
    expect(cache.keyspace('default').entry('k')!.version).toEqual(t2)
    expect(cache.keyspace('default').entry('k')!.version.node).toBe(cache.nodeId)
  })
})

describe('bad input', () => {
  it('rejects invalid options with typed errors that say what to do', async () => {
    await expect(createCache({ maxEntries: -1 })).rejects.toThrow(InvalidOptionError)
    await expect(createCache({ maxEntries: 1.5 })).rejects.toThrow(
      /maxEntries must be a positive integer/,
    )
    await expect(createCache({ defaultTtl: 'soon' })).rejects.toThrow(/duration string/)
    await expect(createCache({ defaultTtl: '2d' })).rejects.toThrow(/must not exceed maxTtl/)
    await expect(createCache({ region: 'eu west' })).rejects.toThrow(/region/)
    const err = await createCache({ maxBytes: 0 }).catch((e) => e)
    expect(err.code).toBe('ERR_INVALID_OPTION')
  })

  it('rejects bad keys, values and TTLs and loses nothing already stored', async () => {
    const cache = await make({ maxKeyLength: 8, maxValueBytes: 100 })
    await cache.set('k', 'kept')
    await expect(cache.set('', 1)).rejects.toThrow(InvalidKeyError)
    await expect(cache.set('123456789', 1)).rejects.toThrow(InvalidKeyError)
    expect(() => cache.get(42 as unknown as string)).toThrow(InvalidKeyError)
    await expect(cache.set('k', 'x'.repeat(200))).rejects.toThrow(ValueTooLargeError)
    await expect(cache.set('k', () => 1)).rejects.toThrow(UnencodableValueError)
    await expect(cache.set('k', undefined)).rejects.toThrow(/use delete/)
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    const err = await cache.set('k', cyclic).catch((e) => e)
    expect(err).toBeInstanceOf(UnencodableValueError)
    expect(err.message).toContain("'k'")
    await expect(cache.set('k', 1, { ttl: -5 })).rejects.toThrow(InvalidOptionError)
    await expect(cache.set('k', 1, { ttl: '2d' })).rejects.toThrow(/maxTtl/)
    await expect(cache.set('k', 1, { ack: 'all' as never })).rejects.toThrow(/ack must be/)
    expect(cache.get('k')).toBe('kept')
  })

  it('refuses calls after close', async () => {
    const cache = await make()
    await cache.close()
    await expect(cache.set('k', 1)).rejects.toThrow(CacheClosedError)
  })
})

describe('options reach every keyspace', () => {
  it('cache-level limits are the defaults of each keyspace and can be overridden', async () => {
    const cache = await make({ maxEntries: 7, maxIndexKeys: 21, defaultTtl: '1m' })
    const ks = cache.keyspace('other')
    expect(ks.options).toMatchObject({ maxEntries: 7, maxIndexKeys: 21, defaultTtl: 60_000 })
    expect(replicaOf(cache, 'other')!.index.maxKeys).toBe(21)
    expect(cache.keyspace('third', { maxEntries: 3 }).options).toMatchObject({
      maxEntries: 3,
      maxIndexKeys: 21,
    })
    const plain = await make({ maxEntries: 5 })
    expect(plain.keyspace('x').options.maxIndexKeys).toBe(10) // 2 x maxEntries by default
  })
})

describe('stale-while-revalidate and stale-if-error', () => {
  it('serves a just-expired value at once and refreshes it with one background load', async () => {
    vi.useFakeTimers({ now: 1_000_000, toFake: ['Date'] })
    const cache = await make()
    await cache.set('k', 'old', { ttl: 1_000 })
    vi.setSystemTime(1_001_500)
    await Promise.resolve()
    let loads = 0
    let release: () => void = () => {}
    const gate = new Promise<void>((r) => {
      release = r
    })
    const load = async () => {
      loads++
      await gate
      return 'new'
    }
    const results = await Promise.all([
      cache.fetch('k', { load, staleWhileRevalidate: '10s' }),
      cache.fetch('k', { load, staleWhileRevalidate: '10s' }),
    ])
    expect(results).toEqual(['old', 'old'])
    release()
    await new Promise((r) => setTimeout(r, 10))
    expect(loads).toBe(1)
    expect(cache.get('k')).toBe('new')
  })

  it('serves the stale value when load fails, only within the window', async () => {
    vi.useFakeTimers({ now: 1_000_000, toFake: ['Date'] })
    const cache = await make()
    await cache.set('k', 'old', { ttl: 1_000 })
    vi.setSystemTime(1_003_000)
    await Promise.resolve()
    const failing = async () => {
      throw new Error('origin down')
    }
    await expect(cache.fetch('k', { load: failing })).rejects.toThrow('origin down')
    expect(await cache.fetch('k', { load: failing, staleIfError: '5s' })).toBe('old')
    await expect(cache.fetch('k', { load: failing, staleIfError: '1s' })).rejects.toThrow(
      'origin down',
    )
  })

  it('never serves a stale value over a newer delete', async () => {
    vi.useFakeTimers({ now: 1_000_000, toFake: ['Date'] })
    const cache = await make()
    await cache.set('k', 'old', { ttl: 1_000 })
    vi.setSystemTime(1_001_500)
    await Promise.resolve()
    expect(cache.get('k')).toBeUndefined()
    await cache.delete('k')
    expect(await cache.fetch('k', { load: () => 'fresh', staleWhileRevalidate: '10s' })).toBe(
      'fresh',
    )
  })
})

describe('background sweep', () => {
  it('frees expired entries in bounded steps and reports them as expired', async () => {
    vi.useFakeTimers({ now: 1_000_000, toFake: ['Date'] })
    const cache = await make({ purgeInterval: '1h' }) // steps driven by the test
    const ks = replicaOf(cache, 'default')!
    const step = (budget: number) => ks.sweepStep(budget, Date.now())
    const expired: string[] = []
    cache.on('expire', (e) => expired.push(e.key))
    for (let i = 0; i < 25; i++) await cache.set(`short${i}`, i, { ttl: 1_000 })
    await cache.set('long', 'x', { ttl: '1h' })
    vi.setSystemTime(1_002_000)
    expect(step(10)).toBe(10)
    expect(ks.store.size).toBe(16)
    expect(step(10)).toBe(10)
    expect(step(10)).toBe(6) // end of the pass
    expect(ks.store.size).toBe(1)
    expect(expired).toHaveLength(25)
    expect(cache.get('long')).toBe('x')
    // Index versions stay until their retention (maxTtl) ends, then leave too.
    expect(ks.index.size).toBe(26)
    vi.setSystemTime(1_000_000 + 86_400_000 + 1)
    step(100)
    step(100)
    expect(ks.index.size).toBe(0)
  })
})
