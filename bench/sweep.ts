/**
 * bench:sweep: the background sweep's step time at 1M keys, step by step as the registry
 * runs it, through `createCache()` (embedded) and with the digest tree kept (a mesh node).
 * Passes: every value live; every value expiring; every version past its retention (the
 * pass that forgets a whole generation); then a second generation written over the
 * forgotten one and the same three passes again (slots and keys reused).
 *
 * Issue 29's target is CPU: every step <= 5 ms of this thread's CPU. Each step is timed in
 * wall-clock time (what the event loop waits) and in the main thread's own CPU time, read
 * from /proc/thread-self/schedstat (ns). The process's CPU (`process.cpuUsage`) counts V8's
 * helper threads (concurrent sweeper and marker, optimizing compiler), and the thread's
 * rusage (`process.threadCpuUsage`) moves in 4 ms ticks, so neither can judge a 5 ms step.
 * A step takes more wall time than CPU when the thread is switched out (V8's helper threads
 * or other processes hold the cores): the steps over 5 ms wall are counted, and those of
 * them during which the thread was switched out (involuntary context switches, from
 * /proc/thread-self/status). A pause of the whole VM by its host counts as CPU too where
 * the guest does not account steal time. Where /proc is missing these columns show n/a.
 *
 * V8's GC pauses that fall inside a step are recorded (`PerformanceObserver`, 'gc') and
 * shown apart: a full collection runs before each pass, then the pass waits a few hundred
 * ms so that it does not start against the concurrent sweeping that collection leaves to
 * the helper threads; what remains is the pass's own garbage and the old generation's
 * marking (incremental marking steps, run inside the step's own allocations, are not
 * reported there and stay in its wall and CPU). The anchor: one `Map` of the same keys,
 * deleted 512 at a time (what a shrinking key map costs).
 * Run: npm run bench:sweep [-- --keys N]
 */
import { existsSync, readFileSync } from 'node:fs'
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
/** Issue 29's bound on one sweep step, ms. */
const TARGET_MS = 5
const value = { id: 1, name: 'Ada Lovelace', roles: ['admin'], active: true }
const round2 = (v: number) => Math.round(v * 100) / 100

/** GC pauses seen, [start, end] in performance.now() ms. */
const gcPauses: [number, number][] = []
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) gcPauses.push([e.startTime, e.startTime + e.duration])
}).observe({ entryTypes: ['gc'] })

/** Whether this thread's /proc files can be read (Linux); if not, the thread columns say n/a. */
const hasThreadStats = existsSync('/proc/thread-self/schedstat')

/**
 * This thread's CPU time in ms. The kernel adds the running thread's latest stretch to its
 * schedstat only when asked through certain calls; `process.cpuUsage()` (getrusage) is one,
 * so it runs first, else a read inside a stretch would miss up to a scheduler tick.
 */
function threadCpuMs(): number {
  process.cpuUsage()
  return Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]) / 1e6
}

/** How many times this thread has been switched out while it could still run. */
function involuntarySwitches(): number {
  const status = readFileSync('/proc/thread-self/status', 'utf8')
  return Number(/^nonvoluntary_ctxt_switches:\s+(\d+)/m.exec(status)?.[1])
}

/**
 * Times calls of `step` until it says the pass is over. The thread's figures are read
 * outside the wall-clock span, so their cost shows in the thread's CPU (tens of us per
 * step), not in the wall time.
 */
async function timed(step: () => boolean): Promise<Record<string, number | string>> {
  globalThis.gc?.()
  // The collection leaves sweeping to V8's helper threads; let it finish off the cores.
  await new Promise((r) => setTimeout(r, 300))
  gcPauses.length = 0
  const spans: [number, number][] = []
  const cpu: number[] = []
  const switchedOut: boolean[] = []
  for (let more = true; more; ) {
    const s0 = hasThreadStats ? involuntarySwitches() : 0
    const c0 = hasThreadStats ? threadCpuMs() : 0
    const t0 = performance.now()
    more = step()
    spans.push([t0, performance.now()])
    if (!hasThreadStats) continue
    cpu.push(threadCpuMs() - c0)
    switchedOut.push(involuntarySwitches() > s0)
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
  const over = wall.flatMap((w, i) => (w > TARGET_MS ? [i] : []))
  return {
    steps: wall.length,
    'wall p50': q(wall, 0.5),
    'wall p99': q(wall, 0.99),
    'wall max': q(wall, 1),
    'wall max w/o GC': q(noGc, 1),
    'GC in steps': round2(gc.reduce((a, b) => a + b, 0)),
    'thread CPU max': hasThreadStats ? q(cpu, 1) : 'n/a',
    [`steps > ${TARGET_MS} ms wall`]: over.length,
    [`> ${TARGET_MS} ms, switched out`]: hasThreadStats
      ? over.filter((i) => switchedOut[i]).length
      : 'n/a',
    'pass wall': round2(wall.reduce((a, b) => a + b, 0)),
  }
}

/** The anchor: what deleting every key of one `Map`, 512 at a time, costs per chunk. */
async function mapDeletes(keys: string[]): Promise<Record<string, number | string>> {
  const m = new Map<string, number>()
  for (const [i, k] of keys.entries()) m.set(k, i)
  let i = 0
  return timed(() => {
    for (const end = Math.min(keys.length, i + 512); i < end; i++) m.delete(keys[i]!)
    return i < keys.length
  })
}

async function run(mesh: boolean): Promise<Record<string, Record<string, number | string>>> {
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
  const out: Record<string, Record<string, number | string>> = {}
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
