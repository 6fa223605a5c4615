import net from 'node:net'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { afterEach, describe, expect, it } from 'vitest'
import { ManualClock } from '../../src/clock/clock.js'
import { startNode } from '../../src/node/create-cache.js'
import { LinkPlan } from '../../src/topology/link-plan.js'
import { closeOnClock } from '../helpers/clock.js'
import { connections, linksOf, meshOf, SMALL_BOUNDS, settled, TestMesh } from '../helpers/mesh.js'
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
    // Nobody is taken for down: every member is alive. A join closes many connections
    // that were no link (by either end, as the plans move on); counting those as a
    // member's loss kept it out of the relay plan, and at N = 100 whole regions named two
    // hubs for good. (A member whose link went while the plans moved is taken for down
    // until a probe dial reaches it: on a loaded machine that may take a few seconds.)
    const down = () =>
      nodes.flatMap((n) =>
        meshOf(n)
          .peers.all()
          .filter((p) => p.id !== n.nodeId && p.downSince !== undefined)
          .map((p) => `${n.nodeId} takes ${p.id} for down`),
      )
    await waitFor(() => down().length === 0, 'no live member taken for down', 30_000).catch(
      () => undefined,
    )
    expect(down()).toEqual([])
    for (const [i, n] of nodes.entries()) await n.set(`fleet-${i}`, i)
    await waitFor(
      () => nodes.every((n) => nodes.every((_, i) => n.get(`fleet-${i}`) === i)),
      'every write on every node',
      30_000,
    )
  }, 240_000)
})

/** A loopback port nothing listens on (bound, then closed). */
async function closedPort(host: string): Promise<number> {
  const server = net.createServer()
  await new Promise<void>((r) => server.listen(0, host, r))
  const { port } = server.address() as net.AddressInfo
  await new Promise((r) => server.close(r))
  return port
}

describe('a bootstrap peer that cannot be reached', () => {
  it('is dialled again with a growing back-off, not every redial pass (a manual clock counts the dials)', async () => {
    const clock = new ManualClock()
    const host = '127.0.97.1'
    const absent = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
    const seed = `/ip4/${host}/tcp/${await closedPort(host)}/p2p/${absent}`
    const a = await startNode(
      { region: 'b-east', listen: [`/ip4/${host}/tcp/0`], peers: [seed] },
      { clock },
    )
    try {
      const node = meshOf(a).node
      const dial = node.dial.bind(node)
      let dials = 0
      node.dial = ((...args: Parameters<typeof dial>) => {
        dials++
        return dial(...args)
      }) as typeof dial
      // Two minutes of redial passes every 2 s (60): each dial is refused at once.
      for (let t = 0; t < 120_000; t += 500) {
        clock.advance(500)
        await new Promise((r) => setTimeout(r, 2))
      }
      // 1-3 s, 2-6 s, 4-12 s, then every 5-15 s: about 10-14 dials, not 60.
      expect(dials).toBeGreaterThanOrEqual(6)
      expect(dials).toBeLessThanOrEqual(25)
    } finally {
      await closeOnClock(a, clock)
    }
  })
})

describe('a node that wants many links at once', () => {
  it('has at most 6 dials in flight; the rest wait for a later pass', async () => {
    const clock = new ManualClock()
    const host = '127.0.97.2'
    // Ten bootstrap peers that accept and never answer: each dial stays in flight.
    const held: net.Socket[] = []
    const servers = await Promise.all(
      Array.from({ length: 10 }, async () => {
        const server = net.createServer((s) => held.push(s))
        await new Promise<void>((r) => server.listen(0, host, r))
        return server
      }),
    )
    const peers = await Promise.all(
      servers.map(async (server) => {
        const { port } = server.address() as net.AddressInfo
        const id = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
        return `/ip4/${host}/tcp/${port}/p2p/${id}`
      }),
    )
    const a = await startNode(
      { region: 'w-east', listen: [`/ip4/${host}/tcp/0`], peers },
      { clock },
    )
    try {
      // Every dial started is a connection one of the servers accepted and holds.
      const deadline = Date.now() + 10_000
      while (held.length < 6 && Date.now() < deadline) {
        clock.advance(500)
        await new Promise((r) => setTimeout(r, 5))
      }
      // More passes while those six hang: nobody else is dialled.
      for (let t = 0; t < 10_000; t += 500) {
        clock.advance(500)
        await new Promise((r) => setTimeout(r, 2))
      }
      expect(held).toHaveLength(6)
    } finally {
      for (const s of held) s.destroy()
      await closeOnClock(a, clock)
      await Promise.all(servers.map((s) => new Promise((r) => s.close(r))))
    }
  })
})
