/**
 * Requests refused before any route runs (by Node's HTTP parser, or for a method the API
 * does not know) are answered in the documented `{ error, message }` shape with a stable
 * `ERR_*` code, never fastify's `{"error":"Bad Request","message":"Client Error"}`
 * (issues 22 and 23). Raw sockets: fetch cannot send most of these.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Cache } from '../../src/api/cache.js'
import { type HttpApi, startHttpApi } from '../../src/http/http-api.js'
import { createCache } from '../../src/node/create-cache.js'
import { rawHttp } from '../helpers/raw-http.js'

let cache: Cache<unknown>
let api: HttpApi
beforeAll(async () => {
  cache = await createCache({})
  api = await startHttpApi(cache, { host: '127.0.7.12', port: 0 })
})
afterAll(async () => {
  await api.close()
  await cache.close()
})

const raw = (request: string | Buffer) => rawHttp(api.url, request)

const errorShape = (code: string) => ({ error: code, message: expect.any(String) })

describe('requests refused before routing get the documented error shape', () => {
  it('an unknown method is 501 ERR_NOT_IMPLEMENTED, whether the parser knows it or not', async () => {
    const brew = await raw('BREW /v1/default/k HTTP/1.1\r\nhost: x\r\n\r\n')
    expect(brew.status).toBe(501)
    expect(brew.body).toEqual({
      error: 'ERR_NOT_IMPLEMENTED',
      message: 'method BREW is not supported; the API serves GET, HEAD, PUT, DELETE, POST, OPTIONS',
    })
    const propfind = await raw(
      'PROPFIND /v1/default/k HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n',
    )
    expect(propfind.status).toBe(501)
    expect(propfind.body).toEqual(errorShape('ERR_NOT_IMPLEMENTED'))
  })

  it('1,000 headers and a 400 KB URL are 431 ERR_HEADERS_TOO_LARGE', async () => {
    const headers = Array.from({ length: 1_000 }, (_, i) => `x-h${i}: v\r\n`).join('')
    const many = await raw(`GET /health/live HTTP/1.1\r\nhost: x\r\n${headers}\r\n`)
    expect(many.status).toBe(431)
    expect(many.body).toEqual(errorShape('ERR_HEADERS_TOO_LARGE'))
    const long = await raw(`GET /v1/default/${'a'.repeat(400_000)} HTTP/1.1\r\nhost: x\r\n\r\n`)
    expect(long.status).toBe(431)
    expect(long.headers).toContain('connection: close')
    expect(long.body).toEqual(errorShape('ERR_HEADERS_TOO_LARGE'))
  })

  it('a NUL in the path is 400 ERR_BAD_URL; malformed framing and a missing Host 400 ERR_BAD_REQUEST', async () => {
    const nul = await raw('GET /v1/default/a\u0000b HTTP/1.1\r\nhost: x\r\n\r\n')
    expect(nul.status).toBe(400)
    expect(nul.body).toEqual(errorShape('ERR_BAD_URL'))
    const length = await raw('PUT /v1/default/k HTTP/1.1\r\nhost: x\r\ncontent-length: abc\r\n\r\n')
    expect(length.status).toBe(400)
    expect(length.body).toEqual({
      error: 'ERR_BAD_REQUEST',
      message: 'the request is not valid HTTP/1.1: invalid character in content-length',
    })
    const noHost = await raw('GET /health/live HTTP/1.1\r\nconnection: close\r\n\r\n')
    expect(noHost.status).toBe(400)
    expect(noHost.body).toEqual({
      error: 'ERR_BAD_REQUEST',
      message: 'an HTTP/1.1 request needs a Host header',
    })
  })

  it('the node keeps serving after every refusal', async () => {
    const res = await fetch(`${api.url}/health/live`)
    expect(res.status).toBe(200)
  })
})
