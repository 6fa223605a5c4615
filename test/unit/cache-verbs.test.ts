import { afterEach, describe, expect, it, vi } from 'vitest'
import type { Cache } from '../../src/api/cache.js'
import {
  CacheClosedError,
  InvalidKeyError,
  InvalidOptionError,
  UnencodableValueError,
} from '../../src/errors.js'
import { createCache } from '../../src/node/create-cache.js'

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

describe('the usual cache verbs', () => {
  it('peek reads without touching recency or counters', async () => {
    const cache = await make({ maxEntries: 2 })
    await cache.set('a', 1)
    await cache.set('b', 2)
    expect(cache.peek('a')).toBe(1)
    await cache.set('c', 3) // 'a' is still the least recently used: peek did not refresh it
    expect(cache.has('a')).toBe(false)
    expect(cache.stats().hits).toBe(0)
  })

  it('size, keys, values and entries see live values only', async () => {
    vi.useFakeTimers({ now: 1_000_000, toFake: ['Date'] })
    const cache = await make()
    await cache.set('a', 1)
    await cache.set('b', 2, { ttl: 1_000 })
    await cache.set('c', 3)
    await cache.delete('c')
    expect(cache.size).toBe(2)
    expect(cache.stats().entries).toBe(2)
    expect(cache.stats().keyspaces.default!.tombstones).toBe(1)
    vi.setSystemTime(1_002_000) // 'b' expired
    expect([...cache.keys()]).toEqual(['a'])
    expect([...cache.values()]).toEqual([1])
    expect([...cache.entries()]).toEqual([['a', 1]])
  })

  it('getMany, setMany and deleteMany act on many keys in one call', async () => {
    const cache = await make()
    const versions = await cache.setMany([
      ['a', 1],
      ['b', 2, { ttl: '1m' }],
    ])
    expect(versions).toHaveLength(2)
    expect(cache.getMany(['a', 'b', 'x'])).toEqual([1, 2, undefined])
    expect(await cache.deleteMany(['a', 'x'])).toEqual([true, false])
    expect(cache.getMany(['a', 'b'])).toEqual([undefined, 2])
  })

  it('setMany checks every entry first: one bad entry rejects the call and writes nothing', async () => {
    const cache = await make()
    await expect(
      cache.setMany([
        ['ok', 1],
        ['bad', () => 1],
      ]),
    ).rejects.toBeInstanceOf(UnencodableValueError)
    await expect(cache.setMany([['ok', 1, { ttl: -5 }]])).rejects.toBeInstanceOf(InvalidOptionError)
    // An entry's ack would be ignored (the call waits once): refused, not dropped.
    await expect(cache.setMany([['ok', 1, { ack: 'quorum' }]])).rejects.toThrow(
      /ack and ackTimeout apply to the whole call/,
    )
    await expect(
      cache.setMany([['ok', 1, { ack: 'bogus', ackTimeout: 'soon' } as never]]),
    ).rejects.toBeInstanceOf(InvalidOptionError)
    // Entries that are not [key, value, options?] tuples: typed errors, not TypeErrors.
    for (const bad of [{ key: 'ok', value: 1 }, null, ['ok'], ['ok', 1, {}, 4]]) {
      await expect(cache.setMany([bad] as never)).rejects.toBeInstanceOf(InvalidOptionError)
    }
    expect(() => cache.getMany('abc' as never)).toThrow(InvalidOptionError)
    expect(cache.has('ok')).toBe(false)
  })

  it('get, has, peek and keys after close throw CacheClosedError', async () => {
    const cache = await make()
    await cache.set('a', 1)
    await cache.close()
    expect(() => cache.get('a')).toThrow(CacheClosedError)
    expect(() => cache.has('a')).toThrow(CacheClosedError)
    expect(() => cache.peek('a')).toThrow(CacheClosedError)
    expect(() => cache.keys()).toThrow(CacheClosedError)
  })

  it('a too long ackTimeout is refused before anything is written', async () => {
    const cache = await make()
    await expect(cache.set('a', 1, { ack: 'peer', ackTimeout: 99_999_999_999 })).rejects.toThrow(
      InvalidOptionError,
    )
    expect(cache.has('a')).toBe(false)
  })
})

describe('fetch on a hit', () => {
  it('returns the held value without calling load, and still checks every option', async () => {
    const c = await make()
    await c.set('k', 1)
    const load = vi.fn(async () => 2)
    expect(await c.fetch('k', { load })).toBe(1)
    expect(await c.wrap(load, { name: 'f', key: () => 'k' })()).toBe(1)
    expect(load).not.toHaveBeenCalled()
    // A miss is read and counted once, whatever path it takes.
    const misses = c.stats().misses
    expect(await c.fetch('absent', { load })).toBe(2)
    expect(await c.fetch('absent-too', { load, staleIfError: '1m' })).toBe(2)
    expect(c.stats().misses).toBe(misses + 2)
    // The options are checked as on a miss: a typo or a bad level is never a silent hit.
    await expect(c.fetch('k', { consistency: 'strong' as never })).rejects.toThrow(
      InvalidOptionError,
    )
    await expect(c.fetch('k', { laod: load } as never)).rejects.toThrow(InvalidOptionError)
    await expect(c.fetch('k', { load: 'no' as never })).rejects.toThrow(InvalidOptionError)
    await expect(c.fetch('k', { signal: AbortSignal.abort() })).rejects.toThrow()
    await c.close()
    await expect(c.fetch('k')).rejects.toThrow(CacheClosedError)
  })
})

describe('fetch with an AbortSignal', () => {
  it('an already aborted signal rejects at once and never calls load', async () => {
    const cache = await make()
    const load = vi.fn(() => 1)
    const signal = AbortSignal.abort(new Error('gone'))
    await expect(cache.fetch('k', { load, signal })).rejects.toThrow('gone')
    expect(load).not.toHaveBeenCalled()
  })

  it('aborting while the load runs rejects that caller only; the load keeps going for the others', async () => {
    const cache = await make()
    const ctl = new AbortController()
    let release: (v: number) => void = () => {}
    let seen: AbortSignal | undefined
    const load = (_key: string, { signal }: { signal?: AbortSignal }) => {
      seen = signal
      return new Promise<number>((r) => {
        release = r
      })
    }
    const first = cache.fetch('k', { load, signal: ctl.signal })
    const second = cache.fetch('k', { load })
    await vi.waitFor(() => expect(seen).toBeInstanceOf(AbortSignal))
    ctl.abort(new Error('caller left'))
    await expect(first).rejects.toThrow('caller left')
    expect(seen!.aborted).toBe(false) // the second caller still waits
    release(7)
    expect(await second).toBe(7)
    expect(cache.get('k')).toBe(7)
  })

  it('the load is aborted once every caller waiting for it aborted', async () => {
    const cache = await make()
    const [a, b] = [new AbortController(), new AbortController()]
    let seen: AbortSignal | undefined
    const load = (_key: string, { signal }: { signal?: AbortSignal }) => {
      seen = signal
      return new Promise<number>(() => {})
    }
    const calls = [
      cache.fetch('slow', { load, signal: a.signal }),
      cache.fetch('slow', { load, signal: b.signal }),
    ]
    await vi.waitFor(() => expect(seen).toBeInstanceOf(AbortSignal))
    a.abort(new Error('a left'))
    expect(seen!.aborted).toBe(false)
    b.abort(new Error('b left'))
    expect(seen!.aborted).toBe(true)
    await Promise.allSettled(calls)
  })
})

describe('wrap', () => {
  it('two functions never share cached results', async () => {
    const cache = await make()
    const double = cache.wrap(async (n: number) => n * 2, { name: 'double' })
    const square = cache.wrap(async (n: number) => n * n, { name: 'square' })
    expect(await double(3)).toBe(6)
    expect(await square(3)).toBe(9)
  })

  it('an anonymous function needs a name or a key, and a taken name is refused', async () => {
    const cache = await make()
    expect(() => cache.wrap(async (n: number) => n)).toThrow(InvalidOptionError)
    cache.wrap(async (n: number) => n + 1, { name: 'inc' })
    expect(() => cache.wrap(async (n: number) => n + 2, { name: 'inc' })).toThrow(
      /already memoized as 'inc'/,
    )
    const keyed = cache.wrap(async (n: number) => n * 10, { key: (n) => `tens:${n}` })
    expect(await keyed(2)).toBe(20)
    expect(cache.get('tens:2')).toBe(20)
  })

  it('passes `this` on, and names a function by its own name by default', async () => {
    const cache = await make()
    const db = {
      factor: 3,
      async user(id: number) {
        return { id, score: id * this.factor }
      },
    }
    const user = cache.wrap(db.user, { ttl: '1m' })
    const bound = { factor: 3, user }
    expect(await bound.user(2)).toEqual({ id: 2, score: 6 })
    expect(cache.get('user:[2]')).toEqual({ id: 2, score: 6 })
  })

  it('arguments that cannot become a key give InvalidKeyError', async () => {
    const cache = await make()
    const f = cache.wrap(async (n: bigint) => Number(n), { name: 'big' })
    await expect(f(1n)).rejects.toBeInstanceOf(InvalidKeyError)
  })
})

describe('tags and clear (one node)', () => {
  it('invalidateTags kills older entries carrying a tag; untagged and later ones live', async () => {
    const cache = await make()
    await cache.set('u42:profile', 'p', { tags: ['user:42'] })
    await cache.set('u42:orders', 'o', { tags: ['user:42', 'orders'] })
    await cache.set('u7:profile', 'q', { tags: ['user:7'] })
    await cache.set('plain', 'x')
    await cache.invalidateTags(['user:42'])
    expect(cache.has('u42:profile')).toBe(false)
    expect(cache.has('u42:orders')).toBe(false)
    expect(cache.get('u7:profile')).toBe('q')
    expect(cache.get('plain')).toBe('x')
    await cache.set('u42:profile', 'p2', { tags: ['user:42'] })
    expect(cache.get('u42:profile')).toBe('p2')
    expect(cache.keyspace('default').entry('u42:profile')!.tags).toEqual(['user:42'])
  })

  it('clear deletes everything written before it, and nothing written after', async () => {
    const cache = await make()
    await cache.setMany([
      ['a', 1],
      ['b', 2, { tags: ['t'] }],
    ])
    await cache.clear()
    expect(cache.size).toBe(0)
    await cache.set('c', 3)
    expect([...cache.keys()]).toEqual(['c'])
  })

  it('bad tags and reserved keys are refused with typed errors', async () => {
    const cache = await make()
    await expect(cache.set('k', 1, { tags: [] })).rejects.toBeInstanceOf(InvalidOptionError)
    await expect(cache.set('k', 1, { tags: [''] })).rejects.toBeInstanceOf(InvalidOptionError)
    await expect(cache.invalidateTags(['x'.repeat(300)])).rejects.toBeInstanceOf(InvalidOptionError)
    await expect(cache.set('\u0000clear', 1)).rejects.toBeInstanceOf(InvalidKeyError)
    expect(() => cache.get('\u0000tag\u0000x')).toThrow(InvalidKeyError)
  })
})

describe('strict options', () => {
  it('unknown and mistyped options throw InvalidOptionError naming them', async () => {
    await expect(createCache({ maxEntires: 5 } as never)).rejects.toThrow(
      /unknown option 'maxEntires'/,
    )
    await expect(createCache({ peers: ['/ip4/127.0.0.1/tcp/1/p2p/xyz'] })).rejects.toThrow(
      /not a libp2p peer id/,
    )
    await expect(
      createCache({ listen: ['/ip4/127.0.80.1/tcp/0'], allowPeers: ['nope'] }),
    ).rejects.toThrow(/allowPeers: 'nope'/)
    await expect(
      createCache({ listen: ['/ip4/127.0.80.1/tcp/0'], mesh: { flushDelayMs: -1 } }),
    ).rejects.toThrow(InvalidOptionError)
    await expect(
      createCache({ listen: ['/ip4/127.0.80.1/tcp/0'], mesh: { flushDelay: 1 } as never }),
    ).rejects.toThrow(/unknown mesh option 'flushDelay'/)
    // Wrong types and shapes are typed errors too, not TypeErrors or silent replacements.
    const listen = ['/ip4/127.0.80.1/tcp/0']
    for (const bad of [
      { listen, networkKey: 5 },
      { listen, mesh: [] },
      { listen, nodeId: 'my-node' }, // a mesh node is named by its peer id
    ]) {
      await expect(createCache(bad as never)).rejects.toBeInstanceOf(InvalidOptionError)
    }
    const cache = await make()
    const v = await cache.set('k', 1)
    for (const atLeast of [{ wall: v.wall, node: v.node }, { ...v, wall: Number.NaN }, 5, null]) {
      await expect(cache.fetch('k', { atLeast } as never)).rejects.toBeInstanceOf(
        InvalidOptionError,
      )
    }
  })

  it('an unknown keyspace option is refused too', async () => {
    const cache = await make()
    expect(() => cache.keyspace('x', { maxEntires: 1 } as never)).toThrow(
      /unknown keyspace option 'maxEntires'/,
    )
  })

  it('every per-call options object is checked: a typo throws with a did-you-mean and changes nothing', async () => {
    const cache = await make()
    const typo = (name: string, near: string) =>
      new RegExp(`unknown \\w+( entry)? option '${name}' \\(did you mean '${near}'\\?\\)`)
    await expect(cache.set('k', 1, { tll: '5m' } as never)).rejects.toThrow(typo('tll', 'ttl'))
    await expect(cache.set('k', 1, { tag: ['a'] } as never)).rejects.toThrow(typo('tag', 'tags'))
    expect(cache.has('k')).toBe(false)
    await expect(cache.setMany([['k', 1, { tll: 1 } as never]])).rejects.toThrow(typo('tll', 'ttl'))
    await expect(cache.setMany([['k', 1]], { akc: 'peer' } as never)).rejects.toThrow(
      typo('akc', 'ack'),
    )
    expect(cache.has('k')).toBe(false)
    await expect(cache.delete('k', { ackTimout: 5 } as never)).rejects.toThrow(
      typo('ackTimout', 'ackTimeout'),
    )
    await expect(cache.invalidateTags(['t'], { ttl: 5 } as never)).rejects.toThrow(
      InvalidOptionError,
    )
    await expect(cache.clear({ ak: 'local' } as never)).rejects.toThrow(typo('ak', 'ack'))
    let calls = 0
    const load = () => ++calls
    await expect(cache.fetch('k', { loader: load } as never)).rejects.toThrow(
      typo('loader', 'load'),
    )
    await expect(cache.fetch('k', { load: 5 } as never)).rejects.toThrow(/load must be a function/)
    expect(() => cache.wrap(load, { ttll: '5m' } as never)).toThrow(typo('ttll', 'ttl'))
    expect(() => cache.wrap(load, 'user' as never)).toThrow(/wrap options must be an object/)
    expect(calls).toBe(0)
    await expect(createCache({ maxEntires: 5 } as never)).rejects.toThrow(
      /did you mean 'maxEntries'/,
    )
  })

  it('mesh times take duration strings', async () => {
    const c = await make({ listen: ['/ip4/127.0.80.2/tcp/0'], mesh: { syncIntervalMs: '5s' } })
    expect(c.addresses()[0]).toMatch(/127\.0\.80\.2/)
  })

  it('on and off refuse a misspelt event or a listener that is not a function', async () => {
    const c = await make({})
    const listener = () => undefined
    expect(() => c.on('chnage' as never, listener)).toThrow(InvalidOptionError)
    expect(() => c.on('chnage' as never, listener)).toThrow(
      /unknown event "chnage"; events: change, expire, evict/,
    )
    expect(() => c.off('nope' as never, listener)).toThrow(InvalidOptionError)
    expect(() => c.on('change', 5 as never)).toThrow(/change listener must be a function, got 5/)
    const seen: string[] = []
    c.on('change', (e) => seen.push(e.key))
    await c.set('k', 1)
    expect(seen).toEqual(['k'])
  })
})
