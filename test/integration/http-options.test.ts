/**
 * Every input over HTTP is checked (issue 22): unknown query parameters and body fields
 * are refused with the known names and a did-you-mean, messages speak the unit the
 * client wrote, `If-None-Match` answers 304, a malformed content type 415 naming what
 * is accepted.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Cache } from '../../src/api/cache.js'
import { type HttpApi, startHttpApi } from '../../src/http/http-api.js'
import { createCache } from '../../src/node/create-cache.js'

let cache: Cache<unknown>
let api: HttpApi
beforeAll(async () => {
  cache = await createCache({}) // maxTtl 1d
  api = await startHttpApi(cache, { host: '127.0.7.13', port: 0 })
})
afterAll(async () => {
  await api.close()
  await cache.close()
})

const call = (path: string, init?: RequestInit) =>
  fetch(`${api.url}${path}`, { ...init, signal: AbortSignal.timeout(5_000) })
const putJson = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  call(path, {
    method: 'PUT',
    body: JSON.stringify(body),
    headers: { 'content-type': 'application/json', ...headers },
  })
const post = (path: string, body: unknown) =>
  call(path, {
    method: 'POST',
    body: JSON.stringify(body),
    headers: { 'content-type': 'application/json' },
  })
async function refused(res: Response, status: number, error: string, message: string) {
  expect({ status: res.status, body: await res.json() }).toEqual({
    status,
    body: { error, message },
  })
}

describe('unknown names are refused, with the known ones and a did-you-mean', () => {
  it('PUT ?tll=5 is 400 naming ttl, and stores nothing', async () => {
    await refused(
      await putJson('/v1/opts/k?tll=5', 1),
      400,
      'ERR_INVALID_OPTION',
      "unknown query parameter 'tll' (did you mean 'ttl'?); PUT /v1/{ks}/{key} takes ttl, tags, ack, ackTimeout, lease",
    )
    expect((await call('/v1/opts/k')).status).toBe(404)
  })

  it('GET, HEAD, DELETE, bulk and operator routes check their parameters too', async () => {
    await refused(
      await call('/v1/opts/k?leas=1'),
      400,
      'ERR_INVALID_OPTION',
      "unknown query parameter 'leas' (did you mean 'lease'?); GET /v1/{ks}/{key} takes fetch, lease, lease_ttl, wait, stale_while_revalidate, stale_if_error",
    )
    expect((await call('/v1/opts/k?leas=1', { method: 'HEAD' })).status).toBe(400)
    await refused(
      await call('/v1/opts/k?ack_timeout=1s', { method: 'DELETE' }),
      400,
      'ERR_INVALID_OPTION',
      "unknown query parameter 'ack_timeout' (did you mean 'ackTimeout'?); DELETE /v1/{ks}/{key} takes ack, ackTimeout",
    )
    await refused(
      await post('/v1/opts:mget?ack=peer', { keys: ['a'] }),
      400,
      'ERR_INVALID_OPTION',
      "unknown query parameter 'ack'; POST /v1/{ks}:mget takes no query parameters",
    )
    expect((await post('/v1/opts:clear?ack=local', {})).status).toBe(200)
    await refused(
      await call('/status?verbose=1'),
      400,
      'ERR_INVALID_OPTION',
      "unknown query parameter 'verbose'; GET /status takes no query parameters",
    )
  })

  it('bulk bodies with an unknown field are 400 naming the known fields', async () => {
    await refused(
      await post('/v1/opts:mset', { entires: [{ key: 'a', value: 1 }] }),
      400,
      'ERR_BAD_BODY',
      "unknown field 'entires' in the :mset body (did you mean 'entries'?); known fields: entries, ttl, tags, ack, ackTimeout",
    )
    await refused(
      await post('/v1/opts:mset', { entries: [{ key: 'a', value: 1, tll: '5m' }] }),
      400,
      'ERR_BAD_BODY',
      "unknown field 'tll' in entries[0] (did you mean 'ttl'?); known fields: key, value, ttl, tags",
    )
    expect((await call('/v1/opts/a')).status).toBe(404)
  })
})

describe('durations are refused in the unit the client wrote', () => {
  it("ttl=30d is longer than the keyspace's maxTtl (1d), in a PUT and in :mset", async () => {
    await refused(
      await putJson('/v1/opts/k?ttl=30d', 1),
      400,
      'ERR_INVALID_OPTION',
      "ttl=30d is longer than this keyspace's maxTtl (1d)",
    )
    await refused(
      await putJson('/v1/opts/k', 1, { 'x-ttl': '90000' }),
      400,
      'ERR_INVALID_OPTION',
      "ttl=90000 is longer than this keyspace's maxTtl (1d)",
    )
    await refused(
      await post('/v1/opts:mset', { entries: [{ key: 'a', value: 1, ttl: '2d' }] }),
      400,
      'ERR_INVALID_OPTION',
      "entries[0].ttl=2d is longer than this keyspace's maxTtl (1d)",
    )
    expect((await putJson('/v1/opts/k?ttl=1d', 1)).status).toBe(200)
  })

  it('ackTimeout and lease bounds speak durations too', async () => {
    await refused(
      await putJson('/v1/opts/k?ackTimeout=10m', 1),
      400,
      'ERR_INVALID_OPTION',
      'ackTimeout=10m is longer than the most allowed (5m)',
    )
    await refused(
      await call('/v1/opts/missing?lease=1&wait=2m'),
      400,
      'ERR_INVALID_OPTION',
      'wait=2m is longer than the most allowed (1m)',
    )
    await refused(
      await putJson('/v1/opts/k?ttl=0', 1),
      400,
      'ERR_INVALID_OPTION',
      'ttl=0 must be longer than 0',
    )
  })
})

describe('HTTP details a client expects', () => {
  it('If-None-Match with the current ETag is 304 on GET and HEAD; another version is 200', async () => {
    const put = await putJson('/v1/opts/etag', { n: 1 })
    const etag = put.headers.get('etag')!
    for (const method of ['GET', 'HEAD']) {
      for (const cond of [etag, `W/${etag}`, `"other", ${etag}`, '*']) {
        const res = await call('/v1/opts/etag', { method, headers: { 'if-none-match': cond } })
        expect([method, cond, res.status]).toEqual([method, cond, 304])
        expect(res.headers.get('etag')).toBe(etag)
        expect(await res.text()).toBe('')
      }
    }
    const other = await call('/v1/opts/etag', { headers: { 'if-none-match': '"older"' } })
    expect(other.status).toBe(200)
    expect(await other.json()).toEqual({ n: 1 })
    await putJson('/v1/opts/etag', { n: 2 })
    const changed = await call('/v1/opts/etag', { headers: { 'if-none-match': etag } })
    expect(changed.status).toBe(200)
    expect(await changed.json()).toEqual({ n: 2 })
  })

  it('a malformed content type is 415 naming the accepted types', async () => {
    const res = await call('/v1/opts/k', {
      method: 'PUT',
      body: 'x',
      headers: { 'content-type': 'nonsense' },
    })
    expect(res.status).toBe(415)
    const body = (await res.json()) as { error: string; message: string }
    expect(body.error).toBe('ERR_UNSUPPORTED_MEDIA_TYPE')
    expect(body.message).toBe(
      "content-type 'nonsense' is not a media type (type/subtype); send application/json (or *+json), application/msgpack, application/octet-stream, or any other type/subtype (stored as bytes with its type)",
    )
  })
})
