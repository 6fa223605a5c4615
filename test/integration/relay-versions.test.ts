import { peerIdFromString } from '@libp2p/peer-id'
import { afterEach, describe, expect, it } from 'vitest'
import type { Cache } from '../../src/api/cache.js'
import { MESH_CONSTANTS } from '../../src/mesh/defaults.js'
import { PROTOCOLS } from '../../src/mesh/topics.js'
import { ITEM_KIND, type RelayItem } from '../../src/replication/relay-frame.js'
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

const RELAY_PROTOCOLS: string[] = [PROTOCOLS.relayVouched, PROTOCOLS.relayCompact, PROTOCOLS.relay]

/** Makes `n` play an older version: it serves and asks for the relay protocols `keep` only. */
async function speakOnly(n: Cache<unknown>, keep: string[]): Promise<void> {
  const node = meshOf(n).node
  for (const p of RELAY_PROTOCOLS) if (!keep.includes(p)) await node.unhandle(p)
  const dial = node.dialProtocol.bind(node)
  node.dialProtocol = ((peer, protocols, options) =>
    dial(
      peer,
      [protocols].flat().filter((p) => !RELAY_PROTOCOLS.includes(p) || keep.includes(p)),
      options,
    )) as typeof node.dialProtocol
}

/** Every item kind `n`'s relay is handed (wraps its private `onItem`). */
function itemKinds(n: Cache<unknown>): Set<number> {
  const kinds = new Set<number>()
  const relay = meshOf(n) as unknown as {
    relay: { onItem: (from: string, item: RelayItem) => void }
  }
  const onItem = relay.relay.onItem.bind(relay.relay)
  relay.relay.onItem = (from, item) => {
    kinds.add(item.kind)
    onItem(from, item)
  }
  return kinds
}

/**
 * Compact frames (`/meshcache/relay/2`) are offered first, and a node that speaks only
 * version 1 (a fleet half way through a rolling upgrade) still replicates both ways.
 */
describe('relay protocol versions (real libp2p nodes)', () => {
  it('new nodes talk compact frames; an older node gets version 1 frames and its own are read', async () => {
    // `old` plays a node from before compact frames: it serves and asks for /1 only.
    const old = await mesh.start('us-east')
    await speakOnly(old, [PROTOCOLS.relay])
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
    // Whatever relay streams are open: /1 with the old node, /3 between the new ones.
    await waitFor(() => relayStreams(b, c).length > 0, 'a relay stream between b and c')
    expect(new Set(relayStreams(b, c))).toEqual(new Set([PROTOCOLS.relayVouched]))
    const withOld = [...relayStreams(old, b), ...relayStreams(old, c)]
    expect(withOld.length).toBeGreaterThan(0)
    expect(new Set(withOld)).toEqual(new Set([PROTOCOLS.relay]))
    expect([...versions]).toEqual([1])
    for (const n of [old, b, c]) expect(n.stats().mesh!.replication.rejected.malformed ?? 0).toBe(0)
  })

  it('a stream of an older version never carries a vouched batch: what the hub stripped goes signed', async () => {
    const hub = await mesh.start('us-east')
    // `mid` plays a build that speaks /2 and, as a stale flag would, says it takes vouched
    // batches (it is alone in its region, so its hub): the us-east hub strips its batches
    // for it, and the /2 link sends the signed originals instead. Anti-entropy is out of
    // the way: the writes come by the relay.
    const mid = await mesh.start('eu-west', { mesh: { syncIntervalMs: 600_000 } })
    await speakOnly(mid, [PROTOCOLS.relayCompact, PROTOCOLS.relay])
    const kinds = itemKinds(mid)
    await mesh.ready()
    await waitFor(
      () => meshOf(hub).peers.get(mid.nodeId)?.vouchesRegion === true,
      'the us-east hub takes eu-west for one that takes vouched batches',
    )
    await waitFor(
      () =>
        Date.now() - (meshOf(hub).peers.get(mid.nodeId)?.connectedAt ?? Date.now()) >=
        MESH_CONSTANTS.vouchAfterConnectMs,
      'the link old enough for vouched batches',
    )
    for (let i = 0; i < 5; i++) await hub.set(`v${i}`, i)
    await waitFor(() => mid.get('v4') === 4, 'the writes reached the older node by the relay')
    expect(hub.stats().mesh!.replication.vouchedOut).toBeGreaterThan(0)
    expect(kinds.has(ITEM_KIND.vouched)).toBe(false)
    expect(kinds.has(ITEM_KIND.batch)).toBe(true)
    expect(mid.stats().mesh!.replication.rejected.malformed ?? 0).toBe(0)
  })
})
