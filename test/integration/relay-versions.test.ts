import { peerIdFromString } from '@libp2p/peer-id'
import { afterEach, describe, expect, it } from 'vitest'
import type { Cache } from '../../src/api/cache.js'
import { PROTOCOLS } from '../../src/mesh/topics.js'
import { meshOf, TestMesh } from '../helpers/mesh.js'
import { waitFor } from '../helpers/wait.js'

const mesh = new TestMesh()
afterEach(() => mesh.closeAll())

/** The relay protocols of the streams `a` has open to `b`, both directions. */
function relayStreams(a: Cache<unknown>, b: Cache<unknown>): string[] {
  return meshOf(a)
    .node.getConnections(peerIdFromString(b.nodeId))
    .flatMap((c) => c.streams.map((s) => s.protocol))
    .filter((p): p is string => p?.startsWith('/meshcache/relay/') === true)
    .sort()
}

/**
 * Compact frames (`/meshcache/relay/2`) are offered first, and a node that speaks only
 * version 1 (a fleet half way through a rolling upgrade) still replicates both ways.
 */
describe('relay protocol versions (real libp2p nodes)', () => {
  it('new nodes talk compact frames; an older node gets version 1 frames and its own are read', async () => {
    // `old` plays a node from before compact frames: it serves and asks for /1 only.
    const old = await mesh.start('us-east')
    const oldNode = meshOf(old).node
    await oldNode.unhandle(PROTOCOLS.relayCompact)
    const dial = oldNode.dialProtocol.bind(oldNode)
    oldNode.dialProtocol = ((peer, protocols, options) =>
      dial(
        peer,
        [protocols].flat().filter((p) => p !== PROTOCOLS.relayCompact),
        options,
      )) as typeof oldNode.dialProtocol
    // The version byte of every frame the old node gets (it must never see a compact one).
    const versions = new Set<number>()
    const relay = (meshOf(old) as unknown as { relay: { onFrame: (...a: unknown[]) => void } })
      .relay
    const onFrame = relay.onFrame.bind(relay)
    relay.onFrame = (from, frame, reader) => {
      versions.add((frame as Uint8Array)[0]!)
      onFrame(from, frame, reader)
    }
    const b = await mesh.start('eu-west')
    const c = await mesh.start('eu-west')
    await mesh.ready()

    for (const [i, n] of [old, b, c].entries()) await n.set(`from-${i}`, i)
    await waitFor(
      () => [old, b, c].every((n) => [0, 1, 2].every((i) => n.get(`from-${i}`) === i)),
      'every write on every node',
    )
    // Whatever relay streams are open: /1 with the old node, /2 between the new ones.
    await waitFor(() => relayStreams(b, c).length > 0, 'a relay stream between b and c')
    expect(new Set(relayStreams(b, c))).toEqual(new Set([PROTOCOLS.relayCompact]))
    const withOld = [...relayStreams(old, b), ...relayStreams(old, c)]
    expect(withOld.length).toBeGreaterThan(0)
    expect(new Set(withOld)).toEqual(new Set([PROTOCOLS.relay]))
    expect([...versions]).toEqual([1])
    for (const n of [old, b, c]) expect(n.stats().mesh!.replication.rejected.malformed ?? 0).toBe(0)
  })
})
