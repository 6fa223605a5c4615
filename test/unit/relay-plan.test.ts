import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { RelayPlan, STAR_LIMIT } from '../../src/topology/relay-plan.js'

/** A mesh of members spread over regions by weight; ids unique. */
const meshArb = fc
  .record({
    sizes: fc.array(fc.integer({ min: 1, max: 120 }), { minLength: 1, maxLength: 8 }),
    salt: fc.integer({ min: 0, max: 1e9 }),
  })
  .map(({ sizes, salt }) =>
    sizes.flatMap((n, r) =>
      Array.from({ length: n }, (_, i) => ({ id: `12D3Koo${salt}-${r}-${i}`, region: `r${r}` })),
    ),
  )

/** Every member an item reaches when `origin` writes it: the tree flood plus the hubs. */
function reach(plan: RelayPlan, origin: string): Map<string, number> {
  const got = new Map<string, number>([[origin, 1]])
  const queue: [string, string | undefined][] = [[origin, undefined]]
  const regionOf = (id: string) => plan.roleOf(id)!.region
  while (queue.length > 0) {
    const [at, from] = queue.shift()!
    const role = plan.roleOf(at)!
    const out = [role.parent, ...role.children].filter((x): x is string => x !== undefined)
    // A hub passes items of its own region to the other hubs, never back across.
    if (role.hub === at && (from === undefined || regionOf(from) === role.region))
      out.push(...role.peerHubs)
    for (const next of out) {
      if (next === from) continue
      got.set(next, (got.get(next) ?? 0) + 1)
      if (got.get(next) === 1) queue.push([next, at])
    }
  }
  return got
}

describe('relay plan: a hub and a tree per region', () => {
  it('property: an item from any member reaches every member exactly once, crossing into each other region once', () => {
    fc.assert(
      fc.property(meshArb, fc.nat(), (members, pick) => {
        const plan = new RelayPlan(members)
        const origin = members[pick % members.length]!.id
        const got = reach(plan, origin)
        expect(got.size).toBe(members.length)
        for (const [, n] of got) expect(n).toBe(1)
      }),
      { numRuns: 60 },
    )
  })

  it('property: trees are shallow and fan-out bounded (star up to the limit, else two levels of √n)', () => {
    fc.assert(
      fc.property(meshArb, (members) => {
        const plan = new RelayPlan(members)
        for (const region of plan.regions) {
          const ids = members.filter((m) => m.region === region).map((m) => m.id)
          // A star up to the limit; past it the hub feeds ⌈√(n-1)⌉ sub-hubs, which share the
          // rest by rendezvous hashing (balanced in expectation: allow four times the mean).
          const root = Math.ceil(Math.sqrt(ids.length - 1))
          const bound = ids.length - 1 <= STAR_LIMIT ? STAR_LIMIT : 4 * root
          for (const id of ids) {
            const role = plan.roleOf(id)!
            let depth = 0
            for (let at = role; at.parent !== undefined; at = plan.roleOf(at.parent)!) depth++
            expect(depth).toBeLessThanOrEqual(2)
            expect(role.children.length).toBeLessThanOrEqual(bound)
          }
        }
      }),
      { numRuns: 60 },
    )
  })

  it('is the same whatever the order of the member list, and neighbors are symmetric', () => {
    fc.assert(
      fc.property(meshArb, fc.integer(), (members, seed) => {
        const shuffled = [...members].sort(
          (a, b) =>
            ((a.id.length * seed) % 7) - ((b.id.length * seed) % 7) || (a.id < b.id ? 1 : -1),
        )
        const p1 = new RelayPlan(members)
        const p2 = new RelayPlan(shuffled)
        for (const m of members) {
          expect(p2.roleOf(m.id)).toEqual(p1.roleOf(m.id))
          for (const n of p1.neighborsOf(m.id)) expect(p1.neighborsOf(n).has(m.id)).toBe(true)
        }
      }),
      { numRuns: 40 },
    )
  })

  it('a join or leave moves the hub only when that member is or becomes it, and few parents in a large region', () => {
    const members = Array.from({ length: 400 }, (_, i) => ({ id: `peer-${i}`, region: 'r' }))
    const plan = new RelayPlan(members)
    const hub = plan.hubOf('r')!
    const leaver = members.find((m) => m.id !== hub && plan.roleOf(m.id)!.children.length === 0)!
    const after = new RelayPlan(members.filter((m) => m.id !== leaver.id))
    expect(after.hubOf('r')).toBe(hub)
    let moved = 0
    for (const m of members)
      if (m.id !== leaver.id && after.roleOf(m.id)!.parent !== plan.roleOf(m.id)!.parent) moved++
    // A leaf leaving changes nobody's parent (the sub-hubs keep their ranks).
    expect(moved).toBe(0)
    // The hub leaving: one of its sub-hubs (the next in rank) takes over.
    const noHub = new RelayPlan(members.filter((m) => m.id !== hub))
    expect(plan.roleOf(hub)!.children).toContain(noHub.hubOf('r'))
  })
})
