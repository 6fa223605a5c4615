/**
 * bench:geo: 3 regions x 2 nodes (each node in its own worker thread) behind the
 * simulated WAN's default matrix, writing at a steady total rate; replication lag
 * p50/p99/max per region pair against the pair's one-way latency (issue 12 targets:
 * p50 <= one way + 5 ms, p99 <= one way + 25 ms), messages per node, writes per message,
 * and the mean of each replication stage (`stats().mesh.stages`).
 *
 * With RATES=100,300,1000,3000,6000 it sweeps total rates on one mesh (formed once; lags
 * and counters taken per phase) and prints the batching curve: writes/s per node vs lag
 * p50/p99 over one way (worst pair) vs messages/s per node.
 *
 * Anchor, same run: timestamped frames over a plain TCP connection through the same
 * simulator proxies (us-east -> ap-south), i.e. the simulator's own floor. The proxies
 * run on the main thread: its event-loop delay is printed with every phase.
 *
 * Writes bench/results/geo.json (pair table at 1,000 writes/s, or the last rate),
 * bench/results/geo-sweep.json (one row per rate) and bench/results/geo-lag.svg.
 * Run: npm run bench:geo   (RATE=1000 SECONDS=5, RATES=..., GEO_WRITERS=one)
 */
import { writeFileSync } from 'node:fs'
import { createServer, connect as netConnect, type Socket } from 'node:net'
import { cpus, loadavg } from 'node:os'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { Worker } from 'node:worker_threads'
import { WanSim } from '../src/sim/wan-sim.js'
import { type BenchRow, report } from './harness.js'

const RATES = (process.env.RATES ?? process.env.RATE ?? '1000')
  .split(',')
  .map((s) => Number(s.trim()))
  .filter((n) => n > 0)
const TABLE_RATE = RATES.includes(1_000) ? 1_000 : RATES[RATES.length - 1]!
const SECONDS = Number(
  process.env.SECONDS ?? process.env.SECONDS_GEO ?? process.env.GEO_SECONDS ?? 5,
)
/** Issue 12: p50 <= one way + 5 ms, p99 <= one way + 25 ms, per region pair. */
const P50_MARGIN_MS = 5
const P99_MARGIN_MS = 25
const STAGES = ['queue', 'encode', 'send', 'transit', 'verify', 'apply'] as const
type Stage = (typeof STAGES)[number]
type StageSums = Record<Stage, { count: number; sumMs: number }>
type MeshStats = { batchesOut: number; recordsOut: number; batchesIn: number; stages: StageSums }
type Report = MeshStats & {
  lags: Record<string, number[]>
  received: number
  loopP50Ms: number
  loopP99Ms: number
}

const sim = new WanSim()
const regions = sim.matrix.regions
const hostOf = (r: number, n: number) => `127.0.${r + 1}.${60 + n}`

type W = {
  worker: Worker
  region: string
  address: string
  ask: <T>(msg: object, reply: string) => Promise<T>
}
const workers: W[] = []
const broadcastRoutes = () => {
  for (const w of workers) w.worker.postMessage({ t: 'routes', routes: sim.routes(w.region) })
}

for (const [r, region] of regions.entries()) {
  for (const n of [1, 2]) {
    const host = hostOf(r, n)
    const peers: string[] = workers[0] ? [workers[0].address] : []
    const worker = new Worker(new URL('./geo-worker.ts', import.meta.url), {
      workerData: { region, host, peers },
      execArgv: [
        '--import',
        'tsx',
        ...(process.env.GEO_PROF ? ['--cpu-prof', '--cpu-prof-dir=/tmp/prof'] : []),
      ],
    })
    // Routes must be in place before the node dials its bootstrap peer.
    worker.postMessage({ t: 'routes', routes: sim.routes(region) })
    const address = await new Promise<string>((resolve, reject) => {
      worker.once('error', reject)
      const on = (m: { t: string; address: string }) => {
        if (m.t === 'ready') {
          worker.off('message', on)
          resolve(m.address)
        }
      }
      worker.on('message', on)
    })
    await sim.addNode(region, address)
    workers.push({
      worker,
      region,
      address,
      ask: <T>(msg: object, reply: string) =>
        new Promise<T>((resolve) => {
          const on = (m: { t: string }) => {
            if (m.t === reply) {
              worker.off('message', on)
              resolve(m as T)
            }
          }
          worker.on('message', on)
          worker.postMessage(msg)
        }),
    })
    broadcastRoutes()
  }
}
const t0 = Date.now()
for (;;) {
  const counts = await Promise.all(
    workers.map((w) => w.ask<{ n: number }>({ t: 'peers' }, 'peers')),
  )
  if (counts.every((c) => c.n === workers.length - 1)) break
  if (Date.now() - t0 > 60_000) throw new Error('mesh did not form')
  await new Promise((r) => setTimeout(r, 200))
}
await new Promise((r) => setTimeout(r, 1_000)) // subscriptions settle
const writers = process.env.GEO_WRITERS === 'one' ? workers.slice(0, 1) : workers
console.log(
  `mesh formed in ${Date.now() - t0} ms; ${writers.length} writer(s); rates ${RATES.join(', ')} writes/s in total, ${SECONDS} s each.\n` +
    'Note: the WAN simulator\'s proxies run on this (main) thread; its event-loop delay ("sim loop") and a plain TCP probe through the same proxies ("sim probe", ap-south -> us-east) are the anchor.',
)

// ---- the anchor: a plain TCP stream through the simulator's proxies -------------------
const PROBE_FROM = 'ap-south'
const PROBE_TO = 'us-east'
const probe = await (async () => {
  const lags: number[] = []
  const server = createServer((s: Socket) => {
    let buf = Buffer.alloc(0)
    s.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d])
      while (buf.length >= 8) {
        lags.push(performance.now() - buf.readDoubleBE(0))
        buf = buf.subarray(8)
      }
    })
    s.on('error', () => {})
  })
  const host = `127.0.${regions.indexOf(PROBE_TO) + 1}.250`
  await new Promise<void>((r) => server.listen(0, host, () => r()))
  const port = (server.address() as { port: number }).port
  await sim.addNode(PROBE_TO, `/ip4/${host}/tcp/${port}`)
  const via = /\/ip4\/([^/]+)\/tcp\/(\d+)/.exec(sim.routes(PROBE_FROM)[`${host}:${port}`]!)!
  const client = netConnect(Number(via[2]), via[1]!)
  client.setNoDelay(true)
  client.on('error', () => {})
  await new Promise((r) => client.once('connect', r))
  let timer: NodeJS.Timeout | undefined
  return {
    oneWay: sim.latency(PROBE_FROM, PROBE_TO),
    start() {
      lags.length = 0
      timer = setInterval(() => {
        const b = Buffer.alloc(8)
        b.writeDoubleBE(performance.now())
        client.write(b)
      }, 10)
    },
    stop(): number[] {
      clearInterval(timer)
      return [...lags]
    },
    close() {
      client.destroy()
      server.close()
    },
  }
})()

const pct = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? Number.NaN
}
const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d
const mainLoop = monitorEventLoopDelay({ resolution: 5 })
mainLoop.enable()

type Phase = {
  rate: number
  written: number
  pairs: Map<string, number[]>
  reports: Report[]
  base: MeshStats[]
  probe: number[]
  mainLoopP99Ms: number
  /** CPU the whole process (all threads) got per second of the phase, in cores. */
  coresUsed: number
  complete: boolean
}

async function runPhase(rate: number): Promise<Phase> {
  const base = await Promise.all(workers.map((w) => w.ask<MeshStats>({ t: 'reset' }, 'reset')))
  mainLoop.reset()
  probe.start()
  const cpu0 = process.cpuUsage()
  const wall0 = performance.now()
  const wrote = await Promise.all(
    writers.map((w) =>
      w.ask<{ n: number }>(
        { t: 'write', rate: rate / writers.length, ms: SECONDS * 1000 },
        'wrote',
      ),
    ),
  )
  const written = wrote.reduce((a, w) => a + w.n, 0)
  // Every node must receive every other writer's writes; bounded wait for the tail.
  const expected = workers.map((w) =>
    writers.reduce((a, x, i) => a + (x === w ? 0 : wrote[i]!.n), 0),
  )
  const deadline = Date.now() + 10_000
  let complete = false
  for (;;) {
    const got = await Promise.all(
      workers.map((w) => w.ask<{ n: number }>({ t: 'received' }, 'received')),
    )
    if (got.every((g, i) => g.n >= expected[i]!)) {
      complete = true
      break
    }
    if (Date.now() > deadline) break
    await new Promise((r) => setTimeout(r, 50))
  }
  const cpu = process.cpuUsage(cpu0)
  const coresUsed = (cpu.user + cpu.system) / 1000 / (performance.now() - wall0)
  const probeLags = probe.stop()
  const mainLoopP99Ms = mainLoop.percentile(99) / 1e6
  const reports = await Promise.all(workers.map((w) => w.ask<Report>({ t: 'report' }, 'report')))
  const pairs = new Map<string, number[]>()
  for (const [i, rep] of reports.entries()) {
    for (const [from, xs] of Object.entries(rep.lags)) {
      const k = `${from} -> ${workers[i]!.region}`
      const acc = pairs.get(k) ?? []
      for (const x of xs) acc.push(x)
      pairs.set(k, acc)
    }
  }
  return {
    rate,
    written,
    pairs,
    reports,
    base,
    probe: probeLags,
    mainLoopP99Ms,
    coresUsed,
    complete,
  }
}

function stageMeans(p: Phase): Record<Stage, number> {
  const out = {} as Record<Stage, number>
  for (const s of STAGES) {
    let count = 0
    let sum = 0
    for (const [i, r] of p.reports.entries()) {
      count += r.stages[s].count - p.base[i]!.stages[s].count
      sum += r.stages[s].sumMs - p.base[i]!.stages[s].sumMs
    }
    out[s] = count === 0 ? Number.NaN : sum / count
  }
  return out
}

function pairRows(p: Phase): BenchRow[] {
  const rows: BenchRow[] = []
  for (const [k, xs] of [...p.pairs.entries()].sort()) {
    const [from, , to] = k.split(' ')
    const oneWay = sim.latency(from!, to!)
    const p50 = pct(xs, 0.5)
    const p99 = pct(xs, 0.99)
    const miss = [
      ...(p50 > oneWay + P50_MARGIN_MS ? ['p50'] : []),
      ...(p99 > oneWay + P99_MARGIN_MS ? ['p99'] : []),
    ]
    rows.push({
      name: k,
      writes: xs.length,
      oneWayMs: oneWay,
      p50Ms: p50,
      p99Ms: p99,
      maxMs: pct(xs, 1),
      'p50-oneWay': p50 - oneWay,
      'p99-oneWay': p99 - oneWay,
      'p50/oneWay': p50 / oneWay,
      'p99/oneWay': p99 / oneWay,
      [`target (+${P50_MARGIN_MS}/+${P99_MARGIN_MS})`]:
        miss.length === 0 ? 'met' : `missed (${miss.join(', ')})`,
    })
  }
  return rows
}

function sweepRow(p: Phase): BenchRow {
  const rows = pairRows(p)
  const worst = (col: string) =>
    rows.reduce((a, r) => ((r[col] as number) > (a[col] as number) ? r : a), rows[0]!)
  const w50 = worst('p50-oneWay')
  const w99 = worst('p99-oneWay')
  let batches = 0
  let records = 0
  for (const [i, r] of p.reports.entries()) {
    batches += r.batchesOut - p.base[i]!.batchesOut
    records += r.recordsOut - p.base[i]!.recordsOut
  }
  const means = stageMeans(p)
  // The WAN's share of `transit`: the mean one-way latency over the copies received
  // (every writer's batch goes to each other node).
  let copies = 0
  let oneWaySum = 0
  for (const [i, r] of p.reports.entries()) {
    const b = r.batchesOut - p.base[i]!.batchesOut
    for (const other of workers)
      if (other !== workers[i]) {
        copies += b
        oneWaySum += b * sim.latency(workers[i]!.region, other.region)
      }
  }
  const transitOverOneWay = means.transit - oneWaySum / Math.max(1, copies)
  return {
    name: `${p.rate}/s total`,
    'writes/s/node': round(p.written / writers.length / SECONDS),
    'p50-oneWay': w50['p50-oneWay'],
    'p50 worst pair': w50.name,
    'p99-oneWay': w99['p99-oneWay'],
    'p99 worst pair': w99.name,
    'msgs/s/node': round(batches / writers.length / SECONDS),
    'writes/msg': round(records / Math.max(1, batches)),
    ...Object.fromEntries(STAGES.map((s) => [`${s} ms`, round(means[s], 2)])),
    'transit-oneWay ms': round(transitOverOneWay, 2),
    'sim probe p50/p99-oneWay': `${round(pct(p.probe, 0.5) - probe.oneWay)}/${round(pct(p.probe, 0.99) - probe.oneWay)}`,
    'sim loop p99 ms': round(p.mainLoopP99Ms),
    'node loop p99 ms (max)': round(Math.max(...p.reports.map((r) => r.loopP99Ms))),
    'cores used': round(p.coresUsed, 2),
    target: rows.every((r) => r[`target (+${P50_MARGIN_MS}/+${P99_MARGIN_MS})`] === 'met')
      ? 'met'
      : 'missed',
    ...(p.complete ? {} : { incomplete: 'not every write arrived within 10 s' }),
  }
}

const phases: Phase[] = []
for (const rate of RATES) {
  const p = await runPhase(rate)
  phases.push(p)
  const s = sweepRow(p)
  console.log(
    `  ${String(rate).padStart(6)} writes/s: ${s['writes/s/node']}/s per node, lag over one way (worst pair) p50 +${s['p50-oneWay']} / p99 +${s['p99-oneWay']} ms, ${s['msgs/s/node']} msgs/s per node, ${s['writes/msg']} writes/msg, sim loop p99 ${s['sim loop p99 ms']} ms, ${s['cores used']} cores used${p.complete ? '' : ' (INCOMPLETE)'}`,
  )
}

const table = phases.find((p) => p.rate === TABLE_RATE)!
const means = stageMeans(table)
const tableSweep = sweepRow(table)
report(
  `bench:geo — 3 regions x 2 nodes (worker threads), ${TABLE_RATE} writes/s total (${writers.length} writer(s)), default WAN matrix; target p50 <= one way + ${P50_MARGIN_MS} ms, p99 <= one way + ${P99_MARGIN_MS} ms`,
  pairRows(table),
  'bench/results/geo.json',
  {
    rate: TABLE_RATE,
    seconds: SECONDS,
    writers: writers.length,
    written: table.written,
    messagesPerSecPerNode: tableSweep['msgs/s/node'],
    writesPerMessage: tableSweep['writes/msg'],
    stageMeansMs: means,
    transitOverOneWayMs: tableSweep['transit-oneWay ms'],
    simProbe: {
      pair: `${PROBE_FROM} -> ${PROBE_TO}`,
      oneWayMs: probe.oneWay,
      p50Ms: pct(table.probe, 0.5),
      p99Ms: pct(table.probe, 0.99),
    },
    simLoopP99Ms: table.mainLoopP99Ms,
    coresUsed: table.coresUsed,
    loadAverage: loadavg()[0],
    nodeLoopP99Ms: table.reports.map((r) => r.loopP99Ms),
  },
)
console.log(
  `messages/s per node ${tableSweep['msgs/s/node']}, writes per message ${tableSweep['writes/msg']}; mean per stage (ms, per batch): ${STAGES.map((s) => `${s} ${round(means[s], 2)}`).join(', ')} (transit minus the mean one-way latency: ${tableSweep['transit-oneWay ms']})`,
)
console.log(
  `anchor (same run): plain TCP through the simulator's proxies ${PROBE_FROM} -> ${PROBE_TO}: p50 ${round(pct(table.probe, 0.5), 1)} ms / p99 ${round(pct(table.probe, 0.99), 1)} ms (one way ${probe.oneWay} ms); simulator (main) thread event-loop delay p99 ${round(table.mainLoopP99Ms)} ms; node threads p99 ${table.reports.map((r) => round(r.loopP99Ms)).join(', ')} ms; the process got ${round(table.coresUsed, 2)} cores of CPU during the phase (of ${cpus().length}; load average ${round(loadavg()[0]!)})`,
)
if (phases.length > 1)
  report(
    `bench:geo rate sweep — ${writers.length} writer(s), ${SECONDS} s per rate, one mesh; lag over one way = worst region pair`,
    phases.map(sweepRow),
    'bench/results/geo-sweep.json',
    { seconds: SECONDS, writers: writers.length },
  )

// Lag histograms per pair as one SVG: bars of 5 ms buckets.
const pairs = table.pairs
const W = 900
const H = 120
let svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H * pairs.size + 30}" font-family="sans-serif" font-size="11">`
svg += `<text x="10" y="18" font-size="13">Replication lag per region pair (${TABLE_RATE} writes/s, 5 ms buckets, dashed: one-way latency)</text>`
let row = 0
for (const [k, xs] of [...pairs.entries()].sort()) {
  const y0 = 30 + row * H
  const buckets = new Array(60).fill(0)
  for (const x of xs) buckets[Math.min(59, Math.floor(x / 5))]++
  const max = Math.max(...buckets, 1)
  svg += `<text x="10" y="${y0 + 14}">${k} (n=${xs.length})</text>`
  buckets.forEach((c, i) => {
    const h = (c / max) * (H - 40)
    svg += `<rect x="${200 + i * 11}" y="${y0 + H - 20 - h}" width="9" height="${h}" fill="#4a7ebb"/>`
  })
  const [from, , to] = k.split(' ')
  const lx = 200 + (sim.latency(from!, to!) / 5) * 11
  svg += `<line x1="${lx}" y1="${y0 + 10}" x2="${lx}" y2="${y0 + H - 20}" stroke="#c33" stroke-dasharray="4 3"/>`
  svg += `<text x="200" y="${y0 + H - 6}">0</text><text x="${200 + 59 * 11}" y="${y0 + H - 6}">300 ms</text>`
  row++
}
svg += '</svg>\n'
writeFileSync('bench/results/geo-lag.svg', svg)
probe.close()
await Promise.all(workers.map((w) => w.ask({ t: 'close' }, 'closed')))
await sim.close()
process.exit(0)
