/**
 * One bench:scale configuration: N nodes in 10 regions behind the simulated WAN, through
 * its phases (form, idle, one writer, N writers, a region cut, 10 % killed). A phase that
 * times out is reported and the next one runs; a configuration that cannot go on (a host
 * died, a command went unanswered) returns what it measured so far.
 */
import { loadavg } from 'node:os'
import { setTimeout as sleep } from 'node:timers/promises'
import { encodeBatch } from '../src/replication/batch-codec.js'
import type { EntryTuple } from '../src/replication/entry-tuple.js'
import { msgpack } from '../src/replication/value-codec.js'
import { type CpuDelta, type CpuMark, cpuBetween, Fleet, type Host } from './scale-fleet.js'
import { nodePlace, SCALE_REGIONS, scaleLatency } from './scale-matrix.js'
import type { HostCounters, MeshBounds, NodeSpec, NodeState, Routes } from './scale-protocol.js'
import {
  type IdleFigures,
  type JoinFigures,
  pct,
  type ScaleResult,
  type WriteFigures,
} from './scale-report.js'

/** Settings of a run (`--quick` shortens the windows, `--rate` changes the write rate). */
export interface RunTiming {
  /** Mesh-wide write rate of the write phases and of the kill phase, writes/s. */
  rate: number
  /** Longest wait for every node to know every member and have its planned links, ms. */
  joinTimeoutMs: number
  idleMs: number
  writeMs: number
  /** Longest wait for every node to have every write of a phase, ms. */
  drainMs: number
  cutMs: number
}

/** Mesh-wide write rate of the write phases, writes/s: issue 26's. */
export const RATE = 500
/** Mesh-wide write rate while a region is cut off, writes/s. */
export const CUT_RATE = 100
/** Host processes running most nodes; one more runs one node alone, one more the victims. */
const HOSTS = 4
/** The node that runs alone in its process. */
const SOLO = 1
/** The writer of the one-writer regime (and of the probe). */
const WRITER = 0
const PROBE_TIMEOUT_MS = 30_000
const START_TIMEOUT_MS = 180_000
/** Extra wait for a host's answer to 'write', beyond the writing itself, ms. */
const WRITE_SLACK_MS = 30_000
const SETTLE_MS = 2_000
const PROGRESS_EVERY_MS = 15_000
const VALUE = { id: 1, name: 'Ada Lovelace', email: 'ada@example.com', tags: ['a', 'b'] }

const log = (s: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${s}`)
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length)
const sum = (xs: Iterable<number>) => {
  let s = 0
  for (const x of xs) s += x
  return s
}

async function until(cond: () => Promise<boolean>, timeoutMs: number, everyMs = 250) {
  const end = performance.now() + timeoutMs
  while (performance.now() < end) {
    if (await cond()) return true
    await sleep(everyMs)
  }
  return false
}

/** Bytes a write adds to a batch of `perBatch` writes of the bench's shape (msgpack codec). */
function batchBytesPerWrite(perBatch: number): number {
  const k = Math.max(1, Math.round(perBatch))
  const value = msgpack.pack(VALUE)
  const origin = '12D3KooW'.padEnd(52, 'x')
  const now = Date.now()
  const records = Array.from(
    { length: k },
    (_, i) => [`many:42:${i}`, now, 0, origin, now + 600_000, 0, value] as EntryTuple,
  )
  const batch = {
    origin,
    region: 'us-east',
    keyspace: 'default',
    sentAt: now,
    incarnation: now,
    seq: 1,
    records,
  }
  return encodeBatch(batch).length / k
}

/** Regions whose members name different hubs in their own plans; logs who names whom. */
function hubSplits(states: Map<number, NodeState>): number {
  const byRegion = new Map<string, Map<string, number[]>>()
  for (const [idx, s] of states) {
    let views = byRegion.get(s.region)
    if (views === undefined) {
      views = new Map()
      byRegion.set(s.region, views)
    }
    const hub = s.hubId ?? 'none'
    views.set(hub, [...(views.get(hub) ?? []), idx])
  }
  let splits = 0
  for (const [region, views] of byRegion) {
    if (views.size <= 1) continue
    splits++
    const who = [...views].map(([hub, idxs]) => `${hub.slice(-6)} by nodes ${idxs.join(',')}`)
    log(`hub of ${region} named differently: ${who.join('; ')}`)
  }
  return splits
}

/** One-way latency between two regions of the scale matrix, ms (1 ms inside a region). */
function oneWay(from: string, to: string): number {
  if (from === to) return 1
  return scaleLatency(SCALE_REGIONS.indexOf(from), SCALE_REGIONS.indexOf(to))
}

const COUNTER_KEYS = [
  'batchesOut',
  'recordsOut',
  'recordsIn',
  'duplicates',
  'framesIn',
  'syncPulled',
] as const
type Totals = Record<(typeof COUNTER_KEYS)[number], number>

/** The phases of one configuration over its fleet. */
class ConfigRun {
  readonly fleet: Fleet
  readonly result: ScaleResult
  /** Node CPU per host while idle, µs per ms; cross-region bytes per ms while idle. */
  private idleRate = new Map<Host, number>()
  private idleWanRate = 0
  private readonly solo: Host

  constructor(
    readonly n: number,
    readonly timing: RunTiming,
    readonly specs: NodeSpec[],
    fleet: Fleet,
    result: ScaleResult,
  ) {
    this.fleet = fleet
    this.result = result
    this.solo = fleet.hostOf(SOLO)
  }

  /** Every live node's count of keys of `phase`: held (own and received) and received. */
  async counts(
    phase: string,
  ): Promise<Map<number, { held: number; received: number; host: Host }>> {
    const out = new Map<number, { held: number; received: number; host: Host }>()
    for (const { host, reply } of await this.fleet.all({ t: 'count', phase })) {
      for (const [idx, held] of Object.entries(reply.held))
        out.set(Number(idx), { held, received: reply.received[Number(idx)] ?? 0, host })
    }
    return out
  }

  /** Waits until `expect` nodes hold at least `total` keys of `phase`. @returns true if they did */
  async delivered(
    phase: string,
    total: number,
    expect: number,
    timeoutMs: number,
  ): Promise<boolean> {
    return until(
      async () => {
        const c = await this.counts(phase)
        return c.size >= expect && [...c.values()].every((x) => x.held >= total)
      },
      timeoutMs,
      100,
    )
  }

  async states(): Promise<Map<number, NodeState>> {
    const out = new Map<number, NodeState>()
    for (const { reply } of await this.fleet.all({ t: 'state' }))
      for (const [idx, s] of Object.entries(reply.nodes)) out.set(Number(idx), s)
    return out
  }

  async totals(): Promise<{ totals: Totals; stages: HostCounters['stages'] }> {
    const cs = (await this.fleet.all({ t: 'counters' })).map((r) => r.reply)
    const totals = Object.fromEntries(
      COUNTER_KEYS.map((k) => [k, sum(cs.map((c) => c[k]))]),
    ) as Totals
    const stages: HostCounters['stages'] = {}
    for (const c of cs)
      for (const [k, v] of Object.entries(c.stages)) {
        stages[k] ??= { p50: [], p99: [] }
        stages[k].p50.push(...v.p50)
        stages[k].p99.push(...v.p99)
      }
    return { totals, stages }
  }

  /** Until every node knows every member and has its planned links, then a probe write. */
  async join(t0: number): Promise<JoinFigures> {
    const { n } = this
    const since = () => performance.now() - t0
    let membersMs: number | undefined
    let lastLog = performance.now()
    let states = new Map<number, NodeState>()
    const missingOf = (s: NodeState) => s.planned.filter((p) => !s.connected.includes(p)).length
    const formed = await until(
      async () => {
        states = await this.states()
        const all = [...states.values()]
        const known = all.filter((s) => s.members >= n).length
        if (membersMs === undefined && all.length === n && known === n) membersMs = since()
        const missing = all.map(missingOf)
        if (performance.now() - lastLog > PROGRESS_EVERY_MS) {
          lastLog = performance.now()
          const loops = (await this.fleet.all({ t: 'cpu' })).map((r) => r.reply.loopP99Ms)
          log(
            `N=${n}: ${known}/${n} nodes know every member; ${missing.filter((k) => k > 0).length} miss ${sum(missing)} planned links; host loops ${Math.max(...loops).toFixed(0)} ms late (p99)`,
          )
        }
        return all.length === n && known === n && missing.every((k) => k === 0)
      },
      this.timing.joinTimeoutMs - since(),
      500,
    )
    const linksMs = formed ? since() : undefined
    if (!formed) {
      const all = [...states.values()]
      this.result.notes.push(
        `not formed in ${this.timing.joinTimeoutMs / 1000} s: ${all.filter((s) => s.members < n).length} nodes knew fewer than ${n} members, ${all.filter((s) => missingOf(s) > 0).length} missed ${sum(all.map(missingOf))} planned links`,
      )
    }
    log(`N=${n}: ${formed ? `formed in ${(linksMs! / 1000).toFixed(1)} s` : 'NOT formed'}; probe`)
    await this.fleet.hostOf(WRITER).ask({ t: 'probe', idx: WRITER })
    const probed = await this.delivered('probe', 1, n, PROBE_TIMEOUT_MS)
    const probeMs = probed ? since() : undefined
    if (!probed) this.result.notes.push(`probe not everywhere after ${PROBE_TIMEOUT_MS / 1000} s`)
    states = await this.states()
    const conns = [...states.values()].map((s) => s.connected.length)
    const plans = [...states.values()].map((s) => s.planned.length)
    return {
      membersMs,
      linksMs,
      probeMs,
      connMean: mean(conns),
      connMax: Math.max(...conns),
      planMean: mean(plans),
      planMax: Math.max(...plans),
      hubs: [...states.values()].filter((s) => s.hub).length,
      hubSplits: hubSplits(states),
    }
  }

  /** CPU, memory and WAN bytes of the formed mesh doing nothing. */
  async idle(): Promise<IdleFigures> {
    const { n } = this
    await sleep(SETTLE_MS)
    log(`N=${n}: idle for ${this.timing.idleMs / 1000} s`)
    const a = await this.fleet.mark()
    await sleep(this.timing.idleMs)
    const b = await this.fleet.mark()
    const d = cpuBetween(a, b, loadavg()[0]!)
    for (const [h, us] of d.nodesUs) this.idleRate.set(h, us / d.wallMs)
    this.idleWanRate = d.wanBytes / d.wallMs
    const pctOfCore = (us: number, nodes: number) => (100 * us) / (d.wallMs * 1000) / nodes
    const hostsB = [...b.hosts.values()]
    const soloCpu = b.hosts.get(this.solo)
    const soloState = (await this.states()).get(SOLO)
    return {
      cpuPerNode: pctOfCore(sum(d.nodesUs.values()), n),
      solo:
        soloCpu && soloState && d.nodesUs.has(this.solo)
          ? {
              cpu: pctOfCore(d.nodesUs.get(this.solo)!, 1),
              conns: soloState.connected.length,
              hub: soloState.hub,
              rssMiB: soloCpu.rss / 2 ** 20,
            }
          : undefined,
      rssPerNodeMiB: sum(hostsB.map((h) => h.rss)) / n / 2 ** 20,
      rssAddedPerNodeMiB: sum(hostsB.map((h) => h.rss - h.rssBefore)) / n / 2 ** 20,
      wanBytesPerS: (1000 * d.wanBytes) / d.wallMs,
      shares: d.shares,
    }
  }

  /** Node CPU above idle in `d` over `hosts`, µs. */
  private aboveIdle(d: CpuDelta, hosts: Host[]): number {
    return sum(hosts.map((h) => (d.nodesUs.get(h) ?? 0) - (this.idleRate.get(h) ?? 0) * d.wallMs))
  }

  /** `writers` (every node when undefined) write `rate`/s each; CPU per received write, lag, WAN bytes. */
  async writes(phase: string, writers: number[] | undefined, rate: number): Promise<WriteFigures> {
    const { n, timing } = this
    const nWriters = writers?.length ?? n
    log(
      `N=${n}: ${nWriters} writer(s) at ${rate.toFixed(1)} writes/s each for ${timing.writeMs / 1000} s`,
    )
    const c0 = await this.totals()
    const a = await this.fleet.mark()
    const wrote = await this.fleet.all(
      { t: 'write', phase, writers, rate, ms: timing.writeMs },
      timing.writeMs + WRITE_SLACK_MS,
    )
    const total = sum(wrote.flatMap((w) => Object.values(w.reply.written)))
    const all = await this.delivered(phase, total, n, timing.drainMs)
    const b = await this.fleet.mark()
    const d = cpuBetween(a, b, loadavg()[0]!)
    const c1 = await this.totals()
    const counts = await this.counts(phase)
    const got = [...counts.values()]
    const receivedBy = (hosts: Host[]) =>
      sum(got.filter((x) => hosts.includes(x.host)).map((x) => x.received))
    const live = [...d.nodesUs.keys()]
    const perReceived = (hosts: Host[]) => this.aboveIdle(d, hosts) / receivedBy(hosts)
    const writerHosts = new Set((writers ?? []).map((i) => this.fleet.hostOf(i)))
    const receivers = live.filter((h) => !writerHosts.has(h))
    // Lag: receive time minus the write's stamp; and over the pair's one-way latency.
    const lags: number[] = []
    const excess: number[] = []
    let worstPair = ''
    let worstPairExcessP99 = Number.NaN
    const byPair = new Map<string, number[]>()
    for (const { reply } of await this.fleet.all({ t: 'lags', phase }))
      for (const [k, xs] of Object.entries(reply.lags))
        byPair.set(k, [...(byPair.get(k) ?? []), ...xs])
    for (const [k, xs] of byPair) {
      const [from, to] = k.split('->') as [string, string]
      const ow = oneWay(from, to)
      const ex = xs.map((x) => x - ow)
      lags.push(...xs)
      excess.push(...ex)
      const p = pct(ex, 0.99)
      if (!(p <= worstPairExcessP99)) {
        worstPair = k
        worstPairExcessP99 = p
      }
    }
    const batches = c1.totals.batchesOut - c0.totals.batchesOut
    const records = c1.totals.recordsOut - c0.totals.recordsOut
    const batchBytes = batchBytesPerWrite(records / Math.max(1, batches))
    const wanBytes = d.wanBytes - this.idleWanRate * d.wallMs
    const receptions = receivedBy(live)
    const stages: WriteFigures['stages'] = {}
    for (const [k, v] of Object.entries(c1.stages))
      stages[k] = { p50: pct(v.p50, 0.5), p99: Math.max(...v.p99) }
    const complete = got.filter((x) => x.held >= total).length
    return {
      writers: nWriters,
      rate,
      writes: total,
      windowMs: d.wallMs,
      delivered: `${complete}/${n}${all ? '' : ' (timeout)'}`,
      usPerReceived: perReceived(live),
      usPerReceivedReceivers: writers === undefined ? undefined : perReceived(receivers),
      usPerReceivedSolo: d.nodesUs.has(this.solo) ? perReceived([this.solo]) : undefined,
      lagP50: pct(lags, 0.5),
      lagP99: pct(lags, 0.99),
      excessP99: pct(excess, 0.99),
      worstPair,
      worstPairExcessP99,
      wanRatio: wanBytes / total / ((SCALE_REGIONS.length - 1) * batchBytes),
      wanBytesPerWrite: wanBytes / total,
      batchBytesPerWrite: batchBytes,
      duplicatesPerReception:
        (c1.totals.duplicates - c0.totals.duplicates) / Math.max(1, receptions),
      syncPulled: c1.totals.syncPulled - c0.totals.syncPulled,
      loopP99Ms: Math.max(...[...b.hosts.values()].map((h) => h.loopP99Ms)),
      shares: d.shares,
      stages,
    }
  }

  /** One region cut off for `cutMs` while every node writes; time to converge after the heal. */
  async partition(): Promise<void> {
    const { n, timing, result } = this
    const region = SCALE_REGIONS[0]!
    log(`N=${n}: cutting ${region} off for ${timing.cutMs / 1000} s`)
    await this.fleet.all({ t: 'cut', region })
    const wrote = await this.fleet.all(
      { t: 'write', phase: 'part', writers: undefined, rate: CUT_RATE / n, ms: timing.cutMs },
      timing.cutMs + WRITE_SLACK_MS,
    )
    const total = sum(wrote.flatMap((w) => Object.values(w.reply.written)))
    await this.fleet.all({ t: 'cut', region: undefined })
    const tHeal = performance.now()
    if (await this.delivered('part', total, n, timing.drainMs))
      result.healMs = performance.now() - tHeal
    else
      result.healMissing = sum(
        [...(await this.counts('part')).values()].map((x) => Math.max(0, total - x.held)),
      )
  }

  /** SIGKILLs the victims' host, then the survivors write: does every survivor get every write? */
  async kill(victims: Set<number>, victimHost: Host): Promise<void> {
    const { n, timing, result } = this
    log(`N=${n}: killing ${victims.size} nodes`)
    victimHost.kill()
    await sleep(500)
    const survivors = n - victims.size
    const wrote = await this.fleet.all(
      {
        t: 'write',
        phase: 'kill',
        writers: undefined,
        rate: timing.rate / survivors,
        ms: timing.writeMs,
      },
      timing.writeMs + WRITE_SLACK_MS,
    )
    const total = sum(wrote.flatMap((w) => Object.values(w.reply.written)))
    const tLast = performance.now()
    const ok = await this.delivered('kill', total, survivors, timing.drainMs)
    if (ok) {
      result.killDelivered = 'yes'
      result.killMs = performance.now() - tLast
      return
    }
    const c = [...(await this.counts('kill')).values()]
    const missing = sum(c.map((x) => Math.max(0, total - x.held)))
    result.killDelivered = `NO (${missing} missing on ${c.filter((x) => x.held < total).length} nodes)`
  }
}

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
  ])
  const soloHost = fleet.hosts[HOSTS]!
  const victimHost = fleet.hosts[HOSTS + 1]!
  const specs: NodeSpec[] = []
  for (let idx = 0; idx < n; idx++) {
    const spec: NodeSpec = { idx, ...nodePlace(idx, port), peers: [] }
    specs.push(spec)
    const host = victims.has(idx) ? victimHost : idx === SOLO ? soloHost : fleet.hosts[idx % HOSTS]!
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
