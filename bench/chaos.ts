/**
 * bench:chaos: SIGKILLs, restarts, partitions and concurrent writers against real node
 * processes for a configured time, then a checker (see scripts/chaos.ts). Prints the
 * counts, writes them as JSON, exits non-zero on any violation.
 * Run: npm run bench:chaos   (CHAOS_SECONDS=60; CHAOS_WAN=1 puts the processes behind the simulated WAN)
 */
import { runChaos } from '../scripts/chaos.js'
import { report } from './harness.js'

const seconds = Number(process.env.CHAOS_SECONDS ?? 30)
const t0 = Date.now()
const wan = process.env.CHAOS_WAN === '1'
const r = await runChaos({
  seconds,
  wan,
  print: (l) => console.log(`  ${((Date.now() - t0) / 1000).toFixed(1)}s ${l}`),
})
report(
  `bench:chaos — 3 node processes, 3 regions${wan ? ' behind the simulated WAN' : ''}, ack=peer writers, SIGKILL + partitions`,
  [{ name: `chaos ${seconds} s`, ...r, violations: r.violations.length }],
  'bench/results/chaos.json',
  { violations: r.violations.slice(0, 50) },
)
for (const v of r.violations.slice(0, 20)) console.log(`VIOLATION ${v}`)
process.exit(r.violations.length === 0 ? 0 : 1)
