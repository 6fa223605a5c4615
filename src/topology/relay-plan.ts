import type { TopologyMember } from './region-rings.js'
import { ringHash, saltedHash } from './ring-hash.js'

/**
 * Largest region fanned out as a star: its hub sends every frame to each member itself.
 * Past it, the hub sends to √n sub-hubs that send to the rest (two hops, √n sends each).
 */
export const STAR_LIMIT = 24

/** Where one member relays replicated items: its neighbors on its region's tree, and the other hubs. */
export interface RelayRole {
  /** The member's region. */
  region: string
  /** The region's hub (it may be the member itself). */
  hub: string
  /** Tree neighbor toward the hub; undefined for the hub. */
  parent: string | undefined
  /** Tree neighbors away from the hub. */
  children: readonly string[]
  /** When the member is its region's hub: the hubs of every other region; else empty. */
  peerHubs: readonly string[]
}

interface RegionTree {
  /** Members by rank: [0] is the hub, then sub-hubs (in a large region), then the rest. */
  ranked: string[]
  /** Parent of each member but the hub. */
  parent: Map<string, string>
  /** Children of each member that has any. */
  children: Map<string, string[]>
}

/**
 * How replicated items travel: one **hub** per region, chosen by rendezvous hashing over
 * the region's live members (every node computes the same from the same member list, and
 * one member's join or leave moves the hub only when that member is or becomes it), and a
 * **tree** per region rooted at its hub. An item is flooded over the tree (each member
 * passes it to its tree neighbors but the one it came from, so each member gets it once)
 * and the hubs pass what comes from their own region to every other hub: an item crosses
 * the WAN once per region, and a member receives one frame per flush from one neighbor
 * whatever the number of writers.
 *
 * The tree is a star up to {@link STAR_LIMIT} + 1 members; past it the next ⌈√(n-1)⌉
 * members by rank are sub-hubs under the hub, and every other member hangs under the
 * sub-hub that rendezvous hashing picks for it (so a join or leave moves few members).
 * Pure: a function of the member list.
 */
export class RelayPlan {
  private readonly trees = new Map<string, RegionTree>()
  private readonly regionOf = new Map<string, string>()

  /** @param members - live members (ids unique); order does not matter */
  constructor(members: readonly TopologyMember[]) {
    const byRegion = new Map<string, string[]>()
    for (const m of members) {
      this.regionOf.set(m.id, m.region)
      let list = byRegion.get(m.region)
      if (list === undefined) {
        list = []
        byRegion.set(m.region, list)
      }
      list.push(m.id)
    }
    for (const [region, ids] of byRegion) this.trees.set(region, buildTree(region, ids))
  }

  /** Regions, in name order. */
  get regions(): string[] {
    return [...this.trees.keys()].sort()
  }

  /** The hub of `region`, or undefined when it has no member. */
  hubOf(region: string): string | undefined {
    return this.trees.get(region)?.ranked[0]
  }

  /** Where member `id` relays, or undefined when it is not a member. */
  roleOf(id: string): RelayRole | undefined {
    const region = this.regionOf.get(id)
    if (region === undefined) return undefined
    const tree = this.trees.get(region)!
    const hub = tree.ranked[0]!
    const peerHubs: string[] = []
    if (hub === id) {
      for (const r of this.regions) if (r !== region) peerHubs.push(this.trees.get(r)!.ranked[0]!)
    }
    return {
      region,
      hub,
      parent: tree.parent.get(id),
      children: tree.children.get(id) ?? [],
      peerHubs,
    }
  }

  /** Every member `id` exchanges relay frames with: tree neighbors and peer hubs. */
  neighborsOf(id: string): Set<string> {
    const role = this.roleOf(id)
    const out = new Set<string>()
    if (role === undefined) return out
    if (role.parent !== undefined) out.add(role.parent)
    for (const c of role.children) out.add(c)
    for (const h of role.peerHubs) out.add(h)
    return out
  }
}

/** Rank of a member in its region: its rendezvous score for the region (higher first). */
function rankScore(region: string, id: string): number {
  return saltedHash(ringHash(id), ringHash(`hub\u0000${region}`))
}

function buildTree(region: string, ids: string[]): RegionTree {
  const scored = ids.map((id) => ({ id, score: rankScore(region, id) }))
  // Ties of the 32-bit score are broken by id, so every node ranks the same way.
  scored.sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
  const ranked = scored.map((s) => s.id)
  const parent = new Map<string, string>()
  const children = new Map<string, string[]>()
  const hang = (child: string, under: string) => {
    parent.set(child, under)
    let list = children.get(under)
    if (list === undefined) {
      list = []
      children.set(under, list)
    }
    list.push(child)
  }
  const hub = ranked[0]!
  const rest = ranked.length - 1
  if (rest <= STAR_LIMIT) {
    for (let i = 1; i < ranked.length; i++) hang(ranked[i]!, hub)
    return { ranked, parent, children }
  }
  const subs = ranked.slice(1, 1 + Math.ceil(Math.sqrt(rest)))
  for (const s of subs) hang(s, hub)
  const subHashes = subs.map((s) => ringHash(s))
  for (let i = 1 + subs.length; i < ranked.length; i++) {
    const id = ranked[i]!
    const h = ringHash(id)
    let best = 0
    let bestScore = -1
    for (let j = 0; j < subs.length; j++) {
      const score = saltedHash(h, subHashes[j]!)
      if (score > bestScore) {
        best = j
        bestScore = score
      }
    }
    hang(id, subs[best]!)
  }
  return { ranked, parent, children }
}
