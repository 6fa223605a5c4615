/**
 * bench:scale: N mesh nodes in 10 regions on this machine behind the simulated WAN, at
 * several N in one run, against today's full mesh at the smallest N. Nodes run in a few
 * host processes (bench/scale-host.ts), several per process, each on its own 127.0.R.N
 * address; the simulator's proxies (this process) carry and count every byte.
 *
 * Per N: time until every node has its links and has received a probe write;
 * connections per node; idle CPU and RSS per node; lag p50/p99 at 500 writes/s mesh-wide;
 * WAN bytes per write / ((regions - 1) x batch bytes); convergence after one region is
 * cut off for 5 s and healed; whether every survivor receives every write after 10% of
 * the nodes are killed (SIGKILL of the host process that runs them).
 * Writes bench/results/scale.md and scale.json.
 *
 * Run: npm run bench:scale -- [--sizes 25,50,100] [--quick] [--no-compare (skip the full mesh run)]
 */
import { type ChildProcess, fork } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { cpus, loadavg } from 'node:os'
import { setTimeout as sleep } from 'node:timers/promises'
import { encodeBatch } from '../src/replication/batch-codec.js'
import type { EntryTuple } from '../src/replication/entry-tuple.js'
import { msgpack } from '../src/replication/value-codec.js'
import { WanSim } from '../src/sim/wan-sim.js'
import { LinkPlan } from '../src/topology/link-plan.js'
import { machine } from './harness.js'
import { nodePlace, SCALE_REGIONS, scaleMatrix } from './scale-matrix.js'
import type { HostCommand, HostReply, MeshBounds, NodeSpec, StartedNode } from './scale-protocol.js'
import { markdownTable, pct, type ScaleResult } from './scale-report.js'

const args = process.argv.slice(2)
const QUICK = args.includes('--quick')
const sizesArg = args[args.indexOf('--sizes') + 1]
const SIZES = (args.includes('--sizes') && sizesArg ? sizesArg : QUICK ? '25' : '25,50,100')
  .split(',')
  .map(Number)
const TOPOLOGY: MeshBounds = { localPeers: 6, remotePeers: 2 }
/** Today's behaviour: every node links every other. */
const FULL_MESH: MeshBounds = { localPeers: 1_000_000, remotePeers: 1_000_000 }
const RATE = 500
const IDLE_MS = QUICK ? 4_000 : 10_000
const WRITE_MS = QUICK ? 3_000 : 5_000
const CUT_MS = 5_000
const HOSTS = 4
const FORM_TIMEOUT_MS = 180_000
const CONVERGE_TIMEOUT_MS = QUICK ? 30_000 : 60_000
const CORES = cpus().length

type Reply<T extends HostReply['t']> = Extract<HostReply, { t: T }>

class Host {
  readonly proc: ChildProcess
  readonly nodes: NodeSpec[] = []
  dead = false
  constructor() {
    this.proc = fork(new URL('./scale-host.ts', import.meta.url), {
      execArgv: ['--import', 'tsx', '--max-old-space-size=6144'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    })
  }
  ask<T extends HostCommand['t']>(cmd: Extract<HostCommand, { t: T }>): Promise<Reply<T>> {
    return new Promise((resolve, reject) => {
      const on = (m: HostReply) => {
        if (m.t !== cmd.t) return
        this.proc.off('message', on)
        this.proc.off('exit', gone)
        resolve(m as Reply<T>)
      }
      const gone = () => reject(new Error(`host exited during ${cmd.t}`))
      this.proc.on('message', on)
      this.proc.once('exit', gone)
      this.proc.send(cmd)
    })
  }
}

const log = (s: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${s}`)
const all = <T extends HostCommand['t']>(hosts: Host[], cmd: Extract<HostCommand, { t: T }>) =>
  Promise.all(hosts.filter((h) => !h.dead).map((h) => h.ask(cmd)))

async function until(
  cond: () => Promise<boolean>,
  timeoutMs: number,
  everyMs = 250,
): Promise<boolean> {
  const end = Date.now() + timeoutMs
  while (Date.now() < end) {
    if (await cond()) return true
    await sleep(everyMs)
  }
  return false
}

/** Bytes a write adds to a batch of `perBatch` writes of the bench's shape (msgpack codec). */
function batchBytesPerWrite(perBatch: number): number {
  const k = Math.max(1, Math.round(perBatch))
  const value = msgpack.pack({
    id: 1,
    name: 'Ada Lovelace',
    email: 'ada@example.com',
    tags: ['a', 'b'],
  })
  const origin = '12D3KooW'.padEnd(52, 'x')
  const records = Array.from(
    { length: k },
    (_, i) => [`lag:42:${i}`, Date.now(), 0, origin, Date.now() + 600_000, 0, value] as EntryTuple,
  )
  const batch = {
    origin,
    region: 'us-east',
    keyspace: 'default',
    sentAt: Date.now(),
    incarnation: Date.now(),
    seq: 1,
    records,
  }
  return encodeBatch(batch).length / k
}

async function runConfig(
  n: number,
  bounds: MeshBounds,
  label: string,
  port: number,
): Promise<ScaleResult> {
  log(`N=${n} ${label}: starting`)
  const sim = new WanSim(scaleMatrix())
  const victims = new Set(
    Array.from({ length: Math.max(1, Math.round(n / 10)) }, (_, i) => n - 1 - i),
  )
  const hosts = Array.from({ length: HOSTS + 1 }, () => new Host())
  const victimHost = hosts[HOSTS]!
  const specs: NodeSpec[] = []
  for (let idx = 0; idx < n; idx++) {
    const spec: NodeSpec = { idx, ...nodePlace(idx, port), peers: [] }
    specs.push(spec)
    await sim.addNode(spec.region, spec.listen)
    ;(victims.has(idx) ? victimHost : hosts[idx % HOSTS]!).nodes.push(spec)
  }
  const routes = Object.fromEntries(SCALE_REGIONS.map((r) => [r, sim.routes(r)]))
  await all(hosts, { t: 'routes', routes })
  const hostOf = (idx: number) => hosts.find((h) => h.nodes.some((s) => s.idx === idx))!

  // Launch: the seed first (its address is everyone's bootstrap), then all others at once.
  const t0 = performance.now()
  const seed = await hosts[0]!.ask({ t: 'start', nodes: [specs[0]!], bounds })
  if (seed.error) throw new Error(seed.error)
  const seedAddr = seed.nodes[0]!.address
  const started = await Promise.all(
    hosts.map((h) => {
      const rest = h.nodes.filter((s) => s.idx !== 0).map((s) => ({ ...s, peers: [seedAddr] }))
      return h.ask({ t: 'start', nodes: rest, bounds })
    }),
  )
  for (const s of started) if (s.error) throw new Error(s.error)
  const topology = seed.topology
  const label2 =
    bounds === FULL_MESH
      ? 'full mesh'
      : topology
        ? label
        : 'full mesh (topology options not available)'
  const nodes: StartedNode[] = [...seed.nodes, ...started.flatMap((s) => s.nodes)].sort(
    (a, b) => a.idx - b.idx,
  )
  const members = nodes.map((x) => ({ id: x.peerId, region: specs[x.idx]!.region }))
  const plan = new LinkPlan(members, topology ? bounds : FULL_MESH)
  const want = new Map(nodes.map((x) => [x.idx, plan.linksOf(x.peerId).all]))
  log(
    `N=${n}: ${nodes.length} nodes started in ${((performance.now() - t0) / 1000).toFixed(1)} s (${label2})`,
  )

  let links: Record<number, string[]> = {}
  const readLinks = async () => {
    links = Object.assign({}, ...(await all(hosts, { t: 'links' })).map((r) => r.links))
    return links
  }
  let lastLog = performance.now()
  const missingLinks = (l: Record<number, string[]>) =>
    nodes.map((x) => [...want.get(x.idx)!].filter((id) => !l[x.idx]?.includes(id)).length)
  const formed = await until(async () => {
    const missing = missingLinks(await readLinks())
    if (performance.now() - lastLog > 15_000) {
      lastLog = performance.now()
      const short = missing.filter((k) => k > 0).length
      const loops = await all(hosts, { t: 'cpu' })
      const late = Math.max(...loops.map((r) => r.loopP99Ms)).toFixed(0)
      log(
        `N=${n}: ${short} nodes still miss links (${missing.reduce((a, b) => a + b, 0)} in all; host event loops ${late} ms late at p99)`,
      )
    }
    return missing.every((k) => k === 0)
  }, FORM_TIMEOUT_MS)
  const linksMs = formed ? performance.now() - t0 : undefined
  log(`N=${n}: links ${formed ? `formed in ${(linksMs! / 1000).toFixed(1)} s` : 'NOT formed'}`)
  await hostOf(0).ask({ t: 'probe', idx: 0 })
  const count = async (phase: string, among = nodes) => {
    const c = Object.assign({}, ...(await all(hosts, { t: 'count', phase })).map((r) => r.counts))
    return among.map((x) => (c[x.idx] as number | undefined) ?? 0)
  }
  const probed = await until(async () => (await count('probe')).every((k) => k >= 1), 60_000, 100)
  const probeMs = probed ? performance.now() - t0 : undefined
  await readLinks()
  const conns = nodes.map((x) => links[x.idx]?.length ?? 0)

  // Idle: CPU and memory of the node processes over IDLE_MS.
  await sleep(1_000)
  await all(hosts, { t: 'cpu' })
  let simCpu = process.cpuUsage()
  let wan0 = sim.wanBytes
  let tIdle = performance.now()
  await sleep(IDLE_MS)
  const idle = await all(hosts, { t: 'cpu' })
  const idleMs = performance.now() - tIdle
  const simIdle = process.cpuUsage(simCpu)
  const idleWanRate = (sim.wanBytes - wan0) / idleMs
  const cpuOf = (rs: Reply<'cpu'>[]) => rs.reduce((a, r) => a + r.userUs + r.systemUs, 0) / 1000
  const idleCpuPerNode = (100 * cpuOf(idle)) / idleMs / n
  const rssPerNodeMiB = idle.reduce((a, r) => a + r.rss, 0) / n / 2 ** 20

  // Load: 500 writes/s mesh-wide for WRITE_MS; lag, WAN bytes and CPU.
  log(`N=${n}: writing ${RATE}/s for ${WRITE_MS / 1000} s`)
  const c0 = await all(hosts, { t: 'counters' })
  simCpu = process.cpuUsage()
  wan0 = sim.wanBytes
  tIdle = performance.now()
  const wrote = await all(hosts, { t: 'write', phase: 'lag', perNodeRate: RATE / n, ms: WRITE_MS })
  const writes = wrote.reduce((a, r) => a + Object.values(r.written).reduce((x, y) => x + y, 0), 0)
  await until(async () => (await count('lag')).every((k) => k >= writes), 10_000)
  const loadMs = performance.now() - tIdle
  const load = await all(hosts, { t: 'cpu' })
  const loadCpu =
    (100 *
      (cpuOf(load) + (process.cpuUsage(simCpu).user + process.cpuUsage(simCpu).system) / 1000)) /
    loadMs /
    CORES
  const wanBytes = sim.wanBytes - wan0 - idleWanRate * loadMs
  const c1 = await all(hosts, { t: 'counters' })
  const stages: ScaleResult['stages'] = {}
  for (const k of new Set(c1.flatMap((r) => Object.keys(r.stages)))) {
    const p50 = c1.flatMap((r) => r.stages[k]?.p50 ?? [])
    const p99 = c1.flatMap((r) => r.stages[k]?.p99 ?? [])
    stages[k] = { p50: pct(p50, 0.5), p99: Math.max(...p99) }
  }
  const sum = (rs: Reply<'counters'>[], k: 'batchesOut' | 'recordsOut') =>
    rs.reduce((a, r) => a + r[k], 0)
  const batches = sum(c1, 'batchesOut') - sum(c0, 'batchesOut')
  const records = sum(c1, 'recordsOut') - sum(c0, 'recordsOut')
  const batchBytes = batchBytesPerWrite(records / Math.max(1, batches))
  const lagCounts = await count('lag')
  const lagDelivered = `${lagCounts.filter((k) => k >= writes).length}/${n} nodes all`
  const lagsByPair: Record<string, number[]> = {}
  for (const r of await all(hosts, { t: 'lags', phase: 'lag' }))
    for (const [k, xs] of Object.entries(r.lags)) lagsByPair[k] = [...(lagsByPair[k] ?? []), ...xs]
  const allLags = Object.values(lagsByPair).flat()
  let worstPair = ''
  let worstPairP99 = Number.NaN
  for (const [k, xs] of Object.entries(lagsByPair)) {
    const p = pct(xs, 0.99)
    if (!(p <= worstPairP99)) {
      worstPair = k
      worstPairP99 = p
    }
  }

  // Partition: one region cut off from all others for CUT_MS while all nodes write.
  log(`N=${n}: cutting ${SCALE_REGIONS[0]} off for ${CUT_MS / 1000} s`)
  sim.isolate(SCALE_REGIONS[0]!)
  const cutWrites = await all(hosts, {
    t: 'write',
    phase: 'part',
    perNodeRate: 100 / n,
    ms: CUT_MS,
  })
  const partTotal = cutWrites.reduce(
    (a, r) => a + Object.values(r.written).reduce((x, y) => x + y, 0),
    0,
  )
  sim.heal()
  const tHeal = performance.now()
  const healed = await until(
    async () => (await count('part')).every((k) => k >= partTotal),
    CONVERGE_TIMEOUT_MS,
    100,
  )
  const partitionConvergeMs = healed ? performance.now() - tHeal : undefined

  // Kill 10%: SIGKILL the host that runs them, then the survivors write.
  log(`N=${n}: killing ${victims.size} nodes`)
  victimHost.dead = true
  victimHost.proc.kill('SIGKILL')
  await sleep(500)
  const survivors = nodes.filter((x) => !victims.has(x.idx))
  const killWrites = await all(hosts, {
    t: 'write',
    phase: 'kill',
    perNodeRate: RATE / survivors.length,
    ms: WRITE_MS,
  })
  const killTotal = killWrites.reduce(
    (a, r) => a + Object.values(r.written).reduce((x, y) => x + y, 0),
    0,
  )
  const tLast = performance.now()
  const gotAll = await until(
    async () => (await count('kill', survivors)).every((k) => k >= killTotal),
    CONVERGE_TIMEOUT_MS,
    100,
  )
  const killConvergeMs = gotAll ? performance.now() - tLast : undefined
  const killCounts = await count('kill', survivors)
  const missing = killCounts.reduce((a, k) => a + Math.max(0, killTotal - k), 0)
  const killDelivered = gotAll
    ? 'yes'
    : missing === 0
      ? 'yes, after the timeout'
      : `NO (${missing} missing)`

  await Promise.allSettled(hosts.filter((h) => !h.dead).map((h) => h.ask({ t: 'close' })))
  await sim.close()
  const planDegrees = nodes.map((x) => want.get(x.idx)!.size)
  const result: ScaleResult = {
    label: label2,
    nodes: n,
    regions: SCALE_REGIONS.length,
    linksMs,
    probeMs,
    connMean: conns.reduce((a, b) => a + b, 0) / n,
    connMax: Math.max(...conns),
    planMean: planDegrees.reduce((a, b) => a + b, 0) / n,
    idleCpuPerNode,
    simIdleCpu: (100 * (simIdle.user + simIdle.system)) / 1000 / idleMs,
    rssPerNodeMiB,
    writes,
    lagP50: pct(allLags, 0.5),
    lagP99: pct(allLags, 0.99),
    worstPair,
    worstPairP99,
    lagDelivered,
    loadCpu,
    loadLoopP99Ms: Math.max(...load.map((r) => r.loopP99Ms)),
    machineLoad: loadavg()[0]!,
    stages,
    wanRatio: wanBytes / writes / ((SCALE_REGIONS.length - 1) * batchBytes),
    wanBytesPerWrite: wanBytes / writes,
    batchBytesPerWrite: batchBytes,
    partitionConvergeMs,
    killDelivered,
    killConvergeMs,
  }
  log(`N=${n} ${label2}: ${JSON.stringify(result)}`)
  return result
}

const results: ScaleResult[] = []
const base = 20_000 + Math.floor(Math.random() * 20_000)
const configs: [number, MeshBounds, string][] = SIZES.map((n) => [n, TOPOLOGY, 'topology 6/2'])
if (!args.includes('--no-compare'))
  configs.splice(1, 0, [Math.min(...SIZES), FULL_MESH, 'full mesh'])
for (const [i, [n, bounds, label]] of configs.entries()) {
  results.push(await runConfig(n, bounds, label, base + i))
}
const table = markdownTable(results)
const maxLoad = Math.max(...results.map((r) => r.loadCpu))
const maxLoop = Math.max(...results.map((r) => r.loadLoopP99Ms))
const maxMemGiB = Math.max(...results.map((r) => (r.rssPerNodeMiB * r.nodes) / 1024))
const machineLoad = Math.max(...results.map((r) => r.machineLoad))
// Our processes' share of the cores can stay low while the loops starve: other jobs on
// the machine take the rest (the 1-minute load average says how many want a core).
const limit =
  maxLoad > 80 || maxLoop > 100 || machineLoad > CORES
    ? `CPU: the write phase kept up to ${maxLoad.toFixed(0)}% of ${CORES} cores busy with this bench, host event loops were up to ${maxLoop.toFixed(0)} ms late (p99), and the machine's load average reached ${machineLoad.toFixed(1)} on ${CORES} cores; memory is no limit (${maxMemGiB.toFixed(1)} GiB of node RSS at most)`
    : `neither CPU (at most ${maxLoad.toFixed(0)}% of ${CORES} cores in the write phase, host event loops ${maxLoop.toFixed(0)} ms late at p99, load average ${machineLoad.toFixed(1)}) nor memory (${maxMemGiB.toFixed(1)} GiB of node RSS at most)`
const md = `# bench:scale

\`npm run bench:scale -- ${args.join(' ')}\` — ${JSON.stringify(machine())}

N nodes in ${SCALE_REGIONS.length} regions (round-robin), several per host process, each on its own 127.0.R.N behind the simulated WAN (35-115 ms one way). Lag at ${RATE} writes/s mesh-wide for ${WRITE_MS / 1000} s; WAN ratio = cross-region bytes per write (idle traffic subtracted) / ((regions - 1) x batch bytes per write); heal: time after a ${CUT_MS / 1000} s cut of ${SCALE_REGIONS[0]} until every node has every write made during it; kill: 10% of nodes SIGKILLed, then survivors write at ${RATE}/s for ${WRITE_MS / 1000} s.

${table}

Limited by: ${limit}.
`
writeFileSync('bench/results/scale.md', md)
writeFileSync(
  'bench/results/scale.json',
  `${JSON.stringify({ machine: machine(), args, results }, null, 2)}\n`,
)
console.log(`\n${md}`)
process.exit(0)
