/**
 * bench:locality: under the default simulated WAN, what a read miss and each ack level
 * cost, from eu-west: a miss of a key no node holds (straight to the loader, with the
 * region's single flight; anchor: the mesh-wide lease), of a key evicted here and held
 * by a same-region peer, of a key held only in another region with a slow and a fast
 * loader, three nodes of a region missing one cold key; writes with ack local, peer,
 * quorum.
 * Run: npm run bench:locality
 */
import type { Cache } from '../src/api/cache.js'
import { hlcOf, replicaOf } from '../src/node/internals.js'
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
  const near2 = await start('eu-west', 3)
  const far = await start('us-east', 1)
  await start('ap-south', 1)
  while (!nodes.every((n) => n.admin.mesh!.peers().length === nodes.length - 1)) await sleep(50)
  await sleep(1_000)
  /** `holders` hold `key` at one version the `knowers` know without its value (evicted there). */
  const heldBy = (
    holders: Cache<unknown>[],
    knowers: Cache<unknown>[],
    ks: string,
    key: string,
  ) => {
    const v = hlcOf(holders[0]!).now()
    const base = [key, v.wall, v.logical, v.node, Date.now() + 600_000] as const
    for (const h of holders)
      replicaOf(h, ks)!.admitRemote([...base, 0, encodeValue(key, { key })], 'bench')
    for (const k of knowers) replicaOf(k, ks)!.admitRemote([...base, 2, null], 'bench')
  }
  const measure = async (
    name: string,
    op: (i: number) => Promise<unknown>,
    extra: () => Record<string, number> = () => ({}),
    ops = N,
  ) => {
    const xs: number[] = []
    for (let i = 0; i < ops; i++) {
      const t = performance.now()
      await op(i)
      xs.push(performance.now() - t)
    }
    rows.push({ name, ops, p50Ms: pct(xs, 0.5), p99Ms: pct(xs, 0.99), ...extra() })
  }
  const loader = (ms: number) => async () => {
    loads++
    await sleep(ms)
    return { loaded: true }
  }
  let loads = 0
  const load = loader(LOAD_MS)
  // Each keyspace learns its loader's latency from a few loads first.
  for (const [ks, ms] of [
    ['slow200', 200],
    ['fast5', 5],
  ] as const) {
    for (const n of nodes) n.keyspace(ks)
    while (!nodes.every((n) => n.admin.mesh!.subscribers(ks) === nodes.length - 1)) await sleep(50)
    for (let i = 0; i < 3; i++) await asker.keyspace(ks).fetch(`warm${i}`, { load: loader(ms) })
  }
  for (let i = 0; i < N; i++) await asker.set(`hit${i}`, i)
  await measure('get hit (in-process)', async (i) => asker.get(`hit${i}`))
  await measure(`miss, never written, ${LOAD_MS} ms loader`, (i) => asker.fetch(`nw${i}`, { load }))
  await measure(
    `  anchor: same, singleFlight 'mesh' (the lease owner may be a WAN hop away)`,
    (i) => asker.fetch(`nwm${i}`, { load, singleFlight: 'mesh' }),
  )
  await measure('miss, evicted here, held by a same-region peer', (i) => {
    heldBy([near], [asker], 'default', `n${i}`)
    return asker.fetch(`n${i}`, { load })
  })
  await measure(
    'miss, held only in us-east (40 ms away), 200 ms loader',
    (i) => {
      heldBy([far], [asker, near], 'slow200', `f${i}`)
      return asker.keyspace('slow200').fetch(`f${i}`, { load: loader(200) })
    },
    undefined,
    Math.min(N, 20),
  )
  await measure('miss, held only in us-east (40 ms away), 5 ms loader', (i) => {
    heldBy([far], [asker, near], 'fast5', `g${i}`)
    return asker.keyspace('fast5').fetch(`g${i}`, { load: loader(5) })
  })
  loads = 0
  const region = [asker, near, near2]
  await measure(
    'three eu-west nodes miss one cold key at once (20 ms loader)',
    (i) => Promise.all(region.map((n) => n.fetch(`c${i}`, { load }))),
    () => ({ loadsPerOp: loads / Math.min(N, 20) }),
    Math.min(N, 20),
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
