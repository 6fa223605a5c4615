/**
 * Figures of one bench:scale configuration and the markdown table of a run
 * (bench/results/scale.md).
 */

/** What bench:scale measured for one configuration. */
export interface ScaleResult {
  /** "topology 6/2", "full mesh", or "full mesh (topology options not available)". */
  label: string
  nodes: number
  regions: number
  /** Time from launch until every node had its links, ms (undefined: not within the timeout). */
  linksMs: number | undefined
  /** ...and until every node had received the probe write, ms from launch. */
  probeMs: number | undefined
  connMean: number
  connMax: number
  /** Connections the link plan asks for, mean (the full mesh: n - 1). */
  planMean: number
  /** Idle CPU of the node processes per node, % of one core; and the simulator's, % of a core. */
  idleCpuPerNode: number
  simIdleCpu: number
  /** RSS of the node processes per node, MiB. */
  rssPerNodeMiB: number
  writes: number
  lagP50: number
  lagP99: number
  worstPair: string
  worstPairP99: number
  /** Writes of the lag phase every node got / all. */
  lagDelivered: string
  /** CPU of all processes during the write phase, % of the machine's cores. */
  loadCpu: number
  /** Worst event-loop delay p99 of a host process during the write phase, ms. */
  loadLoopP99Ms: number
  /** The machine's 1-minute load average at the end of the write phase (other jobs included). */
  machineLoad: number
  /** Write-path stages (stats().mesh.stages) over the run: median of the nodes' p50 and max of their p99, ms. */
  stages: Record<string, { p50: number; p99: number }>
  /** WAN bytes per write / ((regions - 1) * batch bytes per write), idle traffic subtracted. */
  wanRatio: number
  wanBytesPerWrite: number
  batchBytesPerWrite: number
  /** Time from heal until every node had every write made during a 5 s cut of one region, ms. */
  partitionConvergeMs: number | undefined
  /** After 10% of nodes were killed: every survivor got every write, and when (ms after the last write). */
  killDelivered: string
  killConvergeMs: number | undefined
}

/** The q-quantile of `xs` (nearest rank). */
export function pct(xs: number[], q: number): number {
  if (xs.length === 0) return Number.NaN
  const s = Float64Array.from(xs).sort()
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!
}

const f0 = (x: number | undefined) => (x === undefined || Number.isNaN(x) ? '—' : x.toFixed(0))
const f1 = (x: number | undefined) => (x === undefined || Number.isNaN(x) ? '—' : x.toFixed(1))
const f2 = (x: number | undefined) => (x === undefined || Number.isNaN(x) ? '—' : x.toFixed(2))

/** The results as a markdown table, one row per configuration. */
export function markdownTable(results: ScaleResult[]): string {
  const head = [
    'config',
    'N',
    'links / probe (s)',
    'conn mean / max (plan)',
    'idle CPU/node',
    'RSS/node',
    'lag p50 / p99 (ms)',
    'worst pair p99',
    'WAN ratio',
    'load CPU (loop p99, load avg)',
    'heal 5 s cut',
    'kill 10%',
  ]
  const rows = results.map((r) => [
    r.label,
    String(r.nodes),
    `${r.linksMs === undefined ? 'timeout' : f1(r.linksMs / 1000)} / ${r.probeMs === undefined ? 'timeout' : f1(r.probeMs / 1000)}`,
    `${f1(r.connMean)} / ${r.connMax} (${f1(r.planMean)})`,
    `${f2(r.idleCpuPerNode)}% (+sim ${f1(r.simIdleCpu)}%)`,
    `${f0(r.rssPerNodeMiB)} MiB`,
    `${f0(r.lagP50)} / ${f0(r.lagP99)} (${r.lagDelivered})`,
    `${r.worstPair} ${f0(r.worstPairP99)}`,
    `${f2(r.wanRatio)} (${f0(r.wanBytesPerWrite)} B/write, batch ${f0(r.batchBytesPerWrite)} B/write)`,
    `${f0(r.loadCpu)}% (${f0(r.loadLoopP99Ms)} ms, ${f1(r.machineLoad)})`,
    r.partitionConvergeMs === undefined ? 'timeout' : `${f1(r.partitionConvergeMs / 1000)} s`,
    `${r.killDelivered}${r.killConvergeMs === undefined ? '' : ` in ${f1(r.killConvergeMs / 1000)} s`}`,
  ])
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`
  const stageLines = results
    .filter((r) => Object.keys(r.stages).length > 0)
    .map(
      (r) =>
        `- ${r.label}, N=${r.nodes}: ${Object.entries(r.stages)
          .map(([k, v]) => `${k} ${f0(v.p50)}/${f0(v.p99)}`)
          .join(', ')} ms (p50/p99)`,
    )
  return [line(head), line(head.map(() => '---')), ...rows.map(line), '', ...stageLines].join('\n')
}
