import type { RegionRing } from './region-rings.js'
import { RING_SIZE, ringHash, saltedHash } from './ring-hash.js'

/**
 * Cross-region links between two regions X and Y: consistent hashing with bounded loads
 * (Mirrokni, Thorup, Zadimoghaddam 2018), once in each direction.
 *
 * Each direction X -> Y has its own ring: members' positions are their hashes salted with
 * the other region's name, so the members that compete for the same bins differ from one
 * pair to the next and one member's arrival or departure does not move the same
 * neighbours' links in every region. With s = ceil(remotePeers / 2) *balls per member*:
 * every member j of X throws s balls at positions x_j + t/s (t = 0..s-1, evenly round the
 * ring). The *home* of a ball is the first member of Y clockwise (on Y's ring salted with
 * X's name). Every member i of Y holds, of the balls that reach it, the `cap_i`
 * ({@link binCapacities}) whose homes are nearest before it, never two of one thrower;
 * the others travel on clockwise to the next member. The same from Y into X. The links of
 * the pair are the union of both placements (a ball is a link; the same link placed from
 * both sides counts once).
 *
 * So every member has at least s links into the other region (its own balls: the
 * writer's flood reaches each region in one WAN hop), on average about 2s, and at most
 * s + cap, cap about 2 * s * n_other / n_self: the smaller region of a pair takes the
 * larger one's balls. Both directions are placed the same way, so there is no role that
 * flips when sizes change.
 *
 * Why nearest homes first, and capacities per member: they keep what one departure or
 * arrival moves small. Positions are hashes of ids, so a member that leaves takes its own
 * balls with it, and the balls it held travel on to the next members with room; because a
 * member keeps the balls nearest its position, those travellers only take free room or
 * push on balls that had travelled further, never the balls of the next member's own arc
 * (placed first-come in ring order, the departed member's balls displaced whole runs of
 * them). A capacity that is one number per region pair jumps by 1 for every member at once
 * when the mean load crosses an integer, and the whole pair was placed anew (a departure
 * moved 802 links, 10 per link of the departed member, at 10,000 members in 50 regions);
 * per-member capacities change a few members at a time. When either region has at most
 * `remotePeers` members the two form a full bipartite graph.
 */

/**
 * A member's capacity for balls over their mean load (1 + epsilon in Mirrokni et al.): it
 * sets the degree bound ({@link binCapacity}) and how full members are, and the fuller
 * they are, the further a change travels. Measured at 10,000 members in 50 regions
 * (first-come placement, one capacity per pair): 1.25 made one departure move about 13
 * links per link of the departed member, 2 about 4, unbounded (plain consistent hashing) 1;
 * the degree bound grows with it only where a small region faces a large one.
 */
export const BIN_LOAD_FACTOR = 2

/**
 * Width, in units of mean load, of the ramp over which members move to the next capacity:
 * member i's capacity is `ceil(c)`, c = {@link BIN_LOAD_FACTOR} times its mean load,
 * unless c lies less than its own threshold t_i in (0, CAPACITY_RAMP] above an integer,
 * where it is `floor(c)`. 1 spreads the switch over the whole unit (capacities average c:
 * fullest members, most links moved, median 3.8 per link of a departed member at 10,000
 * members); near 0 is one capacity per pair (emptiest members, median 2.5, but a jump
 * that moves hundreds of links); 0.25 measured median 2.9, at most 3.9.
 */
export const CAPACITY_RAMP = 0.25

/** Balls each member throws into each other region: `ceil(remotePeers / 2)`. */
export function ballsPerMember(remotePeers: number): number {
  return Math.ceil(remotePeers / 2)
}

/**
 * Most balls a member of a region of `a` members takes from a region of `b` members
 * (each throwing `s` balls, `a > s`): {@link BIN_LOAD_FACTOR} times the mean s * b / a, and more than
 * s * b / (a - s + 1) so that a ball always finds a member with room that it is not
 * linked to yet (at most a - s members can be full while balls remain).
 */
export function binCapacity(a: number, b: number, s: number): number {
  return Math.max(Math.ceil((BIN_LOAD_FACTOR * s * b) / a), Math.floor((s * b) / (a - s + 1)) + 1)
}

/**
 * Capacity of each member of `bins` (a members) for the balls of a region of `b` members
 * throwing `s` each: `max(floor(c) + (frac(c) >= t_i ? 1 : 0), floor(s * b / (a - s + 1)) + 1)`
 * with c = {@link BIN_LOAD_FACTOR} * s * b / a and t_i in (0, {@link CAPACITY_RAMP}] a hash
 * of the member's id salted with the throwers' region. At most {@link binCapacity}; at
 * least `floor(s * b / (a - s + 1)) + 1`, which is what guarantees every ball a place.
 * When a region pair's sizes change by one member, c changes by about c / a or 2 * s / a,
 * so about c / CAPACITY_RAMP or 2 * s / CAPACITY_RAMP members change capacity, and only
 * while frac(c) is on the ramp.
 */
function binCapacities(bins: RegionRing, throwersRegion: string, b: number, s: number): Int32Array {
  const a = bins.ids.length
  const c = (BIN_LOAD_FACTOR * s * b) / a
  const whole = Math.floor(c)
  const least = Math.floor((s * b) / (a - s + 1)) + 1
  const salt = ringHash(`${throwersRegion}\0capacity`)
  const out = new Int32Array(a)
  for (let i = 0; i < a; i++) {
    const threshold = CAPACITY_RAMP * (1 - saltedHash(bins.positions[i]!, salt) / RING_SIZE)
    out[i] = Math.max(c - whole >= threshold ? whole + 1 : whole, least)
  }
  return out
}

/**
 * Upper bound on the links a member of a region of `self` members keeps into a region of
 * `other` members.
 */
export function pairDegreeBound(self: number, other: number, remotePeers: number): number {
  if (Math.min(self, other) <= remotePeers) return other
  const s = ballsPerMember(remotePeers)
  return s + binCapacity(self, other, s)
}

/** Largest count {@link sortedByPosition} sorts as packed numbers: 2^53 / 2^32. */
const PACKED_LIMIT = 2 ** 21

/**
 * Indexes 0..n-1 sorted by (position, index), positions integers in [0, 2^32). Packs both
 * into one exact double and sorts numerically (a comparator sort was most of a plan's
 * build time).
 */
function sortedByPosition(n: number, positionOf: (i: number) => number): Int32Array {
  if (n >= PACKED_LIMIT) {
    const idx = Int32Array.from({ length: n }, (_, i) => i)
    return idx.sort((p, q) => positionOf(p) - positionOf(q) || p - q)
  }
  const keys = new Float64Array(n)
  for (let i = 0; i < n; i++) keys[i] = positionOf(i) * PACKED_LIMIT + i
  keys.sort()
  return Int32Array.from(keys, (k) => k % PACKED_LIMIT)
}

/** Balls of one region placed on another: who holds whose balls. */
class Placement {
  /** Target rank (in the bins region) of ball t of thrower j, at j * s + t. */
  readonly target: Int32Array
  /** Throwers' ranks holding a ball on bin i: inbound.slice(start[i], start[i + 1]). */
  readonly inbound: Int32Array
  readonly start: Int32Array
  /** Scratch of {@link fill}: balls a bin passed over because it holds their thrower. */
  private readonly skipped: number[] = []

  constructor(
    throwers: RegionRing,
    bins: RegionRing,
    readonly s: number,
  ) {
    const a = bins.ids.length
    const b = throwers.ids.length
    const n = b * s
    const cap = binCapacities(bins, throwers.region, b, s)
    // The bins on their ring salted with the throwers' region, and the other way round.
    const binSalt = ringHash(throwers.region)
    const ballSalt = ringHash(bins.region)
    const binAt = sortedByPosition(a, (i) => saltedHash(bins.positions[i]!, binSalt))
    const binPos = Float64Array.from(binAt, (i) => saltedHash(bins.positions[i]!, binSalt))
    const pos = new Float64Array(n)
    for (let j = 0; j < b; j++) {
      const x = saltedHash(throwers.positions[j]!, ballSalt)
      for (let t = 0; t < s; t++) pos[j * s + t] = (x + Math.floor((t * RING_SIZE) / s)) % RING_SIZE
    }
    const order = sortedByPosition(n, (ball) => pos[ball]!)
    // Scan the ring from just after the last bin: the balls past it are the first bin's.
    let wrap = n
    while (wrap > 0 && pos[order[wrap - 1]!]! > binPos[a - 1]!) wrap--
    this.target = new Int32Array(n).fill(-1)
    const load = new Int32Array(a)
    // Balls that have reached the scan's bin and are not placed, nearest home on top: the
    // scan pushes each bin's own arc in ring order, so the stack stays sorted by home.
    const stack: number[] = []
    let next = 0
    for (let k = 0; k < a; k++) {
      for (; next < n; next++) {
        const ball = order[(next + wrap) % n]!
        if (next >= n - wrap && pos[ball]! > binPos[k]!) break
        stack.push(ball)
      }
      this.fill(binAt[k]!, cap, load, stack)
    }
    // Balls left over travelled past the last bin: they are further from every bin than
    // the balls the first lap offered it, so they take only room that is left. One more
    // lap places them all: a ball left after it would find every bin full or holding a
    // ball of its thrower, but fewer than a - s + 1 bins can be full (binCapacities).
    for (let k = 0; stack.length > 0 && k < a; k++) this.fill(binAt[k]!, cap, load, stack)
    this.start = new Int32Array(a + 1)
    for (let i = 0; i < a; i++) this.start[i + 1] = this.start[i]! + load[i]!
    this.inbound = new Int32Array(n)
    const fill = this.start.slice(0, a)
    for (let ball = 0; ball < n; ball++) this.inbound[fill[this.target[ball]!]!++] = (ball / s) | 0
  }

  /** Bin i takes the nearest balls of the stack while it has room (one per thrower). */
  private fill(i: number, cap: Int32Array, load: Int32Array, stack: number[]): void {
    const skipped = this.skipped
    while (load[i]! < cap[i]! && stack.length > 0) {
      const ball = stack.pop()!
      if (this.s > 1 && this.holds((ball / this.s) | 0, i)) skipped.push(ball)
      else {
        this.target[ball] = i
        load[i]!++
      }
    }
    // Skipped balls go back in their order (they were popped nearest first).
    while (skipped.length > 0) stack.push(skipped.pop()!)
  }

  private holds(j: number, i: number): boolean {
    for (let t = 0; t < this.s; t++) if (this.target[j * this.s + t] === i) return true
    return false
  }
}

/**
 * The links between two regions, by rank on each region's ring. Building costs
 * O((n_X + n_Y) * s * log) (a sort of the balls, then one scan of each ring, at most two
 * laps); lookups O(links).
 */
export class PairLinks {
  /** True when the two regions form a full bipartite graph. */
  readonly full: boolean
  private readonly x: RegionRing
  private readonly y: RegionRing
  private readonly xToY: Placement | undefined
  private readonly yToX: Placement | undefined

  /**
   * @param x - one region's ring
   * @param y - the other region's ring
   * @param remotePeers - the bound on links per other region
   */
  constructor(x: RegionRing, y: RegionRing, remotePeers: number) {
    this.x = x
    this.y = y
    this.full = Math.min(x.ids.length, y.ids.length) <= remotePeers
    const s = ballsPerMember(remotePeers)
    this.xToY = this.full ? undefined : new Placement(x, y, s)
    this.yToX = this.full ? undefined : new Placement(y, x, s)
  }

  /**
   * Ranks, on the other region's ring, of the links of the member at `rank` of `region`
   * (one of the pair's two regions): its own balls first (the first is its preferred
   * relay), then the balls it holds, without repeats.
   */
  linksOf(region: string, rank: number): number[] {
    const mine = region === this.x.region
    const other = mine ? this.y : this.x
    const out = mine ? this.xToY : this.yToX
    const into = mine ? this.yToX : this.xToY
    if (out === undefined || into === undefined) return Array.from(other.ids, (_, i) => i)
    const links: number[] = []
    for (let t = 0; t < out.s; t++) links.push(out.target[rank * out.s + t]!)
    for (let k = into.start[rank]!; k < into.start[rank + 1]!; k++) {
      const j = into.inbound[k]!
      if (!links.includes(j)) links.push(j)
    }
    return links
  }
}
