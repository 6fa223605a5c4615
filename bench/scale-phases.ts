/**
 * The phases of one bench:scale configuration over its running fleet: form, idle, one
 * writer, N writers, a region cut, 10 % killed. A phase that times out says so in the
 * result and returns; commands that hosts do not answer throw (runConfig catches).
 */
import { loadavg } from 'node:os'
import { setTimeout as sleep } from 'node:timers/promises'
import { batchBytesPerWrite, lagFigures, planAgreement } from './scale-figures.js'
import { type CpuDelta, cpuBetween, type Fleet, type Host } from './scale-fleet.js'
import { SCALE_REGIONS } from './scale-matrix.js'
import { profileFileOf, startProfile, stopProfile } from './scale-profile.js'
import type { HostCounters, NodeSpec, NodeState } from './scale-protocol.js'
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
  /** Wait after the join before the idle window (links of the joining phase close after `linkGraceMs`), ms. */
  settleMs: number
  idleMs: number
  writeMs: number
  /** Longest wait for every node to have every write of a phase, ms. */
  drainMs: number
  cutMs: number
  /**
   * Directory for a CPU profile of the solo node's host process over each write window
   * (`--profile-solo`); no profiles when undefined.
   */
  profileSoloDir?: string
}

/** Mesh-wide write rate of the write phases, writes/s: issue 26's. */
export const RATE = 500
/** Mesh-wide write rate while a region is cut off, writes/s. */
export const CUT_RATE = 100
/** The node that runs alone in its process. */
export const SOLO = 1
/** The writer of the one-writer regime (and of the probe). */
export const WRITER = 0
const PROBE_TIMEOUT_MS = 30_000
/** Extra wait for a host's answer to 'write', beyond the writing itself, ms. */
const WRITE_SLACK_MS = 30_000
const PROGRESS_EVERY_MS = 15_000

/** "min/p10/median/max" of counts over the nodes (the join's progress log). */
function spread(xs: number[]): string {
  const s = [...xs].sort((a, b) => a - b)
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? 0
  return `${at(0)}/${at(0.1)}/${at(0.5)}/${at(1)} min/p10/median/max`
}

/** "; alone: node 7 (eu-west), ..." for nodes that know no other member yet (the join's log). */
function lonely(states: Map<number, NodeState>): string {
  const alone = [...states].filter(([, s]) => s.members <= 1)
  if (alone.length === 0) return ''
  const named = alone.slice(0, 8).map(([i, s]) => `${i} (${s.region})`)
  return `; alone: ${named.join(', ')}${alone.length > 8 ? ', ...' : ''}`
}

/** Prints `s` with the time of day. */
export const log = (s: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${s}`)
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

const COUNTER_KEYS = [
  'batchesOut',
  'recordsOut',
  'recordsIn',
  'duplicates',
  'framesIn',
  'syncPulled',
  'signaturesChecked',
] as const
type Totals = Record<(typeof COUNTER_KEYS)[number], number>

/** The phases of one configuration over its fleet. */
export class ConfigRun {
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
            `N=${n}: ${known}/${n} nodes know every member (members known ${spread(all.map((s) => s.members))}; connections ${spread(all.map((s) => s.connected.length))}); ${missing.filter((k) => k > 0).length} miss ${sum(missing)} planned links; host loops ${Math.max(...loops).toFixed(0)} ms late (p99)${lonely(states)}`,
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
      ...this.agreement(states),
    }
  }

  /** CPU, memory and WAN bytes of the formed mesh doing nothing. */
  async idle(): Promise<IdleFigures> {
    const { n } = this
    await sleep(this.timing.settleMs)
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
    const states = await this.states()
    const soloState = states.get(SOLO)
    const { hubSplits: splits, downButConnected: down } = this.agreement(states)
    if (splits + down > 0)
      this.result.notes.push(
        `after idle: ${splits} regions split on their hub, ${down} connected peers left out as down`,
      )
    await this.profileIdle()
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

  /** Whether the nodes' relay plans agree; logs who disagrees. */
  private agreement(states: Map<number, NodeState>): {
    hubSplits: number
    downButConnected: number
  } {
    const a = planAgreement(states)
    for (const line of a.lines) log(`N=${this.n}: ${line}`)
    return { hubSplits: a.hubSplits, downButConnected: a.downButConnected }
  }

  /**
   * With `--profile-solo`: a CPU profile of the solo node's process over a second idle
   * window, after the measured one (the profiler's own cost stays out of the idle figures).
   */
  private async profileIdle(): Promise<void> {
    const file = profileFileOf(
      this.timing.profileSoloDir,
      this.solo,
      this.n,
      this.result.label,
      'idle',
    )
    if (file === undefined) return
    await startProfile(this.solo, file)
    await sleep(this.timing.idleMs)
    const p = (await stopProfile(this.solo, file))!
    log(
      `N=${this.n}: idle profile ${file}: main thread ${(p.threadCpuUs / 1000).toFixed(0)} ms of CPU in ${(p.wallMs / 1000).toFixed(1)} s, relay frames ${p.counters.framesIn ?? 0} in / ${p.counters.framesOut ?? 0} out`,
    )
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
    const profileFile = profileFileOf(timing.profileSoloDir, this.solo, n, this.result.label, phase)
    const c0 = await this.totals()
    await startProfile(this.solo, profileFile)
    const a = await this.fleet.mark()
    const wrote = await this.fleet.all(
      { t: 'write', phase, writers, rate, ms: timing.writeMs },
      timing.writeMs + WRITE_SLACK_MS,
    )
    const total = sum(wrote.flatMap((w) => Object.values(w.reply.written)))
    const all = await this.delivered(phase, total, n, timing.drainMs)
    const b = await this.fleet.mark()
    const profiled = await stopProfile(this.solo, profileFile)
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
    const byPair = new Map<string, number[]>()
    for (const { reply } of await this.fleet.all({ t: 'lags', phase }))
      for (const [k, xs] of Object.entries(reply.lags))
        byPair.set(k, (byPair.get(k) ?? []).concat(xs))
    const batches = c1.totals.batchesOut - c0.totals.batchesOut
    const records = c1.totals.recordsOut - c0.totals.recordsOut
    const batchBytes = batchBytesPerWrite(records / Math.max(1, batches))
    const wanBytes = d.wanBytes - this.idleWanRate * d.wallMs
    const receptions = receivedBy(live)
    const stages: WriteFigures['stages'] = {}
    for (const [k, v] of Object.entries(c1.stages))
      stages[k] = { p50: pct(v.p50, 0.5), p99: Math.max(...v.p99) }
    const complete = got.filter((x) => x.held >= total).length
    const soloReceived = counts.get(SOLO)?.received ?? 0
    if (profiled !== undefined)
      log(
        `N=${n}: solo profile ${profileFile}: main thread ${(profiled.threadCpuUs / 1000).toFixed(0)} ms of CPU in ${(profiled.wallMs / 1000).toFixed(1)} s, ${soloReceived} writes received, relay frames ${profiled.counters.framesIn} in / ${profiled.counters.framesOut} out`,
      )
    return {
      writers: nWriters,
      rate,
      writes: total,
      windowMs: d.wallMs,
      delivered: `${complete}/${n}${all ? '' : ' (timeout)'}`,
      complete: all,
      usPerReceived: perReceived(live),
      usPerReceivedReceivers: writers === undefined ? undefined : perReceived(receivers),
      usPerReceivedSolo: d.nodesUs.has(this.solo) ? perReceived([this.solo]) : undefined,
      ...lagFigures(byPair),
      wanRatio: wanBytes / total / ((SCALE_REGIONS.length - 1) * batchBytes),
      wanBytesPerWrite: wanBytes / total,
      batchBytesPerWrite: batchBytes,
      duplicatesPerReception:
        (c1.totals.duplicates - c0.totals.duplicates) / Math.max(1, receptions),
      framesPerReception: (c1.totals.framesIn - c0.totals.framesIn) / Math.max(1, receptions),
      checksPerReception:
        (c1.totals.signaturesChecked - c0.totals.signaturesChecked) / Math.max(1, receptions),
      syncPulled: c1.totals.syncPulled - c0.totals.syncPulled,
      loopP99Ms: Math.max(...[...b.hosts.values()].map((h) => h.loopP99Ms)),
      shares: d.shares,
      stages,
      soloProfile: profiled === undefined ? undefined : { ...profiled, received: soloReceived },
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
