/**
 * bench:vs-redis: what a user would pick instead, behind the same simulated WAN: a Redis
 * primary in us-east with replicas in eu-west and ap-south (replication and clients go
 * through the simulator's proxies), against a 3-region meshcache. Measures, from eu-west:
 * write latency, read latency, and replication lag us-east -> ap-south.
 * Installs redis-server from Debian's packages when missing.
 * Run: npm run bench:vs-redis
 */
import { type ChildProcess, execSync, spawn } from 'node:child_process'
import { Redis } from 'ioredis'
import type { Cache } from '../src/api/cache.js'
import { startSimNode } from '../src/sim/sim-node.js'
import { WanSim } from '../src/sim/wan-sim.js'
import { type BenchRow, report } from './harness.js'

const N = Number(process.env.OPS ?? 200)
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const pct = (xs: number[], q: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))]!

function ensureRedis(): void {
  try {
    execSync('command -v redis-server', { stdio: 'ignore' })
  } catch {
    console.log('redis-server missing: installing it from Debian packages (apt-get)')
    execSync(
      'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server',
      { stdio: 'inherit' },
    )
  }
}

async function timed(n: number, op: (i: number) => Promise<unknown> | unknown): Promise<number[]> {
  const out: number[] = []
  for (let i = 0; i < n; i++) {
    const t = performance.now()
    await op(i)
    out.push(performance.now() - t)
  }
  return out
}

ensureRedis()
const sim = new WanSim()
const procs: ChildProcess[] = []
const rows: BenchRow[] = []
const hosts = {
  'us-east': '127.0.1.200',
  'eu-west': '127.0.2.200',
  'ap-south': '127.0.3.200',
} as const
const PORT = 16_379
const clients: Redis[] = []
try {
  const startRedis = async (region: keyof typeof hosts, replicaOf?: string) => {
    const args = [
      '--port',
      String(PORT),
      '--bind',
      hosts[region],
      '--save',
      '',
      '--appendonly',
      'no',
      '--protected-mode',
      'no',
    ]
    if (replicaOf) args.push('--replicaof', ...replicaOf.split(' '))
    const p = spawn('redis-server', args, { stdio: 'ignore' })
    procs.push(p)
    await sim.addNode(region, `/ip4/${hosts[region]}/tcp/${PORT}`)
    await sleep(200)
  }
  const via = (from: string, to: keyof typeof hosts) => {
    const m = /\/ip4\/([^/]+)\/tcp\/(\d+)/.exec(sim.routes(from)[`${hosts[to]}:${PORT}`]!)!
    return { host: m[1]!, port: Number(m[2]) }
  }
  await startRedis('us-east')
  for (const r of ['eu-west', 'ap-south'] as const) {
    const p = via(r, 'us-east')
    await startRedis(r, `${p.host} ${p.port}`)
  }
  const client = (from: string, to: keyof typeof hosts) => {
    const c = new Redis({ ...via(from, to), lazyConnect: false, maxRetriesPerRequest: 1 })
    clients.push(c)
    return c
  }
  const apReplica = client('ap-south', 'ap-south')
  for (let t = Date.now(); ; ) {
    const info = await apReplica.info('replication')
    if (info.includes('master_link_status:up')) break
    if (Date.now() - t > 30_000) throw new Error('redis replicas did not sync')
    await sleep(100)
  }
  const euToPrimary = client('eu-west', 'us-east')
  const euReplica = client('eu-west', 'eu-west')
  const usPrimary = client('us-east', 'us-east')
  const value = JSON.stringify({ id: 1, name: 'Ada Lovelace', email: 'ada@example.com' })
  const w = await timed(N, (i) => euToPrimary.set(`k${i}`, value))
  await sleep(500)
  const r = await timed(N, (i) => euReplica.get(`k${i}`))
  const lags: number[] = []
  for (let i = 0; i < 30; i++) {
    const t0 = Date.now()
    await usPrimary.set(`lag${i}`, String(t0))
    while ((await apReplica.get(`lag${i}`)) === null) await sleep(0)
    lags.push(Date.now() - t0)
  }
  rows.push({
    name: 'Redis primary us-east + replicas',
    writeFromEuP50: pct(w, 0.5),
    writeFromEuP99: pct(w, 0.99),
    readInEuP50: pct(r, 0.5),
    readInEuP99: pct(r, 0.99),
    lagUsToApP50: pct(lags, 0.5),
    lagUsToApP99: pct(lags, 0.99),
  })

  // meshcache behind the same WAN.
  const nodes: Cache<unknown>[] = []
  for (const region of sim.matrix.regions) {
    nodes.push(
      await startSimNode(sim, region, 50, { peers: nodes[0] ? [nodes[0].addresses()[0]!] : [] }),
    )
  }
  while (!nodes.every((n) => n.admin.mesh!.peers().length === 2)) await sleep(50)
  await sleep(500)
  const [us, eu, ap] = nodes as [Cache<unknown>, Cache<unknown>, Cache<unknown>]
  const obj = JSON.parse(value)
  const mw = await timed(N, (i) => eu.set(`k${i}`, obj))
  const mr = await timed(N, (i) => eu.get(`k${i}`))
  const mlags: number[] = []
  ap.on('change', (e) => {
    if (e.key.startsWith('lag')) mlags.push(Date.now() - e.version.wall)
  })
  for (let i = 0; i < 30; i++) {
    await us.set(`lag${i}`, i)
    while (!ap.has(`lag${i}`)) await sleep(1)
  }
  const mpw = await timed(20, (i) => eu.set(`q${i}`, obj, { ack: 'quorum' }))
  rows.push({
    name: 'meshcache (3 regions)',
    writeFromEuP50: pct(mw, 0.5),
    writeFromEuP99: pct(mw, 0.99),
    readInEuP50: pct(mr, 0.5),
    readInEuP99: pct(mr, 0.99),
    lagUsToApP50: pct(mlags, 0.5),
    lagUsToApP99: pct(mlags, 0.99),
  })
  rows.push({
    name: "meshcache, ack: 'quorum'",
    writeFromEuP50: pct(mpw, 0.5),
    writeFromEuP99: pct(mpw, 0.99),
    readInEuP50: Number.NaN,
    readInEuP99: Number.NaN,
    lagUsToApP50: Number.NaN,
    lagUsToApP99: Number.NaN,
  })
  await Promise.all(nodes.map((n) => n.close()))
} finally {
  for (const c of clients) c.disconnect()
  for (const p of procs) p.kill('SIGKILL')
  await sim.close()
}
report(
  'bench:vs-redis — ms, from eu-west unless named; default simulated WAN (us-east/eu-west 40 ms, us-east/ap-south 95 ms one way)',
  rows,
  'bench/results/vs-redis.json',
)
process.exit(0)
