/**
 * bench:locality: under the default simulated WAN, what a read miss and each ack level
 * cost, from eu-west: a miss served by a peer in the same region, by a remote region
 * (us-east, 40 ms away), or by the loader; writes with ack local, peer, quorum.
 * Run: npm run bench:locality
 */
import type { Cache } from '../src/api/cache.js'
import { encodeValue } from '../src/replication/value-codec.js'
import { startSimNode } from '../src/sim/sim-node.js'
import { WanSim } from '../src/sim/wan-sim.js'
import { type BenchRow, report } from './harness.js'

const N = Number(process.env.OPS ?? 50)
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const pct = (xs: number[], q: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))]!
const LOAD_MS = 20 // a fast origin database

const sim = new WanSim()
const nodes: Cache<unknown>[] = []
const rows: BenchRow[] = []
try {
  const start = async (region: string, n: number) => {
    const c = await startSimNode(sim, region, n, {
      peers: nodes[0] ? [nodes[0].addresses()[0]!] : [],
    })
    nodes.push(c)
    return c
  }
  const asker = await start('eu-west', 1)
  const near = await start('eu-west', 2)
  const far = await start('us-east', 1)
  await start('ap-south', 1)
  while (!nodes.every((n) => n.admin.mesh!.peers().length === nodes.length - 1)) await sleep(50)
  await sleep(1_000)
  const hold = (node: Cache<unknown>, key: string) => {
    const v = node.clock.now()
    node.admin
      .replica('default')!
      .admitRemote(
        [key, v.wall, v.logical, v.node, Date.now() + 600_000, 0, encodeValue(key, { key })],
        'bench',
      )
  }
  const measure = async (name: string, op: (i: number) => Promise<unknown>) => {
    const xs: number[] = []
    for (let i = 0; i < N; i++) {
      const t = performance.now()
      await op(i)
      xs.push(performance.now() - t)
    }
    rows.push({ name, ops: N, p50Ms: pct(xs, 0.5), p99Ms: pct(xs, 0.99) })
  }
  const load = async () => {
    await sleep(LOAD_MS)
    return { loaded: true }
  }
  for (let i = 0; i < N; i++) await asker.set(`hit${i}`, i)
  await measure('get hit (in-process)', async (i) => asker.get(`hit${i}`))
  await measure('fetch miss served by same-region peer', (i) => {
    hold(near, `n${i}`)
    return asker.fetch(`n${i}`, { load })
  })
  await measure('fetch miss served by remote region (us-east)', (i) => {
    hold(far, `f${i}`)
    return asker.fetch(`f${i}`, { load })
  })
  await measure(`fetch miss served by the loader (${LOAD_MS} ms origin)`, (i) =>
    asker.fetch(`l${i}`, { load }),
  )
  await measure("set, ack: 'local'", (i) => asker.set(`a${i}`, i))
  await measure("set, ack: 'peer'", (i) => asker.set(`p${i}`, i, { ack: 'peer' }))
  await measure("set, ack: 'quorum'", (i) => asker.set(`q${i}`, i, { ack: 'quorum' }))
  await measure("fetch, consistency: 'quorum'", (i) =>
    asker.fetch(`q${i}`, { consistency: 'quorum' }),
  )
} finally {
  await Promise.allSettled(nodes.map((n) => n.close()))
  await sim.close()
}
report(
  'bench:locality — from eu-west; peers: eu-west (1 ms), us-east (40 ms), ap-south (60 ms) one way',
  rows,
  'bench/results/locality.json',
)
process.exit(0)
