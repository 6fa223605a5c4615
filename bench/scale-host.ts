/**
 * A host process of bench:scale: runs several mesh nodes in one process (so 100 nodes do
 * not need 100 processes), each on its own 127.0.R.N address and dialling through the
 * simulated WAN's proxies, and answers the main process's commands (scale-protocol.ts).
 * The proxies of this host's nodes run in a worker thread of this process
 * (bench/scale-wan.ts), so the host reports the nodes' CPU (the process's minus that
 * thread's) apart from the simulator's.
 */
import { writeFileSync } from 'node:fs'
import { Session } from 'node:inspector/promises'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { Worker } from 'node:worker_threads'
import type { Cache } from '../src/api/cache.js'
import { MESH_CONSTANTS } from '../src/mesh/defaults.js'
import { createCache } from '../src/node/create-cache.js'
import { internalsOf } from '../src/node/internals.js'
import { tableRewriter } from '../src/sim/wan-sim.js'
import { VALUE } from './scale-figures.js'
import type {
  HostCommand,
  HostCounters,
  HostReply,
  NodeSpec,
  NodeState,
  StartedNode,
  WanCommand,
  WanReply,
} from './scale-protocol.js'

interface HostedNode {
  spec: NodeSpec
  cache: Cache<unknown>
  /** Keys held per phase (own writes and received ones): keys are unique per phase. */
  held: Map<string, number>
  /** Keys received per phase (remote changes only). */
  received: Map<string, number>
}

/** Phases whose receptions are timed (lag samples by "from->to" region pair, ms). */
const LAG_PHASES = new Set(['one', 'many'])
/** Extra mesh options for every node (`SCALE_MESH='{"wanFlushIntervalMs":0}'`: A/B runs). */
const EXTRA_MESH = JSON.parse(process.env.SCALE_MESH ?? '{}') as Record<string, unknown>
/** The write driver's tick: one timer for all of this host's writers, ms. */
const WRITE_TICK_MS = 10

const routes = new Map<string, Map<string, string>>()
const nodes: HostedNode[] = []
const lags = new Map<string, Map<string, number[]>>()
// Sampled every 100 ms: at 10 ms the sampling timer alone cost a node process ~0.6 % of
// a core (100 wake-ups/s), more than twice what an idle node is allowed.
const loop = monitorEventLoopDelay({ resolution: 100 })
loop.enable()

const wan = new Worker(new URL('./scale-wan.ts', import.meta.url), {
  workerData: { proxyHost: process.env.SCALE_PROXY_HOST ?? '127.0.254.1' },
  execArgv: ['--import', 'tsx'],
})
wan.unref()
/** RSS when the first node started (the bench, its WAN worker and proxies loaded). */
let rssBefore: number | undefined
/** The CPU profile being taken, with this thread's CPU, the time and the counters when it started. */
let profiling:
  | { session: Session; cpu: NodeJS.CpuUsage; at: number; counters: Record<string, number> }
  | undefined

function askWan<T extends WanReply['t']>(
  cmd: Extract<WanCommand, { t: T }>,
): Promise<Extract<WanReply, { t: T }>> {
  return new Promise((resolve) => {
    const on = (m: WanReply) => {
      if (m.t !== cmd.t) return
      wan.off('message', on)
      resolve(m as Extract<WanReply, { t: T }>)
    }
    wan.on('message', on)
    wan.postMessage(cmd)
  })
}

const send = (m: HostReply) => process.send!(m)

function routesOf(region: string): Map<string, string> {
  let r = routes.get(region)
  if (r === undefined) {
    r = new Map()
    routes.set(region, r)
  }
  return r
}

function bump(counts: Map<string, number>, key: string): void {
  const phase = key.slice(0, key.indexOf(':'))
  counts.set(phase, (counts.get(phase) ?? 0) + 1)
}

function hostNode(spec: NodeSpec, cache: Cache<unknown>): HostedNode {
  const node: HostedNode = { spec, cache, held: new Map(), received: new Map() }
  cache.on('change', (e) => {
    if (e.origin !== 'remote') return
    bump(node.held, e.key)
    bump(node.received, e.key)
    const phase = e.key.slice(0, e.key.indexOf(':'))
    if (!LAG_PHASES.has(phase)) return
    let byPair = lags.get(phase)
    if (byPair === undefined) {
      byPair = new Map()
      lags.set(phase, byPair)
    }
    const k = `${e.region}->${spec.region}`
    let l = byPair.get(k)
    if (l === undefined) {
      l = []
      byPair.set(k, l)
    }
    l.push(Date.now() - e.version.wall)
  })
  return node
}

/**
 * Writes at `rate` per writer for `ms` from one timer: each writer's writes fall due at
 * its own offset in the second, so the host's writers do not all write in the same turn.
 */
async function writeAll(
  writers: HostedNode[],
  phase: string,
  rate: number,
  ms: number,
): Promise<number[]> {
  const done = writers.map(() => 0)
  // A host without a writer in this phase has nothing to tick for (its idle rate is the base).
  if (writers.length === 0) return done
  const offsets = writers.map(() => Math.random())
  const start = performance.now()
  for (;;) {
    const elapsed = Math.min(ms, performance.now() - start)
    for (const [w, node] of writers.entries()) {
      const due = Math.floor((elapsed / 1000) * rate + offsets[w]!)
      while (done[w]! < due) {
        const key = `${phase}:${node.spec.idx}:${done[w]!++}`
        void node.cache.set(key, VALUE)
        bump(node.held, key)
      }
    }
    if (elapsed >= ms) return done
    await new Promise((r) => setTimeout(r, WRITE_TICK_MS))
  }
}

function stateOf(node: HostedNode): NodeState {
  const mesh = node.cache.stats().mesh!
  const { links } = mesh
  const planned = new Set([
    ...links.local,
    ...Object.values(links.remote).flat(),
    ...links.relay.children,
    ...links.relay.peerHubs,
  ])
  if (links.relay.parent !== undefined) planned.add(links.relay.parent)
  planned.delete(mesh.peerId)
  const now = Date.now()
  const table = internalsOf(node.cache).mesh?.peers.all() ?? []
  const downButConnected = table
    .filter(
      (p) =>
        p.connected &&
        p.downSince !== undefined &&
        now - p.downSince > MESH_CONSTANTS.relayFailoverMs,
    )
    .map((p) => p.id)
  return {
    self: mesh.peerId,
    members: links.members,
    planned: [...planned],
    connected: mesh.peers.map((p) => p.id),
    region: node.spec.region,
    hubId: links.relay.hub,
    hub: links.relay.hub === mesh.peerId,
    downButConnected,
  }
}

function counters(): HostCounters {
  const out: HostCounters = {
    batchesOut: 0,
    recordsOut: 0,
    recordsIn: 0,
    duplicates: 0,
    framesIn: 0,
    syncPulled: 0,
    signaturesChecked: 0,
    stages: {},
  }
  for (const n of nodes) {
    const mesh = n.cache.stats().mesh
    if (mesh === undefined) continue
    const r = mesh.replication
    out.batchesOut += r.batchesOut
    out.recordsOut += r.recordsOut
    out.recordsIn += r.recordsIn
    out.duplicates += r.duplicates
    out.framesIn += r.framesIn
    out.syncPulled += r.syncPulled
    out.signaturesChecked += r.signaturesChecked
    for (const [k, v] of Object.entries(mesh.stages)) {
      if (v.count === 0) continue
      out.stages[k] ??= { p50: [], p99: [] }
      out.stages[k].p50.push(v.p50Ms)
      out.stages[k].p99.push(v.p99Ms)
    }
  }
  return out
}

/** The numeric replication counters (stats().mesh.replication), summed over this host's nodes. */
function replicationTotals(): Record<string, number> {
  const out: Record<string, number> = {}
  for (const n of nodes)
    for (const [k, v] of Object.entries(n.cache.stats().mesh?.replication ?? {}))
      if (typeof v === 'number') out[k] = (out[k] ?? 0) + v
  return out
}

async function start(specs: NodeSpec[], bounds: { localPeers: number; remotePeers: number }) {
  const started: StartedNode[] = []
  try {
    await Promise.all(
      specs.map(async (spec) => {
        const cache = await createCache({
          region: spec.region,
          listen: [spec.listen],
          peers: spec.peers,
          maxEntries: 200_000,
          mesh: { dialRewrite: tableRewriter(routesOf(spec.region)), ...bounds, ...EXTRA_MESH },
        })
        nodes.push(hostNode(spec, cache))
        const address = cache.addresses()[0]!
        started.push({
          idx: spec.idx,
          address,
          peerId: address.slice(address.lastIndexOf('/') + 1),
        })
      }),
    )
    send({ t: 'start', nodes: started })
  } catch (err) {
    send({ t: 'start', nodes: started, error: (err as Error).stack ?? String(err) })
  }
}

process.on('message', async (m: HostCommand) => {
  switch (m.t) {
    case 'wan': {
      const r = await askWan({
        t: 'add',
        nodes: m.nodes.map((n) => ({ region: n.region, listen: n.listen })),
      })
      send({ t: 'wan', routes: r.routes })
      return
    }
    case 'routes':
      for (const [region, table] of Object.entries(m.routes)) {
        const r = routesOf(region)
        for (const [k, v] of Object.entries(table)) r.set(k, v)
      }
      send({ t: 'routes' })
      return
    case 'start':
      rssBefore ??= process.memoryUsage().rss
      await start(m.nodes, m.bounds)
      return
    case 'state':
      send({ t: 'state', nodes: Object.fromEntries(nodes.map((n) => [n.spec.idx, stateOf(n)])) })
      return
    case 'cpu': {
      const w = await askWan({ t: 'stats' })
      const p = process.cpuUsage()
      const loopP99Ms = loop.percentile(99) / 1e6
      loop.reset()
      send({
        t: 'cpu',
        processUs: p.user + p.system,
        simUs: w.cpuUs,
        rss: process.memoryUsage().rss,
        rssBefore: rssBefore ?? process.memoryUsage().rss,
        wanBytes: w.wanBytes,
        loopP99Ms,
      })
      return
    }
    case 'write': {
      const writers = nodes.filter((n) => m.writers?.includes(n.spec.idx) ?? true)
      const done = await writeAll(writers, m.phase, m.rate, m.ms)
      send({
        t: 'write',
        written: Object.fromEntries(writers.map((n, i) => [n.spec.idx, done[i]!])),
      })
      return
    }
    case 'probe': {
      const node = nodes.find((n) => n.spec.idx === m.idx)
      if (node) {
        void node.cache.set('probe:0', VALUE)
        bump(node.held, 'probe:0')
      }
      send({ t: 'probe' })
      return
    }
    case 'count':
      send({
        t: 'count',
        held: Object.fromEntries(nodes.map((n) => [n.spec.idx, n.held.get(m.phase) ?? 0])),
        received: Object.fromEntries(nodes.map((n) => [n.spec.idx, n.received.get(m.phase) ?? 0])),
      })
      return
    case 'lags': {
      const byPair = lags.get(m.phase) ?? new Map<string, number[]>()
      lags.delete(m.phase)
      send({ t: 'lags', lags: Object.fromEntries(byPair) })
      return
    }
    case 'counters':
      send({ t: 'counters', ...counters() })
      return
    case 'cut':
      await askWan({ t: 'cut', region: m.region })
      send({ t: 'cut' })
      return
    case 'profile-start': {
      const session = new Session()
      session.connect()
      await session.post('Profiler.enable')
      await session.post('Profiler.setSamplingInterval', { interval: m.intervalUs })
      await session.post('Profiler.start')
      profiling = {
        session,
        cpu: process.threadCpuUsage(),
        at: performance.now(),
        counters: replicationTotals(),
      }
      send({ t: 'profile-start' })
      return
    }
    case 'profile-stop': {
      if (profiling === undefined) {
        send({ t: 'profile-stop', threadCpuUs: Number.NaN, wallMs: Number.NaN, counters: {} })
        return
      }
      const { session, cpu, at, counters } = profiling
      profiling = undefined
      // Read before Profiler.stop, which builds the profile on this thread.
      const used = process.threadCpuUsage(cpu)
      const wallMs = performance.now() - at
      const now = replicationTotals()
      const { profile } = await session.post('Profiler.stop')
      session.disconnect()
      writeFileSync(m.file, JSON.stringify(profile))
      send({
        t: 'profile-stop',
        threadCpuUs: used.user + used.system,
        wallMs,
        counters: Object.fromEntries(
          Object.entries(now).map(([k, v]) => [k, v - (counters[k] ?? 0)]),
        ),
      })
      return
    }
    case 'close':
      await Promise.allSettled(nodes.map((n) => n.cache.close()))
      await askWan({ t: 'close' })
      send({ t: 'close' })
      process.exit(0)
  }
})
