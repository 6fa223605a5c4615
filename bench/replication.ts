/**
 * bench:replication: one writer (this thread) and two receivers (worker threads) on
 * loopback, meshcache side by side with plain gossipsub (bench/raw-gossipsub.ts) in the
 * same run. Issue 12 target: >= 150k replicated writes/s.
 *
 * 1. meshcache, paced: PACED_RATE writes/s for PACED_SECONDS (lag = receive time minus the
 *    write's stamp), then WRITES writes as fast as possible until both receivers applied
 *    every one (replicated writes/s). Messages and bytes per message are counted.
 * 2. The anchor, before and after meshcache (anchor = their mean; the machine's load
 *    drifts): plain gossipsub, one hop (publisher -> the same two receivers), StrictNoSign
 *    as meshcache now runs it, messages of meshcache's measured size, each standing for
 *    meshcache's measured writes per message: as fast as possible (the writes/s gossipsub
 *    could carry if batching, signing, decoding and applying were free), and paced at
 *    meshcache's paced message rate (lag).
 * 3. The old anchor, one ~100-byte message per write (RAW_WRITES, 0 to skip).
 *
 * PROF=writer: the same of the writer thread. PROF=1: a CPU profile of the second meshcache receiver over the throughput burst (V8's
 * sampling profiler, as --cpu-prof, started through the inspector so startup and idle time
 * stay out); PROF=whole: that receiver runs with --cpu-prof for its whole life instead.
 * The profile goes to PROF_DIR (default /tmp/meshcache-prof); its top functions by self
 * time, grouped by package, are printed (bench/profile-summary.ts) and saved to
 * bench/results/replication-profile.json.
 * Run: npm run bench:replication   (WRITES=200000 RAW_WRITES=5000 PROF=1)
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { Session } from 'node:inspector/promises'
import { join } from 'node:path'
import { Worker } from 'node:worker_threads'
import { createCache } from '../src/node/create-cache.js'
import { type BenchRow, report } from './harness.js'
import { printSummary, summarizeProfile } from './profile-summary.js'
import { createRawGossipsub, RAW_TOPIC, rawMessage } from './raw-gossipsub.js'
import { REPLICATION_VALUE } from './replication-value.js'

const WRITES = Number(process.env.WRITES ?? 200_000)
const RAW_WRITES = Number(process.env.RAW_WRITES ?? 5_000)
const PACED_RATE = Number(process.env.PACED_RATE ?? 10_000)
const RAW_PACED_RATE = 500
const PACED_SECONDS = 3
const TARGET = 150_000
const PROF = process.env.PROF === '1' || process.env.PROF === 'whole'
/** PROF=writer: a CPU profile of the writer thread (this one) over the throughput burst. */
const PROF_WRITER = process.env.PROF === 'writer'
const PROF_WHOLE = process.env.PROF === 'whole'
const PROF_DIR = process.env.PROF_DIR ?? '/tmp/meshcache-prof'
const value = REPLICATION_VALUE

type Rx = {
  worker: Worker
  ask: <T>(m: unknown) => Promise<T>
  report: () => Promise<{
    received: number
    lags: number[]
    batches: number
    counters?: unknown
    /** The receiver thread's CPU time since its last reset. */
    cpuMs: number
  }>
  count: () => Promise<number>
  send: (m: string) => void
  exited: Promise<void>
}

async function receivers(mode: 'meshcache' | 'raw', peer: string, prof = false): Promise<Rx[]> {
  if (prof) mkdirSync(PROF_DIR, { recursive: true })
  return Promise.all(
    [2, 3].map(
      (i) =>
        new Promise<Rx>((resolve, reject) => {
          const worker = new Worker(new URL('./replication-receiver.ts', import.meta.url), {
            workerData: { mode, host: `127.0.${i}.1`, peer },
            execArgv: [
              '--import',
              'tsx',
              ...(prof && PROF_WHOLE && i === 3
                ? [
                    '--cpu-prof',
                    `--cpu-prof-dir=${PROF_DIR}`,
                    '--cpu-prof-name=receiver-whole.cpuprofile',
                  ]
                : []),
            ],
          })
          const exited = new Promise<void>((r) => worker.once('exit', () => r()))
          const ask = <T>(m: unknown) =>
            new Promise<T>((r) => {
              worker.once('message', r)
              worker.postMessage(m)
            })
          worker.once('error', reject)
          worker.once('message', () =>
            resolve({
              worker,
              exited,
              ask,
              send: (m) => worker.postMessage(m),
              report: () => ask('report'),
              count: () => ask<{ received: number }>('count').then((x) => x.received),
            }),
          )
        }),
    ),
  )
}

async function waitAll(rx: Rx[], n: number, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const counts = await Promise.all(rx.map((r) => r.count()))
    const min = Math.min(...counts)
    if (min >= n || Date.now() > deadline) return min
    await new Promise((r) => setTimeout(r, 10))
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

async function startProfiler(): Promise<Session> {
  const session = new Session()
  session.connect()
  await session.post('Profiler.enable')
  await session.post('Profiler.setSamplingInterval', { interval: 200 })
  await session.post('Profiler.start')
  return session
}

const rows: BenchRow[] = []
const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d

// ---- the anchor before meshcache, at the message size meshcache typically sends (measured
// again after it at the exact size): the machine's load drifts, so the two bracket it in time.
const NOMINAL_BYTES = 26_000
const NOMINAL_WRITES_PER_MSG = 260
await rawPhase(
  'raw gossipsub, ~same msg size, before',
  NOMINAL_BYTES,
  NOMINAL_WRITES_PER_MSG,
  WRITES,
  40,
)

// ---- meshcache ----
let bytesPerMessage = 0
/** CPU time per replicated write in the burst: the writer thread, each receiver thread. */
let cpuUsPerWrite = { writer: 0, receivers: [] as number[] }
let writesPerMessage = 0
let pacedMessagesPerSec = 0
let profileFile: string | undefined
{
  const writer = await createCache({
    region: 'tx',
    listen: ['/ip4/127.0.1.1/tcp/0'],
    maxEntries: 1_000_000,
  })
  // The writer's relay frames and their bytes (one frame per link per flush).
  const relayOut = () => writer.stats().mesh!.replication
  let bytesOut = 0
  let messagesOut = 0
  const countOut = () => {
    bytesOut = relayOut().bytesOut
    messagesOut = relayOut().framesOut
  }
  const rx = await receivers('meshcache', writer.addresses()[0]!, PROF)
  while (writer.admin.mesh!.subscribers('default') < 2) await new Promise((r) => setTimeout(r, 20))
  await new Promise((r) => setTimeout(r, 300)) // outbound streams open
  // Lag first, on fresh nodes at a steady rate; then throughput, as fast as possible.
  const sent = await paced(PACED_RATE, PACED_SECONDS, (i) => void writer.set(`p${i}`, value))
  await waitAll(rx, sent, 30_000)
  countOut()
  pacedMessagesPerSec = messagesOut / PACED_SECONDS
  const pacedBytesPerMessage = bytesOut / Math.max(1, messagesOut)
  const pacedWritesPerMessage = sent / Math.max(1, messagesOut)
  const lags = (await Promise.all(rx.map((r) => r.report()))).flatMap((x) => x.lags)
  for (const r of rx) r.send('reset')
  const phaseProfile = join(PROF_DIR, 'receiver-burst.cpuprofile')
  if (PROF && !PROF_WHOLE) await rx[1]!.ask({ t: 'prof-start' })
  const writerProfiler = PROF_WRITER ? await startProfiler() : undefined
  countOut()
  const bytes0 = bytesOut
  const messages0 = messagesOut
  const sync0 = await syncCounters(rx)
  const writerCpu0 = process.threadCpuUsage()
  const t0 = performance.now()
  for (let i = 0; i < WRITES; i++) {
    void writer.set(`k${i}`, value)
    if (i % 2_000 === 1_999) await new Promise((r) => setImmediate(r))
  }
  const localMs = performance.now() - t0
  writer.flush()
  const got = await waitAll(rx, WRITES, 120_000)
  const totalMs = performance.now() - t0
  const writerCpu = process.threadCpuUsage(writerCpu0)
  const rxCpuMs = (await Promise.all(rx.map((r) => r.report()))).map((x) => x.cpuMs)
  cpuUsPerWrite = {
    writer: (writerCpu.user + writerCpu.system) / WRITES,
    receivers: rxCpuMs.map((ms) => (ms * 1000) / Math.max(1, got)),
  }
  if (writerProfiler) {
    mkdirSync(PROF_DIR, { recursive: true })
    profileFile = join(PROF_DIR, 'writer-burst.cpuprofile')
    const { profile } = await writerProfiler.post('Profiler.stop')
    writeFileSync(profileFile, JSON.stringify(profile))
    writerProfiler.disconnect()
  }
  if (PROF && !PROF_WHOLE) {
    await rx[1]!.ask({ t: 'prof-stop', file: phaseProfile })
    profileFile = phaseProfile
  }
  const mesh = writer.stats().mesh!
  const sync1 = await syncCounters(rx)
  console.log(
    `anti-entropy during the burst, per receiver (sessions it ran / entries it pulled): ${sync1.map((c, i) => `${c.syncSessions - sync0[i]!.syncSessions} / ${c.syncPulled - sync0[i]!.syncPulled}`).join(', ')}; the writer ran ${mesh.replication.syncSessions} sessions since it started`,
  )
  if (got < WRITES) {
    // Where the writes went: by gossip (recordsIn) or only by anti-entropy (syncPulled).
    const counters = (await Promise.all(rx.map((r) => r.report()))).map((x) => x.counters)
    console.log(
      `WARNING: only ${got} of ${WRITES} writes reached both receivers in 120 s; receivers' counters: ${JSON.stringify(counters)}; the writer's: ${JSON.stringify({ ...mesh.replication, rejected: undefined })}`,
    )
  }
  countOut()
  const messages = messagesOut - messages0
  bytesPerMessage = (bytesOut - bytes0) / Math.max(1, messages)
  writesPerMessage = WRITES / Math.max(1, messages)
  rows.push({
    name: 'meshcache (batched, signed)',
    writes: WRITES,
    replicated: got,
    localWritesPerSec: Math.round(WRITES / (localMs / 1000)),
    replicatedWritesPerSec: Math.round(got / (totalMs / 1000)),
    messages,
    bytesPerMsg: Math.round(bytesPerMessage),
    writesPerMsg: round(writesPerMessage),
    dropped: mesh.replication.batchesDropped,
    paced: `${PACED_RATE} writes/s (${round(pacedMessagesPerSec)} msgs/s of ${Math.round(pacedBytesPerMessage)} B, ${round(pacedWritesPerMessage)} writes/msg)`,
    lagP50Ms: pct(lags, 0.5),
    lagP99Ms: pct(lags, 0.99),
    lagMaxMs: pct(lags, 1),
  })
  const stages = mesh.stages
  console.log(
    `meshcache writer stages (mean ms per batch): ${(['queue', 'encode', 'send'] as const).map((s) => `${s} ${round(stages[s].sumMs / Math.max(1, stages[s].count), 2)}`).join(', ')}`,
  )
  for (const r of rx) r.send('close')
  await Promise.all(rx.map((r) => r.exited))
  await writer.close()
  if (PROF_WHOLE) profileFile = join(PROF_DIR, 'receiver-whole.cpuprofile')
}

/** The receivers' anti-entropy counters (sessions run, entries pulled). */
async function syncCounters(rx: Rx[]): Promise<{ syncSessions: number; syncPulled: number }[]> {
  const reports = await Promise.all(rx.map((r) => r.report()))
  return reports.map((x) => x.counters as { syncSessions: number; syncPulled: number })
}

// ---- the anchor: plain gossipsub, one hop, meshcache's message size and writes per message ----
async function rawPhase(
  name: string,
  bytes: number,
  writesPerMsg: number,
  writes: number,
  pacedMsgsPerSec: number,
): Promise<void> {
  const node = await createRawGossipsub('127.0.1.2')
  node.services.pubsub.subscribe(RAW_TOPIC)
  const rx = await receivers('raw', node.getMultiaddrs()[0]!.toString())
  while (node.services.pubsub.getSubscribers(RAW_TOPIC).length < 2)
    await new Promise((r) => setTimeout(r, 20))
  await new Promise((r) => setTimeout(r, 300)) // outbound streams open
  let errors = 0
  let seq = 0
  // Paced first (lag), at meshcache's message rate, as meshcache's phase did.
  const sentMsgs = await paced(pacedMsgsPerSec, PACED_SECONDS, () => {
    void node.services.pubsub
      .publish(RAW_TOPIC, rawMessage(seq++, bytes, writesPerMsg))
      .catch(() => errors++)
  })
  await waitAll(rx, sentMsgs * writesPerMsg, 30_000)
  const lags = (await Promise.all(rx.map((r) => r.report()))).flatMap((x) => x.lags)
  for (const r of rx) r.send('reset')
  const messages = Math.ceil(writes / writesPerMsg)
  const t0 = performance.now()
  const pending: Promise<unknown>[] = []
  // As fast as possible: yield as often as meshcache's writer does (every ~2,000 writes).
  const every = Math.max(1, Math.floor(2_000 / writesPerMsg))
  for (let i = 0; i < messages; i++) {
    pending.push(
      node.services.pubsub
        .publish(RAW_TOPIC, rawMessage(seq++, bytes, writesPerMsg))
        .catch(() => errors++),
    )
    if (i % every === every - 1) await new Promise((r) => setImmediate(r))
  }
  await Promise.all(pending)
  const got = await waitAll(rx, messages * writesPerMsg, 120_000)
  const totalMs = performance.now() - t0
  rows.push({
    name,
    writes: messages * writesPerMsg,
    replicated: got,
    localWritesPerSec: Number.NaN,
    replicatedWritesPerSec: Math.round(got / (totalMs / 1000)),
    messages,
    bytesPerMsg: Math.round(bytes),
    writesPerMsg: round(writesPerMsg),
    dropped: errors,
    paced: `${round(pacedMsgsPerSec)} msgs/s`,
    lagP50Ms: pct(lags, 0.5),
    lagP99Ms: pct(lags, 0.99),
    lagMaxMs: pct(lags, 1),
  })
  for (const r of rx) r.send('close')
  await Promise.all(rx.map((r) => r.exited))
  await Promise.race([node.stop(), new Promise((r) => setTimeout(r, 3_000))])
}

// Whole messages of meshcache's size: writes per message rounded down.
const perMsg = Math.max(1, Math.floor(writesPerMessage))
await rawPhase(
  'raw gossipsub, same msg size, after',
  bytesPerMessage,
  perMsg,
  WRITES,
  pacedMessagesPerSec,
)
if (RAW_WRITES > 0)
  await rawPhase('raw gossipsub, 1 msg/write (~100 B)', 100, 1, RAW_WRITES, RAW_PACED_RATE)

const before = rows[0]!
const mesh = rows[1]!
const after = rows[2]!
const meshRate = mesh.replicatedWritesPerSec as number
const anchorRate =
  ((before.replicatedWritesPerSec as number) + (after.replicatedWritesPerSec as number)) / 2
for (const r of rows) r['throughput/anchor'] = (r.replicatedWritesPerSec as number) / anchorRate
let profile: ReturnType<typeof summarizeProfile> | undefined
if (profileFile !== undefined) profile = summarizeProfile(profileFile)
report(
  `bench:replication — 1 writer, 2 receivers (worker threads), loopback; target >= ${TARGET.toLocaleString('en')} replicated writes/s`,
  rows,
  'bench/results/replication.json',
  {
    target: TARGET,
    met: meshRate >= TARGET,
    cpuUsPerWrite,
    anchorWritesPerSec: anchorRate,
    ...(profile ? { profileFile } : {}),
  },
)
console.log(
  `meshcache ${meshRate.toLocaleString('en')} replicated writes/s: ${meshRate >= TARGET ? 'meets' : 'misses'} the ${TARGET.toLocaleString('en')} target; ${round(meshRate / anchorRate, 2)}x raw gossipsub carrying the same bytes (anchor: the mean of the runs before and after, ${Math.round(anchorRate).toLocaleString('en')} writes/s)`,
)
console.log(
  `CPU per replicated write in the burst (thread CPU time, independent of the machine's load): writer ${round(cpuUsPerWrite.writer, 2)} µs, receivers ${cpuUsPerWrite.receivers.map((x) => round(x, 2)).join(' / ')} µs => one receiver core could apply ~${Math.round(1e6 / Math.max(...cpuUsPerWrite.receivers)).toLocaleString('en')} writes/s`,
)
if (profile && profileFile) {
  console.log(
    `\nCPU profile of ${PROF_WRITER ? 'the writer' : 'one meshcache receiver'} (${profileFile}):`,
  )
  printSummary(profile)
  report(
    'bench:replication receiver profile: self time by package',
    profile.packages.map((p) => ({
      name: p.name,
      selfMs: round(p.ms),
      share: round(p.share * 100),
    })),
    'bench/results/replication-profile.json',
    { profileFile, top: profile.functions.slice(0, 30) },
  )
}
process.exit(0)
