/**
 * A body is stored as it was sent, or refused with a typed 400/415: JSON that parsing
 * would change (numbers a double cannot hold, bytes that are not UTF-8, another charset)
 * used to be stored changed with a 200, and a msgpack raw-bytes envelope whose `type`
 * cannot be a `Content-Type` was stored as it came.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Cache } from '../../src/api/cache.js'
import { type HttpApi, startHttpApi } from '../../src/http/http-api.js'
import { createCache } from '../../src/node/create-cache.js'
import { msgpack } from '../../src/replication/value-codec.js'

let cache: Cache<unknown>
let api: HttpApi
beforeAll(async () => {
  cache = await createCache({})
  api = await startHttpApi(cache, { host: '127.0.7.22', port: 0 })
})
afterAll(async () => {
  await api.close()
  await cache.close()
})

const errorShape = (code: string) => ({ error: code, message: expect.any(String) })

async function put(key: string, body: string | Uint8Array, type = 'application/json') {
  const res = await fetch(`${api.url}/v1/default/${key}`, {
    method: 'PUT',
    headers: { 'content-type': type },
    body,
  })
  return { status: res.status, body: (await res.json()) as { error: string; message: string } }
}

describe('JSON bodies are stored exactly, or refused', () => {
  it.each([
    ['an overflowing literal', '{"price":1e400}', 'beyond the range of a double'],
    ['a negative overflowing literal', '[-1.8e308]', 'beyond the range of a double'],
    ['an integer beyond 2^53', '{"id":9007199254740993}', 'cannot hold exactly'],
    ['a negative integer beyond -2^53', '{"a":[-9007199254740993]}', 'cannot hold exactly'],
    ['an integer of 400 digits', `{"n":${'9'.repeat(400)}}`, 'beyond the range'],
    ['an underflowing literal', '{"tiny":1e-400}', 'too small'],
  ])('%s is 400 ERR_BAD_BODY and nothing is stored', async (_what, body, why) => {
    const res = await put('num', body)
    expect(res.status).toBe(400)
    expect(res.body).toEqual(errorShape('ERR_BAD_BODY'))
    expect(res.body.message).toContain(why)
    expect(cache.get('num')).toBeUndefined()
  })

  it('large integers a double holds exactly are kept, as JSON.stringify writes them: a GET goes back in as it came', async () => {
    const value = { a: 1e20, b: 2 ** 60, c: 2 ** 53, d: -(2 ** 70) }
    const body = JSON.stringify(value) // {"a":100000000000000000000,"b":1152921504606847000,...}
    expect((await put('big-ints', body)).status).toBe(200)
    expect(cache.get('big-ints')).toEqual(value)
    const read = await (await fetch(`${api.url}/v1/default/big-ints`)).text()
    expect(read).toBe(body)
    expect((await put('big-ints-again', read)).status).toBe(200)
    expect(cache.get('big-ints-again')).toEqual(value)
  })

  it('numbers a double holds are kept; -0 is stored as 0, as the library stores it', async () => {
    const body =
      '{"a":1.5,"b":1e3,"c":-0,"d":9007199254740991,"e":-9007199254740991,"f":0.1,"g":1e308,"h":0e-999,"i":"12345678901234567890","j":1.0000000000000000001}'
    expect((await put('exact', body)).status).toBe(200)
    const stored = cache.get('exact') as Record<string, unknown>
    expect(stored).toEqual({
      a: 1.5,
      b: 1000,
      c: 0,
      d: 9007199254740991,
      e: -9007199254740991,
      f: 0.1,
      g: 1e308,
      h: 0,
      i: '12345678901234567890',
      j: 1,
    })
    expect(Object.is(stored.c, 0)).toBe(true)
    const read = await fetch(`${api.url}/v1/default/exact`)
    expect(await read.text()).toBe(
      '{"a":1.5,"b":1000,"c":0,"d":9007199254740991,"e":-9007199254740991,"f":0.1,"g":1e+308,"h":0,"i":"12345678901234567890","j":1}',
    )
  })

  it('invalid UTF-8 is 400 ERR_BAD_BODY; a BOM is ignored', async () => {
    const latin1 = Buffer.from('"caf\xe9"', 'latin1')
    const res = await put('utf8', latin1)
    expect(res.status).toBe(400)
    expect(res.body).toEqual(errorShape('ERR_BAD_BODY'))
    expect(res.body.message).toContain('UTF-8')
    const surrogate = Buffer.from([0x22, 0xed, 0xa0, 0x80, 0x22]) // CESU-8 U+D800
    expect((await put('utf8', surrogate)).status).toBe(400)
    expect(cache.get('utf8')).toBeUndefined()
    const bom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('"café"')])
    expect((await put('utf8', bom)).status).toBe(200)
    expect(cache.get('utf8')).toBe('café')
  })

  it('a charset other than UTF-8 is 415 ERR_UNSUPPORTED_MEDIA_TYPE, on the bulk routes too', async () => {
    for (const type of [
      'application/json; charset=latin1',
      'application/json;charset="ISO-8859-1"',
      'text/json; charset=utf-16',
    ]) {
      const res = await put('charset', Buffer.from('"caf\xe9"', 'latin1'), type)
      expect(res.status, type).toBe(415)
      expect(res.body).toEqual(errorShape('ERR_UNSUPPORTED_MEDIA_TYPE'))
    }
    expect(cache.get('charset')).toBeUndefined()
    for (const type of ['application/json; charset=utf-8', 'application/json; charset="UTF8"']) {
      expect((await put('charset', '"café"', type)).status, type).toBe(200)
    }
    const bulk = await fetch(`${api.url}/v1/default:mset`, {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=latin1' },
      body: '{"entries":[{"key":"b","value":1}]}',
    })
    expect(bulk.status).toBe(415)
  })

  it('the bulk routes refuse changed numbers the same way', async () => {
    const res = await fetch(`${api.url}/v1/default:mset`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"entries":[{"key":"big","value":{"id":9007199254740993}}]}',
    })
    expect(res.status).toBe(400)
    expect(await res.json()).toEqual(errorShape('ERR_BAD_BODY'))
    expect(cache.get('big')).toBeUndefined()
  })
})

describe('raw bytes keep a type that can be sent back as Content-Type', () => {
  const envelope = (type: string) =>
    msgpack.pack({ __mcBytes: new Uint8Array([1, 2, 3]), type }) as Uint8Array

  it.each([
    ['a CR LF', 'text/plain\r\nSet-Cookie: a=b'],
    ['an empty type', ''],
    ['a non-ASCII subtype', 'text/é'],
    ['no subtype', 'text'],
    ['a non-ASCII parameter', 'text/plain; charset=é'],
    ['a type over 1,024 characters', `text/plain; x=${'a'.repeat(1_020)}`],
  ])('a msgpack envelope with %s is 400 ERR_BAD_BODY', async (_what, type) => {
    const res = await put('env', envelope(type), 'application/msgpack')
    expect(res.status).toBe(400)
    expect(res.body).toEqual(errorShape('ERR_BAD_BODY'))
    expect(cache.get('env')).toBeUndefined()
  })

  it('a good envelope is stored and served with its type; :mset checks entries the same way', async () => {
    expect(
      (await put('env', envelope('text/plain; charset=utf-8'), 'application/msgpack')).status,
    ).toBe(200)
    const read = await fetch(`${api.url}/v1/default/env`)
    expect(read.headers.get('content-type')).toBe('text/plain; charset=utf-8')
    expect(new Uint8Array(await read.arrayBuffer())).toEqual(new Uint8Array([1, 2, 3]))
    const bulk = await fetch(`${api.url}/v1/default:mset`, {
      method: 'POST',
      headers: { 'content-type': 'application/msgpack' },
      body: msgpack.pack({
        entries: [{ key: 'env2', value: { __mcBytes: new Uint8Array([1]), type: 'a\nb/c' } }],
      }) as Uint8Array,
    })
    expect(bulk.status).toBe(400)
    expect(await bulk.json()).toEqual(errorShape('ERR_BAD_BODY'))
    expect(cache.get('env2')).toBeUndefined()
  })

  it('a bad type stored by an embedded writer is served as application/octet-stream', async () => {
    await cache.set('embedded', { __mcBytes: new Uint8Array([7]), type: 'text/plain\r\nx: y' })
    const read = await fetch(`${api.url}/v1/default/embedded`)
    expect(read.status).toBe(200)
    expect(read.headers.get('content-type')).toBe('application/octet-stream')
    expect(read.headers.get('x')).toBeNull()
  })

  it('a Content-Type that could not be sent back is 415, as a malformed one', async () => {
    const res = await put('ct', 'x', 'text/plain; charset=\u00e9')
    expect(res.status).toBe(415)
    expect(res.body).toEqual(errorShape('ERR_UNSUPPORTED_MEDIA_TYPE'))
    expect((await put('ct', 'x', 'text/plain;')).status).toBe(200)
  })
})
