import { afterEach, describe, expect, it } from 'vitest'
import type { Cache } from '../../src/api/cache.js'
import { LinkPlan } from '../../src/topology/link-plan.js'
import { SMALL_BOUNDS, settled, TestMesh } from '../helpers/mesh.js'
import { waitFor } from '../helpers/wait.js'

const mesh = new TestMesh()
afterEach(() => mesh.closeAll())

const REGIONS = ['t-east', 't-west', 't-north', 't-south']
const BOUNDS = SMALL_BOUNDS

async function startMesh(perRegion: number): Promise<Cache<unknown>[]> {
  for (let i = 0; i < perRegion; i++)
    for (const region of REGIONS) await mesh.start(region, { mesh: BOUNDS })
  await waitFor(() => settled(mesh.nodes), 'every node connected to exactly its links', 60_000)
  return mesh.nodes
}

describe('a region-structured mesh (12 nodes, 4 regions, localPeers 2, remotePeers 1)', () => {
  it('keeps connections within the bounds and replicates every write to every node', async () => {
    const nodes = await startMesh(3)
    const plan = new LinkPlan(
      nodes.map((n) => ({ id: n.nodeId, region: n.region! })),
      { localPeers: BOUNDS.localPeers, remotePeers: BOUNDS.remotePeers },
    )
    let degrees = 0
    for (const n of nodes) {
      const l = n.stats().mesh!.links
      expect(l.fullMesh).toBe(false)
      // A region of three is a clique; every other region is linked directly.
      expect(l.local).toHaveLength(2)
      expect(Object.keys(l.remote).sort()).toEqual(REGIONS.filter((r) => r !== n.region).sort())
      // The node's links are the plan over all members (the same on every node), within
      // the plan's exact degree bound; a region's hub adds at most one link per other region.
      const mine = plan.linksOf(n.nodeId)
      expect([...l.local].sort()).toEqual([...mine.local].sort())
      expect(l.remote).toEqual(Object.fromEntries(mine.remote))
      expect(l.local.length + Object.values(l.remote).flat().length).toBeLessThanOrEqual(
        plan.degreeBound(n.nodeId),
      )
      expect(l.relay.peerHubs.length).toBeLessThanOrEqual(REGIONS.length - 1)
      degrees += l.local.length + Object.values(l.remote).flat().length
    }
    // Not a full mesh: each node links a region through one ball of its own, so a pair of
    // regions of three has at most six links and a node at most 2 + 3 x 2 on average.
    expect(degrees / nodes.length).toBeLessThanOrEqual(8)
    // Bytes sent across before the writes (announcements while the mesh formed, when a
    // node briefly was its region's hub) are left out.
    const wanBefore = nodes.map((n) => n.stats().mesh!.replication.wanBytesOut)
    for (const [i, n] of nodes.entries()) await n.set(`from-${i}`, i)
    await waitFor(
      () => nodes.every((n) => nodes.every((_, i) => n.get(`from-${i}`) === i)),
      'every write on every node',
      15_000,
    )
    // Each write crossed the WAN once per region, through the hubs: only hubs send across.
    for (const [i, n] of nodes.entries()) {
      const { relay } = n.stats().mesh!.links
      const wan = n.stats().mesh!.replication.wanBytesOut - wanBefore[i]!
      if (relay.hub === n.nodeId) expect(wan).toBeGreaterThan(0)
      else expect(wan).toBe(0)
    }
  }, 120_000)

  it('still replicates into a region whose link nodes were killed, and forgets them', async () => {
    const nodes = await startMesh(3)
    // A writer and a region it links to through some but not all of that region's nodes.
    const perRegion = nodes.length / REGIONS.length
    const pairs = nodes.flatMap((w) =>
      Object.entries(w.stats().mesh!.links.remote)
        .filter(([, ids]) => ids.length < perRegion)
        .map(([region, ids]) => ({ writer: w, target: region, ids })),
    )
    expect(pairs.length).toBeGreaterThan(0)
    const { writer, target, ids } = pairs[0]!
    const linkIds = new Set(ids)
    const dead = nodes.filter((n) => linkIds.has(n.nodeId))
    const alive = nodes.filter((n) => !linkIds.has(n.nodeId))
    expect(dead.length).toBeGreaterThan(0)
    await Promise.all(dead.map((n) => n.close()))
    await writer.set('after-kill', 1)
    const survivors = alive.filter((n) => n.region === target)
    expect(survivors.length).toBeGreaterThan(0)
    await waitFor(
      () => survivors.every((n) => n.get('after-kill') === 1),
      `the write reaches ${target}'s surviving nodes`,
      10_000,
    )
    // The dead are forgotten (four announce intervals) and links re-chosen without them.
    await waitFor(
      () => alive.every((n) => n.stats().mesh!.links.members === alive.length),
      'dead members forgotten',
      20_000,
    )
    await writer.set('after-forget', 2)
    await waitFor(
      () => alive.every((n) => n.get('after-forget') === 2),
      'writes reach every survivor after re-planning',
      10_000,
    )
  }, 150_000)

  it('a node joining through one bootstrap peer gets its links and receives writes', async () => {
    const nodes = await startMesh(3)
    const joiner = await mesh.start('t-west', {
      peers: [nodes[5]!.addresses()[0]!],
      mesh: BOUNDS,
    })
    await waitFor(() => settled(mesh.nodes), 'the joiner and its links settled', 60_000)
    await nodes[2]!.set('for-the-joiner', 'hi')
    await waitFor(() => joiner.get('for-the-joiner') === 'hi', 'the joiner receives writes')
    await joiner.set('from-the-joiner', 'hello')
    await waitFor(
      () => nodes.every((n) => n.get('from-the-joiner') === 'hello'),
      "the joiner's write reaches every node",
    )
  }, 150_000)
})
