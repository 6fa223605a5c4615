/**
 * bench:replication's burst with its three nodes in one thread (issue 29's probe: a
 * writer and two receivers in one process, over loopback TCP): every byte is encoded,
 * signed, sent, received and applied by the same core, so the figure is the sum of the
 * three nodes' costs per write. Reports replicated writes/s (both receivers hold every
 * key), the process's CPU per write, and the writer's own time to issue the burst.
 * Run: node --import tsx bench/replication-one-process.ts   (WRITES=200000 RUNS=3 PROF=1)
 * PROF=1 writes a CPU profile of the last run to PROF_DIR (default /tmp/meshcache-prof).
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { Session } from 'node:inspector/promises'
import { join } from 'node:path'
import { createCache } from '../src/node/create-cache.js'
import { REPLICATION_VALUE } from './replication-value.js'

const WRITES = Number(process.env.WRITES ?? 200_000)
const RUNS = Number(process.env.RUNS ?? 3)
const PROF_DIR = process.env.PROF_DIR ?? '/tmp/meshcache-prof'
const TARGET = 100_000
const value = REPLICATION_VALUE

const tick = () => new Promise((r) => setTimeout(r, 10))

async function once(run: number, profile: boolean) {
  const options = { maxEntries: 1_000_000 }
  const writer = await createCache({ ...options, region: 'tx', listen: ['/ip4/127.0.2.1/tcp/0'] })
  const peers = [writer.addresses()[0]!]
  const rx = [
    await createCache({ ...options, region: 'rx', listen: ['/ip4/127.0.2.2/tcp/0'], peers }),
    await createCache({ ...options, region: 'rx', listen: ['/ip4/127.0.2.3/tcp/0'], peers }),
  ]
  try {
    const deadline = Date.now() + 30_000
    while (writer.admin.mesh!.subscribers('default') < 2) {
      if (Date.now() > deadline) throw new Error('receivers did not subscribe in 30 s')
      await tick()
    }
    // Warm up (streams open, code optimized): 2,000 writes reach both.
    for (let i = 0; i < 2_000; i++) void writer.set(`w${i}`, value)
    while (rx.some((c) => c.size < 2_000)) await tick()
    const held0 = rx.map((c) => c.size)
    const session = profile ? new Session() : undefined
    if (session) {
      session.connect()
      await session.post('Profiler.enable')
      await session.post('Profiler.setSamplingInterval', { interval: 200 })
      await session.post('Profiler.start')
    }
    const cpu0 = process.cpuUsage()
    const t0 = performance.now()
    for (let i = 0; i < WRITES; i++) {
      void writer.set(`k${run}:${i}`, value)
      if (i % 2_000 === 1_999) await new Promise((r) => setImmediate(r))
    }
    const issuedMs = performance.now() - t0
    writer.flush()
    const end = Date.now() + 120_000
    while (rx.some((c, i) => c.size - held0[i]! < WRITES) && Date.now() < end) await tick()
    const ms = performance.now() - t0
    const cpu = process.cpuUsage(cpu0)
    if (session) {
      const { profile: p } = await session.post('Profiler.stop')
      mkdirSync(PROF_DIR, { recursive: true })
      writeFileSync(join(PROF_DIR, 'one-process.cpuprofile'), JSON.stringify(p))
      session.disconnect()
    }
    const got = Math.min(...rx.map((c, i) => c.size - held0[i]!))
    return {
      replicatedPerSec: Math.round(got / (ms / 1000)),
      got,
      issuedPerSec: Math.round(WRITES / (issuedMs / 1000)),
      cpuUsPerWrite: Math.round(((cpu.user + cpu.system) / WRITES) * 100) / 100,
    }
  } finally {
    await Promise.all([writer, ...rx].map((c) => c.close()))
  }
}

const results = []
for (let r = 0; r < RUNS; r++) {
  const res = await once(r, process.env.PROF === '1' && r === RUNS - 1)
  results.push(res)
  console.log(
    `run ${r + 1}: ${res.replicatedPerSec} replicated writes/s (${res.got} of ${WRITES} on both receivers), ` +
      `writer issued ${res.issuedPerSec}/s, ${res.cpuUsPerWrite} µs of process CPU per write`,
  )
}
const best = Math.max(...results.map((r) => r.replicatedPerSec))
console.log(
  `bench:replication, three nodes in one process: best of ${RUNS} ${best} replicated writes/s ` +
    `(${best >= TARGET ? 'meets' : 'misses'} the ${TARGET.toLocaleString('en')} target)`,
)
