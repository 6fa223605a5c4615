/**
 * A host process of bench:scale: runs several mesh nodes in one process (so 100 nodes do
 * not need 100 processes), each on its own 127.0.R.N address and dialling through the
 * simulated WAN's proxies, and answers the main process's commands (scale-protocol.ts).
 */
import { monitorEventLoopDelay } from 'node:perf_hooks'
import type { Cache } from '../src/api/cache.js'
import { createCache } from '../src/node/create-cache.js'
import { tableRewriter } from '../src/sim/wan-sim.js'
import type { HostCommand, HostReply, MeshBounds, NodeSpec, StartedNode } from './scale-protocol.js'

interface HostedNode {
  spec: NodeSpec
  cache: Cache<unknown>
  /** Keys held per phase (own writes and received ones): keys are unique per phase. */
  counts: Map<string, number>
  /** Lag samples of the `lagPhase` writes by "from->to" region pair, ms. */
  lags: Map<string, number[]>
}

const LAG_PHASE = 'lag'
const VALUE = { id: 1, name: 'Ada Lovelace', email: 'ada@example.com', tags: ['a', 'b'] }

const routes = new Map<string, Map<string, string>>()
const nodes: HostedNode[] = []
let topology = false
let cpuMark = process.cpuUsage()
const loop = monitorEventLoopDelay({ resolution: 10 })
loop.enable()

const send = (m: HostReply) => process.send!(m)

function routesOf(region: string): Map<string, string> {
  let r = routes.get(region)
  if (r === undefined) {
    r = new Map()
    routes.set(region, r)
  }
  return r
}

async function startNode(spec: NodeSpec, bounds: MeshBounds | undefined): Promise<Cache<unknown>> {
  const base = {
    region: spec.region,
    listen: [spec.listen],
    peers: spec.peers,
    maxEntries: 200_000,
  }
  const dialRewrite = tableRewriter(routesOf(spec.region))
  if (bounds !== undefined) {
    try {
      const c = await createCache({ ...base, mesh: { dialRewrite, ...bounds } as never })
      topology = true
      return c
    } catch (err) {
      // Until the mesh has the options, run today's full mesh and say so.
      if (!/localPeers|remotePeers|unknown mesh option/.test((err as Error).message)) throw err
    }
  }
  return createCache({ ...base, mesh: { dialRewrite } })
}

function bump(node: HostedNode, key: string): void {
  const phase = key.slice(0, key.indexOf(':'))
  node.counts.set(phase, (node.counts.get(phase) ?? 0) + 1)
}

async function writeAt(node: HostedNode, phase: string, rate: number, ms: number): Promise<number> {
  const start = Date.now()
  let i = 0
  while (Date.now() - start < ms) {
    const due = Math.floor(((Date.now() - start) / 1000) * rate)
    while (i < due) {
      const key = `${phase}:${node.spec.idx}:${i++}`
      void node.cache.set(key, VALUE)
      bump(node, key)
    }
    await new Promise((r) => setTimeout(r, 5))
  }
  return i
}

process.on('message', async (m: HostCommand) => {
  switch (m.t) {
    case 'routes':
      for (const [region, table] of Object.entries(m.routes)) {
        const r = routesOf(region)
        for (const [k, v] of Object.entries(table)) r.set(k, v)
      }
      send({ t: 'routes' })
      return
    case 'start': {
      const started: StartedNode[] = []
      try {
        await Promise.all(
          m.nodes.map(async (spec) => {
            const cache = await startNode(spec, m.bounds)
            const node: HostedNode = { spec, cache, counts: new Map(), lags: new Map() }
            cache.on('change', (e) => {
              if (e.origin !== 'remote') return
              bump(node, e.key)
              if (!e.key.startsWith(`${LAG_PHASE}:`)) return
              const k = `${e.region}->${spec.region}`
              const l = node.lags.get(k) ?? []
              node.lags.set(k, l)
              l.push(Date.now() - e.version.wall)
            })
            nodes.push(node)
            const address = cache.addresses()[0]!
            started.push({
              idx: spec.idx,
              address,
              peerId: address.slice(address.lastIndexOf('/') + 1),
            })
          }),
        )
        send({ t: 'start', nodes: started, topology })
      } catch (err) {
        send({ t: 'start', nodes: started, topology, error: (err as Error).stack ?? String(err) })
      }
      return
    }
    case 'links':
      send({
        t: 'links',
        links: Object.fromEntries(
          nodes.map((n) => [n.spec.idx, n.cache.admin.mesh!.peers().map((p) => p.id)]),
        ),
      })
      return
    case 'cpu': {
      const d = process.cpuUsage(cpuMark)
      cpuMark = process.cpuUsage()
      const mem = process.memoryUsage()
      const loopP99Ms = loop.percentile(99) / 1e6
      const loopMaxMs = loop.max / 1e6
      loop.reset()
      send({
        t: 'cpu',
        userUs: d.user,
        systemUs: d.system,
        rss: mem.rss,
        heapUsed: mem.heapUsed,
        loopP99Ms,
        loopMaxMs,
      })
      return
    }
    case 'write': {
      const counts = await Promise.all(nodes.map((n) => writeAt(n, m.phase, m.perNodeRate, m.ms)))
      send({
        t: 'write',
        written: Object.fromEntries(nodes.map((n, i) => [n.spec.idx, counts[i]!])),
      })
      return
    }
    case 'probe': {
      const node = nodes.find((n) => n.spec.idx === m.idx)
      if (node) {
        void node.cache.set('probe:0', VALUE)
        bump(node, 'probe:0')
      }
      send({ t: 'probe' })
      return
    }
    case 'count':
      send({
        t: 'count',
        counts: Object.fromEntries(nodes.map((n) => [n.spec.idx, n.counts.get(m.phase) ?? 0])),
      })
      return
    case 'lags': {
      const out: Record<string, number[]> = {}
      for (const n of nodes) {
        for (const [k, xs] of n.lags) out[k] = [...(out[k] ?? []), ...xs]
        n.lags.clear()
      }
      send({ t: 'lags', lags: out })
      return
    }
    case 'counters': {
      let batchesOut = 0
      let recordsOut = 0
      const stages: Record<string, { p50: number[]; p99: number[] }> = {}
      for (const n of nodes) {
        const mesh = n.cache.stats().mesh
        batchesOut += mesh?.replication.batchesOut ?? 0
        recordsOut += mesh?.replication.recordsOut ?? 0
        // Stages appeared with the per-stage trace; older meshes have none.
        const st = (
          mesh as { stages?: Record<string, { count: number; p50Ms: number; p99Ms: number }> }
        ).stages
        for (const [k, v] of Object.entries(st ?? {})) {
          if (v.count === 0) continue
          stages[k] ??= { p50: [], p99: [] }
          stages[k].p50.push(v.p50Ms)
          stages[k].p99.push(v.p99Ms)
        }
      }
      send({ t: 'counters', batchesOut, recordsOut, stages })
      return
    }
    case 'close':
      await Promise.allSettled(nodes.map((n) => n.cache.close()))
      send({ t: 'close' })
      process.exit(0)
  }
})
