/**
 * A refused request leaves nothing behind: keys are checked before any read, load lease
 * or keyspace (an unopened keyspace granted leases on 15,000-character keys until the
 * node ran out of memory; refused writes opened keyspaces until every new one got 429).
 * And two requests Node or the router misread: a raw `#` in the target, and `CONNECT`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Cache } from '../../src/api/cache.js'
import { type HttpApi, startHttpApi } from '../../src/http/http-api.js'
import { createCache } from '../../src/node/create-cache.js'
import { rawHttp } from '../helpers/raw-http.js'

const HOST = '127.0.7.21'
let cache: Cache<unknown>
let api: HttpApi
beforeAll(async () => {
  cache = await createCache({})
  api = await startHttpApi(cache, { host: HOST, port: 0 })
})
afterAll(async () => {
  await api.close()
  await cache.close()
})

const errorShape = (code: string) => ({ error: code, message: expect.any(String) })
const isOpen = (name: string) => cache.keyspaces().has(name)

async function call(path: string, init: RequestInit = {}) {
  const res = await fetch(`${api.url}${path}`, init)
  const text = await res.text()
  return {
    status: res.status,
    headers: res.headers,
    body: text === '' ? undefined : JSON.parse(text),
  }
}

const json = (body: unknown, headers: Record<string, string> = {}): RequestInit => ({
  method: 'PUT',
  headers: { 'content-type': 'application/json', ...headers },
  body: JSON.stringify(body),
})

const raw = (request: string | Buffer) => rawHttp(api.url, request)

describe('keys are checked before any read or load lease', () => {
  it('an invalid key on a keyspace never opened gets 400 ERR_INVALID_KEY and no lease', async () => {
    const long = 'k'.repeat(15_000)
    for (const key of [long, `${long}x`, '%00bad']) {
      const res = await call(`/v1/nvr/${key}?lease=1&lease_ttl=5m`)
      expect(res.status).toBe(400)
      expect(res.body).toEqual(errorShape('ERR_INVALID_KEY'))
      expect(res.headers.get('x-lease')).toBeNull()
    }
    expect(api.leaseStats()).toEqual({ held: 0, bytes: 0, waiting: 0 })
    expect(isOpen('nvr')).toBe(false)
  })

  it('the same key is refused on an open keyspace, by GET, HEAD and DELETE alike', async () => {
    const long = 'k'.repeat(1_025)
    const get = await call(`/v1/default/${long}?lease=1`)
    expect(get.status).toBe(400)
    expect(get.body).toEqual(errorShape('ERR_INVALID_KEY'))
    expect((await fetch(`${api.url}/v1/nvr/${long}`, { method: 'HEAD' })).status).toBe(400)
    const del = await call(`/v1/nvr/${long}`, { method: 'DELETE' })
    expect(del.status).toBe(400)
    expect(del.body).toEqual(errorShape('ERR_INVALID_KEY'))
    expect(api.leaseStats().held).toBe(0)
  })

  it('a valid key on a keyspace never opened still gets its lease, counted in bytes', async () => {
    const res = await call('/v1/nvr2/k?lease=1')
    expect(res.status).toBe(404)
    expect(res.headers.get('x-lease')).toMatch(/^[\w-]{16}$/)
    expect(api.leaseStats()).toMatchObject({ held: 1, bytes: expect.any(Number) })
    expect(api.leaseStats().bytes).toBeGreaterThan(0)
    expect(isOpen('nvr2')).toBe(false)
  })
})

describe('a refused request opens no keyspace', () => {
  it('a TTL over maxTtl, a bad key, a failed If-Match, a bad read-through key', async () => {
    const ttl = await call('/v1/rejected1/k?ttl=30d', json(1))
    expect(ttl.status).toBe(400)
    expect(ttl.body).toEqual(errorShape('ERR_INVALID_OPTION'))
    const key = await call('/v1/rejected2/%00bad', json(1))
    expect(key.status).toBe(400)
    expect(key.body).toEqual(errorShape('ERR_INVALID_KEY'))
    const cas = await call('/v1/rejected3/k', json(1, { 'if-match': '"nope"' }))
    expect(cas.status).toBe(412)
    expect(cas.body).toEqual(errorShape('ERR_PRECONDITION_FAILED'))
    const star = await call('/v1/rejected3/k', json(1, { 'if-match': '*' }))
    expect(star.status).toBe(412)
    const nearest = await call(`/v1/brandnew/${'k'.repeat(2_000)}?fetch=nearest`)
    expect(nearest.status).toBe(400)
    expect(nearest.body).toEqual(errorShape('ERR_INVALID_KEY'))
    for (const name of ['rejected1', 'rejected2', 'rejected3', 'brandnew']) {
      expect(isOpen(name), name).toBe(false)
    }
    const status = await call('/status')
    expect(Object.keys(status.body.keyspaces)).toEqual(['default'])
  })

  it('a value the library would refuse, and refused bulk calls', async () => {
    const proto = await call('/v1/rejected4/k', {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: '{"__proto__": 1}',
    })
    expect(proto.status).toBe(400)
    expect(proto.body).toEqual(errorShape('ERR_UNENCODABLE_VALUE'))
    const large = await call('/v1/rejected5/k', {
      method: 'PUT',
      body: new Uint8Array(1_060_000),
    })
    expect(large.status).toBe(413)
    expect(large.body).toEqual(errorShape('ERR_VALUE_TOO_LARGE'))
    const post = (path: string, body: unknown) =>
      call(path, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      })
    const mset = await post('/v1/rejected6:mset', {
      entries: [
        { key: 'a', value: 1 },
        { key: '\u0000b', value: 2 },
      ],
    })
    expect(mset.status).toBe(400)
    expect(mset.body).toEqual(errorShape('ERR_INVALID_KEY'))
    const msetTtl = await post('/v1/rejected7:mset', {
      entries: [{ key: 'a', value: 1 }],
      ttl: '30d',
    })
    expect(msetTtl.status).toBe(400)
    const tags = await post('/v1/rejected8:invalidate', { tags: [''] })
    expect(tags.status).toBe(400)
    expect(tags.body).toEqual(errorShape('ERR_INVALID_OPTION'))
    const mget = await post('/v1/rejected9:mget', { keys: ['a', 'k'.repeat(1_025)] })
    expect(mget.status).toBe(400)
    expect(mget.body).toEqual(errorShape('ERR_INVALID_KEY'))
    for (let i = 4; i <= 9; i++) expect(isOpen(`rejected${i}`), `rejected${i}`).toBe(false)
  })

  it('after 70 refused writes a valid write still opens a new keyspace', async () => {
    for (let i = 0; i < 70; i++) {
      const res = await call(`/v1/junk${i}/%00`, json(1))
      expect(res.status).toBe(400)
    }
    const ok = await call('/v1/orders/1', json({ id: 1 }))
    expect(ok.status).toBe(200)
    expect(isOpen('orders')).toBe(true)
    expect(cache.keyspace('orders').get('1')).toEqual({ id: 1 })
    // Valid writes to new keyspaces, read-through and a precondition on an open one work.
    expect((await call('/v1/orders/1', json(2, { 'if-match': '*' }))).status).toBe(200)
    expect((await call('/v1/nearby/k?fetch=nearest')).status).toBe(404)
    expect(isOpen('nearby')).toBe(true)
  })
})

describe('requests the router or Node misread', () => {
  it("a raw '#' in the target is 400 ERR_BAD_URL; %23 is part of the key", async () => {
    const hash = await raw(
      'PUT /v1/default/order#ttl=60 HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 1\r\nconnection: close\r\n\r\n1',
    )
    expect(hash.status).toBe(400)
    expect(hash.body).toEqual(errorShape('ERR_BAD_URL'))
    expect(cache.get('order')).toBeUndefined()
    const get = await raw(
      'GET /v1/default/order#x HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n',
    )
    expect(get.status).toBe(400)
    expect((await call('/v1/default/order%23ttl=60', json(1))).status).toBe(200)
    expect(cache.get('order#ttl=60')).toBe(1)
  })

  it('CONNECT is answered 501 ERR_NOT_IMPLEMENTED in the JSON shape, then closed', async () => {
    for (const target of ['example.com:443', '/v1/default/k']) {
      const res = await raw(`CONNECT ${target} HTTP/1.1\r\nhost: example.com:443\r\n\r\n`)
      expect(res.status).toBe(501)
      expect(res.headers).toContain('connection: close')
      expect(res.body).toEqual({
        error: 'ERR_NOT_IMPLEMENTED',
        message:
          'method CONNECT is not supported; the API serves GET, HEAD, PUT, DELETE, POST, OPTIONS',
      })
    }
    expect((await call('/health/live')).status).toBe(200)
  })
})
