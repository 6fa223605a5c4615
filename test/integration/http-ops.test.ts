import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Cache } from '../../src/api/cache.js'
import { ManualClock } from '../../src/clock/clock.js'
import { type HttpApi, startHttpApi } from '../../src/http/http-api.js'
import { lagSamples } from '../../src/http/metrics.js'
import { openapiPath } from '../../src/http/openapi.js'
import { createCache, startNode } from '../../src/node/create-cache.js'
import { msgpack } from '../../src/replication/value-codec.js'

let cache: Cache<unknown>
let api: HttpApi
beforeAll(async () => {
  cache = await createCache({ maxTtl: '7d' })
  api = await startHttpApi(cache, { host: '127.0.7.4', port: 0, maxBodyBytes: 100_000 })
})
afterAll(async () => {
  await api.close()
  await cache.close()
})

const call = (path: string, init?: RequestInit) =>
  fetch(`${api.url}${path}`, { ...init, signal: AbortSignal.timeout(5_000) })
const post = (path: string, body: unknown) =>
  call(path, {
    method: 'POST',
    body: JSON.stringify(body),
    headers: { 'content-type': 'application/json' },
  })
async function expectError(res: Response, status: number, code: string) {
  expect(res.status).toBe(status)
  const body = (await res.json()) as { error: string; message: string }
  expect(body.error).toBe(code)
  expect(typeof body.message).toBe('string')
  expect(body.message).not.toMatch(/\n\s+at /) // never a stack
}

describe('HTTP API v1: bulk routes', () => {
  it('mset writes one batch with per-entry TTLs and tags; mget reads; invalidate and clear', async () => {
    const t = Date.now()
    const set = await post('/v1/bulk:mset', {
      entries: [
        { key: 'a', value: { n: 1 }, ttl: '5m', tags: ['team:1'] },
        { key: 'b', value: [2], tags: ['team:2'] },
        { key: '__proto__', value: 'odd key' },
      ],
      ttl: 60,
    })
    expect(set.status).toBe(200)
    const { versions } = (await set.json()) as { versions: Record<string, string> }
    expect(Object.keys(versions).sort()).toEqual(['__proto__', 'a', 'b'])
    const ks = cache.keyspace('bulk')
    expect(ks.entry('a')!.expiresAt).toBeGreaterThanOrEqual(t + 299_000)
    expect(ks.entry('b')!.expiresAt).toBeLessThanOrEqual(Date.now() + 60_000)
    const got = await post('/v1/bulk:mget', { keys: ['a', 'b', 'missing', '__proto__'] })
    expect(await got.json()).toEqual({
      values: { a: { n: 1 }, b: [2], missing: null, ['__proto__']: 'odd key' },
    })
    expect((await post('/v1/bulk:invalidate', { tags: ['team:1'] })).status).toBe(200)
    expect((await call('/v1/bulk/a')).status).toBe(404)
    expect((await call('/v1/bulk/b')).status).toBe(200)
    expect((await call('/v1/bulk:clear', { method: 'POST' })).status).toBe(200)
    expect((await call('/v1/bulk/b')).status).toBe(404)
    // A keyspace never opened reads as misses and is not opened.
    expect(await (await post('/v1/elsewhere:mget', { keys: ['x'] })).json()).toEqual({
      values: { x: null },
    })
    expect(cache.keyspaces().has('elsewhere')).toBe(false)
  })

  it('mget answers raw bytes as base64 in JSON, as bytes in msgpack', async () => {
    await call('/v1/bulk/raw', {
      method: 'PUT',
      body: 'hi',
      headers: { 'content-type': 'text/plain' },
    })
    expect(await (await post('/v1/bulk:mget', { keys: ['raw'] })).json()).toEqual({
      values: { raw: { __mcBytes: 'aGk=', type: 'text/plain' } },
    })
    const mp = await call('/v1/bulk:mget', {
      method: 'POST',
      body: JSON.stringify({ keys: ['raw'] }),
      headers: { 'content-type': 'application/json', accept: 'application/msgpack' },
    })
    const decoded = msgpack.unpack(new Uint8Array(await mp.arrayBuffer())) as {
      values: { raw: { __mcBytes: Uint8Array } }
    }
    expect(Buffer.from(decoded.values.raw.__mcBytes).toString()).toBe('hi')
  })

  it('refuses malformed bulk bodies', async () => {
    await expectError(await post('/v1/bulk:mget', { keys: 'a' }), 400, 'ERR_BAD_BODY')
    await expectError(await post('/v1/bulk:mget', { keys: [] }), 400, 'ERR_BAD_BODY')
    await expectError(await post('/v1/bulk:mget', [1]), 400, 'ERR_BAD_BODY')
    await expectError(await post('/v1/bulk:mset', { entries: [{ key: 'a' }] }), 400, 'ERR_BAD_BODY')
    await expectError(
      await post('/v1/bulk:mset', { entries: [{ key: 'a', value: 1, ttl: '9d' }] }),
      400,
      'ERR_INVALID_OPTION',
    )
    await expectError(
      await post('/v1/bulk:mset', { entries: [{ key: 'a', value: 1, tags: [''] }] }),
      400,
      'ERR_INVALID_OPTION',
    )
    await expectError(await post('/v1/bulk:invalidate', { tags: [1] }), 400, 'ERR_BAD_BODY')
    await expectError(
      await call('/v1/bulk:mget', {
        method: 'POST',
        body: 'x',
        headers: { 'content-type': 'text/plain' },
      }),
      415,
      'ERR_UNSUPPORTED_MEDIA_TYPE',
    )
    await expectError(
      await post('/v1/bulk:mget', { keys: Array.from({ length: 1_001 }, (_, i) => `k${i}`) }),
      400,
      'ERR_BAD_BODY',
    )
  })
})

describe('HTTP API v1: operations', () => {
  it('/openapi.json documents every served route and serves every documented path', async () => {
    const doc = (await (await call('/openapi.json')).json()) as {
      openapi: string
      paths: Record<string, Record<string, unknown>>
    }
    expect(doc.openapi).toBe('3.1.0')
    const served = new Set(api.routes().map((r) => `${r.method} ${openapiPath(r.url)}`))
    const documented = new Set(
      Object.entries(doc.paths).flatMap(([path, ops]) =>
        Object.keys(ops)
          .filter((m) => m !== 'head')
          .map((m) => `${m.toUpperCase()} ${path}`),
      ),
    )
    expect([...served].sort()).toEqual([...documented].sort())
    // Every documented path answers on a live server (no 404 for a missing route).
    for (const entry of documented) {
      const [method, path] = entry.split(' ') as [string, string]
      const url = path.replace('{ks}', 'docs').replace('{key}', 'k')
      const res = await call(url, {
        method,
        ...(method === 'POST' || method === 'PUT'
          ? {
              body: '{"keys":["k"],"entries":[{"key":"k","value":1}],"tags":["t"]}',
              headers: { 'content-type': 'application/json' },
            }
          : {}),
      })
      expect([entry, res.status === 404 && (await res.text()).includes('no route')]).toEqual([
        entry,
        false,
      ])
    }
  })

  it('/openapi.json documents exactly the query parameters each route reads', async () => {
    const doc = (await (await call('/openapi.json')).json()) as {
      paths: Record<string, Record<string, { parameters?: { $ref?: string }[] }>>
      components: { parameters: Record<string, { name: string; in: string }> }
    }
    const resolve = (p: { $ref?: string; name?: string; in?: string }) =>
      p.$ref === undefined ? p : doc.components.parameters[p.$ref.split('/').pop()!]!
    for (const route of api.routes()) {
      const op = doc.paths[openapiPath(route.url)]![route.method.toLowerCase()]!
      const documented = (op.parameters ?? [])
        .map(resolve)
        .filter((p) => p.in === 'query')
        .map((p) => p.name)
      expect([route.method, route.url, [...documented].sort()]).toEqual([
        route.method,
        route.url,
        [...route.query].sort(),
      ])
    }
  })

  it('health: live, healthz and ready', async () => {
    expect((await call('/health/live')).status).toBe(200)
    expect((await call('/healthz')).status).toBe(200)
    expect(await (await call('/health/ready')).json()).toEqual({ status: 'ready' })
  })

  it('/metrics has the request latency histogram; the lag collector renders Prometheus buckets', async () => {
    await call('/v1/default/t1')
    const text = await (await call('/metrics')).text()
    expect(text).toMatch(/# TYPE meshcache_http_request_duration_seconds histogram/)
    expect(text).toMatch(
      /meshcache_http_request_duration_seconds_bucket\{le="\+Inf",route="\/v1\/:ks\/\*",method="GET",status_class="2xx"\} \d+/,
    )
    const samples = lagSamples('lag', 'eu', {
      count: 3,
      sumMs: 60,
      maxMs: 40,
      p50Ms: 20,
      p99Ms: 40,
      buckets: [
        [10, 1],
        [50, 3],
        [Number.POSITIVE_INFINITY, 3],
      ],
    })
    expect(samples).toEqual([
      { metricName: 'lag_bucket', labels: { region: 'eu', le: '0.01' }, value: 1 },
      { metricName: 'lag_bucket', labels: { region: 'eu', le: '0.05' }, value: 3 },
      { metricName: 'lag_bucket', labels: { region: 'eu', le: '+Inf' }, value: 3 },
      { metricName: 'lag_sum', labels: { region: 'eu' }, value: 0.06 },
      { metricName: 'lag_count', labels: { region: 'eu' }, value: 3 },
    ])
  })

  it('serves the status page at / and /ui', async () => {
    for (const path of ['/', '/ui']) {
      const res = await call(path)
      expect(res.headers.get('content-type')).toMatch(/^text\/html/)
      expect(await res.text()).toMatch(/<html/i)
    }
  })
})

describe("HTTP API: /status is stamped with the node's clock", () => {
  it("time is the node's clock when the figures were read (the status page's rates are on it)", async () => {
    const clock = new ManualClock(1_700_000_000_000)
    const node = await startNode({}, { clock })
    const own = await startHttpApi(node, { host: '127.0.7.4', port: 0 })
    try {
      const status = async () =>
        (await (await fetch(`${own.url}/status`)).json()) as { time: number; node: string }
      expect(await status()).toMatchObject({ time: 1_700_000_000_000, node: node.nodeId })
      clock.advance(1_500)
      expect((await status()).time).toBe(1_700_000_001_500)
    } finally {
      await own.close()
      await node.close()
    }
  })
})
