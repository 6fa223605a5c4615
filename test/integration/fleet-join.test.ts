import { afterEach, describe, expect, it } from 'vitest'
import { LinkPlan } from '../../src/topology/link-plan.js'
import { connections, linksOf, SMALL_BOUNDS, settled, TestMesh } from '../helpers/mesh.js'
import { waitFor } from '../helpers/wait.js'

const mesh = new TestMesh()
afterEach(() => mesh.closeAll())

const REGIONS = ['f-east', 'f-west', 'f-north', 'f-south']
const BOUNDS = SMALL_BOUNDS

describe('a fleet started at once (24 real libp2p nodes, 4 regions, one seed)', () => {
  it('settles on the planned links of all members, one hub per region, and replicates every write', async () => {
    const seed = await mesh.start(REGIONS[0]!, { mesh: BOUNDS })
    const seedAddr = seed.addresses()[0]!
    // Every other node at once, each knowing only the seed.
    await Promise.all(
      Array.from({ length: 23 }, (_, i) =>
        mesh.start(REGIONS[(i + 1) % REGIONS.length]!, { peers: [seedAddr], mesh: BOUNDS }),
      ),
    )
    const nodes = mesh.nodes
    expect(nodes).toHaveLength(24)
    await waitFor(() => settled(nodes), 'every node connected to exactly its links', 120_000)

    // The links are the plan over all members, the same plan on every node.
    const plan = new LinkPlan(
      nodes.map((n) => ({ id: n.nodeId, region: n.region! })),
      { localPeers: BOUNDS.localPeers, remotePeers: BOUNDS.remotePeers },
    )
    for (const n of nodes) {
      const l = n.stats().mesh!.links
      const mine = plan.linksOf(n.nodeId)
      expect([...l.local].sort()).toEqual([...mine.local].sort())
      expect(l.remote).toEqual(Object.fromEntries(mine.remote))
      // Connections: its links and relay neighbours, nothing left over from the join.
      expect(connections(n).size).toBe(linksOf(n).size)
    }
    // One hub per region, and every member of a region names the same one.
    for (const region of REGIONS) {
      const hubs = new Set(
        nodes.filter((n) => n.region === region).map((n) => n.stats().mesh!.links.relay.hub),
      )
      expect(hubs.size).toBe(1)
    }
    for (const [i, n] of nodes.entries()) await n.set(`fleet-${i}`, i)
    await waitFor(
      () => nodes.every((n) => nodes.every((_, i) => n.get(`fleet-${i}`) === i)),
      'every write on every node',
      30_000,
    )
  }, 240_000)
})
