/**
 * What the RESP listener adds to Redis's behaviour, in one process on real sockets:
 * keyspaces by SELECT and prefix, values as bytes shared with Node and HTTP, SCAN's
 * guarantee under churn, RESP3, AUTH, limits, metrics.
 */
import { Registry } from 'prom-client'
import { afterEach, describe, expect, it } from 'vitest'
import type { Cache } from '../../src/api/cache.js'
import { ManualClock } from '../../src/clock/clock.js'
import { createCache, startNode } from '../../src/node/create-cache.js'
import { type RespServer, type RespServerOptions, startRespServer } from '../../src/resp/index.js'
import { command, RawResp } from '../helpers/resp.js'

const HOST = '127.0.34.1'
const open: { cache: Cache<unknown>; resp: RespServer }[] = []
const clients: RawResp[] = []
afterEach(async () => {
  for (const c of clients.splice(0)) c.close()
  for (const { cache, resp } of open.splice(0)) {
    await resp.close()
    await cache.close()
  }
})

async function serve(options: RespServerOptions = {}) {
  const cache = await createCache()
  const resp = await startRespServer(cache, { host: HOST, port: 0, ...options })
  open.push({ cache, resp })
  const port = Number(resp.address.split(':').pop())
  const client = async () => {
    const c = await RawResp.open(HOST, port)
    clients.push(c)
    return c
  }
  return { cache, resp, client }
}

const bulk = (s: string | Buffer) => {
  const b = Buffer.from(s)
  return `$${b.length}\r\n${b.toString('latin1')}\r\n`
}

describe('RESP listener: keyspaces', () => {
  it('SELECT n is the n-th listed keyspace; prefix routing sends NAME:rest to keyspace NAME', async () => {
    const { cache, client } = await serve({
      keyspaces: ['default', 'sessions', 'users'],
      prefixRouting: true,
    })
    const c = await client()
    expect(await c.call('SET', 'sessions:abc', 'tok')).toBe('+OK\r\n')
    expect(await c.call('SET', 'plain', 'p')).toBe('+OK\r\n')
    // Node (and HTTP: /v1/sessions/abc) see key abc of keyspace sessions, as bytes.
    expect(Buffer.from(cache.keyspace('sessions').get('abc') as Uint8Array).toString()).toBe('tok')
    expect(Buffer.from(cache.get('plain') as Uint8Array).toString()).toBe('p')
    expect(await c.call('SELECT', '1')).toBe('+OK\r\n')
    expect(await c.call('GET', 'abc')).toBe(bulk('tok'))
    expect(await c.call('SELECT', '3')).toBe('-ERR DB index is out of range\r\n')
    expect(await c.call('SELECT', '0')).toBe('+OK\r\n')
    // Database 0 lists its own keys and the routed ones, under their Redis names.
    const keys = await c.call('KEYS', '*')
    expect(keys).toContain(bulk('sessions:abc'))
    expect(keys).toContain(bulk('plain'))
    // A key of the default keyspace that a route shadows is not listed (it cannot be named).
    await cache.set('users:ghost', 1)
    expect(await c.call('KEYS', 'users:*')).toBe('*0\r\n')
    expect(await c.call('DBSIZE')).toBe(':3\r\n')
  })

  it('without prefix routing, keys with colons stay in database 0', async () => {
    const { cache, client } = await serve({ keyspaces: ['default', 'sessions'] })
    const c = await client()
    await c.call('SET', 'sessions:abc', 'x')
    expect(cache.get('sessions:abc')).toBeDefined()
    expect(cache.keyspace('sessions').get('abc')).toBeUndefined()
  })
})

describe("RESP listener: time is the node's clock", () => {
  it('expiries and TIME on its wall time; uptime, client age and idle on its monotonic time', async () => {
    const clock = new ManualClock(1_700_000_000_000)
    const cache = await startNode({}, { clock })
    const resp = await startRespServer(cache, { host: HOST, port: 0 })
    open.push({ cache, resp })
    const port = Number(resp.address.split(':').pop())
    const first = await RawResp.open(HOST, port)
    clients.push(first)
    expect(await first.call('TIME')).toBe(`*2\r\n${bulk('1700000000')}${bulk('0')}`)
    expect(await first.call('SET', 'k', 'v', 'PX', '1000')).toBe('+OK\r\n')
    expect(await first.call('PTTL', 'k')).toBe(':1000\r\n')
    clock.advance(999)
    expect(await first.call('PTTL', 'k')).toBe(':1\r\n')
    clock.advance(4_401)
    expect(await first.call('GET', 'k')).toBe('$-1\r\n')
    const second = await RawResp.open(HOST, port)
    clients.push(second)
    // A command, so that the second connection is accepted at this time for sure.
    expect(await second.call('PING')).toBe('+PONG\r\n')
    clock.advance(2_000)
    const list = await second.call('CLIENT', 'LIST')
    expect(list).toMatch(/^id=1 .* age=7 idle=2 /m)
    expect(list).toMatch(/^id=2 .* age=2 idle=0 /m)
    expect(await second.call('INFO', 'server')).toContain('uptime_in_seconds:7\r\n')
    expect(await second.call('TIME')).toBe(`*2\r\n${bulk('1700000007')}${bulk('400000')}`)
  })
})

describe('RESP listener: values and keys', () => {
  it('stores bytes byte for byte, binary keys included, and Node reads them as Uint8Array', async () => {
    const { cache, client } = await serve()
    const c = await client()
    const value = Buffer.from(Array.from({ length: 256 }, (_, i) => i))
    const key = Buffer.from([0xff, 0x00, 0x0d, 0x0a, 0x41])
    expect(await c.call('SET', key, value)).toBe('+OK\r\n')
    expect(await c.call('GET', key)).toBe(bulk(value))
    expect(await c.call('SET', '', 'empty key')).toBe('+OK\r\n')
    expect(await c.call('GET', '')).toBe(bulk('empty key'))
    expect(await c.call('SET', 'text', 'café')).toBe('+OK\r\n')
    expect(Buffer.from(cache.get('text') as Uint8Array).toString('utf8')).toBe('café')
    expect(cache.get('text')).toBeInstanceOf(Uint8Array)
  })

  it('reads what Node or HTTP stored: structures as JSON text, strings as UTF-8', async () => {
    const { cache, client } = await serve()
    const c = await client()
    await cache.set('obj', { name: 'Ada', n: 42 })
    await cache.set('str', 'héllo')
    await cache.set('num', 41)
    expect(await c.call('GET', 'obj')).toBe(bulk('{"name":"Ada","n":42}'))
    expect(await c.call('GET', 'str')).toBe(bulk('héllo'))
    expect(await c.call('INCR', 'num')).toBe(':42\r\n')
  })

  it('EXPIRE, INCR and PERSIST keep the value, its form and its tags', async () => {
    const { cache, client } = await serve()
    const c = await client()
    await cache.set('tagged', { a: 1 }, { tags: ['t1'] })
    expect(await c.call('EXPIRE', 'tagged', '500')).toBe(':1\r\n')
    expect(cache.get('tagged')).toEqual({ a: 1 })
    expect(cache.keyspace('default').entry('tagged')?.tags).toEqual(['t1'])
    expect(await c.call('TTL', 'tagged')).toBe(':500\r\n')
    expect(await c.call('PERSIST', 'tagged')).toBe(':1\r\n')
    // No key lives forever here: PERSIST gives the keyspace's longest TTL (1 day).
    expect(await c.call('TTL', 'tagged')).toBe(':86400\r\n')
    expect(await c.call('SET', 'c', '5', 'EX', '100')).toBe('+OK\r\n')
    expect(await c.call('INCRBY', 'c', '5')).toBe(':10\r\n')
    expect(await c.call('TTL', 'c')).toBe(':100\r\n')
  })

  it('refuses TTLs beyond the keyspace maxTtl with a clear error, and keeps the connection', async () => {
    const { client } = await serve()
    const c = await client()
    expect(await c.call('SET', 'k', 'v', 'EX', String(2 * 86_400))).toBe(
      "-ERR invalid expire time in 'set' command (longer than the keyspace's maxTtl, 86400 s)\r\n",
    )
    expect(await c.call('PING')).toBe('+PONG\r\n')
  })

  it('expires keys: a short PX is gone after it, on reads and in SCAN', async () => {
    const { client } = await serve()
    const c = await client()
    expect(await c.call('SET', 'short', 'v', 'PX', '50')).toBe('+OK\r\n')
    expect(await c.call('GET', 'short')).toBe(bulk('v'))
    const deadline = Date.now() + 5_000
    while ((await c.call('GET', 'short')) !== '$-1\r\n') {
      expect(Date.now()).toBeLessThan(deadline)
      await new Promise((r) => setTimeout(r, 20))
    }
    expect(await c.call('EXISTS', 'short')).toBe(':0\r\n')
    expect(await c.call('SCAN', '0', 'COUNT', '100')).toBe('*2\r\n$1\r\n0\r\n*0\r\n')
  })
})

describe('RESP listener: SCAN', () => {
  it('returns every key present from the first step to the last, however reads, writes and deletes reorder the keyspace, across connections', async () => {
    const { client } = await serve()
    const a = await client()
    const b = await client()
    const stable = Array.from({ length: 300 }, (_, i) => `stable:${i}`)
    a.send(Buffer.concat(stable.map((k) => command('SET', k, 'v'))))
    for (let i = 0; i < stable.length; i++) await a.reply()
    const seen = new Set<string>()
    let cursor = '0'
    let steps = 0
    do {
      // Alternate connections (a pooled client), and churn between steps.
      const c = steps % 2 === 0 ? a : b
      const raw = await c.call('SCAN', cursor, 'COUNT', '7')
      const parts = raw.split('\r\n')
      cursor = parts[2]!
      for (let i = 5; i < parts.length; i += 2) if (parts[i]) seen.add(parts[i]!)
      await c.call('SET', `churn:${steps}`, 'x')
      await c.call('DEL', `churn:${steps - 3}`)
      await c.call('GET', stable[(steps * 37) % stable.length]!)
      steps++
      expect(steps).toBeLessThan(1_000)
    } while (cursor !== '0')
    for (const k of stable) expect(seen.has(k), k).toBe(true)
  })

  it('filters by MATCH and TYPE', async () => {
    const { client } = await serve()
    const c = await client()
    for (const k of ['user:1', 'user:2', 'order:1']) await c.call('SET', k, 'v')
    const all = await c.call('SCAN', '0', 'MATCH', 'user:*', 'COUNT', '100')
    expect(all).toContain(bulk('user:1'))
    expect(all).toContain(bulk('user:2'))
    expect(all).not.toContain('order')
    expect(await c.call('SCAN', '0', 'TYPE', 'hash', 'COUNT', '100')).toBe(
      '*2\r\n$1\r\n0\r\n*0\r\n',
    )
  })
})

describe('RESP listener: protocol', () => {
  it('HELLO 3 switches to RESP3: maps and _ nulls; HELLO 2 back', async () => {
    const { client } = await serve()
    const c = await client()
    const hello = await c.call('HELLO', '3')
    expect(hello.startsWith('%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n')).toBe(true)
    expect(hello).toContain('$5\r\nproto\r\n:3\r\n')
    expect(await c.call('GET', 'nope')).toBe('_\r\n')
    expect(await c.call('MGET', 'nope', 'nope')).toBe('*2\r\n_\r\n_\r\n')
    expect(await c.call('CLIENT', 'GETNAME')).toBe('_\r\n')
    expect((await c.call('COMMAND', 'DOCS', 'get')).startsWith('%1\r\n$3\r\nget\r\n%3\r\n')).toBe(
      true,
    )
    expect((await c.call('HELLO', '2')).startsWith('*14\r\n')).toBe(true)
    expect(await c.call('GET', 'nope')).toBe('$-1\r\n')
  })

  it('answers a pipeline of 100 commands in order, in one round trip', async () => {
    const { client } = await serve()
    const c = await client()
    c.send(
      Buffer.concat(
        Array.from({ length: 100 }, (_, i) =>
          i % 2 === 0 ? command('SET', `p${i}`, String(i)) : command('GET', `p${i - 1}`),
        ),
      ),
    )
    for (let i = 0; i < 100; i++) {
      expect(await c.reply()).toBe(i % 2 === 0 ? '+OK\r\n' : bulk(String(i - 1)))
    }
  })

  it('answers COMMAND, INFO and CLIENT as clients expect at connect', async () => {
    const { client } = await serve({ version: '9.9.9' })
    const c = await client()
    const count = Number((await c.call('COMMAND', 'COUNT')).slice(1))
    expect(count).toBeGreaterThanOrEqual(40)
    expect((await c.call('COMMAND')).startsWith(`*${count}\r\n`)).toBe(true)
    expect(await c.call('COMMAND', 'INFO', 'get', 'nope')).toMatch(
      /^\*2\r\n\*10\r\n\$3\r\nget\r\n:2\r\n\*2\r\n\+readonly\r\n\+fast\r\n:1\r\n:1\r\n:1\r\n/,
    )
    const info = await c.call('INFO')
    for (const line of [
      'redis_version:7.2.0',
      'loading:0',
      'role:master',
      'meshcache_version:9.9.9',
    ])
      expect(info).toContain(line)
    expect(await c.call('CLIENT', 'SETINFO', 'LIB-NAME', 'test-lib')).toBe('+OK\r\n')
    expect(await c.call('CLIENT', 'INFO')).toMatch(/lib-name=test-lib/)
    const id = await c.call('CLIENT', 'ID')
    expect(await c.call('CLIENT', 'LIST')).toContain(`id=${id.slice(1, -2)} `)
  })
})

describe('RESP listener: AUTH', () => {
  it('asks for AUTH; takes AUTH password and AUTH default password; WRONGPASS otherwise', async () => {
    const { resp, client } = await serve({ passwords: ['old-secret', 'new-secret'] })
    const c = await client()
    expect(await c.call('GET', 'k')).toBe('-NOAUTH Authentication required.\r\n')
    expect(await c.call('HELLO', '3')).toMatch(/^-NOAUTH HELLO must be called/)
    expect(await c.call('AUTH', 'wrong')).toBe(
      '-WRONGPASS invalid username-password pair or user is disabled.\r\n',
    )
    expect(await c.call('AUTH', 'admin', 'old-secret')).toMatch(/^-WRONGPASS/)
    expect(await c.call('AUTH', 'old-secret')).toBe('+OK\r\n')
    expect(await c.call('SET', 'k', 'v')).toBe('+OK\r\n')
    const d = await client()
    expect(await d.call('AUTH', 'default', 'new-secret')).toBe('+OK\r\n')
    const e = await client()
    expect((await e.call('HELLO', '3', 'AUTH', 'default', 'new-secret')).startsWith('%7')).toBe(
      true,
    )
    expect(await e.call('RESET')).toBe('+RESET\r\n')
    expect(await e.call('GET', 'k')).toBe('-NOAUTH Authentication required.\r\n')
    expect(resp.stats().authFailures).toBe(2)
  })

  it('holds unauthenticated clients to Redis bounds: 10 elements, 16 KiB strings', async () => {
    const { client } = await serve({ passwords: ['s'] })
    const c = await client()
    c.send('*11\r\n')
    expect(await c.untilClosed()).toBe('-ERR Protocol error: unauthenticated multibulk length\r\n')
    const d = await client()
    d.send('*2\r\n$20000\r\n')
    expect(await d.untilClosed()).toBe('-ERR Protocol error: unauthenticated bulk length\r\n')
  })
})

describe('RESP listener: limits', () => {
  it('a value over maxValueBytes is refused and the connection stays; over maxBulkBytes it closes', async () => {
    const { client } = await serve({ maxBulkBytes: 3 * 1024 * 1024 })
    const c = await client()
    const reply = await c.call('SET', 'big', Buffer.alloc(2 * 1024 * 1024, 1))
    expect(reply).toMatch(/^-ERR value of key 'big' is \d+ bytes encoded, over maxValueBytes/)
    expect(await c.call('PING')).toBe('+PONG\r\n')
    c.send(command('SET', 'huge', Buffer.alloc(4 * 1024 * 1024, 1)))
    expect(await c.untilClosed()).toBe('-ERR Protocol error: invalid bulk length\r\n')
  })

  it('refuses clients past maxClients with Redis words', async () => {
    const { resp, client } = await serve({ maxClients: 1 })
    const a = await client()
    expect(await a.call('PING')).toBe('+PONG\r\n')
    const b = await client()
    expect(await b.untilClosed()).toBe('-ERR max number of clients reached\r\n')
    expect(resp.stats().connectionsRejected).toBe(1)
  })

  it('a client that does not read stops being read: its queued replies stay bounded, others are served', async () => {
    const { client } = await serve({ outputPauseBytes: 64 * 1024 })
    const writer = await client()
    await writer.call('SET', 'v', Buffer.alloc(200 * 1024, 2))
    const slow = await client()
    expect(await slow.call('CLIENT', 'SETNAME', 'slow')).toBe('+OK\r\n')
    slow.socket.pause()
    // 40 MB of replies asked for, never read.
    slow.send(Buffer.concat(Array.from({ length: 200 }, () => command('GET', 'v'))))
    await new Promise((r) => setTimeout(r, 300))
    const list = await writer.call('CLIENT', 'LIST')
    const line = list.split('\n').find((l) => l.includes('name=slow'))!
    const omem = Number(/omem=(\d+)/.exec(line)![1])
    expect(omem).toBeLessThan(64 * 1024 + 2 * 200 * 1024)
    expect(await writer.call('PING')).toBe('+PONG\r\n')
  })

  it('refuses a reply larger than maxOutputBytes with an error, and keeps the connection', async () => {
    const { client } = await serve({ maxOutputBytes: 256 * 1024 })
    const c = await client()
    await c.call('SET', 'v', Buffer.alloc(200 * 1024, 2))
    expect(await c.call('MGET', 'v', 'v')).toBe(
      '-ERR the MGET reply would be over 262144 bytes\r\n',
    )
    expect(await c.call('KEYS', '*')).toBe(`*1\r\n${bulk('v')}`)
  })
})

describe('RESP listener: stats and metrics', () => {
  it('counts calls, errors and latency per command, and connections, in /status and Prometheus form', async () => {
    const { resp, client } = await serve()
    const c = await client()
    await c.call('SET', 'a', '1')
    await c.call('GET', 'a')
    await c.call('GET', 'a')
    await c.call('GET')
    await c.call('NOPE')
    const s = resp.stats()
    expect(s.connections).toBe(1)
    expect(s.commands.get).toMatchObject({ calls: 3, errors: 1 })
    expect(s.commands.unknown).toMatchObject({ calls: 1, errors: 1 })
    expect(s.commands.get!.p50Us).toBeGreaterThan(0)
    const registry = new Registry()
    resp.addMetrics(registry)
    const text = await registry.metrics()
    expect(text).toContain('meshcache_resp_commands_total{command="get"} 3')
    expect(text).toContain('meshcache_resp_command_errors_total{command="get"} 1')
    expect(text).toContain('meshcache_resp_connections 1')
    expect(text).toMatch(
      /meshcache_resp_command_duration_seconds_bucket\{command="set",le="\+Inf"\} 1/,
    )
    expect(text).toContain('meshcache_resp_command_duration_seconds_count{command="get"} 3')
  })
})
