import type { Cache } from '../../src/api/cache.js'
import type { MeshNode } from '../../src/mesh/mesh-node.js'
import type { CacheOptions } from '../../src/node/cache-options.js'
import { createCache } from '../../src/node/create-cache.js'
import { meshNodeOf } from '../../src/node/internals.js'
import { waitFor } from './wait.js'

/** Nodes started by a test; {@link closeAll} in afterEach stops every one. */
export class TestMesh {
  readonly nodes: Cache<unknown>[] = []
  private static nextHost = 1

  /**
   * Starts a node on its own loopback address (127.0.R.N for region index R) with port 0,
   * bootstrapped from the given peers (default: the first node started).
   */
  async start(region: string, options: CacheOptions = {}): Promise<Cache<unknown>> {
    const r = regionIndex(region)
    const host = `127.0.${r}.${(TestMesh.nextHost++ % 250) + 1}`
    const peers = options.peers ?? (this.nodes[0] ? [this.nodes[0].addresses()[0]!] : [])
    const cache = await createCache({
      region,
      listen: [`/ip4/${host}/tcp/0`],
      ...options,
      peers,
    })
    this.nodes.push(cache)
    return cache
  }

  /**
   * Waits until every node is connected to every other, knows its region, and can send
   * it writes of `keyspaces` (subscription known and gossip stream open).
   */
  async ready(keyspaces: string[] = ['default'], timeoutMs = 15_000): Promise<void> {
    await waitFor(
      () =>
        this.nodes.every((n) =>
          keyspaces.every((ks) => meshOf(n).readyPeers(ks) === this.nodes.length - 1),
        ),
      `${this.nodes.length} nodes fully connected and subscribed to ${keyspaces.join(',')}`,
      timeoutMs,
    )
  }

  async closeAll(): Promise<void> {
    await Promise.allSettled(this.nodes.splice(0).map((n) => n.close()))
  }
}

const regions = new Map<string, number>()
function regionIndex(region: string): number {
  if (!regions.has(region)) regions.set(region, regions.size + 1)
  return regions.get(region)!
}

/** The mesh node of a cache (tests reach into it for counters and libp2p). */
export function meshOf(cache: Cache<unknown>): MeshNode {
  const mesh = meshNodeOf(cache)
  if (mesh === undefined) throw new Error(`cache ${cache.nodeId} is not a mesh node`)
  return mesh
}

export const connections = (n: Cache<unknown>) =>
  new Set(
    meshOf(n)
      .node.getPeers()
      .map((p) => p.toString()),
  )
/** The plan's links and the relay tree's neighbors (the hub's links to the other hubs). */
export const linksOf = (n: Cache<unknown>) => {
  const l = n.stats().mesh!.links
  const relay = [l.relay.parent, ...l.relay.children, ...l.relay.peerHubs]
  return new Set([
    ...l.local,
    ...Object.values(l.remote).flat(),
    ...relay.filter((x): x is string => x !== undefined),
  ])
}
/** Every node knows every member and is connected to exactly its links. */
export const settled = (nodes: Cache<unknown>[]) =>
  nodes.every((n) => {
    const l = n.stats().mesh!.links
    const links = linksOf(n)
    const conns = connections(n)
    return (
      l.members === nodes.length &&
      conns.size === links.size &&
      [...links].every((id) => conns.has(id))
    )
  })

/**
 * Small link bounds and short intervals, so that the structure of a region-structured
 * mesh shows at a dozen nodes (a region of three is a clique, each node links about one
 * node of every other region) and it forms in seconds.
 */
export const SMALL_BOUNDS = {
  localPeers: 2,
  remotePeers: 1,
  announceIntervalMs: 1_000,
  pingIntervalMs: 1_000,
  linkGraceMs: 1_500,
}

/**
 * Waits until every node of `region` names the same hub and one of `others` (another
 * region) has it among its peer hubs; returns that hub.
 */
export async function agreedHub(
  region: Cache<unknown>[],
  others: Cache<unknown>[],
): Promise<Cache<unknown>> {
  const hubOf = (n: Cache<unknown>) => n.stats().mesh!.links.relay.hub
  await waitFor(() => {
    const hub = hubOf(region[0]!)
    return (
      hub !== undefined &&
      region.every((n) => hubOf(n) === hub) &&
      others.some((n) => n.stats().mesh!.links.relay.peerHubs.includes(hub))
    )
  }, `one ${region[0]!.region} hub in every plan`)
  return region.find((n) => n.nodeId === hubOf(region[0]!))!
}
