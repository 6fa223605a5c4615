/**
 * Figures of one bench:scale configuration and the markdown tables of a run
 * (bench/results/scale.md). Every figure may be missing: a configuration that did not
 * get that far (a timeout, a host that died) reports what it saw and says why in `notes`.
 */
import type { CpuShares } from './scale-fleet.js'

/** Forming: times from launch, ms (undefined: not within the timeout), and the links then. */
export interface JoinFigures {
  /** Every node knows every member. */
  membersMs?: number
  /** ...and every node's planned links (link plan and relay neighbors) are connected. */
  linksMs?: number
  /** ...and a probe write made then reached every node: the join time. */
  probeMs?: number
  connMean: number
  connMax: number
  /** Links the nodes' own plans ask for (link plan and relay neighbors), mean and max. */
  planMean: number
  planMax: number
  /** Nodes that are their region's hub (one per region once formed). */
  hubs: number
  /** Regions whose members name different hubs (0 once formed). */
  hubSplits: number
  /** Connected members that nodes' relay plans leave out as down (0 once formed), summed over nodes. */
  downButConnected: number
}

/** The idle window. */
export interface IdleFigures {
  /** CPU of the node processes (WAN threads excluded) per node, % of one core. */
  cpuPerNode: number
  /** The one node running alone in its host process: its CPU, % of a core, its connections, hub or not. */
  solo?: { cpu: number; conns: number; hub: boolean; rssMiB: number }
  /** RSS of every host process per node, MiB, and the part added since the first node started. */
  rssPerNodeMiB: number
  rssAddedPerNodeMiB: number
  /** Cross-region bytes per second the proxies carried while idle. */
  wanBytesPerS: number
  shares: CpuShares
}

/** One write regime: `writers` nodes at `rate` writes/s each. */
export interface WriteFigures {
  writers: number
  rate: number
  writes: number
  /** Window from the first write until every node had every write (or the timeout), ms. */
  windowMs: number
  /** "N/N" nodes that received every write, and whether the wait timed out. */
  delivered: string
  /** Every node received every write within the wait (else the CPU figures cover part of the work). */
  complete: boolean
  /** Node CPU above idle per received write per node, µs: all nodes (writers' own cost included). */
  usPerReceived: number
  /** ...only the hosts that run no writer (the one-writer regime), µs. */
  usPerReceivedReceivers?: number
  /** ...the node alone in its process, µs. */
  usPerReceivedSolo?: number
  lagP50: number
  lagP99: number
  /** Lag minus the pair's one-way latency, p99 over every reception, ms. */
  excessP99: number
  worstPair: string
  worstPairExcessP99: number
  /** Cross-region bytes (idle rate subtracted) per write / ((regions - 1) x batch bytes per write). */
  wanRatio: number
  wanBytesPerWrite: number
  batchBytesPerWrite: number
  /** Relayed copies dropped as duplicates, per reception; writes brought by anti-entropy. */
  duplicatesPerReception: number
  /** Relay frames received (every node, all kinds) per reception: what per-frame costs are shared by. */
  framesPerReception: number
  /** Origin signatures checked (every node) per reception. */
  checksPerReception: number
  syncPulled: number
  loopP99Ms: number
  shares: CpuShares
  /** Write-path stages (stats().mesh.stages) at the end: median of the nodes' p50, max of their p99, ms. */
  stages: Record<string, { p50: number; p99: number }>
  /**
   * With `--profile-solo`: the solo node's profile of this window, its main thread's CPU
   * (idle work and the profiler's own included) in µs, the wall time it covers in ms, the
   * writes that node received, and its replication counters' growth (framesIn, relayed...).
   */
  soloProfile?: {
    file: string
    threadCpuUs: number
    wallMs: number
    received: number
    counters: Record<string, number>
  }
}

/** What bench:scale measured for one configuration. */
export interface ScaleResult {
  label: string
  nodes: number
  regions: number
  join?: JoinFigures
  idle?: IdleFigures
  /** One writer at 500 writes/s, and every node writing 500/N writes/s. */
  one?: WriteFigures
  many?: WriteFigures
  /** Time from heal until every node had every write made during a 5 s cut of one region, ms. */
  healMs?: number
  healMissing?: number
  /** After 10 % of nodes were killed: "yes" or "NO (k missing)", and when, ms after the last write. */
  killDelivered?: string
  killMs?: number
  /** Shares of the machine over the whole configuration, launch to close. */
  shares?: CpuShares
  notes: string[]
}

/**
 * Why the CPU figures of `w` may not mean what they say ('' when they do): writes not all
 * delivered (CPU of part of the work), or a mesh that never formed (its idle baseline,
 * subtracted, was taken while it was still forming).
 */
export function caveat(r: ScaleResult, w: WriteFigures | undefined): string {
  const why: string[] = []
  if (r.join?.linksMs === undefined) why.push('mesh not formed')
  if (w !== undefined && !w.complete) why.push('writes not all delivered')
  return why.length === 0 ? '' : ` [unreliable: ${why.join(', ')}]`
}

/** The q-quantile of `xs` (nearest rank). */
export function pct(xs: readonly number[], q: number): number {
  if (xs.length === 0) return Number.NaN
  const s = Float64Array.from(xs).sort()
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!
}

const fx = (d: number) => (x: number | undefined) =>
  x === undefined || Number.isNaN(x) ? '—' : x.toFixed(d)
const f0 = fx(0)
const f1 = fx(1)
const f2 = fx(2)
const sec = (ms: number | undefined) => (ms === undefined ? 'timeout' : `${f1(ms / 1000)} s`)
const shares = (s: CpuShares | undefined) =>
  s === undefined
    ? '—'
    : `${f0(s.nodes)} / ${f1(s.sim)} / ${f1(s.bench)} / ${f0(s.others)} (${f1(s.loadavg)})`

function table(head: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n')
}

/** The run's tables: forming and idle; the two write regimes; failures; CPU shares. */
export function markdownTables(results: ScaleResult[]): string {
  const join = table(
    [
      'config',
      'N',
      'members / links / probe',
      'conn mean / max (plan mean / max)',
      'hubs',
      'idle CPU/node (solo node: conns)',
      'RSS/node (added; solo process)',
      'idle WAN B/s',
    ],
    results.map((r) => [
      r.label,
      String(r.nodes),
      r.join ? `${sec(r.join.membersMs)} / ${sec(r.join.linksMs)} / ${sec(r.join.probeMs)}` : '—',
      r.join
        ? `${f1(r.join.connMean)} / ${r.join.connMax} (${f1(r.join.planMean)} / ${r.join.planMax})`
        : '—',
      r.join
        ? `${r.join.hubs}${r.join.hubSplits > 0 ? ` (${r.join.hubSplits} regions split)` : ''}`
        : '—',
      r.idle
        ? `${f2(r.idle.cpuPerNode)} % (${r.idle.solo ? `${f2(r.idle.solo.cpu)} %: ${r.idle.solo.conns}${r.idle.solo.hub ? ', hub' : ''}` : '—'})`
        : '—',
      r.idle
        ? `${f0(r.idle.rssPerNodeMiB)} (${f0(r.idle.rssAddedPerNodeMiB)}; ${f0(r.idle.solo?.rssMiB)}) MiB`
        : '—',
      r.idle ? f0(r.idle.wanBytesPerS) : '—',
    ]),
  )
  const writeRows: string[][] = []
  for (const r of results) {
    for (const [name, w] of [
      ['1 writer', r.one],
      ['N writers', r.many],
    ] as const) {
      if (w === undefined) continue
      writeRows.push([
        r.label,
        String(r.nodes),
        `${name}: ${w.writers} x ${f1(w.rate)}/s`,
        `${f1(w.usPerReceived)} (${f1(w.usPerReceivedReceivers)} / ${f1(w.usPerReceivedSolo)})${caveat(r, w)}`,
        `${f0(w.lagP50)} / ${f0(w.lagP99)}`,
        `${f0(w.excessP99)} (${w.worstPair} ${f0(w.worstPairExcessP99)})`,
        `${f2(w.wanRatio)} (${f0(w.wanBytesPerWrite)} / ${f0(w.batchBytesPerWrite)} B)`,
        `${w.delivered}, ${f2(w.duplicatesPerReception)} dup, ${f2(w.framesPerReception)} frames, ${f2(w.checksPerReception)} sig checks, ${w.syncPulled} by sync`,
        `${shares(w.shares)}, loop p99 ${f0(w.loopP99Ms)} ms`,
      ])
    }
  }
  const writes = table(
    [
      'config',
      'N',
      'regime',
      'µs/received write/node (receivers only / solo node)',
      'lag p50 / p99 (ms)',
      'p99 over one-way (worst pair)',
      'WAN ratio (B/write / batch B/write)',
      'delivered',
      'CPU % nodes / sim / bench / others (load)',
    ],
    writeRows,
  )
  const resilience = table(
    ['config', 'N', 'heal after 5 s cut', 'kill 10 %', 'CPU % over the config', 'notes'],
    results.map((r) => [
      r.label,
      String(r.nodes),
      r.healMs !== undefined
        ? sec(r.healMs)
        : r.healMissing !== undefined
          ? `timeout (${r.healMissing} missing)`
          : '—',
      r.killDelivered === undefined
        ? '—'
        : `${r.killDelivered}${r.killMs === undefined ? '' : ` in ${sec(r.killMs)}`}`,
      shares(r.shares),
      r.notes.length === 0 ? '' : r.notes.join('; ').replaceAll('|', '/'),
    ]),
  )
  const stageLines = results.flatMap((r) =>
    [r.one, r.many]
      .filter((w): w is WriteFigures => w !== undefined && Object.keys(w.stages).length > 0)
      .map(
        (w) =>
          `- ${r.label}, N=${r.nodes}, ${w.writers} writer(s): ${Object.entries(w.stages)
            .map(([k, v]) => `${k} ${f1(v.p50)}/${f0(v.p99)}`)
            .join(', ')} ms (p50/p99)`,
      ),
  )
  return [
    '### Forming and idle',
    join,
    '### Writes: CPU per received write, lag, WAN bytes',
    writes,
    '',
    ...stageLines,
    '### Partition, kills, and the CPU of the whole configuration',
    resilience,
  ].join('\n\n')
}
