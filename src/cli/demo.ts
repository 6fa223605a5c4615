/**
 * `meshcache demo`: a local mesh of three regions, two nodes each, behind the simulated
 * WAN (default latency matrix). Writes in every region, shows lag per region pair, cuts
 * a region off, keeps writing on both sides, heals, and checks that every node agrees
 * and no write was lost. Exits 0 when convergence is proved, 1 otherwise.
 */
import type { Cache } from '../api/cache.js'
import { type Clock, SystemClock } from '../clock/clock.js'
import { compareVersions, type Version } from '../clock/version.js'
import { DEFAULT_MATRIX, type LatencyMatrix } from '../sim/latency-matrix.js'
import { startSimNode } from '../sim/sim-node.js'
import { WanSim } from '../sim/wan-sim.js'

/** Options of {@link runDemo}. */
export interface DemoOptions {
  matrix?: LatencyMatrix
  /** Seconds of each writing phase. @default 3 */
  phaseSeconds?: number
  /** Writes per second per node. @default 100 */
  rate?: number
  /** Where lines go. @default console.log */
  print?: (line: string) => void
  /**
   * What the demo reads time and sleeps on (its nodes have their own). @default the system
   * clock, its waits keeping the process alive
   */
  clock?: Clock
}

/** What the demo proved, for tests and the exit code. */
export interface DemoResult {
  converged: boolean
  lostWrites: number
  healMs: number
  lag: Record<string, { p50: number; p99: number; oneWay: number; n: number }>
  writes: number
}

const meshOf = (c: Cache<unknown>) => c.admin.mesh!
const versionOf = (c: Cache<unknown>, key: string) => c.admin.version('default', key)
const pct = (xs: number[], q: number) => {
  if (xs.length === 0) return Number.NaN
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!
}
const bold = (s: string) => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s)
const green = (s: string) => (process.stdout.isTTY ? `\x1b[32m${s}\x1b[0m` : s)
const red = (s: string) => (process.stdout.isTTY ? `\x1b[31m${s}\x1b[0m` : s)

/** Mean ms per batch of each replication stage, summed over the nodes' traces. */
function stageLine(nodes: Cache<unknown>[]): string {
  const sums = new Map<string, { ms: number; n: number }>()
  for (const node of nodes) {
    for (const [stage, h] of Object.entries(node.stats().mesh!.stages)) {
      const s = sums.get(stage) ?? { ms: 0, n: 0 }
      s.ms += h.sumMs
      s.n += h.count
      sums.set(stage, s)
    }
  }
  return [...sums]
    .map(([stage, { ms, n }]) => `${stage} ${n === 0 ? '-' : (ms / n).toFixed(2)}`)
    .join(', ')
}

/** Runs the demo scenario. */
export async function runDemo(options: DemoOptions = {}): Promise<DemoResult> {
  const matrix = options.matrix ?? DEFAULT_MATRIX
  const phase = (options.phaseSeconds ?? 3) * 1000
  const rate = options.rate ?? 100
  const print = options.print ?? ((l: string) => console.log(l))
  const clock = options.clock ?? new SystemClock({ keepAlive: true })
  const sleep = (ms: number) => clock.sleep(ms)
  const sim = new WanSim(matrix)
  const nodes: Cache<unknown>[] = []
  /** Newest version written per key, to check that nothing was lost. */
  const newest = new Map<string, { version: Version; deleted: boolean }>()
  const lags = new Map<string, number[]>()
  let writes = 0
  try {
    print(bold(`meshcache demo: ${matrix.regions.length} regions x 2 nodes behind a simulated WAN`))
    for (const [a, b] of [
      ['us-east', 'eu-west'],
      ['us-east', 'ap-south'],
      ['eu-west', 'ap-south'],
    ] as const) {
      if (matrix.regions.includes(a) && matrix.regions.includes(b))
        print(`  ${a} <-> ${b}: ${sim.latency(a, b)} ms one way`)
    }
    for (const region of matrix.regions) {
      for (const n of [1, 2]) {
        const peers = nodes.length > 0 ? [nodes[0]!.addresses()[0]!] : []
        const node = await startSimNode(sim, region, n, { peers, mesh: { syncIntervalMs: 1_000 } })
        node.on('change', (e) => {
          if (e.origin !== 'remote') return
          const k = `${e.region} -> ${region}`
          const l = lags.get(k) ?? []
          if (l.length === 0) lags.set(k, l)
          l.push(clock.now() - e.version.wall)
        })
        nodes.push(node)
      }
    }
    const total = nodes.length
    const t0 = clock.monotonic()
    while (!nodes.every((n) => meshOf(n).subscribers('default') === total - 1)) {
      if (clock.monotonic() - t0 > 30_000) throw new Error('the mesh did not form within 30 s')
      await sleep(50)
    }
    print(
      `${green('✓')} mesh formed: ${total} nodes, every node connected to every other (${Math.round(clock.monotonic() - t0)} ms)`,
    )

    const write = async (node: Cache<unknown>, key: string, del: boolean) => {
      let version: Version
      if (del) {
        await node.delete(key)
        version = versionOf(node, key)!.version
      } else {
        version = await node.set(key, { from: node.region, at: clock.now() })
      }
      const prev = newest.get(key)
      if (prev === undefined || compareVersions(version, prev.version) > 0)
        newest.set(key, { version, deleted: del })
      writes++
    }
    const writeFor = async (ms: number, who: Cache<unknown>[], label: string) => {
      const end = clock.monotonic() + ms
      let i = 0
      while (clock.monotonic() < end) {
        for (const node of who) {
          // Mostly fresh keys, some shared hot keys written from every region, some deletes.
          const shared = i % 10 === 0
          const key = shared ? `hot:${i % 50}` : `${node.region}:${node.nodeId.slice(-4)}:${i}`
          await write(node, key, shared && i % 30 === 0)
        }
        i++
        if (i % 20 === 0) {
          const left = Math.max(0, Math.ceil((end - clock.monotonic()) / 1000))
          if (process.stdout.isTTY)
            process.stdout.write(`\r  ${label}: ${writes} writes, ${left}s left   `)
        }
        await sleep(1000 / rate)
      }
      if (process.stdout.isTTY) process.stdout.write('\r\x1b[K')
    }

    print(bold('\n1. Replication: every region writes'))
    await writeFor(phase, nodes, 'writing')
    await sleep(300)
    const lagRows: DemoResult['lag'] = {}
    for (const [pair, xs] of [...lags.entries()].sort()) {
      const [from, , to] = pair.split(' ')
      const oneWay = sim.latency(from!, to!)
      lagRows[pair] = { p50: pct(xs, 0.5), p99: pct(xs, 0.99), oneWay, n: xs.length }
      print(
        `  ${pair.padEnd(22)} lag p50 ${String(pct(xs, 0.5)).padStart(4)} ms  p99 ${String(pct(xs, 0.99)).padStart(4)} ms  (one way ${oneWay} ms, ${xs.length} writes)`,
      )
    }

    print(`  where it goes (mean per batch, all nodes): ${stageLine(nodes)}`)

    const cut = matrix.regions[matrix.regions.length - 1]!
    const island = nodes.filter((n) => n.region === cut)
    const mainland = nodes.filter((n) => n.region !== cut)
    print(
      bold(
        `\n2. Partition: ${cut} is cut off (link dark, connections dropped); both sides keep writing`,
      ),
    )
    // The WAN link goes dark and the connections drop (as after a long outage): only
    // anti-entropy can bring the two sides back together.
    sim.isolate(cut)
    await Promise.all([
      ...island.map((n) => meshOf(n).block(mainland.map((m) => m.nodeId))),
      ...mainland.map((n) => meshOf(n).block(island.map((m) => m.nodeId))),
    ])
    await writeFor(phase, nodes, 'writing on both sides')
    const missing = (n: Cache<unknown>) => [...newest.keys()].filter((k) => !agrees(n, k)).length
    const agrees = (n: Cache<unknown>, key: string) => {
      const want = newest.get(key)!
      const got = versionOf(n, key)
      return got !== undefined && compareVersions(got.version, want.version) === 0
    }
    print(
      `  ${cut} nodes are missing ${missing(island[0]!)} writes; the others are missing ${missing(mainland[0]!)}`,
    )

    print(bold('\n3. Heal: the cut is lifted; gossip and anti-entropy repair'))
    const healStart = clock.monotonic()
    sim.heal()
    for (const n of nodes) meshOf(n).unblock()
    let converged = false
    while (clock.monotonic() - healStart < 30_000) {
      const behind = nodes.map(missing)
      if (process.stdout.isTTY)
        process.stdout.write(`\r  writes still missing per node: ${behind.join(' ')}   `)
      if (behind.every((b) => b === 0)) {
        converged = true
        break
      }
      await sleep(100)
    }
    const healMs = Math.round(clock.monotonic() - healStart)
    if (process.stdout.isTTY) process.stdout.write('\r\x1b[K')
    const roots = new Set(nodes.map((n) => n.admin.digest('default')))
    const lostWrites = nodes.reduce((acc, n) => acc + missing(n), 0)
    const repaired = nodes.reduce((acc, n) => acc + n.stats().mesh!.replication.syncPulled, 0)
    print(
      `  converged in ${healMs} ms; anti-entropy moved ${repaired} entries; digest roots ${roots.size === 1 ? 'identical' : 'differ'}`,
    )

    print(bold('\nSummary'))
    const ok = converged && roots.size === 1 && lostWrites === 0
    print(
      `  ${ok ? green('✓') : red('✗')} all ${total} nodes agree on all ${newest.size} keys (${writes} writes, deletes included)`,
    )
    print(`  ${lostWrites === 0 ? green('✓') : red('✗')} ${lostWrites} lost writes`)
    const over = Object.values(lagRows).map((r) => r.p50 - r.oneWay)
    print(
      `  median lag over the one-way latency: +${Math.min(...over)} to +${Math.max(...over)} ms per region pair` +
        ' (all six nodes share one thread here; see BENCHMARKS.md for bench:geo)',
    )
    return { converged: ok, lostWrites, healMs, lag: lagRows, writes }
  } finally {
    await Promise.allSettled(nodes.map((n) => n.close()))
    await sim.close()
  }
}
