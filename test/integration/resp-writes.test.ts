/**
 * Writes over RESP that name several keys, on a real listener with a stock client
 * (ioredis): MSET and MSETNX are all or none, DEL counts a key once, and a key written
 * over HTTP or from Node that no Redis key names is neither listed nor reached.
 */
import { Redis } from 'ioredis'
import { afterEach, describe, expect, it } from 'vitest'
import type { Cache } from '../../src/api/cache.js'
import { createCache } from '../../src/node/create-cache.js'
import { type RespServer, type RespServerOptions, startRespServer } from '../../src/resp/index.js'

const HOST = '127.0.34.2'
const open: { cache: Cache<unknown>; resp: RespServer; redis: Redis }[] = []
afterEach(async () => {
  for (const { cache, resp, redis } of open.splice(0)) {
    redis.disconnect()
    await resp.close()
    await cache.close()
  }
})

async function serve(options: RespServerOptions = {}) {
  const cache = await createCache()
  const resp = await startRespServer(cache, { host: HOST, port: 0, ...options })
  const port = Number(resp.address.split(':').pop())
  const redis = new Redis({ host: HOST, port, lazyConnect: true, maxRetriesPerRequest: 0 })
  open.push({ cache, resp, redis })
  await redis.connect()
  return { cache, redis }
}

/** Over the default keyspace's maxValueBytes (1 MiB). */
const TOO_BIG = Buffer.alloc(1_100_000, 7)
/** Over the default keyspace's maxKeyLength (1024). */
const TOO_LONG = 'k'.repeat(2000)

describe('RESP MSET and MSETNX: all or none', () => {
  it('MSET with one value over maxValueBytes writes none of the pairs', async () => {
    const { redis } = await serve()
    await expect(redis.mset('m1', 'small', 'm2', TOO_BIG, 'm3', 'small3')).rejects.toThrow(
      /over maxValueBytes/,
    )
    expect(await redis.exists('m1', 'm2', 'm3')).toBe(0)
  })

  it('MSET with one key over maxKeyLength writes none of the pairs', async () => {
    const { redis } = await serve()
    await expect(redis.mset('a1', 'v1', TOO_LONG, 'v2')).rejects.toThrow(/keys must be 1 to 1024/)
    expect(await redis.exists('a1')).toBe(0)
  })

  it('MSETNX with one value too large writes none, and keeps its rule: none if any key is live', async () => {
    const { redis } = await serve()
    await expect(redis.msetnx('x1', 'a', 'x2', TOO_BIG)).rejects.toThrow(/over maxValueBytes/)
    expect(await redis.exists('x1', 'x2')).toBe(0)
    expect(await redis.msetnx('x1', 'a', 'x2', 'b')).toBe(1)
    expect(await redis.msetnx('x2', 'c', 'x3', 'd')).toBe(0)
    expect(await redis.mget('x1', 'x2', 'x3')).toEqual(['a', 'b', null])
  })

  it('an MSET spanning keyspaces (prefix routing) writes none when one keyspace refuses', async () => {
    const { cache, redis } = await serve({
      keyspaces: ['default', 'sessions'],
      prefixRouting: true,
    })
    await expect(redis.mset('p1', 'v', 'sessions:p2', TOO_BIG)).rejects.toThrow(
      /over maxValueBytes/,
    )
    await expect(redis.mset('sessions:p3', 'v', TOO_LONG, 'v')).rejects.toThrow(/keys must be/)
    expect(await redis.exists('p1', 'sessions:p2', 'sessions:p3')).toBe(0)
    expect(cache.keyspace('sessions').size + cache.keyspace('default').size).toBe(0)
    // A valid one writes every pair; a key named twice takes its last value, as in Redis.
    expect(await redis.mset('p1', 'a', 'sessions:p2', 'b', 'p1', 'c')).toBe('OK')
    expect(await redis.mget('p1', 'sessions:p2')).toEqual(['c', 'b'])
  })
})

describe('RESP DEL and UNLINK', () => {
  it('count a key named twice once, as Redis does', async () => {
    const { redis } = await serve()
    await redis.set('a', '1')
    expect(await redis.del('a', 'a')).toBe(1)
    await redis.set('b', '1')
    expect(await redis.unlink('b', 'b', 'nope', 'b')).toBe(1)
    expect(await redis.exists('a', 'b')).toBe(0)
  })
  it('across keyspaces (prefix routing) delete none when one key is refused', async () => {
    const { redis } = await serve({ keyspaces: ['default', 'sessions'], prefixRouting: true })
    await redis.set('sessions:a', '1')
    await expect(redis.del('sessions:a', TOO_LONG)).rejects.toThrow(/keys must be/)
    expect(await redis.exists('sessions:a')).toBe(1)
  })
})

describe('RESP keys that no Redis key names', () => {
  it('a key starting with U+0001 written from Node (or HTTP) does not shadow the plain key', async () => {
    const { cache, redis } = await serve()
    // What `PUT /v1/default/%01abc` then `PUT /v1/default/abc` write.
    await cache.set('\u0001abc', 'marked')
    await cache.set('abc', 'plain')
    expect(await redis.keys('*abc*')).toEqual(['abc'])
    const scanned = await redis.scan('0', 'COUNT', '100')
    expect(scanned[1]).toEqual(['abc'])
    expect(await redis.get('abc')).toBe('plain')
    expect(await redis.del('abc')).toBe(1)
    // The marked key is left alone: DEL abc deleted the plain key only.
    expect(cache.get('\u0001abc')).toBe('marked')
  })
})
