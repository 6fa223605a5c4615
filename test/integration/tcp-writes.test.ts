import net from 'node:net'
import type { Stream } from '@libp2p/interface'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createMeshLibp2p, type MeshLibp2p } from '../../src/mesh/libp2p-node.js'
import { waitFor } from '../helpers/wait.js'

// A libp2p connection's writes of one turn leave in one system call (src/mesh/tcp-writes.ts):
// real nodes on loopback, socket writes counted where Node hands them to libuv.

const PROTOCOL = '/meshcache-test/tcp-writes/1'
const proto = net.Socket.prototype as unknown as {
  _write: (...args: unknown[]) => unknown
  _writev: (...args: unknown[]) => unknown
}
const write = proto._write
const writev = proto._writev
let syscalls = 0

beforeEach(() => {
  proto._write = function (this: net.Socket, ...args: unknown[]) {
    syscalls++
    return write.apply(this, args)
  }
  proto._writev = function (this: net.Socket, ...args: unknown[]) {
    syscalls++
    return writev.apply(this, args)
  }
})

const nodes: MeshLibp2p[] = []
afterEach(async () => {
  proto._write = write
  proto._writev = writev
  await Promise.allSettled(nodes.splice(0).map((n) => n.stop()))
})

/** Two nodes, a connection, and a stream whose received bytes are gathered in order. */
async function pair(host: number): Promise<{ stream: Stream; received: () => Uint8Array }> {
  const a = await createMeshLibp2p({ listen: [`/ip4/127.0.94.${host}/tcp/0`] })
  nodes.push(a)
  const b = await createMeshLibp2p({ listen: [`/ip4/127.0.94.${host + 1}/tcp/0`] })
  nodes.push(b)
  const chunks: Uint8Array[] = []
  await b.handle(PROTOCOL, (stream) => {
    stream.addEventListener('message', (evt) => {
      chunks.push(evt.data.subarray())
    })
  })
  await a.dial(b.getMultiaddrs()[0]!)
  const stream = await a.dialProtocol(b.peerId, PROTOCOL)
  return { stream, received: () => Buffer.concat(chunks) }
}

const turn = () => new Promise((r) => setImmediate(r))

describe('TCP writes of a turn leave together', () => {
  it('one system call per message, not one per chunk (Noise gives two: length, then ciphertext)', async () => {
    const { stream, received } = await pair(1)
    const n = 50
    const before = syscalls
    for (let i = 0; i < n; i++) {
      stream.send(new Uint8Array(300).fill(i))
      await turn()
    }
    await waitFor(() => received().length === n * 300, 'every message received')
    // Both ends' sockets count: the sender's messages and the receiver's window updates
    // (one per half window, none for 15 KB here). Two per message without coalescing.
    expect(syscalls - before).toBeLessThanOrEqual(n * 1.2)
    const got = received()
    for (let i = 0; i < n; i++) expect(got[i * 300]).toBe(i)
  })

  it('a burst in one turn past the socket’s high-water mark arrives whole and in order', async () => {
    const { stream, received } = await pair(3)
    const n = 2_000
    const size = 4_096
    let sent = 0
    for (let i = 0; i < n; i++) {
      const chunk = new Uint8Array(size)
      new DataView(chunk.buffer).setUint32(0, i)
      // Backpressure as before: a false answer means wait for 'drain'.
      if (!stream.send(chunk))
        await new Promise((r) => stream.addEventListener('drain', r, { once: true }))
      sent++
    }
    expect(sent).toBe(n)
    await waitFor(() => received().length === n * size, 'every byte received', 30_000)
    const got = received()
    const view = new DataView(got.buffer, got.byteOffset, got.byteLength)
    for (let i = 0; i < n; i++) expect(view.getUint32(i * size)).toBe(i)
  })
})
