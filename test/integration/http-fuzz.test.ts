import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Cache } from '../../src/api/cache.js'
import { type HttpApi, startHttpApi } from '../../src/http/http-api.js'
import { createCache } from '../../src/node/create-cache.js'

let cache: Cache<unknown>
let api: HttpApi
beforeAll(async () => {
  cache = await createCache()
  api = await startHttpApi(cache, { host: '127.0.7.1', port: 0, maxBodyBytes: 10_000 })
})
afterAll(async () => {
  await api.close()
  await cache.close()
})

describe('HTTP API under hostile requests (fuzz)', () => {
  it('answers every request with a status below 500 and keeps serving', async () => {
    await cache.set('kept', 'value')
    const segment = fc.oneof(
      fc.constantFrom('v1', 'default', 'status', 'metrics', 'admin', '..', '%00', '%E0%A4%A'),
      fc.string({ maxLength: 12 }),
    )
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('GET', 'PUT', 'DELETE', 'POST', 'PATCH'),
        fc.array(segment, { minLength: 0, maxLength: 4 }),
        fc.constantFrom(
          'application/json',
          'application/msgpack',
          'text/plain',
          'application/json; charset=utf-8',
          '',
        ),
        fc.oneof(
          fc.string({ maxLength: 200 }),
          fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b).toString('latin1')),
          fc.constant('x'.repeat(20_000)),
        ),
        fc.constantFrom(
          '',
          '?ttl=-1',
          '?ttl=abc',
          '?ack=all',
          '?fetch=nearest',
          '?ttl=5m&ack=quorum',
          '?ackTimeout=x',
        ),
        async (method, segments, type, body, query) => {
          const path = `/${segments.map((s) => encodeURIComponent(s).replaceAll('%25', '%')).join('/')}${query}`
          let res: Response
          try {
            res = await fetch(`${api.url}${path}`, {
              method,
              headers: type ? { 'content-type': type } : {},
              ...(method === 'GET' || method === 'DELETE' ? {} : { body }),
              signal: AbortSignal.timeout(5_000),
            })
          } catch {
            return // the client refused to send it (invalid URL); nothing reached the server
          }
          expect(res.status).toBeLessThan(500)
          await res.arrayBuffer()
        },
      ),
      { numRuns: 400 },
    )
    const alive = await fetch(`${api.url}/v1/default/kept`)
    expect(await alive.json()).toBe('value')
  })
})
