/**
 * The memory partly received requests hold across a listener's connections, on real
 * sockets: a client that never finishes its request is closed when another needs the
 * room, and the other is served.
 */
import { afterEach, describe, expect, it } from 'vitest'
import type { Cache } from '../../src/api/cache.js'
import { createCache } from '../../src/node/create-cache.js'
import { type RespServer, startRespServer } from '../../src/resp/index.js'
import { command, RawResp } from '../helpers/resp.js'

const HOST = '127.0.34.3'
const open: { cache: Cache<unknown>; resp: RespServer }[] = []
const clients: RawResp[] = []
afterEach(async () => {
  for (const c of clients.splice(0)) c.close()
  for (const { cache, resp } of open.splice(0)) {
    await resp.close()
    await cache.close()
  }
})

describe('RESP listener: partly received requests of all clients', () => {
  it('closes the client holding the most when another request needs the room', async () => {
    const cache = await createCache()
    const resp = await startRespServer(cache, {
      host: HOST,
      port: 0,
      maxPartialRequestBytes: 1_000_000,
    })
    open.push({ cache, resp })
    const port = Number(resp.address.split(':').pop())
    const connect = async () => {
      const c = await RawResp.open(HOST, port)
      clients.push(c)
      return c
    }
    const hoarder = await connect()
    // A PING, then 6,000 empty strings of a request never finished (~770 KB held): the
    // PONG comes once the rest of that write was parsed.
    hoarder.send(
      Buffer.concat([
        command('PING'),
        Buffer.from('*100000\r\n'),
        Buffer.from('$0\r\n\r\n'.repeat(6_000)),
      ]),
    )
    expect(await hoarder.reply()).toBe('+PONG\r\n')
    const good = await connect()
    const keys = Array.from({ length: 2_000 }, (_, i) => `key:${i}`)
    const reply = await good.call('MGET', ...keys)
    expect(reply.startsWith('*2000\r\n$-1\r\n')).toBe(true)
    expect(await hoarder.untilClosed()).toBe(
      '-ERR Protocol error: too much memory held by partly received requests of all clients\r\n',
    )
    expect(await good.call('PING')).toBe('+PONG\r\n')
    expect(resp.stats().protocolErrors).toBe(1)
  })
})
