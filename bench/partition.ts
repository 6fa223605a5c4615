/**
 * bench:partition: partitions of increasing length with writes on both sides, then heal.
 * Two kinds of cut: "blackhole" (the simulated WAN holds bytes, sockets stay open: on
 * heal TCP delivers the backlog) and "disconnect" (connections closed and refused: only
 * anti-entropy can repair). Reports heal time and repair bytes per missed write.
 * Run: npm run bench:partition   (LENGTHS=1,3,8 RATE=200)
 */
import { writeFileSync } from 'node:fs'
import type { Cache } from '../src/api/cache.js'
import { replicaOf } from '../src/node/internals.js'
import { startSimNode } from '../src/sim/sim-node.js'
import { WanSim } from '../src/sim/wan-sim.js'
import { type BenchRow, report } from './harness.js'

const LENGTHS = (process.env.LENGTHS ?? '1,3,8').split(',').map(Number)
const RATE = Number(process.env.RATE ?? 200)
const meshOf = (c: Cache<unknown>) => c.admin.mesh!
const counters = (c: Cache<unknown>) => c.stats().mesh!.replication
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const root = (c: Cache<unknown>) => replicaOf(c, 'default')!.index.tree.digest(0, 0).join(':')
const syncBytes = (nodes: Cache<unknown>[]) =>
  nodes.reduce((a, n) => a + counters(n).syncBytesOut + counters(n).syncBytesIn, 0)

const rows: BenchRow[] = []
const curves: { name: string; curve: [number, number][] }[] = []
for (const kind of ['blackhole', 'disconnect'] as const) {
  for (const seconds of LENGTHS) {
    const sim = new WanSim()
    const nodes: Cache<unknown>[] = []
    try {
      for (const region of sim.matrix.regions) {
        const peers = nodes[0] ? [nodes[0].addresses()[0]!] : []
        nodes.push(await startSimNode(sim, region, 1, { peers, mesh: { syncIntervalMs: 1_000 } }))
      }
      while (!nodes.every((n) => meshOf(n).peers().length === 2)) await sleep(50)
      await sleep(500)
      const [us, eu, ap] = nodes as [Cache<unknown>, Cache<unknown>, Cache<unknown>]
      if (kind === 'blackhole') sim.isolate('ap-south')
      else {
        await ap.admin.mesh!.block([us.nodeId, eu.nodeId])
        await us.admin.mesh!.block([ap.nodeId])
        await eu.admin.mesh!.block([ap.nodeId])
      }
      const end = Date.now() + seconds * 1000
      let i = 0
      while (Date.now() < end) {
        await us.set(`us:${i}`, { i })
        await ap.set(`ap:${i}`, { i })
        if (i % 10 === 0) await eu.set(`hot:${i % 40}`, { i }) // contended keys, both sides
        if (i % 10 === 5) await ap.set(`hot:${i % 40}`, { i })
        i++
        await sleep(1000 / RATE)
      }
      const missed =
        [...replicaOf(ap, 'default')!.index.tree.digest(0, 0)].length && countMissed(nodes)
      const bytesBefore = syncBytes(nodes)
      const healAt = Date.now()
      if (kind === 'blackhole') sim.heal()
      else for (const n of nodes) n.admin.mesh!.unblock()
      const curve: [number, number][] = [[0, missed]]
      while (new Set(nodes.map(root)).size > 1 && Date.now() - healAt < 60_000) {
        await sleep(50)
        curve.push([Date.now() - healAt, countMissed(nodes)])
      }
      curve.push([Date.now() - healAt, 0])
      curves.push({ name: `${kind} ${seconds}s`, curve })
      const healMs = Date.now() - healAt
      const repairBytes = syncBytes(nodes) - bytesBefore
      rows.push({
        name: `${kind} ${seconds}s`,
        writesPerSide: i,
        missedWrites: missed,
        healMs,
        converged: new Set(nodes.map(root)).size === 1 ? 'yes' : 'NO',
        syncRepairBytes: repairBytes,
        bytesPerMissed: missed > 0 ? repairBytes / missed : Number.NaN,
        pulledBySync: nodes.reduce((a, n) => a + counters(n).syncPulled, 0),
      })
      console.log(JSON.stringify(rows.at(-1)))
    } finally {
      await Promise.allSettled(nodes.map((n) => n.close()))
      await sim.close()
    }
  }
}
drawCurves()
report(
  `bench:partition — ap-south cut off from us-east and eu-west, ${RATE} writes/s per side`,
  rows,
  'bench/results/partition.json',
)
process.exit(0)

/** Missed writes over time after each heal, as one SVG line chart. */
function drawCurves(): void {
  const W = 760
  const H = 360
  const maxT = Math.max(...curves.flatMap((c) => c.curve.map(([t]) => t)), 1)
  const maxY = Math.max(...curves.flatMap((c) => c.curve.map(([, y]) => y)), 1)
  const x = (t: number) => 60 + (t / maxT) * (W - 220)
  const y = (v: number) => H - 40 - (v / maxY) * (H - 80)
  const colors = ['#4a7ebb', '#8cb4e0', '#1f4e8c', '#c0504d', '#e6a09e', '#8c1f1c']
  let svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="11">`
  svg += `<text x="10" y="18" font-size="13">Writes still missing on some node after the heal (ms since heal)</text>`
  svg += `<line x1="60" y1="${H - 40}" x2="${W - 160}" y2="${H - 40}" stroke="#333"/><line x1="60" y1="40" x2="60" y2="${H - 40}" stroke="#333"/>`
  svg += `<text x="60" y="${H - 24}">0</text><text x="${W - 190}" y="${H - 24}">${Math.round(maxT)} ms</text><text x="20" y="44">${maxY}</text>`
  curves.forEach((c, i) => {
    const pts = c.curve.map(([t, v]) => `${x(t).toFixed(1)},${y(v).toFixed(1)}`).join(' ')
    svg += `<polyline fill="none" stroke="${colors[i % colors.length]}" stroke-width="2" points="${pts}"/>`
    svg += `<text x="${W - 150}" y="${60 + i * 16}" fill="${colors[i % colors.length]}">${c.name}</text>`
  })
  svg += '</svg>\n'
  writeFileSync('bench/results/partition-convergence.svg', svg)
}

/** Keys whose version differs between the cut-off node and the others, at heal time. */
function countMissed(nodes: Cache<unknown>[]): number {
  const all = new Set<string>()
  for (const n of nodes) for (const k of n.keyspace('default').keys()) all.add(k)
  let missed = 0
  for (const k of all) {
    const vs = new Set(
      nodes.map((n) => JSON.stringify(replicaOf(n, 'default')!.index.get(k)?.version ?? null)),
    )
    if (vs.size > 1) missed++
  }
  return missed
}
