import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Cache } from '../../src/api/cache.js'
import { type HttpApi, startHttpApi } from '../../src/http/http-api.js'
import { LeaseTable } from '../../src/http/lease-table.js'
import { createCache } from '../../src/node/create-cache.js'
import { waitFor } from '../helpers/wait.js'

describe('LeaseTable', () => {
  it('grants one lease per key until it is released or expires', async () => {
    let now = 1_000
    const t = new LeaseTable({ now: () => now })
    const token = t.acquire('k', 100)!
    expect(token).toMatch(/^[\w-]{16}$/)
    expect(t.acquire('k', 100)).toBeUndefined()
    expect(t.acquire('other', 100)).toBeDefined()
    expect(t.release('k', 'wrong')).toBe('expired')
    expect(t.held('k')).toBe(true)
    expect(t.release('k', token)).toBe('ok')
    expect(t.held('k')).toBe(false)
    const second = t.acquire('k', 100)!
    now += 101
    expect(t.held('k')).toBe(false)
    expect(t.release('k', second)).toBe('expired')
    expect(t.acquire('k', 100)).toBeDefined()
  })

  it('is bounded: a full table grants no lease until expired ones are pruned', () => {
    let now = 0
    const t = new LeaseTable({ maxLeases: 2, now: () => now })
    expect(t.acquire('a', 10)).toBeDefined()
    expect(t.acquire('b', 10)).toBeDefined()
    expect(t.acquire('c', 10)).toBeUndefined()
    now = 11
    expect(t.acquire('c', 10)).toBeDefined()
    expect(t.size).toBe(1)
  })

  it('wakes waiters on notify, on release, at lease expiry, at their deadline and on abort', async () => {
    const active: boolean[] = []
    const t = new LeaseTable({ maxWaiters: 3, onWaiting: (a) => active.push(a) })
    const token = t.acquire('k', 10_000)!
    const notified = t.wait('k', 5_000)
    expect(t.waiting).toBe(1)
    t.notify('k')
    expect(await notified).toBe('notified')
    const released = t.wait('k', 5_000)
    t.release('k', token)
    expect(await released).toBe('lease-ended')
    t.acquire('k', 30)
    expect(await t.wait('k', 5_000)).toBe('lease-ended')
    expect(await t.wait('none', 20)).toBe('timeout')
    const ac = new AbortController()
    const aborted = t.wait('k', 5_000, ac.signal)
    ac.abort()
    expect(await aborted).toBe('timeout')
    const many = [t.wait('x', 5_000), t.wait('x', 5_000), t.wait('x', 5_000)]
    expect(await t.wait('x', 5_000)).toBe('full')
    t.clear()
    expect(await Promise.all(many)).toEqual(['timeout', 'timeout', 'timeout'])
    expect(t.waiting).toBe(0)
    expect(active.at(-1)).toBe(false)
  })
})

let cache: Cache<unknown>
let api: HttpApi
beforeAll(async () => {
  cache = await createCache()
  api = await startHttpApi(cache, { host: '127.0.7.3', port: 0 })
})
afterAll(async () => {
  await api.close()
  await cache.close()
})

const call = (path: string, init?: RequestInit) =>
  fetch(`${api.url}${path}`, { ...init, signal: AbortSignal.timeout(10_000) })
const putJson = (path: string, body: unknown) =>
  call(path, {
    method: 'PUT',
    body: JSON.stringify(body),
    headers: { 'content-type': 'application/json' },
  })

describe('load leases over HTTP (memcache lease pattern)', () => {
  it('concurrent misses: exactly one caller gets the lease, the others get its value', async () => {
    const path = '/v1/leases/hot'
    const callers = Array.from({ length: 12 }, () => call(`${path}?lease=1&wait=5s`))
    // The first answer is the lease: the others are waiting for the holder.
    const first = await Promise.race(callers)
    expect(first.status).toBe(404)
    const token = first.headers.get('x-lease')!
    expect(token).toBeTruthy()
    expect(await first.json()).toMatchObject({ error: 'ERR_NOT_FOUND', lease: token })
    const put = await putJson(`${path}?lease=${token}`, { loaded: true })
    expect(put.headers.get('x-lease-status')).toBe('ok')
    const all = await Promise.all(callers)
    expect(all.filter((r) => r.headers.get('x-lease')).length).toBe(1)
    const others = all.filter((r) => r !== first)
    expect(others.map((r) => r.status)).toEqual(Array(11).fill(200))
    for (const r of others) expect(await r.json()).toEqual({ loaded: true })
  })

  it('a wrong or expired token still writes, answering x-lease-status: expired', async () => {
    const res = await call('/v1/leases/w', {
      method: 'PUT',
      body: '1',
      headers: { 'content-type': 'application/json', 'x-lease': 'not-a-lease' },
    })
    expect(res.status).toBe(200)
    expect(res.headers.get('x-lease-status')).toBe('expired')
    expect(await (await call('/v1/leases/w')).json()).toBe(1)
  })

  it('a waiter whose wait ends gets 404 without a lease; after the lease expires the next caller gets one', async () => {
    const holder = await call('/v1/leases/slow?lease=1&lease_ttl=300ms')
    const token = holder.headers.get('x-lease')!
    const gaveUp = await call('/v1/leases/slow?lease=1&wait=50ms')
    expect(gaveUp.status).toBe(404)
    expect(gaveUp.headers.get('x-lease')).toBeNull()
    // This one waits past the holder's lease_ttl and takes over the load.
    const next = await call('/v1/leases/slow?lease=1&wait=5s')
    expect(next.status).toBe(404)
    expect(next.headers.get('x-lease')).toBeTruthy()
    expect(next.headers.get('x-lease')).not.toBe(token)
  })

  it('a write from anywhere (not only the holder) ends the wait', async () => {
    const holder = await call('/v1/leases/any?lease=1')
    expect(holder.headers.get('x-lease')).toBeTruthy()
    const waiting = call('/v1/leases/any?lease=1&wait=5s')
    await waitFor(() => api.leaseStats().waiting === 1, 'the caller waits')
    await cache.keyspace('leases').set('any', 'from a Node service')
    const res = await waiting
    expect(res.status).toBe(200)
    expect(await res.json()).toBe('from a Node service')
  })

  it('stale-while-revalidate: while the holder reloads, others get the expired value marked x-stale', async () => {
    await putJson('/v1/leases/swr?ttl=100ms', 'old')
    await waitFor(async () => (await call('/v1/leases/swr')).status === 404, 'the value expired')
    const holder = await call('/v1/leases/swr?lease=1&stale_while_revalidate=30s')
    expect(holder.status).toBe(404)
    const token = holder.headers.get('x-lease')!
    const stale = await call('/v1/leases/swr?lease=1&stale_while_revalidate=30s')
    expect(stale.status).toBe(200)
    expect(stale.headers.get('x-stale')).toBe('1')
    expect(stale.headers.get('x-version')).toBeTruthy()
    expect(await stale.json()).toBe('old')
    await putJson(`/v1/leases/swr?lease=${token}`, 'new')
    const fresh = await call('/v1/leases/swr?lease=1&stale_while_revalidate=30s')
    expect(fresh.headers.get('x-stale')).toBeNull()
    expect(await fresh.json()).toBe('new')
  })

  it('stale-if-error: when the wait ends without a value, the expired value is served', async () => {
    await putJson('/v1/leases/sie?ttl=100ms', 'last good')
    await waitFor(async () => (await call('/v1/leases/sie')).status === 404, 'the value expired')
    const holder = await call('/v1/leases/sie?lease=1&lease_ttl=10s')
    expect(holder.headers.get('x-lease')).toBeTruthy()
    // The holder's origin is down: it never writes. Waiters fall back to the stale value.
    const res = await call('/v1/leases/sie?lease=1&wait=100ms&stale_if_error=1m')
    expect(res.status).toBe(200)
    expect(res.headers.get('x-stale')).toBe('1')
    expect(await res.json()).toBe('last good')
    const without = await call('/v1/leases/sie?lease=1&wait=50ms')
    expect(without.status).toBe(404)
  })

  it('a hit never takes a lease; HEAD works with leases too', async () => {
    await putJson('/v1/leases/hit', 1)
    const res = await call('/v1/leases/hit?lease=1')
    expect(res.status).toBe(200)
    expect(res.headers.get('x-lease')).toBeNull()
    const head = await call('/v1/leases/head-miss?lease=1', { method: 'HEAD' })
    expect(head.status).toBe(404)
    expect(head.headers.get('x-lease')).toBeTruthy()
  })

  it('a caller that goes away stops waiting', async () => {
    await call('/v1/leases/gone?lease=1')
    const ac = new AbortController()
    const waiting = fetch(`${api.url}/v1/leases/gone?lease=1&wait=30s`, { signal: ac.signal })
    await waitFor(() => api.leaseStats().waiting === 1, 'the caller waits')
    ac.abort()
    await expect(waiting).rejects.toThrow()
    await waitFor(() => api.leaseStats().waiting === 0, 'the server stopped waiting for it')
  })
})
