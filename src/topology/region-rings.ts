import { InvalidOptionError } from '../errors.js'
import { ringHash } from './ring-hash.js'

/** A member of the mesh as the link plan sees it. */
export interface TopologyMember {
  /** Member id (a libp2p peer id string); unique in the member list. */
  id: string
  /** Region tag of the member. */
  region: string
}

/** One region's members sorted by their ring position (hash of id, then id). */
export interface RegionRing {
  /** Region tag. */
  readonly region: string
  /** Member ids in ring order. */
  readonly ids: readonly string[]
  /** Ring position of each member, same order as `ids`, non-decreasing. */
  readonly positions: Float64Array
}

/**
 * The member list grouped by region, each region sorted on its hash ring. Built once per
 * member-list version: O(n log n) for n members.
 */
export class RegionRings {
  /** Rings by region, regions in name order. */
  readonly rings: ReadonlyMap<string, RegionRing>
  /** Total members. */
  readonly size: number
  private readonly where = new Map<string, { region: string; rank: number }>()

  /**
   * @param members - the member list; order does not matter
   * @throws InvalidOptionError when an id appears twice
   */
  constructor(members: readonly TopologyMember[]) {
    const byRegion = new Map<string, { id: string; pos: number }[]>()
    for (const m of members) {
      let list = byRegion.get(m.region)
      if (list === undefined) {
        list = []
        byRegion.set(m.region, list)
      }
      list.push({ id: m.id, pos: ringHash(m.id) })
    }
    const rings = new Map<string, RegionRing>()
    for (const region of [...byRegion.keys()].sort()) {
      const list = byRegion.get(region)!
      // Ties of the 32-bit hash are broken by id, so every node sorts the same way.
      list.sort((x, y) => x.pos - y.pos || (x.id < y.id ? -1 : x.id > y.id ? 1 : 0))
      const ids = list.map((x) => x.id)
      const positions = Float64Array.from(list, (x) => x.pos)
      rings.set(region, { region, ids, positions })
      ids.forEach((id, rank) => {
        if (this.where.has(id))
          throw new InvalidOptionError(`member ${id} appears twice in the member list`)
        this.where.set(id, { region, rank })
      })
    }
    this.rings = rings
    this.size = this.where.size
  }

  /** Region and rank on its region's ring of member `id`, or undefined if not a member. */
  locate(id: string): { region: string; rank: number } | undefined {
    return this.where.get(id)
  }
}
