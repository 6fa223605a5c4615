/**
 * bench:persist: what persistence costs at 100k and 1M entries — a snapshot (CPU ms,
 * bytes written per interval), a restart (loading the snapshot), and a write with the
 * write log on against the same cache without a data dir (the anchor, same run).
 * Run: npm run bench:persist   (SIZES=100000,1000000)
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createCache } from '../src/node/create-cache.js'
import { SNAPSHOT_FILE } from '../src/persist/snapshot.js'
import { WRITE_LOG_FILE } from '../src/persist/write-log.js'
import { type BenchRow, report } from './harness.js'

const SIZES = (process.env.SIZES ?? '100000,1000000').split(',').map(Number)
const WRITES = 200_000
const value = (i: number) => ({ id: i, name: 'Ada Lovelace', email: 'ada@example.com', n: i * 7 })

const rows: BenchRow[] = []
for (const n of SIZES) {
  const dataDir = mkdtempSync(join(tmpdir(), 'meshcache-bench-persist-'))
  const opts = { maxEntries: n, defaultTtl: '1h', snapshotInterval: '1h', nodeId: 'bench' }
  const a = await createCache({ ...opts, dataDir })
  for (let i = 0; i < n; i++) await a.set(`key:${i}`, value(i))
  // A snapshot is what the close writes; time it through a second, explicit close path.
  let maxStallMs = 0
  let last = performance.now()
  const probe = setInterval(() => {
    const t = performance.now()
    maxStallMs = Math.max(maxStallMs, t - last)
    last = t
  }, 1)
  const t0 = performance.now()
  const cpu0 = process.cpuUsage()
  await a.close()
  const snapshotMs = performance.now() - t0
  clearInterval(probe)
  const cpu = process.cpuUsage(cpu0)
  const bytes = statSync(join(dataDir, SNAPSHOT_FILE)).size
  const t1 = performance.now()
  const b = await createCache({ ...opts, dataDir })
  const restartMs = performance.now() - t1
  const loaded = b.stats().entries
  await b.close()
  rows.push({
    name: `n=${n}`,
    entries: n,
    snapshotMs: Math.round(snapshotMs),
    snapshotCpuMs: Math.round((cpu.user + cpu.system) / 1000),
    snapshotMB: Math.round(bytes / 1e5) / 10,
    'cpu%@5s': Math.round(((cpu.user + cpu.system) / 1000 / 5_000) * 1000) / 10,
    'cpu%adaptive':
      Math.round(
        ((cpu.user + cpu.system) / 1000 / Math.max(5_000, ((cpu.user + cpu.system) / 1000) * 20)) *
          1000,
      ) / 10,
    maxStallMs: Math.round(maxStallMs),
    restartMs: Math.round(restartMs),
    loaded,
  })
  rmSync(dataDir, { recursive: true, force: true })
}

// The write log on the write path: set with a data dir vs without (the anchor).
const setCost = async (dataDir: string | undefined) => {
  const c = await createCache({
    maxEntries: WRITES,
    snapshotInterval: '1h',
    ...(dataDir ? { dataDir } : {}),
  })
  let best = Number.POSITIVE_INFINITY
  for (let round = 0; round < 3; round++) {
    const t = performance.now()
    for (let i = 0; i < WRITES; i++) await c.set(`w:${i}`, value(i))
    best = Math.min(best, ((performance.now() - t) * 1e6) / WRITES)
  }
  const log = dataDir ? statSync(join(dataDir, WRITE_LOG_FILE)).size : 0
  await c.close()
  return { ns: best, log }
}
const plain = await setCost(undefined)
const walDir = mkdtempSync(join(tmpdir(), 'meshcache-bench-wal-'))
const logged = await setCost(walDir)
rmSync(walDir, { recursive: true, force: true })
rows.push({ name: 'set, no dataDir (anchor)', nsPerSet: Math.round(plain.ns), 'set/anchor': 1 })
rows.push({
  name: 'set, dataDir (write log)',
  nsPerSet: Math.round(logged.ns),
  'set/anchor': Math.round((logged.ns / plain.ns) * 100) / 100,
  logBytesPerWrite: Math.round(logged.log / (3 * WRITES)),
})
report('bench:persist — snapshot, restart and write-log costs', rows, 'bench/results/persist.json')
process.exit(0)
