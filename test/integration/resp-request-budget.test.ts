/**
 * The memory partly received requests hold across a listener's connections, on real
 * sockets: a client that never finishes its request is closed when another needs the
 * room, and the other is served.
 */
import { afterEach, describe, expect, it } from 'vitest'
import type { Cache } from '../../src/api/cache.js'
import { createCache } from '../../src/node/create-cache.js'
import { type RespServer, startRespServer } from '../../src/resp/index.js'
import { createTestMesh, type TestMesh } from '../../src/testing/index.js'
import { command, RawResp } from '../helpers/resp.js'
import { waitFor } from '../helpers/wait.js'

const HOST = '127.0.34.3'
const open: { cache: Cache<unknown>; resp: RespServer }[] = []
const clients: RawResp[] = []
const servers: RespServer[] = []
const meshes: TestMesh[] = []
afterEach(async () => {
  for (const c of clients.splice(0)) c.close()
  for (const resp of servers.splice(0)) await resp.close()
  for (const mesh of meshes.splice(0)) await mesh.close()
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

  it('stops reading a client that pipelines behind a WAIT past inputPauseBytes, and runs it all after', async () => {
    // Two regions, cut apart: an ack from the other region never comes, so WAIT 1 waits
    // its whole timeout.
    const mesh = await createTestMesh({ regions: { a: 1, b: 1 }, oneWayMs: 5 })
    meshes.push(mesh)
    const [a, b] = mesh.caches as [Cache<unknown>, Cache<unknown>]
    await a.set('linked', 1)
    await waitFor(() => b.has('linked'), 'the two regions linked')
    await mesh.partition('b')
    const resp = await startRespServer(a, { host: HOST, port: 0 })
    servers.push(resp)
    const port = Number(resp.address.split(':').pop())
    const waiter = await RawResp.open(HOST, port)
    const watcher = await RawResp.open(HOST, port)
    clients.push(waiter, watcher)
    expect(await waiter.call('SET', 'k', 'v')).toBe('+OK\r\n')
    const pings = 40_000 // 14 bytes each: 560 KB behind the WAIT
    const started = Date.now()
    waiter.send(
      Buffer.concat([
        command('WAIT', '1', '1500'),
        ...Array.from({ length: pings }, () => command('PING')),
      ]),
    )
    // While WAIT waits, what the server holds of this client's input stays near the bound
    // (one socket read past it at most): before, all 560 KB were read and buffered.
    let most = 0
    while (Date.now() - started < 1_000) {
      const list = await watcher.call('CLIENT', 'LIST')
      for (const m of list.matchAll(/qbuf=(\d+)/g)) most = Math.max(most, Number(m[1]))
    }
    expect(most).toBeGreaterThan(0)
    expect(most).toBeLessThan(64 * 1024 + 256 * 1024)
    expect(await waiter.reply(10_000)).toBe(':0\r\n')
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_400) // WAIT waited all along
    for (let i = 0; i < pings; i++) expect(await waiter.reply(10_000)).toBe('+PONG\r\n')
  })
})
