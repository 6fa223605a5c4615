// Private mesh under connection churn (issue 15, item 4; docs/decisions/pnet.md): a
// long-lived pnet connection keeps working, and memory stays bounded, while thousands of
// other pnet connections open and close. Before the fix every connection kept two 64-byte
// cipher slots in the process-wide xsalsa20 WebAssembly memory for good; once they filled
// its first 640 KiB (~2,560 connections with both nodes in one process) the memory grew,
// every older connection's cipher grew it again on its next message, and the process died
// with an uncaught `RangeError: WebAssembly.Memory.grow(): Maximum memory size exceeded`.
import { randomBytes } from 'node:crypto'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { crc32 } from 'node:zlib'
import type { Stream } from '@libp2p/interface'
import { afterEach, describe, expect, it } from 'vitest'
import { createMeshLibp2p, type MeshLibp2p } from '../../src/mesh/libp2p-node.js'
import { createNetworkKey, parseNetworkKey } from '../../src/mesh/network-key.js'
import { waitFor } from '../helpers/wait.js'

const ECHO = '/meshcache-test/pnet-churn-echo/1'
const SINK = '/meshcache-test/pnet-churn-sink/1'
const MiB = 2 ** 20
const CHURN = 3_000
/** Every this many churned connections, one also carries 1 MiB (30 MiB in all). */
const DATA_EVERY = 100
/**
 * Heap and ArrayBuffer memory still held after a full GC may grow this much over the
 * churn, from a baseline after the first 200 connections. libp2p's own per-peer state
 * plateaus at 12-23 MiB here, the same with and without pnet; the ciphers keep nothing
 * once a connection closed.
 */
const MAX_RETAINED_GROWTH_BYTES = 48 * MiB

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

describe('private mesh (pnet) connection churn', () => {
  it(`keeps a long-lived connection working through ${CHURN} other connections`, {
    timeout: 60_000,
  }, async () => {
    const networkKey = parseNetworkKey(createNetworkKey())
    const a = await createMeshLibp2p({ listen: ['/ip4/127.0.95.31/tcp/0'], networkKey })
    nodes.push(a)
    const b = await createMeshLibp2p({ listen: ['/ip4/127.0.95.32/tcp/0'], networkKey })
    nodes.push(b)
    await b.handle(ECHO, (stream: Stream) => {
      stream.addEventListener('message', (evt) => {
        stream.send(evt.data)
      })
    })
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
    let opened = 0
    b.addEventListener('connection:open', () => {
      opened++
    })

    // The long-lived link: 1 KiB request/response messages between churned connections.
    const live = await a.dialProtocol(b.getMultiaddrs()[0]!, ECHO)
    let closeError: unknown
    live.addEventListener('close', (evt) => {
      closeError ??= evt.error
    })
    for (const conn of a.getConnections(b.peerId)) {
      conn.addEventListener('close', (evt) => {
        closeError ??= evt.error
      })
    }
    const echoed: Uint8Array[] = []
    live.addEventListener('message', (evt) => {
      const data = evt.data
      for (const buf of data instanceof Uint8Array ? [data] : data) echoed.push(buf.slice())
    })
    let sentBytes = 0
    const sent: Uint8Array[] = []
    const echo = async (round: number) => {
      const message = randomBytes(1024)
      sent.push(message)
      sentBytes += message.byteLength
      live.send(message)
      await waitFor(
        () => {
          if (live.status !== 'open')
            throw new Error(`long-lived stream ${live.status} at round ${round}: ${closeError}`)
          return echoed.reduce((n, b) => n + b.byteLength, 0) >= sentBytes
        },
        `echo ${round} on the long-lived connection`,
        5_000,
      )
    }

    const target = b.getMultiaddrs()[0]!
    const chunk = randomBytes(64 * 1024)
    let expectedCrc = 0
    let baseline = 0
    for (let i = 1; i <= CHURN; i++) {
      // A new pnet connection (nonce exchange, Noise handshake through the ciphers), closed.
      const conn = await a.dial(target, { force: true, signal: AbortSignal.timeout(5_000) })
      if (i % DATA_EVERY === 0) {
        const stream = await conn.newStream(SINK, { signal: AbortSignal.timeout(5_000) })
        for (let k = 0; k < MiB / chunk.byteLength; k++) {
          expectedCrc = crc32(chunk, expectedCrc)
          if (!stream.send(chunk)) await stream.onDrain({ signal: AbortSignal.timeout(5_000) })
        }
        const expected = (i / DATA_EVERY) * MiB
        await waitFor(() => sink.bytes >= expected, `1 MiB on connection ${i}`, 10_000)
      }
      await conn.close({ signal: AbortSignal.timeout(5_000) })
      if (i % 10 === 0) await echo(i)
      if (i === 200) baseline = await retained()
    }
    await echo(CHURN + 1)
    const growth = (await retained()) - baseline

    expect(opened).toBeGreaterThanOrEqual(CHURN)
    expect(Buffer.concat(echoed).equals(Buffer.concat(sent))).toBe(true)
    expect(sink.bytes).toBe((CHURN / DATA_EVERY) * MiB)
    expect(sink.crc).toBe(expectedCrc)
    expect(live.status).toBe('open')
    await waitFor(
      () => a.getConnections(b.peerId).length === 1,
      'only the long-lived connection left',
      10_000,
    )
    console.info(
      `pnet churn: ${CHURN} connections opened and closed; retained after GC grew ` +
        `${(growth / MiB).toFixed(1)} MiB after the first 200`,
    )
    expect(growth).toBeLessThan(MAX_RETAINED_GROWTH_BYTES)
  })
})
