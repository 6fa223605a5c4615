/**
 * bench:replication: one writer, two receivers (worker threads) on loopback.
 * meshcache (batched writes) side by side with raw gossipsub (one message per write).
 * Measures replicated writes/s until every receiver applied them, and lag p50/p99 at a
 * paced rate. Run: npm run bench:replication
 */
import { Worker } from 'node:worker_threads'
import { createMeshLibp2p } from '../src/mesh/libp2p-node.js'
import { createCache } from '../src/node/create-cache.js'
import { type BenchRow, report } from './harness.js'

const WRITES = Number(process.env.WRITES ?? 200_000)
const RAW_WRITES = Number(process.env.RAW_WRITES ?? 5_000)
const PACED_RATE = 10_000
const RAW_PACED_RATE = 500
const PACED_SECONDS = 3
const value = {
  id: 1,
  name: 'Ada Lovelace',
  email: 'ada@example.com',
  roles: ['admin', 'ops'],
  n: 42,
} // ~90 bytes

type Rx = {
  worker: Worker
  report: () => Promise<{ received: number; lags: number[] }>
  send: (m: string) => void
}

async function receivers(mode: 'meshcache' | 'raw', peer: string): Promise<Rx[]> {
  return Promise.all(
    [2, 3].map(
      (i) =>
        new Promise<Rx>((resolve, reject) => {
          const worker = new Worker(new URL('./replication-receiver.ts', import.meta.url), {
            workerData: { mode, host: `127.0.${i}.1`, peer },
            execArgv: ['--import', 'tsx'],
          })
          worker.once('error', reject)
          worker.once('message', () =>
            resolve({
              worker,
              send: (m) => worker.postMessage(m),
              report: () =>
                new Promise((r) => {
                  worker.once('message', r)
                  worker.postMessage('report')
                }),
            }),
          )
        }),
    ),
  )
}

async function waitAll(rx: Rx[], n: number, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const counts = await Promise.all(rx.map((r) => r.report().then((x) => x.received)))
    const min = Math.min(...counts)
    if (min >= n || Date.now() > deadline) return min
    await new Promise((r) => setTimeout(r, 20))
  }
}

function pct(xs: number[], q: number): number {
  if (xs.length === 0) return Number.NaN
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!
}

async function paced(rate: number, seconds: number, write: (i: number) => void): Promise<number> {
  const start = Date.now()
  let i = 0
  while (Date.now() - start < seconds * 1000) {
    const due = Math.floor(((Date.now() - start) / 1000) * rate)
    while (i < due) write(i++)
    await new Promise((r) => setTimeout(r, 5))
  }
  return i
}

const rows: BenchRow[] = []

// ---- meshcache ----
{
  const writer = await createCache({
    region: 'tx',
    listen: ['/ip4/127.0.1.1/tcp/0'],
    maxEntries: 1_000_000,
  })
  const rx = await receivers('meshcache', writer.addresses()[0]!)
  while (writer.admin.mesh!.subscribers('default') < 2) await new Promise((r) => setTimeout(r, 20))
  // Lag first, on fresh nodes at a steady rate; then throughput, as fast as possible.
  const sent = await paced(PACED_RATE, PACED_SECONDS, (i) => void writer.set(`p${i}`, value))
  await waitAll(rx, sent, 30_000)
  const lags = (await Promise.all(rx.map((r) => r.report()))).flatMap((x) => x.lags)
  for (const r of rx) r.send('reset')
  const t0 = performance.now()
  for (let i = 0; i < WRITES; i++) {
    void writer.set(`k${i}`, value)
    if (i % 2_000 === 1_999) await new Promise((r) => setImmediate(r))
  }
  const localMs = performance.now() - t0
  writer.flush()
  const got = await waitAll(rx, WRITES, 120_000)
  const totalMs = performance.now() - t0
  const mesh = writer.stats().mesh as {
    replication: { batchesOut: number; recordsDropped: number }
  }
  rows.push({
    name: 'meshcache (batched)',
    writes: WRITES,
    replicated: got,
    localWritesPerSec: Math.round(WRITES / (localMs / 1000)),
    replicatedWritesPerSec: Math.round(got / (totalMs / 1000)),
    messages: mesh.replication.batchesOut,
    dropped: mesh.replication.recordsDropped,
    pacedRate: PACED_RATE,
    lagP50Ms: pct(lags, 0.5),
    lagP99Ms: pct(lags, 0.99),
    lagMaxMs: pct(lags, 1),
  })
  for (const r of rx) r.send('close')
  await writer.close()
}

// ---- raw gossipsub: one message per write (the anchor) ----
{
  const node = await createMeshLibp2p({ listen: ['/ip4/127.0.1.2/tcp/0'] })
  node.services.pubsub.subscribe('raw')
  const rx = await receivers('raw', node.getMultiaddrs()[0]!.toString())
  while (node.services.pubsub.getSubscribers('raw').length < 2)
    await new Promise((r) => setTimeout(r, 20))
  const payload = (i: number) => {
    const b = new Uint8Array(100)
    new DataView(b.buffer).setFloat64(0, Date.now())
    new DataView(b.buffer).setUint32(8, i)
    return b
  }
  const t0 = performance.now()
  let errors = 0
  const pending: Promise<unknown>[] = []
  for (let i = 0; i < RAW_WRITES; i++) {
    pending.push(node.services.pubsub.publish('raw', payload(i)).catch(() => errors++))
    if (i % 200 === 199) await new Promise((r) => setImmediate(r))
  }
  await Promise.all(pending)
  const got = await waitAll(rx, RAW_WRITES, 120_000)
  const totalMs = performance.now() - t0
  for (const r of rx) r.send('reset')
  const sent = await paced(
    RAW_PACED_RATE,
    PACED_SECONDS,
    (i) => void node.services.pubsub.publish('raw', payload(i)).catch(() => errors++),
  )
  await waitAll(rx, sent, 30_000)
  const lags = (await Promise.all(rx.map((r) => r.report()))).flatMap((x) => x.lags)
  rows.push({
    name: 'raw gossipsub (1 msg/write)',
    writes: RAW_WRITES,
    replicated: got,
    localWritesPerSec: Number.NaN,
    replicatedWritesPerSec: Math.round(got / (totalMs / 1000)),
    messages: RAW_WRITES,
    dropped: errors,
    pacedRate: RAW_PACED_RATE,
    lagP50Ms: pct(lags, 0.5),
    lagP99Ms: pct(lags, 0.99),
    lagMaxMs: pct(lags, 1),
  })
  for (const r of rx) r.send('close')
  await Promise.race([node.stop(), new Promise((r) => setTimeout(r, 3_000))])
}

const anchor = rows[1]!
for (const r of rows)
  r['throughput/anchor'] =
    (r.replicatedWritesPerSec as number) / (anchor.replicatedWritesPerSec as number)
report(
  'bench:replication — 1 writer, 2 receivers (worker threads), loopback',
  rows,
  'bench/results/replication.json',
)
process.exit(0)
