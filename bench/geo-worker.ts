/**
 * One node of bench:geo in its own worker thread: dials through the simulator's proxies
 * (routes sent by the main thread), writes at a given rate on command, and records the
 * replication lag of every remote write by origin region. `reset` starts a new phase:
 * lags cleared, this thread's event-loop delay histogram restarted.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks'
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
let lags = new Map<string, number[]>()
let received = 0
cache.on('change', (e) => {
  if (e.origin !== 'remote') return
  received++
  let l = lags.get(e.region)
  if (l === undefined) {
    l = []
    lags.set(e.region, l)
  }
  l.push(Date.now() - e.version.wall)
})
const loop = monitorEventLoopDelay({ resolution: 5 })
loop.enable()
const value = { id: 1, name: 'Ada Lovelace', email: 'ada@example.com', tags: ['a', 'b'] }
let phase = 0

/** Counters and per-stage trace sums of this node (the main thread takes deltas). */
function meshStats() {
  const mesh = cache.stats().mesh!
  return {
    batchesOut: mesh.replication.batchesOut,
    recordsOut: mesh.replication.recordsOut,
    batchesIn: mesh.replication.batchesIn,
    stages: Object.fromEntries(
      Object.entries(mesh.stages).map(([k, s]) => [k, { count: s.count, sumMs: s.sumMs }]),
    ),
  }
}

port.on('message', async (m: { t: string; [k: string]: unknown }) => {
  if (m.t === 'routes')
    for (const [k, v] of Object.entries(m.routes as Record<string, string>)) routes.set(k, v)
  if (m.t === 'peers') port.postMessage({ t: 'peers', n: cache.admin.mesh!.peers().length })
  if (m.t === 'reset') {
    lags = new Map()
    received = 0
    phase++
    loop.reset()
    port.postMessage({ t: 'reset', ...meshStats() })
  }
  if (m.t === 'received') port.postMessage({ t: 'received', n: received })
  if (m.t === 'write') {
    const rate = m.rate as number
    const end = Date.now() + (m.ms as number)
    const start = Date.now()
    let i = 0
    while (Date.now() < end) {
      const due = Math.floor(((Date.now() - start) / 1000) * rate)
      while (i < due) void cache.set(`${region}:${host}:${phase}:${i++}`, value)
      await new Promise((r) => setTimeout(r, 2))
    }
    port.postMessage({ t: 'wrote', n: i })
  }
  if (m.t === 'report')
    port.postMessage({
      t: 'report',
      lags: Object.fromEntries(lags),
      received,
      loopP50Ms: loop.percentile(50) / 1e6,
      loopP99Ms: loop.percentile(99) / 1e6,
      ...meshStats(),
    })
  if (m.t === 'close') {
    await cache.close()
    port.postMessage({ t: 'closed' })
  }
})
port.postMessage({ t: 'ready', address: cache.addresses()[0] })
