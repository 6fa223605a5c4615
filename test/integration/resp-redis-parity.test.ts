/**
 * The RESP listener against redis-server itself: the same commands on both, the raw
 * replies compared byte for byte (errors included), wherever meshcache does not differ
 * on purpose (docs/resp.md lists where it does: every key expires, HELLO's version...).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Cache } from '../../src/api/cache.js'
import { createCache } from '../../src/node/create-cache.js'
import { type RespServer, startRespServer } from '../../src/resp/index.js'
import { RawResp, startRedisServer } from '../helpers/resp.js'

const REDIS = { host: '127.0.33.2', port: 16_380 }
let cache: Cache<unknown>
let resp: RespServer
let redis: { stop: () => Promise<void> }

beforeAll(async () => {
  redis = await startRedisServer(REDIS.host, REDIS.port)
  cache = await createCache()
  resp = await startRespServer(cache, { host: '127.0.33.1', port: 0 })
})
afterAll(async () => {
  await resp?.close()
  await cache?.close()
  await redis?.stop()
})

/** Commands whose replies must be the same bytes on both servers, run in this order. */
const SCRIPT: string[][] = [
  ['PING'],
  ['PING', 'hello'],
  ['PING', 'a', 'b'],
  ['ECHO', 'x y'],
  ['ECHO'],
  ['SET', 'k', 'v'],
  ['GET', 'k'],
  ['GET', 'missing'],
  ['GET'],
  ['SET', 'k', 'v2', 'NX'],
  ['SET', 'k', 'v3', 'XX', 'GET'],
  ['SET', 'nope', 'v', 'XX'],
  ['SET', 'nope', 'v', 'XX', 'GET'],
  ['SET', 'k', 'v', 'EX', '0'],
  ['SET', 'k', 'v', 'EX', 'abc'],
  ['SET', 'k', 'v', 'PX', '-5'],
  ['SET', 'k', 'v', 'NX', 'XX'],
  ['SET', 'k', 'v', 'KEEPTTL', 'EX', '1'],
  ['SET', 'k', 'v', 'EX', '1', 'PX', '100'],
  ['SET', 'k', 'v', 'EX'],
  ['SET', 'k', 'v', 'FOO'],
  ['SET', 'k', 'v', 'ex', '100'],
  ['TTL', 'k'],
  ['SET', 'k', 'w', 'KEEPTTL'],
  ['TTL', 'k'],
  ['GET', 'k'],
  ['SETEX', 'k', '0', 'v'],
  ['SETEX', 'k', 'abc', 'v'],
  ['SETEX', 'sx', '50', 'v'],
  ['TTL', 'sx'],
  ['PSETEX', 'k', '-1', 'v'],
  ['SETNX', 'k', 'v'],
  ['SETNX', 'fresh', 'v'],
  ['MSET', 'a', '1', 'b', '2'],
  ['MSET', 'a'],
  ['MSET', 'a', '1', 'b'],
  ['MGET', 'a', 'b', 'nope'],
  ['MSETNX', 'a', '1', 'c', '3'],
  ['MSETNX', 'c', '3', 'd', '4'],
  ['GETDEL', 'b'],
  ['GETDEL', 'b'],
  ['GETEX', 'a', 'FOO'],
  ['GETEX', 'a', 'PERSIST', 'EX', '1'],
  ['GETEX', 'a', 'EX', '0'],
  ['GETEX', 'a', 'EX', '200'],
  ['TTL', 'a'],
  ['GETEX', 'nope', 'EX', '10'],
  ['DEL', 'c', 'd', 'nope'],
  ['UNLINK', 'fresh', 'nope'],
  ['EXISTS', 'k', 'k', 'nope'],
  ['TYPE', 'k'],
  ['TYPE', 'nope'],
  ['EXPIRE', 'k', '100', 'NX', 'XX'],
  ['EXPIRE', 'k', '100', 'GT', 'LT'],
  ['EXPIRE', 'k', '100', 'foo'],
  ['EXPIRE', 'nope', '10'],
  ['EXPIRE', 'k', 'abc'],
  ['EXPIRE', 'k', '300'],
  ['TTL', 'k'],
  ['PEXPIRE', 'k', '400000'],
  ['TTL', 'k'],
  ['EXPIRE', 'k', '100', 'LT'],
  ['TTL', 'k'],
  ['EXPIRE', 'k', '50', 'GT'],
  ['TTL', 'k'],
  ['EXPIREAT', 'k', '1'],
  ['GET', 'k'],
  ['EXPIRE', 'a', '-1'],
  ['EXISTS', 'a'],
  ['TTL', 'nope'],
  ['PTTL', 'nope'],
  ['PERSIST', 'nope'],
  ['INCR', 'cnt'],
  ['INCRBY', 'cnt', '10'],
  ['DECR', 'cnt'],
  ['DECRBY', 'cnt', '3'],
  ['INCRBY', 'cnt', 'x'],
  ['INCRBY', 'cnt', '1.5'],
  ['GET', 'cnt'],
  ['SET', 'f', '1.5'],
  ['INCR', 'f'],
  ['SET', 'f', ' 1'],
  ['INCR', 'f'],
  ['SET', 'f', '01'],
  ['INCR', 'f'],
  ['SET', 'big', '9223372036854775807'],
  ['INCR', 'big'],
  ['SET', 'small', '-9223372036854775808'],
  ['DECR', 'small'],
  ['DECRBY', 'cnt', '-9223372036854775808'],
  ['INCRBY', 'cnt', '9223372036854775808'],
  ['SELECT', '99'],
  ['SELECT', 'x'],
  ['SELECT', '0'],
  ['SELECT', '0', '1'],
  ['AUTH', 'x'],
  ['AUTH', 'default', 'anything'],
  ['AUTH', 'someone', 'x'],
  ['AUTH', 'a', 'b', 'c'],
  ['HELLO', '4'],
  ['HELLO', '1'],
  ['HELLO', 'x'],
  ['HELLO', '3', 'FOO'],
  ['CLIENT', 'foo'],
  ['CLIENT', 'SETNAME', 'a b'],
  ['CLIENT', 'GETNAME'],
  ['CLIENT', 'SETNAME', 'worker-1'],
  ['CLIENT', 'GETNAME'],
  ['CLIENT', 'ID', 'extra'],
  ['CLIENT'],
  ['SCAN', 'abc'],
  ['SCAN', '0', 'COUNT', '0'],
  ['SCAN', '0', 'COUNT', 'x'],
  ['SCAN', '0', 'TYPE'],
  ['SCAN', '0', 'foo', '1'],
  ['SCAN', '0', 'MATCH', 'zzz*', 'COUNT', '1000'],
  ['KEYS'],
  ['KEYS', 'zzz*'],
  ['WAIT', 'a', '1'],
  ['WAIT', '0', '-1'],
  ['WAIT', '1'],
  ['FLUSHDB', 'foo'],
  ['DBSIZE', 'x'],
  ['TIME', 'x'],
  ['COMMAND', 'FOO'],
  ['nosuchcommand', 'a', 'b'],
  ['nosuchcommand'],
  ['FLUSHDB'],
  ['DBSIZE'],
  ['KEYS', '*'],
  ['SCAN', '0'],
  ['QUIT'],
]

describe('RESP listener: the same replies as redis-server', () => {
  it('answers every scripted command with the bytes redis-server answers', async () => {
    const ours = await RawResp.open('127.0.33.1', Number(resp.address.split(':').pop()))
    const theirs = await RawResp.open(REDIS.host, REDIS.port)
    try {
      const diffs: string[] = []
      for (const cmd of SCRIPT) {
        const [a, b] = await Promise.all([ours.call(...cmd), theirs.call(...cmd)])
        if (a !== b)
          diffs.push(
            `${cmd.join(' ')}\n  meshcache: ${JSON.stringify(a)}\n  redis:     ${JSON.stringify(b)}`,
          )
      }
      expect(diffs.join('\n')).toBe('')
      await ours.untilClosed()
    } finally {
      ours.close()
      theirs.close()
    }
  })

  it('answers protocol errors as redis-server does, then closes', async () => {
    const cases = [
      '*1\r\n$1099511627776\r\n',
      '*100000000000\r\n',
      '*abc\r\n',
      '*1\r\n$abc\r\n',
      '*1\r\nxfoo\r\n',
      'GET "abc\r\n',
      `*${'1'.repeat(70_000)}`,
      'a'.repeat(70_000),
    ]
    for (const bytes of cases) {
      const got: string[] = []
      for (const [host, port] of [
        ['127.0.33.1', Number(resp.address.split(':').pop())],
        [REDIS.host, REDIS.port],
      ] as const) {
        const c = await RawResp.open(host, port)
        c.send(bytes)
        got.push(await c.untilClosed())
        c.close()
      }
      expect(got[0], bytes.slice(0, 30)).toBe(got[1])
    }
  })

  // (Redis looks for an inline line's end with strchr, so a NUL byte makes it wait for a
  // line end that never comes; meshcache ends the line there: not compared.)
  it('reads inline commands as redis-server does', async () => {
    const line = "SET il \"x\\x41\\n\" \r\nGET il\r\nPING\nECHO 'it\\'s'\r\n\r\n  \r\nPING\r\n"
    const got: string[] = []
    for (const [host, port] of [
      ['127.0.33.1', Number(resp.address.split(':').pop())],
      [REDIS.host, REDIS.port],
    ] as const) {
      const c = await RawResp.open(host, port)
      c.send(Buffer.from(line, 'latin1'))
      const replies = []
      for (let i = 0; i < 5; i++) replies.push(await c.reply())
      got.push(replies.join(''))
      c.close()
    }
    expect(got[0]).toBe(got[1])
  })
})
