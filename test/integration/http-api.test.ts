import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Cache } from '../../src/api/cache.js'
import { type HttpApi, startHttpApi } from '../../src/http/http-api.js'
import { createCache } from '../../src/node/create-cache.js'
import { msgpack } from '../../src/replication/value-codec.js'

let cache: Cache<unknown>
let api: HttpApi
beforeAll(async () => {
  cache = await createCache({ maxTtl: '7d' })
  api = await startHttpApi(cache, { host: '127.0.7.2', port: 0, maxBodyBytes: 100_000 })
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
async function expectError(res: Response, status: number, code: string) {
  expect(res.status).toBe(status)
  const body = (await res.json()) as { error: string; message: string }
  expect(body.error).toBe(code)
  expect(typeof body.message).toBe('string')
  expect(body.message).not.toMatch(/\n\s+at /) // never a stack
}

describe('HTTP API v1: values', () => {
  it('stores JSON as structures and answers JSON with ETag, x-version and x-expires-at', async () => {
    const put = await putJson('/v1/users/42', { name: 'Ada' })
    expect(put.status).toBe(200)
    const { version } = (await put.json()) as { version: string }
    expect(put.headers.get('etag')).toBe(`"${version}"`)
    const get = await call('/v1/users/42')
    expect(get.headers.get('content-type')).toMatch(/^application\/json/)
    expect(get.headers.get('etag')).toBe(`"${version}"`)
    expect(get.headers.get('x-version')).toBe(version)
    expect(Number(get.headers.get('x-expires-at'))).toBeGreaterThan(Date.now())
    expect(await get.json()).toEqual({ name: 'Ada' })
  })

  it('round-trips raw bytes with their content type; form bodies and curl -d are stored, not 415', async () => {
    const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0, 1, 2, 255])
    expect(
      (
        await call('/v1/files/logo', {
          method: 'PUT',
          body: png,
          headers: { 'content-type': 'image/png' },
        })
      ).status,
    ).toBe(200)
    const got = await call('/v1/files/logo')
    expect(got.headers.get('content-type')).toBe('image/png')
    expect(new Uint8Array(await got.arrayBuffer())).toEqual(png)

    const form = 'a=1&b=two'
    const put = await call('/v1/files/form', {
      method: 'PUT',
      body: form,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    })
    expect(put.status).toBe(200)
    const back = await call('/v1/files/form')
    expect(back.headers.get('content-type')).toBe('application/x-www-form-urlencoded')
    expect(await back.text()).toBe(form)

    // No content type: octet-stream bytes, stored as a bare Uint8Array (as a Node service's Buffer).
    const bare = new Uint8Array([1, 2, 3])
    await call('/v1/files/bare', { method: 'PUT', body: bare })
    expect(cache.keyspace('files').get('bare')).toEqual(bare)
    const b = await call('/v1/files/bare')
    expect(b.headers.get('content-type')).toBe('application/octet-stream')
    expect(new Uint8Array(await b.arrayBuffer())).toEqual(bare)
    // A Buffer written by a Node service reads back as bytes, not {"type":"Buffer",...}.
    await cache.keyspace('files').set('from-node', Buffer.from('abc'))
    expect(await (await call('/v1/files/from-node')).text()).toBe('abc')
  })

  it('speaks msgpack both ways; a JSON value is never mistaken for raw bytes', async () => {
    const packed = msgpack.pack({ n: 1, tags: ['x'] })
    await call('/v1/default/mp', {
      method: 'PUT',
      body: packed,
      headers: { 'content-type': 'application/msgpack' },
    })
    const mp = await call('/v1/default/mp', { headers: { accept: 'application/msgpack' } })
    expect(mp.headers.get('content-type')).toBe('application/msgpack')
    expect(msgpack.unpack(new Uint8Array(await mp.arrayBuffer()))).toEqual({ n: 1, tags: ['x'] })
    const lookalike = { __mcBytes: 'aGk=', type: 'text/plain' }
    await putJson('/v1/default/lookalike', lookalike)
    const r = await call('/v1/default/lookalike')
    expect(r.headers.get('content-type')).toMatch(/^application\/json/)
    expect(await r.json()).toEqual(lookalike)
  })

  it('reads TTLs as seconds when bare, or duration strings; x-ttl too; range-checks them', async () => {
    const expiry = async (path: string) => Number((await call(path)).headers.get('x-expires-at'))
    let t = Date.now()
    await putJson('/v1/default/t1?ttl=300', 1)
    expect(await expiry('/v1/default/t1')).toBeGreaterThanOrEqual(t + 299_000)
    expect(await expiry('/v1/default/t1')).toBeLessThanOrEqual(Date.now() + 300_000)
    t = Date.now()
    await putJson('/v1/default/t2', 1, { 'x-ttl': '60' })
    expect(await expiry('/v1/default/t2')).toBeGreaterThanOrEqual(t + 59_000)
    await putJson('/v1/default/t3?ttl=1.5', 1)
    expect(await expiry('/v1/default/t3')).toBeLessThanOrEqual(Date.now() + 1_500)
    t = Date.now()
    await putJson('/v1/default/t4?ttl=5m', 1)
    expect(await expiry('/v1/default/t4')).toBeGreaterThanOrEqual(t + 299_000)
    await expectError(await putJson('/v1/default/t5?ttl=-4', 1), 400, 'ERR_INVALID_OPTION')
    await expectError(await putJson('/v1/default/t5?ttl=8d', 1), 400, 'ERR_INVALID_OPTION')
    await expectError(await putJson('/v1/default/t5?ttl=abc', 1), 400, 'ERR_INVALID_OPTION')
    await expectError(await putJson('/v1/default/t5?ttl=1&ttl=2', 1), 400, 'ERR_INVALID_OPTION')
  })

  it('range-checks ackTimeout (at most 5 minutes) and every lease duration', async () => {
    await expectError(
      await putJson('/v1/default/a?ack=quorum&ackTimeout=99999999999999', 1),
      400,
      'ERR_INVALID_OPTION',
    )
    await expectError(
      await putJson('/v1/default/a?ack=quorum&ackTimeout=301s', 1),
      400,
      'ERR_INVALID_OPTION',
    )
    await expectError(await putJson('/v1/default/a?ack=all', 1), 400, 'ERR_INVALID_OPTION')
    for (const q of [
      'lease_ttl=0',
      'lease_ttl=6m',
      'wait=61s',
      'wait=-1',
      'stale_while_revalidate=2m',
      'stale_if_error=x',
      'lease=yes',
    ]) {
      await expectError(await call(`/v1/default/nope?lease=1&${q}`), 400, 'ERR_INVALID_OPTION')
    }
    await expectError(await call('/v1/default/nope?fetch=farthest'), 400, 'ERR_INVALID_OPTION')
  })

  it('HEAD is GET without a body; other methods get 405 with Allow; OPTIONS lists them', async () => {
    await putJson('/v1/default/h', { big: 'x'.repeat(100) })
    const head = await call('/v1/default/h', { method: 'HEAD' })
    const get = await call('/v1/default/h')
    expect(head.status).toBe(200)
    expect(head.headers.get('etag')).toBe(get.headers.get('etag'))
    expect(head.headers.get('content-length')).toBe(get.headers.get('content-length'))
    expect((await head.arrayBuffer()).byteLength).toBe(0)
    expect((await call('/v1/default/missing', { method: 'HEAD' })).status).toBe(404)
    const post = await call('/v1/default/h', { method: 'POST' })
    await expectError(post, 405, 'ERR_METHOD_NOT_ALLOWED')
    expect(post.headers.get('allow')).toBe('GET, PUT, DELETE, HEAD, OPTIONS')
    const patch = await call('/v1/users:mget', { method: 'GET' })
    expect(patch.status).toBe(405)
    expect(patch.headers.get('allow')).toBe('POST, OPTIONS')
    const options = await call('/status', { method: 'OPTIONS' })
    expect(options.status).toBe(204)
    expect(options.headers.get('allow')).toBe('GET, HEAD, OPTIONS')
  })

  it('If-Match: compare-and-set by ETag, 412 when the key changed, * for any live value', async () => {
    const first = await putJson('/v1/default/cas', 1)
    const etag = first.headers.get('etag')!
    expect((await putJson('/v1/default/cas', 2, { 'if-match': etag })).status).toBe(200)
    const stale = await putJson('/v1/default/cas', 3, { 'if-match': etag })
    await expectError(stale, 412, 'ERR_PRECONDITION_FAILED')
    expect(await (await call('/v1/default/cas')).json()).toBe(2)
    expect((await putJson('/v1/default/cas', 4, { 'if-match': '*' })).status).toBe(200)
    await expectError(
      await putJson('/v1/default/never', 1, { 'if-match': '*' }),
      412,
      'ERR_PRECONDITION_FAILED',
    )
    await expectError(
      await putJson('/v1/default/cas', 1, { 'if-match': 'nope' }),
      400,
      'ERR_INVALID_OPTION',
    )
    const current = (await call('/v1/default/cas')).headers.get('etag')!
    await expectError(
      await call('/v1/default/cas', { method: 'DELETE', headers: { 'if-match': etag } }),
      412,
      'ERR_PRECONDITION_FAILED',
    )
    const del = await call('/v1/default/cas', {
      method: 'DELETE',
      headers: { 'if-match': `"x", ${current}` },
    })
    expect(await del.json()).toMatchObject({ deleted: true })
  })

  it('DELETE of a keyspace never opened here opens nothing and stores nothing', async () => {
    await expectError(await call('/v1/never-opened/k', { method: 'DELETE' }), 404, 'ERR_NOT_FOUND')
    expect(cache.keyspaces().has('never-opened')).toBe(false)
    expect(cache.admin.version('never-opened', 'k')).toBeUndefined()
    // In an open keyspace a delete of an unknown key still writes its tombstone (as before).
    const res = await call('/v1/default/unknown-key', { method: 'DELETE' })
    const body = (await res.json()) as { deleted: boolean; version: string }
    expect(body.deleted).toBe(false)
    expect(res.headers.get('x-version')).toBe(body.version)
  })

  it('refuses what it cannot store or decode with the documented codes', async () => {
    await expectError(
      await call('/v1/default/k', {
        method: 'PUT',
        body: '{nope',
        headers: { 'content-type': 'application/json' },
      }),
      400,
      'ERR_BAD_BODY',
    )
    await expectError(
      await call('/v1/default/k', {
        method: 'PUT',
        body: new Uint8Array([0xc1]),
        headers: { 'content-type': 'application/msgpack' },
      }),
      400,
      'ERR_BAD_BODY',
    )
    await expectError(
      await call('/v1/default/k', {
        method: 'PUT',
        body: 'x',
        headers: { 'content-encoding': 'gzip', 'content-type': 'text/plain' },
      }),
      415,
      'ERR_UNSUPPORTED_MEDIA_TYPE',
    )
    await expectError(
      await call('/v1/default/k', { method: 'PUT', body: 'x'.repeat(200_000) }),
      413,
      'ERR_BODY_TOO_LARGE',
    )
    await expectError(await putJson('/v1/bad%20name/k', 1), 400, 'ERR_INVALID_KEYSPACE')
    await expectError(await putJson(`/v1/default/${'k'.repeat(2_000)}`, 1), 400, 'ERR_INVALID_KEY')
    await expectError(await call('/v1/u/%E0%A4%A'), 400, 'ERR_BAD_URL')
    await expectError(await call('/nope'), 404, 'ERR_NOT_FOUND')
    await expectError(
      await call('/v1/default/k', { method: 'POST' }),
      405,
      'ERR_METHOD_NOT_ALLOWED',
    )
  })
})
