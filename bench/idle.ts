/**
 * bench:idle: what one process pays to hold a cache and do nothing, each case in a
 * process of its own (bench/idle-child.mjs, importing the built package): CPU as % of a
 * core over a window, and RSS added by the case. The anchor is a bare Node process run the
 * same way. Cases: a bare process; `createCache()` embedded; embedded with a data dir; a
 * mesh node with no peers; two mesh nodes with one link (one process); a mesh node with
 * 24 links, its 24 peers in a second process (10 regions, every node links every other;
 * frames in and out per second beside). Each case runs
 * `ROUNDS` times (median). Run: npm run bench:idle (builds first). Figures: BENCHMARKS.md.
 */
import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { type BenchRow, report } from './harness.js'

const WINDOW_MS = Number(process.env.WINDOW_MS ?? 10_000)
const ROUNDS = Number(process.env.ROUNDS ?? 3)
const child = fileURLToPath(new URL('./idle-child.mjs', import.meta.url))
const CASES: [kind: string, what: string][] = [
  ['bare', 'bare Node process (anchor)'],
  ['embedded', 'createCache(), no mesh'],
  ['embedded-data', 'createCache({ dataDir }), one entry'],
  ['mesh-alone', 'a mesh node with no peers'],
  ['pair', 'two mesh nodes, one link (both in the process)'],
  ['links24', "a mesh node with 24 links, a leaf of its region's tree (peers in another process)"],
  ['links24-hub', "a mesh node with 24 links, its region's relay hub"],
]
/** The 24-link cases measure over 40 s at least: a settled link takes a clock sample every 40 s. */
const windowOf = (kind: string) =>
  kind.startsWith('links24') ? Math.max(WINDOW_MS, 40_000) : WINDOW_MS

interface Sample {
  cpuPercent: number
  rssAddedMB: number
  /** links24: relay frames per second in and out over the window. */
  perSecond?: { framesIn: number; framesOut: number }
  /** links24: the node is its region's relay hub (the case places it so; a miss is shown). */
  hub?: boolean
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

const rows: BenchRow[] = []
let bare: { cpu: number; rss: number } | undefined
for (const [i, [kind, what]] of CASES.entries()) {
  const samples: Sample[] = []
  for (let r = 0; r < ROUNDS; r++) {
    const out = execFileSync(
      process.execPath,
      ['--expose-gc', child, kind, String(windowOf(kind)), `127.0.93.${10 + i * 4 + r}`],
      { encoding: 'utf8', timeout: windowOf(kind) + 120_000 },
    )
    samples.push(JSON.parse(out.trim().split('\n').at(-1)!) as Sample)
  }
  const cpu = median(samples.map((s) => s.cpuPercent))
  const rss = median(samples.map((s) => s.rssAddedMB))
  bare ??= { cpu, rss }
  rows.push({
    name: what,
    cpuPercentOfCore: Number(cpu.toFixed(3)),
    rssAddedMB: Number(rss.toFixed(1)),
    cpuMinusBare: Number((cpu - bare.cpu).toFixed(3)),
    samples: samples.map((x) => Number(x.cpuPercent.toFixed(3))).join(' / '),
    ...(samples[0]!.perSecond === undefined
      ? {}
      : {
          framesPerSecInOut: samples
            .map(
              (x) =>
                `${x.perSecond!.framesIn} / ${x.perSecond!.framesOut}${x.hub === (kind === 'links24-hub') ? '' : ' (role missed)'}`,
            )
            .join(', '),
        }),
  })
}
report(
  `bench:idle — ${WINDOW_MS / 1_000} s idle, median of ${ROUNDS} processes per case`,
  rows,
  'bench/results/idle.json',
)
