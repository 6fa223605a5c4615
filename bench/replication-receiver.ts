/**
 * A receiver of bench:replication, in its own worker thread: a meshcache node or a raw
 * gossipsub node that counts what arrives and measures lag (receive time minus the
 * write's stamp; one machine, one clock).
 */
import { parentPort, workerData } from 'node:worker_threads'
import { createMeshLibp2p } from '../src/mesh/libp2p-node.js'
import { createCache } from '../src/node/create-cache.js'

const { mode, host, peer } = workerData as { mode: 'meshcache' | 'raw'; host: string; peer: string }
const port = parentPort!
let received = 0
let lags: number[] = []

if (mode === 'meshcache') {
  const cache = await createCache({
    region: 'rx',
    listen: [`/ip4/${host}/tcp/0`],
    peers: [peer],
    maxEntries: 1_000_000,
  })
  cache.on('change', (e) => {
    received++
    if (lags.length < 200_000) lags.push(Date.now() - e.version.wall)
  })
  serve(() => cache.close())
} else {
  const node = await createMeshLibp2p({ listen: [`/ip4/${host}/tcp/0`] })
  const { multiaddr } = await import('@multiformats/multiaddr')
  node.services.pubsub.subscribe('raw')
  node.services.pubsub.addEventListener('message', (e) => {
    received++
    const d = e.detail.data
    const stamp = new DataView(d.buffer, d.byteOffset, d.byteLength).getFloat64(0)
    if (lags.length < 200_000) lags.push(Date.now() - stamp)
  })
  await node.dial(multiaddr(peer))
  serve(() => node.stop())
}
/** Answers the main thread: report, reset, close (then exit). */
function serve(stop: () => Promise<void> | void): void {
  port.on('message', async (m) => {
    if (m === 'report') port.postMessage({ received, lags })
    if (m === 'reset') {
      received = 0
      lags = []
    }
    if (m === 'close') {
      await stop()
      process.exit(0)
    }
  })
}
port.postMessage('ready')
