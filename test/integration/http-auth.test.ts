/**
 * Bearer tokens on the HTTP API (`auth`), and HTTPS (`tls`): every route but the health
 * probes needs a token of the list; 401 in the API's error shape; `/metrics` and
 * `/status` open with `metricsPublic`; the status page shell is always served.
 */
import { readFileSync } from 'node:fs'
import { request } from 'node:https'
import { afterEach, describe, expect, it } from 'vitest'
import type { Cache } from '../../src/api/cache.js'
import { type HttpApi, type HttpApiOptions, startHttpApi } from '../../src/http/http-api.js'
import { createCache } from '../../src/node/create-cache.js'

const open: { cache: Cache<unknown>; api: HttpApi }[] = []
afterEach(async () => {
  for (const { cache, api } of open.splice(0)) {
    await api.close()
    await cache.close()
  }
})

async function serve(options: HttpApiOptions) {
  const cache = await createCache()
  const api = await startHttpApi(cache, { host: '127.0.38.1', port: 0, ...options })
  open.push({ cache, api })
  return api
}

const TOKENS = ['token-one-0123456789', 'token-two-9876543210']

describe('HTTP API with --http-token-file', () => {
  it('needs a bearer token on every route but the health probes, and takes any listed token', async () => {
    const api = await serve({ auth: { tokens: TOKENS } })
    const call = (path: string, init: RequestInit = {}) => fetch(`${api.url}${path}`, init)
    for (const path of ['/health/live', '/health/ready', '/healthz']) {
      expect((await call(path)).status, path).toBe(200)
    }
    for (const path of [
      '/v1/default/k',
      '/status',
      '/metrics',
      '/openapi.json',
      '/nope',
      '/v1/default:mget',
    ]) {
      const res = await call(path)
      expect(res.status, path).toBe(401)
      expect(res.headers.get('www-authenticate')).toBe('Bearer realm="meshcache"')
      expect(await res.json()).toEqual({
        error: 'ERR_UNAUTHORIZED',
        message: expect.stringContaining('Authorization: Bearer'),
      })
    }
    const put = await call('/v1/default/k', {
      method: 'PUT',
      body: '1',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKENS[0]}` },
    })
    expect(put.status).toBe(200)
    const get = await call('/v1/default/k', { headers: { authorization: `bearer ${TOKENS[1]}` } })
    expect(await get.json()).toBe(1)
    const wrong = await call('/v1/default/k', {
      headers: { authorization: `Bearer ${TOKENS[0]}x` },
    })
    expect(wrong.status).toBe(401)
    expect(((await wrong.json()) as { message: string }).message).toContain('not one of')
    const basic = await call('/v1/default/k', { headers: { authorization: `Basic ${TOKENS[0]}` } })
    expect(basic.status).toBe(401)
    // A path that only looks like a public one is not public.
    expect((await call('/health/live/../../v1/default/k')).status).not.toBe(200)
  })

  it('serves the status page shell without a token; its data stays behind the token', async () => {
    const api = await serve({ auth: { tokens: TOKENS } })
    const page = await fetch(`${api.url}/`)
    expect(page.status).toBe(200)
    expect(await page.text()).toContain('data-testid="token-form"')
    expect((await fetch(`${api.url}/status`)).status).toBe(401)
  })

  it('opens /metrics and /status with metricsPublic, nothing else', async () => {
    const api = await serve({ auth: { tokens: TOKENS, metricsPublic: true } })
    expect((await fetch(`${api.url}/metrics`)).status).toBe(200)
    expect((await fetch(`${api.url}/status`)).status).toBe(200)
    expect((await fetch(`${api.url}/v1/default/k`)).status).toBe(401)
  })
})

describe('HTTP API over TLS', () => {
  it('serves HTTPS with the given certificate', async () => {
    const dir = new URL('../fixtures/tls/', import.meta.url)
    const cert = readFileSync(new URL('cert.pem', dir), 'utf8')
    const api = await serve({ tls: { cert, key: readFileSync(new URL('key.pem', dir), 'utf8') } })
    expect(api.url.startsWith('https://127.0.38.1:')).toBe(true)
    const body = await new Promise<string>((resolve, reject) => {
      const req = request(`${api.url}/health/live`, { ca: cert }, (res) => {
        let text = ''
        res.on('data', (d: Buffer) => {
          text += d.toString()
        })
        res.on('end', () => resolve(text))
      })
      req.on('error', reject)
      req.end()
    })
    expect(JSON.parse(body)).toEqual({ status: 'live' })
  })
})
