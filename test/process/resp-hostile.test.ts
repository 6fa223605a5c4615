/**
 * Hostile RESP clients against a `meshcache node` process: a 1 TB bulk length, a
 * 100-million-element array header, garbage bytes, a 64 MB value and a reader that never
 * reads its replies. Each gets an error (and a close where Redis closes) while a
 * well-behaved client keeps being served, and the node's memory stays bounded.
 */
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { killAll, type NodeProcess, spawnNode } from '../helpers/cli.js'
import { command, RawResp } from '../helpers/resp.js'

let node: NodeProcess
let host: string
let port: number

/** Resident memory of the node process, bytes. */
const rss = () =>
  Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${node.proc.pid}/status`, 'utf8'))![1]) * 1024

beforeAll(async () => {
  node = await spawnNode([
    '--region',
    'us-east',
    '--listen',
    '/ip4/127.0.37.1/tcp/0',
    '--http',
    '127.0.37.1:0',
    '--resp',
    '127.0.37.1:0',
  ])
  const m = /^redis:\/\/(.+):(\d+)$/.exec(node.info.resp!)!
  host = m[1]!
  port = Number(m[2])
}, 30_000)
afterAll(() => killAll())

describe('meshcache node --resp under hostile input', () => {
  it('answers each hostile client with an error, keeps serving a good one, and bounds its memory', async () => {
    const good = new Redis({ host, port, lazyConnect: true, maxRetriesPerRequest: 0 })
    await good.connect()
    await good.set('big', Buffer.alloc(512 * 1024, 7))
    const before = rss()
    let stop = false
    let served = 0
    let slowest = 0
    const goodLoop = (async () => {
      while (!stop) {
        const t = performance.now()
        await good.set(`g:${served % 100}`, String(served))
        expect(await good.get(`g:${served % 100}`)).toBe(String(served))
        slowest = Math.max(slowest, performance.now() - t)
        served++
      }
    })()
    try {
      const open = () => RawResp.open(host, port)
      const terabyte = await open()
      terabyte.send('*1\r\n$1099511627776\r\n')
      const array = await open()
      array.send('*100000000\r\n')
      const garbage = await open()
      garbage.send(randomBytes(256 * 1024))
      const huge = await open()
      huge.send('*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$67108864\r\n')
      huge.send(Buffer.alloc(64 * 1024 * 1024, 1))
      // Asks for 1 GB of replies (2,000 x 512 KB) and never reads them.
      const slow = await open()
      slow.socket.pause()
      slow.send(Buffer.concat(Array.from({ length: 2_000 }, () => command('GET', 'big'))))

      expect(await terabyte.untilClosed()).toBe('-ERR Protocol error: invalid bulk length\r\n')
      expect(await array.untilClosed()).toBe('-ERR Protocol error: invalid multibulk length\r\n')
      expect(await huge.untilClosed(15_000)).toBe('-ERR Protocol error: invalid bulk length\r\n')
      // Garbage is read as inline commands: unknown commands answered, or a protocol error.
      await new Promise((r) => setTimeout(r, 1_000))
      const after = rss()
      expect(after - before, 'node memory growth, bytes').toBeLessThan(48 * 1024 * 1024)
      expect(served).toBeGreaterThan(20)
      expect(slowest, 'slowest good round trip, ms').toBeLessThan(3_000)
      const status = (await (await fetch(`${node.info.http}/status`)).json()) as {
        resp: { protocolErrors: number; commands: Record<string, { calls: number }> }
      }
      expect(status.resp.protocolErrors).toBeGreaterThanOrEqual(3)
      expect(status.resp.commands.get!.calls).toBeGreaterThan(served / 2)
      for (const c of [terabyte, array, garbage, huge, slow]) c.close()
    } finally {
      stop = true
      await goodLoop
      good.disconnect()
    }
  }, 60_000)
})
