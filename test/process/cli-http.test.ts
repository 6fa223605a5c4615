import { afterEach, describe, expect, it } from 'vitest'
import { killAll, type NodeProcess, spawnNode } from '../helpers/cli.js'
import { waitFor } from '../helpers/wait.js'

afterEach(async () => {
  await killAll()
})

const call = (n: NodeProcess, path: string, init?: RequestInit) =>
  fetch(`${n.info.http}${path}`, { ...init, signal: AbortSignal.timeout(10_000) })
const putJson = (
  n: NodeProcess,
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
) =>
  call(n, path, {
    method: 'PUT',
    body: JSON.stringify(body),
    headers: { 'content-type': 'application/json', ...headers },
  })
const post = (n: NodeProcess, path: string, body: unknown) =>
  call(n, path, {
    method: 'POST',
    body: JSON.stringify(body),
    headers: { 'content-type': 'application/json' },
  })

const node = (host: string, region: string, extra: string[] = []) =>
  spawnNode(['--region', region, '--listen', `/ip4/${host}/tcp/0`, '--http', `${host}:0`, ...extra])

async function pair(): Promise<[NodeProcess, NodeProcess]> {
  const a = await node('127.0.1.21', 'us-east')
  const b = await node('127.0.2.21', 'eu-west', ['--peer', a.info.addresses[0]!])
  await waitFor(
    async () =>
      ((await (await call(a, '/status')).json()) as { mesh: { peers: unknown[] } }).mesh.peers
        .length === 1,
    'two CLI nodes connected',
    20_000,
  )
  return [a, b]
}

describe('meshcache node HTTP API v1 (separate processes)', () => {
  it('raw bytes keep their content type across replication; TTLs are seconds; HEAD; 405 + Allow', async () => {
    const [a, b] = await pair()
    const bytes = new Uint8Array([0, 1, 2, 250, 251, 255])
    const put = await call(a, '/v1/files/blob?ttl=120', {
      method: 'PUT',
      body: bytes,
      headers: { 'content-type': 'application/vnd.example+binary' },
    })
    expect(put.status).toBe(200)
    const t = Date.now()
    await waitFor(
      async () => (await call(b, '/v1/files/blob')).status === 200,
      'raw bytes replicated',
      15_000,
    )
    const got = await call(b, '/v1/files/blob')
    expect(got.headers.get('content-type')).toBe('application/vnd.example+binary')
    expect(new Uint8Array(await got.arrayBuffer())).toEqual(bytes)
    const expiresAt = Number(got.headers.get('x-expires-at'))
    expect(expiresAt).toBeGreaterThan(t + 100_000) // 120 s, not 120 ms
    expect(expiresAt).toBeLessThanOrEqual(t + 120_000)
    // curl -d / urllib default: form-urlencoded bodies are stored, not refused.
    const form = await call(a, '/v1/files/form', {
      method: 'PUT',
      body: 'name=Ada',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    })
    expect(form.status).toBe(200)
    const head = await call(a, '/v1/files/form', { method: 'HEAD' })
    expect(head.status).toBe(200)
    expect(head.headers.get('content-length')).toBe('8')
    expect(await head.text()).toBe('')
    const wrong = await call(a, '/v1/files/form', { method: 'PATCH', body: 'x' })
    expect(wrong.status).toBe(405)
    expect(wrong.headers.get('allow')).toBe('GET, PUT, DELETE, HEAD, OPTIONS')
    expect(await wrong.json()).toMatchObject({ error: 'ERR_METHOD_NOT_ALLOWED' })
  })

  it('If-Match compare-and-set: 200 with the current ETag, 412 after another write', async () => {
    const a = await node('127.0.1.22', 'us-east')
    const first = await putJson(a, '/v1/default/cas', { n: 1 })
    const etag = first.headers.get('etag')!
    expect(etag).toMatch(/^".+"$/)
    const ok = await putJson(a, '/v1/default/cas', { n: 2 }, { 'if-match': etag })
    expect(ok.status).toBe(200)
    const late = await putJson(a, '/v1/default/cas', { n: 3 }, { 'if-match': etag })
    expect(late.status).toBe(412)
    expect(await late.json()).toMatchObject({ error: 'ERR_PRECONDITION_FAILED' })
    expect(await (await call(a, '/v1/default/cas')).json()).toEqual({ n: 2 })
  })

  it('load leases: concurrent misses give exactly one lease; the others get the holder’s value', async () => {
    const a = await node('127.0.1.23', 'us-east')
    const callers = Array.from({ length: 8 }, () => call(a, '/v1/users/7?lease=1&wait=8s'))
    const holder = await Promise.race(callers)
    expect(holder.status).toBe(404)
    const token = holder.headers.get('x-lease')!
    expect((await holder.json()) as { lease: string }).toMatchObject({ lease: token })
    const put = await putJson(a, `/v1/users/7?lease=${encodeURIComponent(token)}&ttl=5m`, {
      name: 'loaded once',
    })
    expect(put.headers.get('x-lease-status')).toBe('ok')
    const all = await Promise.all(callers)
    expect(all.filter((r) => r.headers.get('x-lease') !== null)).toHaveLength(1)
    for (const r of all.filter((x) => x !== holder)) {
      expect(r.status).toBe(200)
      expect(await r.json()).toEqual({ name: 'loaded once' })
    }
    const wrong = await putJson(a, '/v1/users/7?lease=stale-token', { name: 'late' })
    expect(wrong.status).toBe(200)
    expect(wrong.headers.get('x-lease-status')).toBe('expired')
  })

  it('mset writes one batch that replicates; mget reads it elsewhere; invalidate kills by tag everywhere', async () => {
    const [a, b] = await pair()
    const set = await post(a, '/v1/catalog:mset', {
      entries: [
        { key: 'p1', value: { price: 10 }, tags: ['brand:x'] },
        { key: 'p2', value: { price: 20 }, tags: ['brand:y'], ttl: '10m' },
      ],
      ttl: 300,
    })
    expect(set.status).toBe(200)
    expect(Object.keys(((await set.json()) as { versions: object }).versions)).toEqual(['p1', 'p2'])
    await waitFor(
      async () => {
        const r = await post(b, '/v1/catalog:mget', { keys: ['p1', 'p2', 'p3'] })
        const v = ((await r.json()) as { values: Record<string, unknown> }).values
        return v.p1 !== null && v.p2 !== null
      },
      'mset replicated',
      15_000,
    )
    expect(await (await post(b, '/v1/catalog:mget', { keys: ['p1', 'p3'] })).json()).toEqual({
      values: { p1: { price: 10 }, p3: null },
    })
    expect((await post(b, '/v1/catalog:invalidate', { tags: ['brand:x'] })).status).toBe(200)
    await waitFor(
      async () => (await call(a, '/v1/catalog/p1')).status === 404,
      'invalidation replicated',
      15_000,
    )
    expect((await call(a, '/v1/catalog/p2')).status).toBe(200)
  })

  it('health probes: live at once; ready only once a configured peer is connected', async () => {
    const lonely = await node('127.0.1.24', 'us-east', [
      '--peer',
      '/ip4/127.0.1.99/tcp/9/p2p/12D3KooWQ5u6qc4jAndCr2qvieEPz5EUbbtv9i3iK32iQnNuL7ZX',
    ])
    expect((await call(lonely, '/health/live')).status).toBe(200)
    expect((await call(lonely, '/healthz')).status).toBe(200)
    const notReady = await call(lonely, '/health/ready')
    expect(notReady.status).toBe(503)
    expect(await notReady.json()).toMatchObject({ error: 'ERR_NOT_READY' })
    const solo = await node('127.0.1.25', 'us-east')
    expect((await call(solo, '/health/ready')).status).toBe(200)
    const joined = await node('127.0.2.25', 'eu-west', ['--peer', solo.info.addresses[0]!])
    await waitFor(
      async () => (await call(joined, '/health/ready')).status === 200,
      'ready once connected',
      15_000,
    )
  })

  it('every path in /openapi.json is served by the node', async () => {
    const a = await node('127.0.1.26', 'us-east', ['--admin'])
    const doc = (await (await call(a, '/openapi.json')).json()) as {
      paths: Record<string, Record<string, unknown>>
    }
    expect(Object.keys(doc.paths)).toContain('/admin/block')
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const method of Object.keys(ops)) {
        const url = path.replace('{ks}', 'docs').replace('{key}', 'k')
        const res = await call(a, url, {
          method: method.toUpperCase(),
          ...(method === 'post' || method === 'put'
            ? {
                body: '{"keys":["k"],"entries":[{"key":"k","value":1}],"tags":["t"],"peers":[]}',
                headers: { 'content-type': 'application/json' },
              }
            : {}),
        })
        const text = method === 'head' ? '' : await res.text()
        expect(`${method} ${path} ${res.status} ${text.includes('no route')}`).toMatch(
          / [1-5]\d\d false$/,
        )
        expect(res.status).not.toBe(405)
      }
    }
  })
})
