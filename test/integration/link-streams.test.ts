import { peerIdFromString } from '@libp2p/peer-id'
import { afterEach, describe, expect, it } from 'vitest'
import { PROTOCOLS } from '../../src/mesh/topics.js'
import { meshOf, TestMesh } from '../helpers/mesh.js'
import { waitFor } from '../helpers/wait.js'

const mesh = new TestMesh()
afterEach(() => mesh.closeAll())

/** What a link costs to open: its streams (docs/decisions/join-cost.md). */
describe('the streams of a new link', () => {
  it('one pooled stream per request protocol, and no identify exchange', async () => {
    const a = await mesh.start('us-east')
    // Every stream `a` asks for, counted per protocol when asked (before it opens).
    const asked = new Map<string, number>()
    const node = meshOf(a).node
    const dial = node.dialProtocol.bind(node)
    node.dialProtocol = ((peer, protocols, options) => {
      for (const p of [protocols].flat()) asked.set(p, (asked.get(p) ?? 0) + 1)
      return dial(peer, protocols, options)
    }) as typeof node.dialProtocol
    const b = await mesh.start('eu-west')
    await mesh.ready()
    await waitFor(
      () => (asked.get(PROTOCOLS.write) ?? 0) >= 1 && (asked.get(PROTOCOLS.get) ?? 0) >= 1,
      'the request streams asked for',
    )
    // Before: 4 of each per link and side, 16 stream negotiations per link at every join.
    expect(asked.get(PROTOCOLS.write)).toBe(1)
    expect(asked.get(PROTOCOLS.get)).toBe(1)
    // libp2p records every protocol negotiated with a peer: identify never was.
    const { protocols } = await node.peerStore.get(peerIdFromString(b.nodeId))
    expect(protocols).toContain(PROTOCOLS.hello)
    expect(protocols.filter((p) => p.startsWith('/ipfs/id/'))).toEqual([])
  })
})
