/**
 * bench:sweep: the background sweep's step time at 1M keys, step by step as the registry
 * runs it, through `createCache()` (embedded) and with the digest tree kept (a mesh node).
 * Passes: every value live; every value expiring; every version past its retention (the
 * pass that forgets a whole generation); then a second generation written over the
 * forgotten one and the same three passes again (slots and keys reused).
 *
 * Each step is timed in wall-clock time (what the event loop waits) and in the process's
 * CPU time (precise on Linux, but it counts GC helper threads too; this thread's own
 * figures move in 4 ms ticks there). V8's GC pauses that fall inside a step are recorded
 * (`PerformanceObserver`, 'gc') and shown apart: a full collection runs before each pass,
 * so what remains is the pass's own garbage and the old generation's marking. The
 * anchor: one `Map` of the same keys, deleted 512 at a time (what a shrinking key map
 * costs). Target of issue 29: every step <= 5 ms. Run: npm run bench:sweep [-- --keys N]
 */
import { loadavg } from 'node:os'
import { PerformanceObserver } from 'node:perf_hooks'
import { parseArgs } from 'node:util'
import { ManualClock } from '../src/clock/clock.js'
import { startNode } from '../src/node/create-cache.js'
import { internalsOf, replicaOf } from '../src/node/internals.js'
import { sweepStep } from '../src/replica/replica-registry.js'
import { report } from './harness.js'

const { values: args } = parseArgs({ options: { keys: { type: 'string', default: '1000000' } } })
const M = Number(args.keys)
const HOUR = 3_600_000
const DAY = 86_400_000
const value = { id: 1, name: 'Ada Lovelace', roles: ['admin'], active: true }
const round2 = (v: number) => Math.round(v * 100) / 100

/** GC pauses seen, [start, end] in performance.now() ms. */
const gcPauses: [number, number][] = []
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) gcPauses.push([e.startTime, e.startTime + e.duration])
}).observe({ entryTypes: ['gc'] })

/** Times calls of `step` until it says the pass is over. */
async function timed(step: () => boolean): Promise<Record<string, number>> {
  globalThis.gc?.()
  gcPauses.length = 0
  const spans: [number, number][] = []
  const cpu: number[] = []
  for (let more = true; more; ) {
    const c0 = process.cpuUsage()
    const t0 = performance.now()
    more = step()
    spans.push([t0, performance.now()])
    const c = process.cpuUsage(c0)
    cpu.push((c.user + c.system) / 1e3)
  }
  // GC entries arrive after the fact.
  await new Promise((r) => setTimeout(r, 50))
  const wall = spans.map(([a, b]) => b - a)
  const gc = spans.map(([a, b]) =>
    gcPauses.reduce((sum, [s, e]) => sum + Math.max(0, Math.min(b, e) - Math.max(a, s)), 0),
  )
  const noGc = wall.map((w, i) => w - gc[i]!)
  const sorted = (xs: number[]) => [...xs].sort((x, y) => x - y)
  const q = (xs: number[], p: number) =>
    round2(sorted(xs)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!)
  return {
    steps: wall.length,
    'wall p50': q(wall, 0.5),
    'wall p99': q(wall, 0.99),
    'wall max': q(wall, 1),
    'wall max w/o GC': q(noGc, 1),
    'GC in steps': round2(gc.reduce((a, b) => a + b, 0)),
    'cpu max': q(cpu, 1),
    'pass wall': round2(wall.reduce((a, b) => a + b, 0)),
  }
}

/** The anchor: what deleting every key of one `Map`, 512 at a time, costs per chunk. */
async function mapDeletes(keys: string[]): Promise<Record<string, number>> {
  const m = new Map<string, number>()
  for (const [i, k] of keys.entries()) m.set(k, i)
  let i = 0
  return timed(() => {
    for (const end = Math.min(keys.length, i + 512); i < end; i++) m.delete(keys[i]!)
    return i < keys.length
  })
}

async function run(mesh: boolean): Promise<Record<string, Record<string, number>>> {
  // A manual clock moves time by hand; the bench runs the sweep itself, step by step.
  const time = new ManualClock(Date.now())
  const cache = await startNode({ maxEntries: M, defaultTtl: '1h' }, { clock: time })
  internalsOf(cache).replicas.stopSweep()
  if (mesh) void cache.admin.digest('default')
  const replica = replicaOf(cache, 'default')!
  const clock = { monotonic: () => performance.now() }
  const pass = () =>
    timed(() => {
      sweepStep(replica, time.now(), clock)
      return replica.table.sweeping
    })
  const out: Record<string, Record<string, number>> = {}
  for (const gen of [1, 2]) {
    const t0 = performance.now()
    for (let i = 0; i < M; i++) await cache.set(`g${gen}:user:${i}:profile`, value)
    const setNs = Math.round(((performance.now() - t0) * 1e6) / M)
    out[`gen ${gen} live`] = { ...(await pass()), 'set ns/op (fill)': setNs }
    time.advance(2 * HOUR)
    out[`gen ${gen} expiring`] = await pass()
    time.advance(DAY)
    out[`gen ${gen} forgotten`] = await pass()
  }
  await cache.close()
  return out
}

const load0 = loadavg()[0]!
const anchor = await mapDeletes(Array.from({ length: M }, (_, i) => `user:${i}:profile`))
const embedded = await run(false)
const meshed = await run(true)
const rows = [
  { name: `Map of ${M} keys, 512 deletes per step (anchor)`, ...anchor },
  ...Object.entries(embedded).map(([pass, f]) => ({ name: `embedded: ${pass}`, ...f })),
  ...Object.entries(meshed).map(([pass, f]) => ({ name: `mesh (digest tree): ${pass}`, ...f })),
]
const load = [round2(load0), round2(loadavg()[0]!)]
report(`bench:sweep — ${M} keys, ms per sweep step`, rows, 'bench/results/sweep.json', {
  keys: M,
  loadavg: load,
})
console.log('loadavg (start, end):', load.join(', '))
