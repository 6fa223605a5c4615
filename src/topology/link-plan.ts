import { InvalidOptionError } from '../errors.js'
import { localDegreeBound, localLinkRanks } from './local-links.js'
import { type RegionRing, RegionRings, type TopologyMember } from './region-rings.js'
import { PairLinks, pairDegreeBound } from './remote-pairing.js'

/** Bounds on the links a node keeps (the mesh options `localPeers` and `remotePeers`). */
export interface TopologyBounds {
  /** Same-region links per node (a region up to `localPeers + 1` members is a clique). */
  localPeers: number
  /** Links per node into each other region (the smaller region of a pair may get more). */
  remotePeers: number
}

/** The links one node keeps, split by kind. */
export interface NodeLinks {
  /** Same-region peer ids. */
  local: string[]
  /** Peer ids per other region; the first of each list is the relay toward that region. */
  remote: Map<string, string[]>
  /** Every linked peer id (local and remote). */
  all: Set<string>
}

/**
 * Which peers each node of a mesh keeps connections to: a pure function of the member
 * list and the bounds, so every node computes the same symmetric relation on its own
 * (a links b iff b links a) and both ends agree on the connections to keep.
 *
 * - Same region: a circulant graph on the region's hash ring (`local-links.ts`), a clique
 *   up to `localPeers + 1` members.
 * - Each pair of regions: consistent hashing with bounded loads (`remote-pairing.ts`);
 *   every node throws its own balls, so it links at least one node of every other region.
 * - A mesh whose every node could link every other within its budget
 *   (`n - 1 <= max(localPeers, 2) + remotePeers * (regions - 1)`) is a full mesh.
 *
 * Degree of a node in region X (exact bound, {@link LinkPlan.degreeBound}): `n - 1` in a
 * full mesh, else `L(n_X) + sum over Y != X of P(X, Y)` where
 * - `L(n) = n - 1` up to `max(localPeers, 2) + 1` members, else `2 * max(1, floor(localPeers / 2))`;
 * - `P(X, Y) = n_Y` when `min(n_X, n_Y) <= remotePeers` (full bipartite), else
 *   `s + binCapacity(n_X, n_Y, s)` with `s = ceil(remotePeers / 2)`, where
 *   `binCapacity(a, b, s) = max(ceil(2 * s * b / a), floor(s * b / (a - s + 1)) + 1)`:
 *   3 for regions of equal size and `remotePeers = 2`, about `2 * s * n_Y / n_X` for a
 *   small region X facing a large Y (its members must take the large region's links).
 *
 * Churn when one member joins or leaves (statistical, not a worst case: positions are
 * hashes, and a run of full members can carry a change further): its own links, plus
 * about `2 * (1 + 4 + ...)` links of its region's ring (39 at `localPeers = 6`), plus in
 * each region pair the balls it held or freed moving to the next members with room and a
 * few members whose capacity steps. Measured on 200 random meshes of 10,000 members in 50
 * regions under the defaults: median 2.9 and at most 4.4 links moved per link of that
 * member; no other node changed more than 0.19 times as many links as that member has
 * (a share, not a count: a member of a small region holds many links, which its few
 * region mates take over). The property test asserts 6 and 0.5
 * (docs/decisions/topology.md).
 *
 * Cost: building the plan sorts each region's ring once, O(n log n). A node's links cost
 * O(localPeers) plus, per other region, one pair placement O((n_X + n_Y) * remotePeers)
 * that is cached for the plan's lifetime; all nodes' links together cost
 * O(regions * n * remotePeers). Build a new plan per member-list version.
 */
export class LinkPlan {
  /** The bounds the plan was built with. */
  readonly bounds: TopologyBounds
  /** True when every member links every other. */
  readonly fullMesh: boolean
  private readonly rings: RegionRings
  /** Region rings in name order, and each region's index in it. */
  private readonly order: RegionRing[]
  private readonly indexOf = new Map<string, number>()
  /** Pair placements, built on first use, at x * regions + y with x < y. */
  private readonly pairs: (PairLinks | undefined)[]

  /**
   * @param members - the member list (ids unique; order does not matter)
   * @param bounds - positive integers
   * @throws InvalidOptionError when a bound is not a positive integer or an id repeats
   */
  constructor(members: readonly TopologyMember[], bounds: TopologyBounds) {
    for (const [name, v] of Object.entries(bounds)) {
      if (!Number.isSafeInteger(v) || v < 1)
        throw new InvalidOptionError(`${name} must be a positive integer, got ${String(v)}`)
    }
    this.bounds = { localPeers: bounds.localPeers, remotePeers: bounds.remotePeers }
    this.rings = new RegionRings(members)
    const budget = Math.max(bounds.localPeers, 2) + bounds.remotePeers * (this.rings.rings.size - 1)
    this.fullMesh = this.rings.size - 1 <= budget
    this.order = [...this.rings.rings.values()]
    for (const [i, ring] of this.order.entries()) this.indexOf.set(ring.region, i)
    this.pairs = new Array(this.order.length * this.order.length)
  }

  /** Number of members. */
  get size(): number {
    return this.rings.size
  }

  /** Regions with members, in name order. */
  get regions(): string[] {
    return [...this.rings.rings.keys()]
  }

  /** Member ids of `region` in ring order (empty if it has none). */
  membersOf(region: string): readonly string[] {
    return this.rings.rings.get(region)?.ids ?? []
  }

  /**
   * The links of member `id`.
   *
   * @throws InvalidOptionError when `id` is not in the member list
   */
  linksOf(id: string): NodeLinks {
    const at = this.rings.locate(id)
    if (at === undefined) throw new InvalidOptionError(`${id} is not in the member list`)
    const own = this.rings.rings.get(at.region)!
    const remote = new Map<string, string[]>()
    if (this.fullMesh) {
      const local = own.ids.filter((x) => x !== id)
      for (const ring of this.rings.rings.values())
        if (ring !== own) remote.set(ring.region, [...ring.ids])
      return withAll(local, remote)
    }
    const local = localLinkRanks(at.rank, own.ids.length, this.bounds.localPeers).map(
      (r) => own.ids[r]!,
    )
    const x = this.indexOf.get(at.region)!
    for (let y = 0; y < this.order.length; y++) {
      if (y === x) continue
      const ring = this.order[y]!
      const ranks = this.pair(x, y).linksOf(at.region, at.rank)
      remote.set(
        ring.region,
        ranks.map((r) => ring.ids[r]!),
      )
    }
    return withAll(local, remote)
  }

  /**
   * The relay of member `id` toward `region`: its first link into that region (undefined
   * for its own region or a region with no members).
   */
  relayToward(id: string, region: string): string | undefined {
    return this.linksOf(id).remote.get(region)?.[0]
  }

  /**
   * The most links member `id` can have under this plan (see the class comment); the
   * plan never exceeds it.
   *
   * @throws InvalidOptionError when `id` is not in the member list
   */
  degreeBound(id: string): number {
    const at = this.rings.locate(id)
    if (at === undefined) throw new InvalidOptionError(`${id} is not in the member list`)
    if (this.fullMesh) return this.rings.size - 1
    const own = this.rings.rings.get(at.region)!
    let bound = localDegreeBound(own.ids.length, this.bounds.localPeers)
    for (const ring of this.rings.rings.values()) {
      if (ring === own) continue
      bound += pairDegreeBound(own.ids.length, ring.ids.length, this.bounds.remotePeers)
    }
    return bound
  }

  private pair(x: number, y: number): PairLinks {
    const key = x < y ? x * this.order.length + y : y * this.order.length + x
    let p = this.pairs[key]
    if (p === undefined) {
      p = new PairLinks(this.order[x]!, this.order[y]!, this.bounds.remotePeers)
      this.pairs[key] = p
    }
    return p
  }
}

function withAll(local: string[], remote: Map<string, string[]>): NodeLinks {
  const all = new Set(local)
  for (const ids of remote.values()) for (const id of ids) all.add(id)
  return { local, remote, all }
}
