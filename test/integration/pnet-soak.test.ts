// Private mesh soak (issue 15, item 4; docs/decisions/pnet.md): at least 1 GiB through pnet
// connections of real libp2p nodes (TCP, pnet, Noise, Yamux) with memory bounded. Before
// the fix the xsalsa20 WebAssembly memory grew on nearly every cipher update and the
// connection died with `WebAssembly.Memory.grow(): Maximum memory size exceeded` after
// ~50 MB.
import { randomBytes } from 'node:crypto'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { crc32 } from 'node:zlib'
import type { Stream } from '@libp2p/interface'
import { afterEach, describe, expect, it } from 'vitest'
import { createMeshLibp2p, type MeshLibp2p } from '../../src/mesh/libp2p-node.js'
import { createNetworkKey, parseNetworkKey } from '../../src/mesh/network-key.js'
import { waitFor } from '../helpers/wait.js'

const SINK = '/meshcache-test/pnet-soak/1'
const MiB = 2 ** 20
/** What the soak moves through one connection (the issue asks for at least 1 GB). */
const SOAK_BYTES = 1024 * MiB
const CHUNK_BYTES = MiB
const SEGMENT_BYTES = 64 * MiB
const mb = (n: number) => `${(n / MiB).toFixed(0)} MiB`
/**
 * Bounds on memory growth over the soak, from a baseline taken after the first 64 MiB; a
 * cost per byte would be >= 1 GiB here. Peaks (rss and arrayBuffers, sampled every 20 ms)
 * include data in flight and garbage not yet collected (measured 30-160 MiB); what is
 * still held after a full GC is the retained cost (measured within a few MiB).
 */
const MAX_PEAK_GROWTH_BYTES = 384 * MiB
const MAX_RETAINED_GROWTH_BYTES = 32 * MiB

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void
/**
 * Heap and ArrayBuffer memory still held after full GCs. Socket and ArrayBuffer memory is
 * released a little after a GC, so this collects until two readings agree (or 2 s passed)
 * and takes the lowest.
 */
async function retained(): Promise<number> {
  const deadline = Date.now() + 2_000
  let low = Number.POSITIVE_INFINITY
  for (;;) {
    gc()
    const m = process.memoryUsage()
    const now = m.heapUsed + m.arrayBuffers
    if (Math.abs(now - low) < MiB || Date.now() > deadline) return Math.min(low, now)
    low = Math.min(low, now)
    await new Promise((r) => setTimeout(r, 20))
  }
}

const nodes: MeshLibp2p[] = []
afterEach(async () => {
  await Promise.allSettled(nodes.splice(0).map((n) => n.stop()))
})

/** Two private nodes sharing a key, each on its own 127.0.95.x address; `b` counts what it gets. */
async function privatePair(hostA: number, hostB: number) {
  const networkKey = parseNetworkKey(createNetworkKey())
  const a = await createMeshLibp2p({ listen: [`/ip4/127.0.95.${hostA}/tcp/0`], networkKey })
  nodes.push(a)
  const b = await createMeshLibp2p({ listen: [`/ip4/127.0.95.${hostB}/tcp/0`], networkKey })
  nodes.push(b)
  const sink = { bytes: 0, crc: 0 }
  await b.handle(SINK, (stream: Stream) => {
    stream.addEventListener('message', (evt) => {
      const data = evt.data
      for (const buf of data instanceof Uint8Array ? [data] : data) {
        sink.bytes += buf.byteLength
        sink.crc = crc32(buf, sink.crc)
      }
    })
  })
  return { a, b, sink }
}

/**
 * At most this much is queued in the sending stream, like a publisher with bounded
 * buffers. (A stream that always has data wins every yamux drain and starves other
 * streams, here the connection monitor's ping, which then aborts the connection after
 * ~15 s: a yamux fairness matter, seen with pnet's slower send path; docs/decisions/pnet.md.)
 */
const HIGH_WATER_BYTES = MiB
/** A transfer that makes no progress for this long has stalled. */
const STALL_MS = 10_000

/**
 * Writes `total` bytes of `chunk` (repeated) to `stream`, keeping at most
 * {@link HIGH_WATER_BYTES} queued. (`send()` returning false and `onDrain()` only say the
 * muxer took some of it: the stream's own write buffer is unbounded.)
 */
async function push(
  stream: Stream,
  chunk: Uint8Array,
  total: number,
  closeReason: () => unknown,
): Promise<void> {
  const closed = (sent: number) =>
    new Error(`stream ${stream.status} after ${mb(sent)} of this push: ${closeReason()}`)
  for (let sent = 0; sent < total; sent += chunk.byteLength) {
    if (stream.status !== 'open') throw closed(sent)
    stream.send(chunk)
    let queued = stream.writeBufferLength
    let progress = Date.now()
    while (queued > HIGH_WATER_BYTES) {
      if (stream.status !== 'open') throw closed(sent)
      if (Date.now() - progress > STALL_MS) throw new Error(`send stalled after ${mb(sent)}`)
      await new Promise((r) => setTimeout(r, 2))
      if (stream.writeBufferLength < queued) progress = Date.now()
      queued = stream.writeBufferLength
    }
  }
}

/** CRC-32 of `chunk` repeated `times` times. */
function repeatedCrc(chunk: Uint8Array, times: number): number {
  let crc = 0
  for (let i = 0; i < times; i++) crc = crc32(chunk, crc)
  return crc
}

/** Samples rss and arrayBuffers every 20 ms; `max` holds the peaks since `reset`. */
function memorySampler() {
  const max = { rss: 0, arrayBuffers: 0 }
  const sample = () => {
    const m = process.memoryUsage()
    max.rss = Math.max(max.rss, m.rss)
    max.arrayBuffers = Math.max(max.arrayBuffers, m.arrayBuffers)
  }
  const timer = setInterval(sample, 20)
  return {
    max,
    reset() {
      max.rss = 0
      max.arrayBuffers = 0
      sample()
    },
    stop: () => clearInterval(timer),
  }
}

describe('private mesh (pnet) soak', () => {
  it('moves 1 GiB through one pnet connection with memory bounded', {
    timeout: 60_000,
  }, async () => {
    const { a, b, sink } = await privatePair(1, 2)
    const stream = await a.dialProtocol(b.getMultiaddrs()[0]!, SINK)
    let closeError: unknown
    const onClose = (evt: { error?: Error }) => {
      closeError ??= evt.error
    }
    stream.addEventListener('close', onClose)
    for (const conn of a.getConnections(b.peerId)) conn.addEventListener('close', onClose)
    /** Until `bytes` arrived; fails at once if the stream closed, or when no byte came for a while. */
    const delivered = async (bytes: number) => {
      let last = sink.bytes
      let progress = Date.now()
      await waitFor(
        () => {
          if (sink.bytes >= bytes) return true
          if (stream.status !== 'open')
            throw new Error(`stream ${stream.status} after ${mb(sink.bytes)}: ${closeError}`)
          if (sink.bytes > last) {
            last = sink.bytes
            progress = Date.now()
          } else if (Date.now() - progress > STALL_MS) {
            throw new Error(`delivery stalled at ${mb(sink.bytes)} of ${mb(bytes)}`)
          }
          return false
        },
        `${mb(bytes)} delivered`,
        60_000,
      )
    }
    const chunk = randomBytes(CHUNK_BYTES)
    const memory = memorySampler()
    const started = performance.now()
    try {
      // Warm-up: buffers, JIT and socket windows reach their steady size.
      const warmup = 64 * MiB
      await push(stream, chunk, warmup, () => closeError)
      await delivered(warmup)
      const baselineRetained = await retained()
      const baseline = process.memoryUsage()
      memory.reset()

      // In segments, each delivered before the next: the connection monitor's ping (a new
      // stream every 10 s, aborting the connection after 5 s without an answer) gets its
      // bytes out between segments; see HIGH_WATER_BYTES.
      for (let sent = warmup; sent < SOAK_BYTES; sent += SEGMENT_BYTES) {
        await push(stream, chunk, SEGMENT_BYTES, () => closeError)
        await delivered(sent + SEGMENT_BYTES)
      }
      const seconds = (performance.now() - started) / 1000
      memory.stop()

      expect(sink.bytes).toBe(SOAK_BYTES)
      // Everything arrived in order and decrypted.
      expect(sink.crc).toBe(repeatedCrc(chunk, SOAK_BYTES / CHUNK_BYTES))
      const growth = {
        rss: memory.max.rss - baseline.rss,
        arrayBuffers: memory.max.arrayBuffers - baseline.arrayBuffers,
        retained: (await retained()) - baselineRetained,
      }
      console.info(
        `pnet soak: ${mb(SOAK_BYTES)} in ${seconds.toFixed(1)} s ` +
          `(${(SOAK_BYTES / MiB / seconds).toFixed(0)} MiB/s); baseline rss ${mb(baseline.rss)}; ` +
          `peak growth rss ${mb(growth.rss)}, arrayBuffers ${mb(growth.arrayBuffers)}; ` +
          `retained after GC ${(growth.retained / MiB).toFixed(1)} MiB`,
      )
      expect(growth.rss).toBeLessThan(MAX_PEAK_GROWTH_BYTES)
      expect(growth.arrayBuffers).toBeLessThan(MAX_PEAK_GROWTH_BYTES)
      expect(growth.retained).toBeLessThan(MAX_RETAINED_GROWTH_BYTES)
      expect(stream.status).toBe('open')
    } finally {
      memory.stop()
    }
  })
})
