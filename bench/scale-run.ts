/**
 * One bench:scale configuration: N nodes in 10 regions behind the simulated WAN, through
 * its phases (bench/scale-phases.ts). A configuration that cannot go on (a host died, a
 * command went unanswered) returns what it measured so far, never throws.
 */
import { loadavg } from 'node:os'
import { type CpuMark, cpuBetween, Fleet } from './scale-fleet.js'
import { nodePlace, SCALE_REGIONS } from './scale-matrix.js'
import { ConfigRun, log, type RunTiming, SOLO, WRITER } from './scale-phases.js'
import { profileFileOf, startProfile, stopProfile } from './scale-profile.js'
import type { MeshBounds, NodeSpec, Routes } from './scale-protocol.js'
import type { ScaleResult } from './scale-report.js'

/** Host processes running most nodes; one more runs one node alone, one more the victims. */
const HOSTS = 4
const START_TIMEOUT_MS = 180_000
/** Replication counters a join profile's log line shows (what the links carried meanwhile). */
const JOIN_COUNTERS = [
  'framesIn',
  'framesOut',
  'bytesOut',
  'relayed',
  'duplicates',
  'syncSessions',
  'syncBytesIn',
  'syncBytesOut',
]

/** Runs one configuration of `n` nodes; never throws: what went wrong is in `notes`. */
export async function runConfig(
  n: number,
  bounds: MeshBounds,
  label: string,
  port: number,
  timing: RunTiming,
): Promise<ScaleResult> {
  const result: ScaleResult = { label, nodes: n, regions: SCALE_REGIONS.length, notes: [] }
  const victims = new Set(
    Array.from({ length: Math.max(1, Math.round(n / 10)) }, (_, i) => n - 1 - i),
  )
  const fleet = new Fleet([
    ...Array.from({ length: HOSTS }, (_, i) => `host ${i}`),
    'solo host',
    'victim host',
    'seed host',
  ])
  const soloHost = fleet.hosts[HOSTS]!
  const victimHost = fleet.hosts[HOSTS + 1]!
  // The seed, every joiner's bootstrap peer, runs alone as a seed node would: behind 24
  // other nodes on one event loop it answered handshakes seconds late and joiners' dials
  // to it timed out for 100 s and more (docs/decisions/join-under-load.md).
  const seedHost = fleet.hosts[HOSTS + 2]!
  const specs: NodeSpec[] = []
  for (let idx = 0; idx < n; idx++) {
    const spec: NodeSpec = { idx, ...nodePlace(idx, port), peers: [] }
    specs.push(spec)
    const host = victims.has(idx)
      ? victimHost
      : idx === SOLO
        ? soloHost
        : idx === 0
          ? seedHost
          : fleet.hosts[idx % HOSTS]!
    host.nodes.push(spec)
  }
  let first: CpuMark | undefined
  try {
    log(`N=${n} ${label}: starting`)
    // Each host's WAN worker opens the proxies of its own nodes; every host gets all routes.
    const routes: Routes = {}
    for (const h of fleet.hosts) {
      const r = await h.ask({ t: 'wan', nodes: h.nodes })
      for (const [region, table] of Object.entries(r.routes))
        routes[region] = { ...routes[region], ...table }
    }
    for (const h of fleet.hosts) await h.ask({ t: 'routes', routes })
    first = await fleet.mark()
    const run = new ConfigRun(n, timing, specs, fleet, result)

    // With --profile-solo: the join profiled in the seed's host and in the solo node's.
    const joinProfiles = [fleet.hostOf(0), soloHost].map((h, i) => ({
      host: h,
      file: profileFileOf(
        timing.profileSoloDir,
        h,
        n,
        label,
        i === 0 ? 'join-seed-host' : 'join-solo',
      ),
    }))
    for (const p of joinProfiles) await startProfile(p.host, p.file)
    // Launch: the seed first (its address is everyone's bootstrap), then all others at once.
    const t0 = performance.now()
    const seed = await fleet
      .hostOf(0)
      .ask({ t: 'start', nodes: [specs[0]!], bounds }, START_TIMEOUT_MS)
    if (seed.error) throw new Error(`the seed did not start: ${seed.error}`)
    const seedAddr = seed.nodes[0]!.address
    const started = await Promise.all(
      fleet.hosts.map((h) =>
        h.ask(
          {
            t: 'start',
            nodes: h.nodes.filter((s) => s.idx !== 0).map((s) => ({ ...s, peers: [seedAddr] })),
            bounds,
          },
          START_TIMEOUT_MS,
        ),
      ),
    )
    for (const s of started) if (s.error) throw new Error(`a node did not start: ${s.error}`)
    log(`N=${n}: nodes started in ${((performance.now() - t0) / 1000).toFixed(1)} s`)

    result.join = await run.join(t0)
    for (const p of joinProfiles) {
      const w = await stopProfile(p.host, p.file)
      if (w !== undefined)
        log(
          `N=${n}: join profile ${w.file}: main thread ${(w.threadCpuUs / 1000).toFixed(0)} ms of CPU in ${(w.wallMs / 1000).toFixed(1)} s; ${JOIN_COUNTERS.map((k) => `${k} ${w.counters[k] ?? 0}`).join(', ')}`,
        )
    }
    result.idle = await run.idle()
    result.one = await run.writes('one', [WRITER], timing.rate)
    result.many = await run.writes('many', undefined, timing.rate / n)
    await run.partition()
    await run.kill(victims, victimHost)
  } catch (err) {
    result.notes.push(`stopped: ${(err as Error).message.split('\n')[0]}`)
    log(`N=${n}: stopped: ${(err as Error).stack}`)
  } finally {
    if (first !== undefined) {
      const last = await fleet.mark().catch(() => undefined)
      if (last) result.shares = cpuBetween(first, last, loadavg()[0]!).shares
    }
    await fleet.close()
    result.notes.push(...fleet.notes)
  }
  log(`N=${n} ${label}: ${JSON.stringify(result)}`)
  return result
}
