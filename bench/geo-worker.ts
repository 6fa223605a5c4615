/**
 * One node of bench:geo in its own worker thread: dials through the simulator's proxies
 * (routes sent by the main thread), writes at a given rate on command, and records the
 * replication lag of every remote write by origin region.
 */
import { parentPort, workerData } from 'node:worker_threads'
import { createCache } from '../src/node/create-cache.js'
import { tableRewriter } from '../src/sim/wan-sim.js'

const { region, host, peers } = workerData as { region: string; host: string; peers: string[] }
const port = parentPort!
const routes = new Map<string, string>()
// Routes arrive before the node starts, so even its first dial goes through the WAN.
await new Promise<void>((resolve) => {
  const first = (m: { t: string; routes?: Record<string, string> }) => {
    if (m.t !== 'routes') return
    for (const [k, v] of Object.entries(m.routes ?? {})) routes.set(k, v)
    port.off('message', first)
    resolve()
  }
  port.on('message', first)
})
const cache = await createCache({
  region,
  listen: [`/ip4/${host}/tcp/0`],
  peers,
  maxEntries: 1_000_000,
  mesh: { dialRewrite: tableRewriter(routes) },
})
const lags = new Map<string, number[]>()
cache.on('change', (e) => {
  if (e.origin !== 'remote') return
  let l = lags.get(e.region)
  if (l === undefined) {
    l = []
    lags.set(e.region, l)
  }
  l.push(Date.now() - e.version.wall)
})
const value = { id: 1, name: 'Ada Lovelace', email: 'ada@example.com', tags: ['a', 'b'] }

port.on('message', async (m: { t: string; [k: string]: unknown }) => {
  if (m.t === 'routes')
    for (const [k, v] of Object.entries(m.routes as Record<string, string>)) routes.set(k, v)
  if (m.t === 'peers') port.postMessage({ t: 'peers', n: cache.admin.mesh!.peers().length })
  if (m.t === 'write') {
    const rate = m.rate as number
    const end = Date.now() + (m.ms as number)
    const start = Date.now()
    let i = 0
    while (Date.now() < end) {
      const due = Math.floor(((Date.now() - start) / 1000) * rate)
      while (i < due) void cache.set(`${region}:${host}:${i++}`, value)
      await new Promise((r) => setTimeout(r, 2))
    }
    port.postMessage({ t: 'wrote', n: i })
  }
  if (m.t === 'report')
    port.postMessage({
      t: 'report',
      lags: Object.fromEntries(lags),
      received: cache.stats().entries,
    })
  if (m.t === 'close') {
    await cache.close()
    port.postMessage({ t: 'closed' })
  }
})
port.postMessage({ t: 'ready', address: cache.addresses()[0] })
