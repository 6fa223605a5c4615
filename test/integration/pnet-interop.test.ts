// Our pnet protector (src/mesh/pnet-protector.ts, docs/decisions/pnet.md) must stay
// wire-compatible with stock `@libp2p/pnet`: a meshcache node and a plain libp2p node
// using `preSharedKey` connect either way round and exchange data both ways, and a
// wrong key or no key still keeps them apart.
import { randomBytes } from 'node:crypto'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import type { Libp2p, Stream } from '@libp2p/interface'
import { preSharedKey } from '@libp2p/pnet'
import { tcp } from '@libp2p/tcp'
import { createLibp2p } from 'libp2p'
import { afterEach, describe, expect, it } from 'vitest'
import { createMeshLibp2p } from '../../src/mesh/libp2p-node.js'
import { createNetworkKey, parseNetworkKey } from '../../src/mesh/network-key.js'
import { waitFor } from '../helpers/wait.js'

const ECHO = '/meshcache-test/pnet-echo/1'

let nextHost = 20
const nodes: Libp2p[] = []
afterEach(async () => {
  await Promise.allSettled(nodes.splice(0).map((n) => n.stop()))
})

/** Echoes every byte back on the same stream. */
async function serveEcho(node: Libp2p): Promise<void> {
  await node.handle(ECHO, (stream: Stream) => {
    stream.addEventListener('message', (evt) => {
      stream.send(evt.data)
    })
    stream.addEventListener('remoteCloseWrite', () => {
      stream.close().catch((err: Error) => stream.abort(err))
    })
  })
}

/** A meshcache node: createMeshLibp2p with our protector. */
async function meshcacheNode(networkKey: Uint8Array | undefined): Promise<Libp2p> {
  const node = await createMeshLibp2p({
    listen: [`/ip4/127.0.95.${nextHost++}/tcp/0`],
    ...(networkKey ? { networkKey } : {}),
  })
  nodes.push(node)
  await serveEcho(node)
  return node
}

/** A plain libp2p node with stock `@libp2p/pnet` (or no protector at all). */
async function stockNode(networkKey: Uint8Array | undefined): Promise<Libp2p> {
  const node = await createLibp2p({
    addresses: { listen: [`/ip4/127.0.95.${nextHost++}/tcp/0`] },
    ...(networkKey ? { connectionProtector: preSharedKey({ psk: networkKey }) } : {}),
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
  })
  nodes.push(node)
  await serveEcho(node)
  return node
}

/**
 * Sends `total` random bytes from `from` to `to`'s echo service in writes of uneven sizes
 * (1 byte to 40 kB: every offset within a 64-byte cipher block) and checks that exactly
 * the same bytes come back.
 */
async function echoRoundTrip(from: Libp2p, to: Libp2p, total: number): Promise<void> {
  const stream = await from.dialProtocol(to.getMultiaddrs()[0]!, ECHO, {
    signal: AbortSignal.timeout(5_000),
  })
  const sent = randomBytes(total)
  const received: Uint8Array[] = []
  let receivedBytes = 0
  stream.addEventListener('message', (evt) => {
    const data = evt.data
    for (const buf of data instanceof Uint8Array ? [data] : data) {
      received.push(buf.slice())
      receivedBytes += buf.byteLength
    }
  })
  for (let offset = 0, i = 0; offset < total; i++) {
    const size = Math.min(total - offset, [1, 63, 64, 65, 1000, 40_000, 7][i % 7]!)
    if (!stream.send(sent.subarray(offset, offset + size)))
      await stream.onDrain({ signal: AbortSignal.timeout(5_000) })
    offset += size
  }
  await waitFor(() => receivedBytes >= total, `${total} bytes echoed`, 10_000)
  expect(Buffer.concat(received).equals(sent)).toBe(true)
  await stream.close({ signal: AbortSignal.timeout(5_000) })
}

describe('pnet interoperability with stock @libp2p/pnet', () => {
  it('a meshcache node dials a stock pnet node and exchanges data both ways', async () => {
    const key = parseNetworkKey(createNetworkKey())
    const ours = await meshcacheNode(key)
    const stock = await stockNode(key)
    await echoRoundTrip(ours, stock, 1_000_000)
    await echoRoundTrip(stock, ours, 1_000_000)
    expect(ours.getConnections(stock.peerId)).toHaveLength(1)
  })

  it('a stock pnet node dials a meshcache node and exchanges data both ways', async () => {
    const key = parseNetworkKey(createNetworkKey())
    const ours = await meshcacheNode(key)
    const stock = await stockNode(key)
    await echoRoundTrip(stock, ours, 1_000_000)
    await echoRoundTrip(ours, stock, 1_000_000)
    expect(stock.getConnections(ours.peerId)).toHaveLength(1)
  })

  it('two meshcache nodes with the same key exchange data', async () => {
    const key = parseNetworkKey(createNetworkKey())
    const a = await meshcacheNode(key)
    const b = await meshcacheNode(key)
    await echoRoundTrip(a, b, 1_000_000)
  })

  it('a different key, or none, cannot connect in either direction', async () => {
    const ours = await meshcacheNode(parseNetworkKey(createNetworkKey()))
    const otherKey = await stockNode(parseNetworkKey(createNetworkKey()))
    const noKey = await stockNode(undefined)
    // Concurrently: a garbled handshake may fail at once or only at the dial deadline.
    const pairs = [
      [ours, otherKey],
      [otherKey, ours],
      [ours, noKey],
      [noKey, ours],
    ] as const
    await Promise.all(
      pairs.map(([from, to]) =>
        expect(
          from.dial(to.getMultiaddrs()[0]!, { signal: AbortSignal.timeout(3_000) }),
        ).rejects.toThrow(),
      ),
    )
    expect(ours.getConnections()).toHaveLength(0)
  })
})
