/**
 * bench:geo: 3 regions x 2 nodes (each node in its own worker thread) behind the
 * simulated WAN's default matrix, writing at a steady total rate; replication lag
 * p50/p99/max per region pair, and as a ratio to the pair's one-way latency.
 * Writes bench/results/geo.json and bench/results/geo-lag.svg.
 * Run: npm run bench:geo   (RATE=10000 SECONDS=5)
 */
import { writeFileSync } from 'node:fs'
import { Worker } from 'node:worker_threads'
import { WanSim } from '../src/sim/wan-sim.js'
import { type BenchRow, report } from './harness.js'

const RATE = Number(process.env.RATE ?? 10_000)
const SECONDS = Number(process.env.SECONDS_GEO ?? process.env.GEO_SECONDS ?? 5)
const sim = new WanSim()
const regions = sim.matrix.regions

type W = { worker: Worker; region: string; ask: <T>(msg: object, reply: string) => Promise<T> }
const workers: W[] = []
const broadcastRoutes = () => {
  for (const w of workers) w.worker.postMessage({ t: 'routes', routes: sim.routes(w.region) })
}

for (const [r, region] of regions.entries()) {
  for (const n of [1, 2]) {
    const host = `127.0.${r + 1}.${60 + n}`
    const first = workers[0]
    const peers: string[] = first ? [(first as W & { address: string }).address] : []
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
    const w: W & { address: string } = {
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
    }
    workers.push(w)
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
console.log(`mesh formed in ${Date.now() - t0} ms; writing ${RATE}/s in total for ${SECONDS} s`)
const writers = process.env.GEO_WRITERS === 'one' ? workers.slice(0, 1) : workers
const wrote = await Promise.all(
  writers.map((w) =>
    w.ask<{ n: number }>({ t: 'write', rate: RATE / writers.length, ms: SECONDS * 1000 }, 'wrote'),
  ),
)
await new Promise((r) => setTimeout(r, 1_500))
const reports = await Promise.all(
  workers.map((w) => w.ask<{ lags: Record<string, number[]> }>({ t: 'report' }, 'report')),
)

const pct = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? Number.NaN
}
const pairs = new Map<string, number[]>()
for (const [i, rep] of reports.entries()) {
  for (const [from, xs] of Object.entries(rep.lags)) {
    const k = `${from} -> ${workers[i]!.region}`
    pairs.set(k, [...(pairs.get(k) ?? []), ...xs])
  }
}
const rows: BenchRow[] = []
for (const [k, xs] of [...pairs.entries()].sort()) {
  const [from, , to] = k.split(' ')
  const oneWay = sim.latency(from!, to!)
  const p99 = pct(xs, 0.99)
  rows.push({
    name: k,
    writes: xs.length,
    oneWayMs: oneWay,
    p50Ms: pct(xs, 0.5),
    p99Ms: p99,
    maxMs: pct(xs, 1),
    'p99-oneWay': p99 - oneWay,
    'p99/oneWay': p99 / oneWay,
    target: p99 <= oneWay + 10 ? 'met' : 'missed',
  })
}
report(
  `bench:geo — 3 regions x 2 nodes (worker threads), ${RATE} writes/s total, default WAN matrix`,
  rows,
  'bench/results/geo.json',
  { rate: RATE, seconds: SECONDS, written: wrote.reduce((a, w) => a + w.n, 0) },
)

// Lag histograms per pair as one SVG: bars of 5 ms buckets.
const W = 900
const H = 120
let svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H * pairs.size + 30}" font-family="sans-serif" font-size="11">`
svg += `<text x="10" y="18" font-size="13">Replication lag per region pair (${RATE} writes/s, 5 ms buckets, dashed: one-way latency)</text>`
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
await Promise.all(workers.map((w) => w.ask({ t: 'close' }, 'closed')))
await sim.close()
process.exit(0)
