/**
 * Bodies over `maxBodyBytes`: the 413 reaches the client (lingering close), within the
 * linger bounds, and the limit is advertised. In-process server, real sockets; the
 * process tests (test/process/cli-body-limit.test.ts) run fetch, curl and a
 * send-then-read client against a `meshcache node`.
 */
import { connect, type Socket } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Cache } from '../../src/api/cache.js'
import { type HttpApi, startHttpApi } from '../../src/http/http-api.js'
import { createCache } from '../../src/node/create-cache.js'

const LIMIT = 100_000
const LINGER_BYTES = 32_000_000
const LINGER_MS = 1_500

let cache: Cache<unknown>
let api: HttpApi
beforeAll(async () => {
  cache = await createCache({})
  api = await startHttpApi(cache, {
    host: '127.0.7.11',
    port: 0,
    maxBodyBytes: LIMIT,
    lingerMaxBytes: LINGER_BYTES,
    lingerMs: LINGER_MS,
  })
})
afterAll(async () => {
  await api.close()
  await cache.close()
})

/** What a raw client saw: the bytes it read, how the connection ended, and when. */
interface RawOutcome {
  response: string
  /** Body bytes it managed to write before the connection ended. */
  written: number
  error?: string
  closedAfterMs: number
}

/**
 * A client that writes a request with a `Content-Length` body of `size` bytes, keeps
 * writing after the server's FIN (as Python's http.client does: it sends the whole body
 * before it reads), and reads whatever comes back. `stallAfter` stops writing after that
 * many body bytes without closing.
 */
function rawPut(
  size: number,
  opts: { stallAfter?: number; chunked?: boolean; server?: HttpApi } = {},
) {
  const { port } = new URL((opts.server ?? api).url)
  const socket: Socket = connect({ host: '127.0.7.11', port: Number(port), allowHalfOpen: true })
  const started = Date.now()
  let response = ''
  let written = 0
  let error: string | undefined
  socket.on('data', (d: Buffer) => {
    response += d.toString('latin1')
  })
  socket.on('error', (e: NodeJS.ErrnoException) => {
    error = e.code ?? e.message
  })
  const framing = opts.chunked ? 'transfer-encoding: chunked' : `content-length: ${size}`
  socket.write(`PUT /v1/default/big HTTP/1.1\r\nhost: x\r\n${framing}\r\n\r\n`)
  const chunk = Buffer.alloc(64 * 1024, 120)
  const limit = Math.min(size, opts.stallAfter ?? size)
  const pump = () => {
    while (written < limit && !socket.destroyed) {
      const n = Math.min(chunk.length, limit - written)
      written += n
      const part = n === chunk.length ? chunk : chunk.subarray(0, n)
      if (opts.chunked) socket.write(`${n.toString(16)}\r\n`)
      const ok = socket.write(part)
      if (opts.chunked) socket.write('\r\n')
      if (!ok) return void socket.once('drain', pump)
    }
    if (written < size) return trickle()
    if (opts.chunked) socket.write('0\r\n\r\n')
    socket.end()
  }
  // A stalled client sends a byte now and then: its write fails once the server cut it.
  const trickle = () => {
    const timer = setInterval(() => {
      if (socket.destroyed) clearInterval(timer)
      else socket.write('x')
    }, 100)
    socket.once('close', () => clearInterval(timer))
  }
  pump()
  return new Promise<RawOutcome>((resolve) => {
    socket.on('close', () =>
      resolve({
        response,
        written,
        closedAfterMs: Date.now() - started,
        ...(error ? { error } : {}),
      }),
    )
  })
}

function parse(response: string): { status: number; headers: string; body: unknown } {
  const end = response.indexOf('\r\n\r\n')
  const head = response.slice(0, end)
  return {
    status: Number(head.split(' ')[1]),
    headers: head.toLowerCase(),
    body: JSON.parse(response.slice(end + 4)),
  }
}

describe('bodies over the limit get their 413 (lingering close)', () => {
  it('a client that sends its whole body before reading gets the 413 JSON, then a clean close', async () => {
    const out = await rawPut(16_000_000)
    expect(out.error).toBeUndefined()
    expect(out.written).toBe(16_000_000)
    const res = parse(out.response)
    expect(res.status).toBe(413)
    expect(res.headers).toContain('connection: close')
    expect(res.headers).toContain(`x-max-body-bytes: ${LIMIT}`)
    expect(res.body).toEqual({
      error: 'ERR_BODY_TOO_LARGE',
      message: `this body of 16000000 bytes is over the limit of ${LIMIT} bytes per request body (--max-body-bytes)`,
      maxBodyBytes: LIMIT,
    })
  })

  it('a chunked body is refused as soon as it passes the limit, and read to its end', async () => {
    const out = await rawPut(1_000_000, { chunked: true })
    expect(out.error).toBeUndefined()
    expect(out.written).toBe(1_000_000)
    const res = parse(out.response)
    expect(res.status).toBe(413)
    expect(res.body).toMatchObject({ error: 'ERR_BODY_TOO_LARGE', maxBodyBytes: LIMIT })
  })

  it('past the byte bound the connection is cut, long before the body ends', async () => {
    // A long deadline: the cut can only come from the byte bound.
    const bounded = await startHttpApi(cache, {
      host: '127.0.7.11',
      port: 0,
      maxBodyBytes: LIMIT,
      lingerMaxBytes: 4_000_000,
      lingerMs: 120_000,
    })
    try {
      const out = await rawPut(500_000_000, { server: bounded })
      expect(parse(out.response).status).toBe(413) // read before the cut
      expect(out.error).toMatch(/EPIPE|ECONNRESET/)
      expect(out.written).toBeLessThan(100_000_000)
      expect(out.closedAfterMs).toBeLessThan(20_000)
    } finally {
      await bounded.close()
    }
  })

  it('a client that stops sending is cut at the deadline', async () => {
    const out = await rawPut(1_000_000, { stallAfter: 300_000 })
    expect(parse(out.response).status).toBe(413)
    expect(out.closedAfterMs).toBeGreaterThanOrEqual(LINGER_MS - 50)
    expect(out.closedAfterMs).toBeLessThan(LINGER_MS + 2_000)
  })

  it('Expect: 100-continue with a body over the limit is refused before the body is sent', async () => {
    const res = await new Promise<string>((resolve, reject) => {
      const { port } = new URL(api.url)
      const s = connect({ host: '127.0.7.11', port: Number(port) })
      let text = ''
      s.on('data', (d: Buffer) => {
        text += d.toString()
      })
      s.on('error', reject)
      s.on('close', () => resolve(text))
      s.write(
        `PUT /v1/default/big HTTP/1.1\r\nhost: x\r\ncontent-length: 5000000\r\nexpect: 100-continue\r\n\r\n`,
      )
    })
    expect(res).not.toContain('100 Continue')
    expect(parse(res).status).toBe(413)
    expect(parse(res).body).toMatchObject({ error: 'ERR_BODY_TOO_LARGE', maxBodyBytes: LIMIT })
  })

  it('writes advertise the limit; a body within it is stored as before', async () => {
    const res = await fetch(`${api.url}/v1/default/small`, {
      method: 'PUT',
      body: 'x'.repeat(LIMIT),
      headers: { 'content-type': 'text/plain' },
    })
    expect(res.status).toBe(200)
    expect(res.headers.get('x-max-body-bytes')).toBe(String(LIMIT))
    const big = await fetch(`${api.url}/v1/default/small`, {
      method: 'PUT',
      body: 'x'.repeat(LIMIT + 1),
      headers: { 'content-type': 'text/plain' },
    })
    expect(big.status).toBe(413)
  })
})
