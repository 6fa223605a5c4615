/**
 * bench:scale: N mesh nodes in 10 regions on this machine behind the simulated WAN, at
 * several N in one run (issues 13, 25, 26). Nodes run in a few host processes
 * (bench/scale-host.ts), several per process, each on its own 127.0.R.N address; one node
 * runs alone in its own process (a clean per-node figure); the WAN's proxies run in a
 * worker thread of each host, for that host's nodes (bench/scale-wan.ts), so the
 * simulator's CPU is measured apart from the nodes' and spreads over the hosts. This
 * process only orchestrates; its own CPU is reported too.
 *
 * Per N: join time (every member known, planned links up, a probe write everywhere);
 * connections; idle CPU and RSS per node; CPU per received write per node above idle for
 * one writer at 500 writes/s and for N writers at 500/N writes/s each; lag over one-way
 * latency; WAN bytes per write / ((regions - 1) x batch bytes); convergence after one
 * region is cut off for 5 s and healed; delivery to every survivor after 10 % of the
 * nodes are killed (SIGKILL of the host process that runs them). Every phase reports the
 * CPU of the nodes, the simulator, this process and the rest of the machine.
 * Writes bench/results/scale.md and scale.json.
 *
 * Run: npm run bench:scale -- [--sizes 25,50,100] [--quick] [--compare (a full mesh at the
 * smallest N)] [--join-timeout SECONDS] [--rate WRITES_PER_S (mesh-wide; default 500)]
 * [--topology LOCAL/REMOTE (the link bounds localPeers / remotePeers; default 6/2, the
 * product's defaults)] [--profile-solo DIR (a CPU profile of the solo node's host process over each write
 * window, from the first write until every node had every write: V8's sampling profiler
 * on its main thread through node:inspector, 1 ms interval; DIR/n{N}-{config}-{one|many}
 * .cpuprofile; the main thread's CPU, the writes that node received and its replication
 * counters' growth go to scale.json as soloProfile. The profiler costs the solo process
 * CPU of its own, so that run's solo figures are higher)]
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, totalmem } from 'node:os'
import { resolve } from 'node:path'
import { machine } from './harness.js'
import { SCALE_REGIONS } from './scale-matrix.js'
import { CUT_RATE, RATE, type RunTiming } from './scale-phases.js'
import type { MeshBounds } from './scale-protocol.js'
import { caveat, markdownTables, type ScaleResult } from './scale-report.js'
import { runConfig } from './scale-run.js'

const args = process.argv.slice(2)
const arg = (name: string) => {
  const i = args.indexOf(`--${name}`)
  return i >= 0 ? args[i + 1] : undefined
}
const QUICK = args.includes('--quick')
const SIZES = (arg('sizes') ?? (QUICK ? '25' : '25,50,100')).split(',').map(Number)
/** The link bounds under test: the defaults, or `--topology LOCAL/REMOTE` (e.g. 6/1). */
const TOPOLOGY: MeshBounds = (() => {
  const t = arg('topology') ?? '6/2'
  const m = /^(\d+)\/(\d+)$/.exec(t)
  if (m === null || Number(m[1]) < 1 || Number(m[2]) < 1) {
    console.error(`--topology takes LOCAL/REMOTE link bounds such as 6/2, got ${t}`)
    process.exit(2)
  }
  return { localPeers: Number(m[1]), remotePeers: Number(m[2]) }
})()
/** Every node links every other (the behaviour before bounded links). */
const FULL_MESH: MeshBounds = { localPeers: 1_000_000, remotePeers: 1_000_000 }
const PROFILE_SOLO_DIR = arg('profile-solo')
if (PROFILE_SOLO_DIR !== undefined) mkdirSync(PROFILE_SOLO_DIR, { recursive: true })
const TIMING: RunTiming = {
  rate: Number(arg('rate') ?? RATE),
  joinTimeoutMs: 1000 * Number(arg('join-timeout') ?? 120),
  // A settled link is pinged for its clock sample every 40 s: a 40 s window sees each link's
  // sample once whatever their phases, and 30 s of settling lets the join's links settle.
  settleMs: QUICK ? 5_000 : 30_000,
  idleMs: QUICK ? 5_000 : 40_000,
  writeMs: QUICK ? 3_000 : 5_000,
  drainMs: 30_000,
  cutMs: 5_000,
  profileSoloDir: PROFILE_SOLO_DIR === undefined ? undefined : resolve(PROFILE_SOLO_DIR),
}

const LABEL = `topology ${TOPOLOGY.localPeers}/${TOPOLOGY.remotePeers}`
const configs: [number, MeshBounds, string][] = SIZES.map((n) => [n, TOPOLOGY, LABEL])
if (args.includes('--compare')) configs.splice(1, 0, [Math.min(...SIZES), FULL_MESH, 'full mesh'])
const results: ScaleResult[] = []
const base = 20_000 + Math.floor(Math.random() * 20_000)
for (const [i, [n, bounds, label]] of configs.entries()) {
  results.push(await runConfig(n, bounds, label, base + i, TIMING))
}

/** Figures against the issues' targets, each computed from this run. */
function verdicts(rs: ScaleResult[]): string[] {
  const out: string[] = []
  const topo = rs.filter((r) => r.label === LABEL)
  const small = topo.find((r) => r.nodes === Math.min(...topo.map((x) => x.nodes)))
  const large = topo.find((r) => r.nodes === Math.max(...topo.map((x) => x.nodes)))
  const f = (x: number | undefined, d = 2) =>
    x === undefined || Number.isNaN(x) ? '—' : x.toFixed(d)
  if (small?.idle && large?.idle && small !== large)
    out.push(
      `idle CPU per node N=${large.nodes} / N=${small.nodes}: ${f(large.idle.cpuPerNode / small.idle.cpuPerNode)} (target <= 1.1)`,
    )
  for (const r of topo) {
    const s = r.idle?.solo
    // Joined: links formed and the probe everywhere (a probe that arrived without the links is no join).
    const join = r.join?.linksMs === undefined ? undefined : r.join.probeMs
    out.push(
      `N=${r.nodes}: join ${join === undefined ? 'timeout' : `${f(join / 1000, 1)} s`} (target <= 10 s at N=100); ` +
        `solo node idle ${f(s?.cpu)} % of a core with ${s?.conns ?? '—'} connections (target <= 0.3 % with 24); ` +
        `µs per received write ${f(r.one?.usPerReceived, 1)} (1 writer) / ${f(r.many?.usPerReceived, 1)} (${r.many?.writers ?? 'N'} writers) (target <= 20)${caveat(r, r.many) || caveat(r, r.one)}; ` +
        `lag p99 over one-way ${f(r.many?.excessP99, 0)} ms (target <= 100); WAN ratio ${f(r.many?.wanRatio)} (target <= 1.2); ` +
        `heal ${r.healMs === undefined ? 'timeout' : `${f(r.healMs / 1000, 1)} s`} (target <= 5 s); kill 10 %: ${r.killDelivered ?? '—'}`,
    )
  }
  return out
}

const cores = cpus().length
const md = `# bench:scale

\`npm run bench:scale -- ${args.join(' ')}\` — ${JSON.stringify({ ...machine(), memGiB: Math.round(totalmem() / 2 ** 30), loadavgAtEnd: loadavg().map((x) => x.toFixed(1)) })}

N nodes in ${SCALE_REGIONS.length} regions (round-robin; 35-115 ms one way between regions, 1 ms inside), topology localPeers ${TOPOLOGY.localPeers} / remotePeers ${TOPOLOGY.remotePeers}, replication over relay links (region hubs and in-region trees). Nodes run several per host process (4 hosts), one node alone in a fifth (the "solo" figures: one node's own process), the nodes to be killed in a sixth, the seed (node 0, every joiner's bootstrap peer and the one-writer phase's writer) alone in a seventh, as a seed node runs. Each host runs the simulated WAN's proxies for its own nodes in a worker thread: the simulator is spread like the nodes and its CPU is measured apart (process.threadCpuUsage of that thread); node CPU = host process CPU minus its WAN thread. CPU shares are % of the machine's ${cores} cores: nodes / simulator / this orchestrating process / everything else on the machine (other people's work), with the 1-minute load average.

- **Join**: from launch (the seed, then every other node at once through the seed) until every node knows all N members, until every node's planned links (its link plan and its relay neighbors: hub, tree parent and children, other hubs) are connected, and until a probe write made then reached every node.
- **Idle**: ${TIMING.idleMs / 1000} s of nothing after a ${TIMING.settleMs / 1000} s settle (non-links of the join close after linkGraceMs, 10 s). RSS per node = all host processes' RSS / N (added: growth since the first node started).
- **Writes**: one writer at ${TIMING.rate} writes/s, then every node at ${TIMING.rate}/N writes/s, ${TIMING.writeMs / 1000} s each. µs per received write per node = node CPU above each host's idle rate, from the first write until every node had every write, / writes received by all nodes (writers' own cost included; "receivers only": the hosts that run no writer; "solo": the node alone in its process). Lag = receive time − the write's stamp; "over one-way" subtracts the pair's one-way latency from each sample. WAN ratio = cross-region bytes per write (idle rate subtracted) / ((regions − 1) x batch bytes per write). "dup": relayed copies dropped as duplicates per reception; "by sync": writes anti-entropy brought instead of the relay.
- **Heal**: ${SCALE_REGIONS[0]} cut off from every region for ${TIMING.cutMs / 1000} s while every node writes (${CUT_RATE}/s mesh-wide), then healed: time until every node has every write. **Kill**: 10 % of nodes SIGKILLed (their host), then the survivors write at ${TIMING.rate}/s for ${TIMING.writeMs / 1000} s.
- **No full-mesh anchor by default** (\`--compare\` adds one at the smallest N): with the relay, a write travels over the same hub-and-tree plan whatever the link bounds, so a full mesh only adds connections and their control traffic; the anchors are the issues' targets and the ratio of N=largest to N=smallest in the same run.

${markdownTables(results)}

## Against the targets (issues 25 and 26)

${verdicts(results)
  .map((v) => `- ${v}`)
  .join('\n')}
`
mkdirSync('bench/results', { recursive: true })
writeFileSync('bench/results/scale.md', md)
writeFileSync(
  'bench/results/scale.json',
  `${JSON.stringify({ machine: machine(), args, timing: TIMING, results }, null, 2)}\n`,
)
console.log(`\n${md}`)
process.exit(0)
