/**
 * What a libp2p connection and a stream cost meshcache's stack (issue 25): two nodes of
 * `createMeshLibp2p` in this process on loopback; CPU of the process (both ends) per
 * connection (dial, Noise, yamux, hang up) and per stream (open, negotiate, close).
 * docs/decisions/join-cost.md has the figures.
 * Run: npm run bench:conn  (CONNS=100 STREAMS=1000)
 */
import { createMeshLibp2p } from '../src/mesh/libp2p-node.js'

const CONNS = Number(process.env.CONNS ?? 100)
const STREAMS = Number(process.env.STREAMS ?? 1_000)
const WARM_UP = 10
const PROTOCOL = '/meshcache-bench/conn/1'

/** CPU ms (user + system) and wall ms per call of `fn`, over `n` calls. */
async function per(n: number, fn: () => Promise<void>): Promise<{ cpu: number; wall: number }> {
  const c0 = process.cpuUsage()
  const t0 = performance.now()
  for (let i = 0; i < n; i++) await fn()
  const c = process.cpuUsage(c0)
  return { cpu: (c.user + c.system) / 1000 / n, wall: (performance.now() - t0) / n }
}

const a = await createMeshLibp2p({ listen: ['/ip4/127.0.93.1/tcp/0'] })
const b = await createMeshLibp2p({ listen: ['/ip4/127.0.93.2/tcp/0'] })
try {
  await b.handle(PROTOCOL, (stream) => {
    void stream.close()
  })
  const addr = b.getMultiaddrs()[0]!
  const connect = async () => {
    await a.dial(addr)
    await a.hangUp(b.peerId)
  }
  const stream = async () => {
    const s = await a.dialProtocol(b.peerId, PROTOCOL)
    await s.close()
  }
  await per(WARM_UP, connect)
  const conn = await per(CONNS, connect)
  await a.dial(addr)
  await per(WARM_UP * 5, stream)
  const str = await per(STREAMS, stream)
  console.log(`Node ${process.version}, ${CONNS} connections, ${STREAMS} streams`)
  console.log(`| | CPU per op, both ends (ms) | wall per op (ms) |`)
  console.log(`|---|---:|---:|`)
  console.log(
    `| connection (dial, Noise, yamux, hang up) | ${conn.cpu.toFixed(2)} | ${conn.wall.toFixed(2)} |`,
  )
  console.log(
    `| stream (open, negotiate, close) | ${str.cpu.toFixed(3)} | ${str.wall.toFixed(3)} |`,
  )
} finally {
  await Promise.allSettled([a.stop(), b.stop()])
}
