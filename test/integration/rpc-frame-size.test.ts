import type { PeerId } from '@libp2p/interface'
import { afterEach, describe, expect, it } from 'vitest'
import { createMeshLibp2p, type MeshLibp2p } from '../../src/mesh/libp2p-node.js'
import {
  FrameTooLargeError,
  HeldResponse,
  handle,
  MAX_RPC_FRAME_BYTES,
  request,
} from '../../src/mesh/rpc.js'
import { waitFor } from '../helpers/wait.js'

const P = '/meshcache-test/frame-size/1'

let nextHost = 1
const nodes: MeshLibp2p[] = []
afterEach(async () => {
  await Promise.allSettled(nodes.splice(0).map((n) => n.stop()))
})

async function pair() {
  const make = async () => {
    const n = await createMeshLibp2p({ listen: [`/ip4/127.0.74.${nextHost++}/tcp/0`] })
    nodes.push(n)
    return n
  }
  const server = await make()
  const client = await make()
  await client.dial(server.getMultiaddrs()[0]!)
  return { server, client }
}

/** Bytes that pack to a frame over the limit. */
const oversized = () => new Uint8Array(MAX_RPC_FRAME_BYTES)

describe('rpc frame sizes are checked before writing', () => {
  it('a request over the frame limit fails typed, without opening a stream', async () => {
    const { server, client } = await pair()
    const calls: unknown[] = []
    await handle(
      server,
      P,
      (body) => calls.push(body),
      () => undefined,
    )
    let opened = 0
    const dial = client.dialProtocol.bind(client)
    client.dialProtocol = ((...args: Parameters<typeof dial>) => {
      opened++
      return dial(...args)
    }) as typeof client.dialProtocol
    await expect(request(client, server.peerId, P, oversized(), 5_000)).rejects.toBeInstanceOf(
      FrameTooLargeError,
    )
    expect(opened).toBe(0)
    expect(calls).toHaveLength(0)
  })

  it('a response over the frame limit is not written: the stream resets, the handler is told, a held slot is given back', async () => {
    const { server, client } = await pair()
    const invalid: { from: PeerId; err: unknown }[] = []
    let released = 0
    await handle(
      server,
      P,
      (body) =>
        body === 'big'
          ? new HeldResponse(oversized(), () => released++)
          : new HeldResponse('ok', () => released++),
      (from, err) => invalid.push({ from, err }),
    )
    await expect(request(client, server.peerId, P, 'big', 5_000)).rejects.toThrow()
    await waitFor(() => invalid.length === 1 && released === 1, 'the failure reported')
    expect(invalid[0]!.err).toBeInstanceOf(FrameTooLargeError)
    expect(await request(client, server.peerId, P, 'small', 5_000)).toBe('ok')
    await waitFor(() => released === 2, 'the slot of the answer written given back')
  })
})
