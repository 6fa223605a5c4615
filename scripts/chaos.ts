/**
 * The chaos run: real `meshcache node` processes in three regions, concurrent writers
 * with `ack=peer`, nodes killed with SIGKILL and restarted from their data dirs, and
 * partitions through the admin endpoint. A checker then verifies, over HTTP:
 * - every acknowledged write (or a newer one) is present on every node;
 * - all nodes agree on every key (same version, same live-or-deleted state);
 * - no deleted key came back (a node whose newest version is a delete serves 404);
 * - no read ever returned an expired value.
 * Used by `npm run bench:chaos` and, shortened, by test/process/chaos.test.ts.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { compareVersions, parseVersion, type Version } from '../src/clock/version.js'
import { WanSim } from '../src/sim/wan-sim.js'
import { kill9, type NodeProcess, spawnNode } from './cli-process.js'

/** Options of {@link runChaos}. */
export interface ChaosOptions {
  /** How long writers and chaos run, seconds. */
  seconds: number
  /** Keys written (small: many conflicts). @default 60 */
  keys?: number
  /** Progress lines. @default none */
  print?: (line: string) => void
  /** Put the node processes behind the simulated WAN (default latency matrix). @default false */
  wan?: boolean
}

/** What the run did and found. */
export interface ChaosReport {
  acked: number
  ackFailures: number
  reads: number
  kills: number
  partitions: number
  convergeMs: number
  violations: string[]
}

const REGIONS = ['us-east', 'eu-west', 'ap-south'] as const
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

interface Slot {
  region: string
  host: string
  dir: string
  node: NodeProcess | undefined
}

async function http(
  node: NodeProcess | undefined,
  path: string,
  init?: RequestInit,
): Promise<Response | undefined> {
  if (node === undefined) return undefined
  try {
    return await fetch(`${node.info.http}${path}`, { ...init, signal: AbortSignal.timeout(3_000) })
  } catch {
    return undefined
  }
}

/** Runs the chaos scenario and returns the checker's findings. */
export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const print = options.print ?? (() => {})
  const keyCount = options.keys ?? 60
  const slots: Slot[] = REGIONS.map((region, i) => ({
    region,
    host: `127.0.${i + 1}.41`,
    dir: mkdtempSync(join(tmpdir(), `meshcache-chaos-${region}-`)),
    node: undefined,
  }))
  const report: ChaosReport = {
    acked: 0,
    ackFailures: 0,
    reads: 0,
    kills: 0,
    partitions: 0,
    convergeMs: 0,
    violations: [],
  }
  const newest = new Map<string, { version: Version; deleted: boolean }>()
  // Optionally a WAN between the processes: each dials through the simulator's proxies,
  // whose routes it reads from a file rewritten as nodes (re)start on new ports.
  const sim = options.wan ? new WanSim() : undefined
  const routesDir = mkdtempSync(join(tmpdir(), 'meshcache-chaos-routes-'))
  const publishRoutes = () => {
    for (const r of REGIONS)
      writeFileSync(join(routesDir, `${r}.json`), JSON.stringify(sim?.routes(r) ?? {}))
  }
  publishRoutes()
  const start = async (slot: Slot) => {
    const peers = slots
      .filter((s) => s !== slot && s.node)
      .flatMap((s) => ['--peer', s.node!.info.addresses[0]!])
    slot.node = await spawnNode([
      '--region',
      slot.region,
      '--listen',
      `/ip4/${slot.host}/tcp/0`,
      '--http',
      `${slot.host}:0`,
      '--data-dir',
      slot.dir,
      '--snapshot-interval',
      '250ms',
      '--admin',
      ...(sim ? ['--wan-routes', join(routesDir, `${slot.region}.json`)] : []),
      ...peers,
    ])
    if (sim) {
      await sim.addNode(slot.region, slot.node.info.addresses[0]!)
      publishRoutes()
    }
  }
  let running = true
  try {
    for (const slot of slots) await start(slot)
    const connected = async () => {
      for (const s of slots) {
        const r = await http(s.node, '/status')
        const st = r?.ok ? ((await r.json()) as { mesh: { peers: unknown[] } }) : undefined
        if ((st?.mesh.peers.length ?? 0) < slots.length - 1) return false
      }
      return true
    }
    for (let t = Date.now(); !(await connected()); ) {
      if (Date.now() - t > 30_000) throw new Error('chaos: the mesh did not form')
      await sleep(100)
    }
    print(`mesh of ${slots.length} node processes formed; chaos for ${options.seconds} s`)

    const record = (key: string, res: Response, deleted: boolean) => {
      const version = parseVersion(res.headers.get('x-version') ?? '')
      if (version === undefined) return
      report.acked++
      const prev = newest.get(key)
      if (prev === undefined || compareVersions(version, prev.version) > 0)
        newest.set(key, { version, deleted })
    }
    const writer = async (slot: Slot, seed: number) => {
      let i = seed
      while (running) {
        i = (i * 1103515245 + 12345) & 0x7fffffff
        const key = `k${i % keyCount}`
        const del = i % 7 === 0
        const res = await http(
          slot.node,
          `/v1/default/${key}?ack=peer&ackTimeout=1s${del ? '' : '&ttl=10m'}`,
          {
            method: del ? 'DELETE' : 'PUT',
            ...(del
              ? {}
              : {
                  body: JSON.stringify({ by: slot.region, i }),
                  headers: { 'content-type': 'application/json' },
                }),
          },
        )
        if (res?.status === 200) record(key, res, del)
        else if (res) report.ackFailures++ // 504 while cut off or reconnecting: not acknowledged
        await res?.arrayBuffer().catch(() => undefined)
        // Reads: a served value must never be past its expiry.
        const readAt = Date.now()
        const r = await http(slot.node, `/v1/default/k${(i >> 3) % keyCount}`)
        if (r?.status === 200) {
          report.reads++
          const exp = Number(r.headers.get('x-expires-at'))
          if (!(exp > readAt - 5)) report.violations.push(`expired value served by ${slot.region}`)
        }
        await r?.arrayBuffer().catch(() => undefined)
        if (!slot.node) await sleep(50)
      }
    }
    const writers = slots.map((s, i) => writer(s, i * 7919 + 1))

    const deadline = Date.now() + options.seconds * 1000
    let n = 0
    // At least two kills and a partition however slow the machine (a starved host restarts
    // a node in seconds, and the run must still exercise what it claims).
    while (Date.now() < deadline || report.kills < 2 || report.partitions < 1) {
      await sleep(1_200 + Math.random() * 800)
      const victim = slots[n++ % slots.length]!
      if (n % 2 === 1) {
        print(`kill -9 ${victim.region}`)
        report.kills++
        const node = victim.node!
        victim.node = undefined
        await kill9(node.proc)
        await sleep(300 + Math.random() * 500)
        await start(victim)
        print(
          `restarted ${victim.region} (same peer id: ${victim.node!.info.peerId === node.info.peerId})`,
        )
        if (victim.node!.info.peerId !== node.info.peerId)
          report.violations.push(`${victim.region} changed peer id on restart`)
      } else {
        print(`partition ${victim.region} from the others`)
        report.partitions++
        const others = slots.filter((s) => s !== victim)
        const body = (peers: string[]) => ({
          method: 'POST',
          body: JSON.stringify({ peers }),
          headers: { 'content-type': 'application/json' },
        })
        await http(victim.node, '/admin/block', body(others.map((o) => o.node!.info.peerId)))
        for (const o of others) await http(o.node, '/admin/block', body([victim.node!.info.peerId]))
        await sleep(800 + Math.random() * 700)
        for (const s of slots) {
          await http(s.node, '/admin/unblock', {
            method: 'POST',
            body: '{}',
            headers: { 'content-type': 'application/json' },
          })
        }
        print(`healed ${victim.region}`)
      }
    }
    running = false
    await Promise.all(writers)
    for (const s of slots)
      await http(s.node, '/admin/unblock', {
        method: 'POST',
        body: '{}',
        headers: { 'content-type': 'application/json' },
      })

    // Convergence: every node on the same version of every key, at least the newest acked one.
    const healStart = Date.now()
    const keys = Array.from({ length: keyCount }, (_, i) => `k${i}`)
    const look = async () => {
      const problems: string[] = []
      for (const key of keys) {
        const seen: { v: Version | undefined; live: boolean; region: string }[] = []
        for (const s of slots) {
          const r = await http(s.node, `/v1/default/${key}`)
          seen.push({
            v: parseVersion(r?.headers.get('x-version') ?? ''),
            live: r?.status === 200,
            region: s.region,
          })
          await r?.arrayBuffer().catch(() => undefined)
        }
        const want = newest.get(key)
        for (const x of seen) {
          if (want && (x.v === undefined || compareVersions(x.v, want.version) < 0)) {
            problems.push(`${x.region} lost the acknowledged write of ${key}`)
          }
          if (want && x.v && compareVersions(x.v, want.version) === 0 && want.deleted && x.live) {
            problems.push(`${x.region} resurrected deleted ${key}`)
          }
        }
        const versions = new Set(
          seen.map((x) => `${x.v ? `${x.v.wall}.${x.v.logical}.${x.v.node}` : '-'}/${x.live}`),
        )
        if (versions.size > 1) problems.push(`nodes disagree on ${key}`)
      }
      return problems
    }
    let problems = await look()
    while (problems.length > 0 && Date.now() - healStart < 30_000) {
      await sleep(250)
      problems = await look()
    }
    report.convergeMs = Date.now() - healStart
    report.violations.push(...problems)
    return report
  } finally {
    running = false
    await Promise.all(slots.map((s) => (s.node ? kill9(s.node.proc) : undefined)))
    for (const s of slots) rmSync(s.dir, { recursive: true, force: true })
    await sim?.close()
    rmSync(routesDir, { recursive: true, force: true })
  }
}
