/**
 * bench:flood — an outsider without the network key against a private node (issue 23,
 * item 4): random bytes streamed into its libp2p port over ~1,000 connections at once
 * (100 MB in all), then 300 idle connections held open while an honest node joins.
 * Separate processes: node A (flooded), honest peer B, joiner C, the attacker.
 * Prints the figures against the targets and writes bench/results/flood.json.
 * Run: npm run bench:flood   (FLOOD_SETTLE_S=60, FLOOD_SOURCES=10)
 */

import { runFlood } from './flood-scenario.js'
import { report } from './harness.js'

const t0 = Date.now()
const settleS = Number(process.env.FLOOD_SETTLE_S ?? 60)
const sources = Number(process.env.FLOOD_SOURCES ?? 10)
const control = process.env.FLOOD_CONTROL === '1'
const r = await runFlood({
  subnet: 77,
  sources,
  stream: {
    slots: 1_000,
    perConnectionBytes: 100_000,
    totalBytes: 100_000_000,
    maxMs: 30_000,
    reopenMs: 100,
  },
  aftermathMs: 5_000,
  hold: { connections: 300, reopenMs: 100 },
  joinTimeoutMs: 30_000,
  settleMs: settleS * 1_000,
  control,
  print: (l) => console.log(`  ${((Date.now() - t0) / 1000).toFixed(1)}s ${l}`),
})
const growth = r.rssMb.peak - r.rssMb.baseline
const kept = r.rssMb.after - r.rssMb.baseline
const rows = [
  { name: 'RSS growth during the flood, MB', value: growth, target: '<= 50' },
  { name: `RSS above baseline ${settleS} s after, MB`, value: kept, target: '~0 (returned)' },
  { name: '/health/live p99 during, ms', value: r.health.p99, target: '<= 100' },
  { name: '/health/live max during, ms', value: r.health.max, target: '' },
  { name: 'replication lag p99 during, ms', value: r.replication.p99, target: '<= 200' },
  { name: 'replication lag max during, ms', value: r.replication.max, target: '' },
  { name: 'join with 300 held, ms', value: r.joinMs, target: '<= 5000' },
]
report(
  `bench:flood${control ? ' (control: no attacker)' : ''} — private node vs an outsider from ${sources} addresses: ${r.stream.opened} connections, ${(r.stream.bytesWritten / 1e6).toFixed(0)} MB in ${r.stream.ms} ms; ${r.heldAtJoin} idle held at join`,
  rows,
  control ? 'bench/results/flood-control.json' : 'bench/results/flood.json',
  { report: r },
)
