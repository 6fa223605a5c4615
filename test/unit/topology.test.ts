import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { LinkPlan, type NodeLinks, type TopologyBounds } from '../../src/topology/link-plan.js'
import { localOffsets } from '../../src/topology/local-links.js'
import type { TopologyMember } from '../../src/topology/region-rings.js'

const B58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz'
const DEFAULT_BOUNDS: TopologyBounds = { localPeers: 6, remotePeers: 2 }

/** mulberry32: a seeded PRNG, so a failing case replays from its seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32
  }
}

/** A libp2p-looking peer id. */
function peerId(rnd: () => number): string {
  let s = '12D3KooW'
  for (let i = 0; i < 44; i++) s += B58[Math.floor(rnd() * 58)]
  return s
}

/** `n` members spread over `weights.length` regions in proportion to the weights (each region gets one). */
function mesh(n: number, weights: number[], seed: number): TopologyMember[] {
  const rnd = prng(seed)
  const total = weights.reduce((x, y) => x + y, 0)
  const out: TopologyMember[] = weights.map((_, r) => ({ id: peerId(rnd), region: `r${r}` }))
  while (out.length < n) {
    let pick = rnd() * total
    let r = 0
    while (pick >= weights[r]!) pick -= weights[r++]!
    out.push({ id: peerId(rnd), region: `r${r}` })
  }
  return out
}

type Graph = Map<string, Set<string>>

/** Every member's links, and the graph they form. */
function linksOfAll(
  plan: LinkPlan,
  members: readonly TopologyMember[],
): { links: Map<string, NodeLinks>; g: Graph } {
  const links = new Map(members.map((m) => [m.id, plan.linksOf(m.id)]))
  return { links, g: new Map([...links].map(([id, l]) => [id, l.all])) }
}

function graphOf(plan: LinkPlan, members: readonly TopologyMember[]): Graph {
  return linksOfAll(plan, members).g
}

function connected(g: Graph): boolean {
  const first = g.keys().next().value
  if (first === undefined) return true
  const seen = new Set([first])
  const stack = [first]
  while (stack.length > 0) {
    for (const y of g.get(stack.pop()!)!) {
      if (!seen.has(y)) {
        seen.add(y)
        stack.push(y)
      }
    }
  }
  return seen.size === g.size
}

/**
 * The checks that hold for every plan: symmetric, within the degree bound, local links in
 * the region, at least one link into every other region. Returns the violations (one
 * expect at the end: expect() per link would dominate the run time at 10,000 members).
 */
function violations(
  plan: LinkPlan,
  members: readonly TopologyMember[],
  links: Map<string, NodeLinks>,
): string[] {
  const regionOf = new Map(members.map((m) => [m.id, m.region]))
  const out: string[] = []
  for (const m of members) {
    const l = links.get(m.id)!
    if (l.all.has(m.id)) out.push(`${m.id} links itself`)
    for (const y of l.all)
      if (!links.get(y)!.all.has(m.id)) out.push(`${m.id} -> ${y} not symmetric`)
    const bound = plan.degreeBound(m.id)
    if (l.all.size > bound) out.push(`${m.id} degree ${l.all.size} > ${bound}`)
    for (const y of l.local)
      if (regionOf.get(y) !== m.region) out.push(`${m.id} local link ${y} elsewhere`)
    if (l.remote.size !== plan.regions.length - 1)
      out.push(`${m.id} links ${l.remote.size} other regions`)
    for (const [region, there] of l.remote) {
      if (there.length === 0) out.push(`${m.id} has no link into ${region}`)
      for (const y of there)
        if (regionOf.get(y) !== region) out.push(`${m.id} link ${y} not in ${region}`)
    }
    if (out.length > 10) break
  }
  return out
}

function without(members: readonly TopologyMember[], gone: ReadonlySet<string>): TopologyMember[] {
  return members.filter((m) => !gone.has(m.id))
}

/** Links that changed between two graphs, not counting the links of `skip`. */
function churn(before: Graph, after: Graph, skip: string): { total: number; worstNode: number } {
  let total = 0
  let worstNode = 0
  for (const [id, now] of after) {
    if (id === skip) continue
    const was = before.get(id) ?? new Set<string>()
    let c = 0
    for (const y of was) if (y !== skip && !now.has(y)) c++
    for (const y of now) if (y !== skip && !was.has(y)) c++
    total += c
    worstNode = Math.max(worstNode, c)
  }
  return { total: total / 2, worstNode }
}

/**
 * The 10,000-member checks for one mesh: members spread over 50 regions by `weights`,
 * ids from `seed`. Connected, symmetric, within the degree bound, one hop from every
 * region, still connected and one hop from every region after 10% leave; one leave and
 * one join move at most CHURN_PER_LINK links per link of that member besides its own,
 * and no other node more than CHURN_PER_NODE_SHARE of them.
 */
function checkLargeMesh(weights: number[], seed: number): void {
  const members = mesh(10_000, weights, seed)
  const plan = new LinkPlan(members, DEFAULT_BOUNDS)
  expect(plan.fullMesh).toBe(false)
  const { links, g } = linksOfAll(plan, members)
  expect(violations(plan, members, links)).toEqual([])
  expect(connected(g)).toBe(true)
  const sample = members[0]!
  for (const [region, there] of links.get(sample.id)!.remote)
    expect(plan.relayToward(sample.id, region)).toBe(there[0])

  const rnd = prng(seed ^ 0x5bd1e995)
  // Any 10% leave: the plan of the survivors is connected and reaches every region.
  const gone = new Set(members.filter(() => rnd() < 0.1).map((m) => m.id))
  const rest = without(members, gone)
  const after = new LinkPlan(rest, DEFAULT_BOUNDS)
  const survivors = linksOfAll(after, rest)
  expect(connected(survivors.g)).toBe(true)
  const regions = after.regions.length
  expect(rest.filter((m) => survivors.links.get(m.id)!.remote.size !== regions - 1)).toEqual([])

  // One member leaves: besides its own links, at most CHURN_PER_LINK times as many move.
  const leaver = members[Math.floor(rnd() * members.length)]!
  const remaining = without(members, new Set([leaver.id]))
  const g3 = graphOf(new LinkPlan(remaining, DEFAULT_BOUNDS), remaining)
  const left = churn(g, g3, leaver.id)
  const leaverLinks = g.get(leaver.id)!.size
  expect(left.total).toBeLessThanOrEqual(CHURN_PER_LINK * leaverLinks)
  expect(left.worstNode).toBeLessThanOrEqual(CHURN_PER_NODE_SHARE * leaverLinks)

  // One member joins: the same bounds, counted against the newcomer's links.
  const joiner = { id: peerId(rnd), region: leaver.region }
  const joined = [...members, joiner]
  const g4 = graphOf(new LinkPlan(joined, DEFAULT_BOUNDS), joined)
  const came = churn(g, g4, joiner.id)
  const joinerLinks = g4.get(joiner.id)!.size
  expect(came.total).toBeLessThanOrEqual(CHURN_PER_LINK * joinerLinks)
  expect(came.worstNode).toBeLessThanOrEqual(CHURN_PER_NODE_SHARE * joinerLinks)
}

describe('link plan at 10,000 members in 50 regions', () => {
  it('is connected, symmetric, within its degree bound, one hop from every region, and stays so after 10% leave; one join or leave moves few links', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 8 }), { minLength: 50, maxLength: 50 }),
        fc.integer(),
        checkLargeMesh,
      ),
      {
        // The mesh that moved 802 links on one departure (10 per link of the departed
        // member) when a pair's single capacity jumped, then one random mesh (~2-4 s each).
        examples: [[CI_COUNTEREXAMPLE_WEIGHTS, 25]],
        numRuns: 2,
        // No shrinking: each step rebuilds 10,000 members' links, and shrinking a failure
        // took 409 s of CI. The reported seed and path replay the failing mesh.
        endOnFailure: true,
      },
    )
  })
})

describe('churn across a capacity step', () => {
  it('a departure that takes a pair of equal regions past an integer mean load moves a few links, not the pair', () => {
    // Two regions of 400: each member holds at most 2 balls of the other region (twice the
    // mean, 1). One leaves: the other 399 hold 400 balls, twice the mean is 2.005, and with
    // one capacity per pair every member went to 3 at once: ~260 of the pair's ~800 links
    // moved (the CI failure). Measured since: 6 to 20.
    const rnd = prng(7)
    const members = Array.from({ length: 800 }, (_, i) => ({
      id: peerId(rnd),
      region: i < 400 ? 'x' : 'y',
    }))
    const g = remoteGraph(new LinkPlan(members, DEFAULT_BOUNDS), members)
    const pairLinks = [...g.values()].reduce((sum, links) => sum + links.size, 0) / 2
    for (const leaver of members.slice(0, 20)) {
      const rest = without(members, new Set([leaver.id]))
      const moved = churn(g, remoteGraph(new LinkPlan(rest, DEFAULT_BOUNDS), rest), leaver.id)
      expect(moved.total).toBeLessThanOrEqual(0.05 * pairLinks)
    }
  })
})

/** Every member's links into other regions (the local ring's churn left out). */
function remoteGraph(plan: LinkPlan, members: readonly TopologyMember[]): Graph {
  return new Map(
    members.map((m) => [m.id, new Set([...plan.linksOf(m.id).remote.values()].flat())]),
  )
}

/** Region weights of the mesh that failed CI (seed 25): see the 10,000-member test. */
const CI_COUNTEREXAMPLE_WEIGHTS = [
  3, 2, 5, 2, 3, 8, 1, 6, 8, 7, 7, 1, 3, 8, 8, 6, 2, 1, 3, 6, 2, 2, 3, 6, 8, 6, 5, 7, 4, 2, 3, 3, 7,
  2, 1, 1, 8, 7, 2, 6, 1, 3, 1, 7, 4, 7, 1, 1, 2, 3,
]

/** Random meshes of up to 1,500 members in up to 12 regions with random bounds. */
const mediumMesh = fc.record({
  n: fc.integer({ min: 2, max: 1_500 }),
  weights: fc.array(fc.integer({ min: 1, max: 20 }), { minLength: 1, maxLength: 12 }),
  seed: fc.integer(),
  bounds: fc.record({
    localPeers: fc.integer({ min: 1, max: 10 }),
    remotePeers: fc.integer({ min: 1, max: 4 }),
  }),
})

describe('link plan on random meshes', () => {
  it('is connected, symmetric, within its degree bound and one hop from every region, also after 10% leave', () => {
    fc.assert(
      fc.property(mediumMesh, ({ n, weights, seed, bounds }) => {
        const members = mesh(Math.max(n, weights.length), weights, seed)
        const plan = new LinkPlan(members, bounds)
        const { links, g } = linksOfAll(plan, members)
        expect(violations(plan, members, links)).toEqual([])
        expect(connected(g)).toBe(true)
        const rnd = prng(seed)
        const rest = without(members, new Set(members.filter(() => rnd() < 0.1).map((m) => m.id)))
        const after = new LinkPlan(rest, bounds)
        const survivors = linksOfAll(after, rest)
        expect(violations(after, rest, survivors.links)).toEqual([])
        expect(connected(survivors.g)).toBe(true)
      }),
      { numRuns: 25 },
    )
  })

  it('is the same relation whatever the order of the member list', () => {
    fc.assert(
      fc.property(mediumMesh, fc.integer(), ({ n, weights, seed, bounds }, shuffle) => {
        const members = mesh(Math.min(n, 300), weights, seed)
        const rnd = prng(shuffle)
        const shuffled = members
          .map((m) => ({ m, k: rnd() }))
          .sort((x, y) => x.k - y.k)
          .map((x) => x.m)
        const a = new LinkPlan(members, bounds)
        const b = new LinkPlan(shuffled, bounds)
        for (const m of members) {
          const la = a.linksOf(m.id)
          const lb = b.linksOf(m.id)
          expect(lb.local).toEqual(la.local)
          expect([...lb.remote]).toEqual([...la.remote])
        }
      }),
      { numRuns: 25 },
    )
  })
})

describe('small meshes', () => {
  it('are a full mesh when every node can link every other within its budget', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 1, max: 4 }),
        fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 4 }),
        fc.integer(),
        (localPeers, remotePeers, sizes, seed) => {
          const rnd = prng(seed)
          const members = sizes.flatMap((k, r) =>
            Array.from({ length: k }, () => ({ id: peerId(rnd), region: `r${r}` })),
          )
          const plan = new LinkPlan(members, { localPeers, remotePeers })
          const budget = Math.max(localPeers, 2) + remotePeers * (sizes.length - 1)
          expect(plan.fullMesh).toBe(members.length - 1 <= budget)
          for (const m of members) {
            const links = plan.linksOf(m.id)
            const same = members.filter((x) => x.region === m.region && x.id !== m.id)
            // A region of up to localPeers + 1 members is a clique whatever the rest.
            if (same.length <= Math.max(localPeers, 2) || plan.fullMesh)
              expect(new Set(links.local)).toEqual(new Set(same.map((x) => x.id)))
            if (plan.fullMesh) expect(links.all.size).toBe(members.length - 1)
            // Regions with at most remotePeers members are linked by every node.
            for (const [r, k] of sizes.entries()) {
              if (
                `r${r}` === m.region ||
                Math.min(k, sizes[Number(m.region.slice(1))]!) > remotePeers
              )
                continue
              expect(links.remote.get(`r${r}`)!.length).toBe(k)
            }
          }
        },
      ),
      { numRuns: 300 },
    )
  })

  it('the 10-region bench mesh of 25 nodes under the defaults: every node links every region', () => {
    const rnd = prng(25)
    const members = Array.from({ length: 25 }, (_, i) => ({
      id: peerId(rnd),
      region: `r${i % 10}`,
    }))
    const plan = new LinkPlan(members, DEFAULT_BOUNDS)
    for (const m of members) expect(plan.linksOf(m.id).remote.size).toBe(9)
  })
})

describe('local ring offsets', () => {
  it('grow by 4 once the region is large enough, and are distinct and below n / 2', () => {
    expect(localOffsets(200, 3)).toEqual([1, 4, 16])
    expect(localOffsets(20, 3)).toEqual([1, 4, 2])
    fc.assert(
      fc.property(fc.integer({ min: 3, max: 5_000 }), fc.integer({ min: 1, max: 6 }), (n, half) => {
        const offsets = localOffsets(n, half)
        expect(new Set(offsets).size).toBe(offsets.length)
        for (const o of offsets) expect(2 * o).toBeLessThan(n)
        if (n > 2 * half) expect(offsets.length).toBe(half)
      }),
    )
  })
})

describe('options', () => {
  it('rejects bounds that are not positive integers and repeated ids', () => {
    const members = [
      { id: 'a', region: 'x' },
      { id: 'b', region: 'y' },
    ]
    expect(() => new LinkPlan(members, { localPeers: 0, remotePeers: 2 })).toThrow(/localPeers/)
    expect(() => new LinkPlan(members, { localPeers: 6, remotePeers: 1.5 })).toThrow(/remotePeers/)
    expect(() => new LinkPlan([...members, { id: 'a', region: 'y' }], DEFAULT_BOUNDS)).toThrow(
      /twice/,
    )
    expect(() => new LinkPlan(members, DEFAULT_BOUNDS).linksOf('c')).toThrow(
      /not in the member list/,
    )
  })
})

/**
 * Links that move, per link of the member that joins or leaves, besides its own (plain
 * consistent hashing: 1; the local ring alone: about 6.5 per local link). Measured on 200
 * random 10,000-member meshes: median 2.9, at most 4.4 (one capacity per region pair and
 * first-come placement: median ~4, and 10 in the mesh that failed CI).
 */
const CHURN_PER_LINK = 6
/**
 * Links of any one other node that move when a member joins or leaves, as a share of that
 * member's links. Relative, not a count: when a member of a small region leaves, the
 * balls it held (about 2 * n_Y / n_X from each larger region Y) go to the few members of
 * its region, so their changes grow with its degree (77 links at a departure of 361 links
 * from a region of 34: 0.21). Measured on the 200 meshes: at most 0.19.
 */
const CHURN_PER_NODE_SHARE = 0.5
