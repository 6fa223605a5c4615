/**
 * A receiver of bench:replication, in its own worker thread: a meshcache node, or a plain
 * gossipsub node (the anchor) that counts the writes its messages stand for. Both measure
 * lag: receive time minus the write's stamp (meshcache) or the message's send time (the
 * anchor); one machine, one clock.
 */
import { writeFileSync } from 'node:fs'
import { Session } from 'node:inspector/promises'
import { parentPort, workerData } from 'node:worker_threads'
import { createCache } from '../src/node/create-cache.js'
import { createRawGossipsub, RAW_TOPIC, readRawMessage } from './raw-gossipsub.js'

const { mode, host, peer } = workerData as { mode: 'meshcache' | 'raw'; host: string; peer: string }
const port = parentPort!
let received = 0
let messages = 0
let lags: number[] = []
let profiler: Session | undefined
/** Records applied since the last reset, where the receiver counts them from its stats. */
let countApplied: (() => number) | undefined
let onReset: (() => void) | undefined
/** This thread's CPU time at the last reset (process.threadCpuUsage, µs). */
let cpu0 = process.threadCpuUsage()

if (mode === 'meshcache') {
  const cache = await createCache({
    region: 'rx',
    listen: [`/ip4/${host}/tcp/0`],
    peers: [peer],
    maxEntries: 1_000_000,
  })
  // Lag needs each write's stamp: the paced phase counts `change` events. The burst counts
  // the keys held instead (`size`: every write is a new key, brought by the relay or, when
  // a link's queue overflowed, by anti-entropy): a `change` listener is handed every
  // value, so it makes the receiver decode each one at once, where a node nobody listens
  // to keeps received values as bytes until first read (as most cache nodes do); and
  // `stats()` builds the whole mesh view, too dear to poll every 10 ms in a CPU figure.
  const onChange = (e: { version: { wall: number } }) => {
    received++
    if (lags.length < 200_000) lags.push(Date.now() - e.version.wall)
  }
  cache.on('change', onChange)
  let sizeAtReset = 0
  countApplied = () => cache.size - sizeAtReset
  onReset = () => {
    cache.off('change', onChange)
    sizeAtReset = cache.size
  }
  serve(
    () => cache.stats().mesh!.replication.batchesIn,
    () => cache.close(),
    () => {
      const r = cache.stats().mesh!.replication
      return {
        recordsIn: r.recordsIn,
        recordsApplied: r.recordsApplied,
        syncPulled: r.syncPulled,
        syncSessions: r.syncSessions,
        syncErrors: r.syncErrors,
        held: cache.size,
        rejected: r.rejected,
      }
    },
  )
} else {
  const node = await createRawGossipsub(host)
  const { multiaddr } = await import('@multiformats/multiaddr')
  node.services.pubsub.subscribe(RAW_TOPIC)
  node.services.pubsub.addEventListener('message', (e) => {
    const { sentAt, writes } = readRawMessage(e.detail.data)
    received += writes
    messages++
    if (lags.length < 200_000) lags.push(Date.now() - sentAt)
  })
  await node.dial(multiaddr(peer))
  serve(
    () => messages,
    () => node.stop(),
  )
}
/** Answers the main thread: report, reset, close (then exit). */
function serve(
  batches: () => number,
  stop: () => Promise<void> | void,
  counters: () => unknown = () => undefined,
): void {
  port.on('message', async (m) => {
    if (m === 'report') {
      if (countApplied !== undefined && onReset === undefined) received = countApplied()
      const cpu = process.threadCpuUsage(cpu0)
      port.postMessage({
        received,
        lags,
        batches: batches(),
        counters: counters(),
        cpuMs: (cpu.user + cpu.system) / 1000,
      })
    }
    if (m === 'count') {
      if (countApplied !== undefined && onReset === undefined) received = countApplied()
      port.postMessage({ received, lags: [], batches: 0 })
    }
    if (typeof m === 'object' && m.t === 'prof-start') {
      // A CPU profile of this thread over one phase (the throughput burst), via the
      // inspector: the same sampling profiler as --cpu-prof, without startup and idle.
      profiler = new Session()
      profiler.connect()
      await profiler.post('Profiler.enable')
      await profiler.post('Profiler.setSamplingInterval', { interval: 200 })
      await profiler.post('Profiler.start')
      port.postMessage({ t: 'prof-started' })
    }
    if (typeof m === 'object' && m.t === 'prof-stop') {
      const { profile } = await profiler!.post('Profiler.stop')
      writeFileSync(m.file, JSON.stringify(profile))
      profiler!.disconnect()
      port.postMessage({ t: 'prof-stopped' })
    }
    if (m === 'reset') {
      onReset?.()
      onReset = undefined
      cpu0 = process.threadCpuUsage()
      received = 0
      lags = []
    }
    if (m === 'close') {
      await Promise.race([stop(), new Promise((r) => setTimeout(r, 3_000))])
      process.exit(0)
    }
  })
}
port.postMessage('ready')
