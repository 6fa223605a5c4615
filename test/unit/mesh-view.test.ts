import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { MESH_VIEW_CONSTANTS } from '../../src/mesh/defaults.js'
import { LagHistogram } from '../../src/mesh/lag-histogram.js'
import {
  buildMeshView,
  type SummaryEntry,
  type ViewInput,
  type ViewMember,
} from '../../src/mesh/mesh-view.js'
import { bucketCounts, type NodeSummary } from '../../src/mesh/node-summary.js'

const ID = (n: number) => `12D3KooW${String(n).padStart(44, 'A')}`
const NOW = 1_000_000

/** A summary with all well, lags observed into real histograms (all recent). */
function summary(
  lags: Record<string, number[]> = {},
  edit: Partial<NodeSummary> = {},
): NodeSummary {
  return {
    ready: true,
    hub: false,
    parent: undefined,
    clockSkewed: false,
    refusingWrites: false,
    clock: { correctionMs: 0, meshOffsetMs: 0, peersMeasured: 2 },
    links: { planned: 2, connected: 2, down: [] },
    relay: { queuedItems: 0, held: 0, dropped: 0 },
    lag: Object.entries(lags).map(([region, values]) => {
      const h = new LagHistogram()
      for (const v of values) h.observe(v)
      const snap = h.snapshot()
      const total = bucketCounts(snap.buckets)
      return { region, total, recent: [...total], maxMs: Math.ceil(snap.maxMs) }
    }),
    ...edit,
  }
}

function input(
  members: ViewMember[],
  summaries: [string, NodeSummary, number?][],
  self = members[0]!,
): ViewInput {
  const map = new Map<string, SummaryEntry>()
  for (const [id, s, at] of summaries) map.set(id, { summary: s, receivedAt: at ?? NOW })
  return {
    self: self.id,
    region: self.region,
    now: NOW,
    recentWindowMs: MESH_VIEW_CONSTANTS.recentWindowMs,
    staleAfterMs: 45_000,
    members,
    summaries: map,
  }
}

describe('mesh view (aggregation of member summaries)', () => {
  it('merges histograms: a cell has the percentiles of all its writes, as one histogram would', () => {
    const regions = ['us-east', 'eu-west', 'ap-south']
    const lagsArb = fc.array(
      fc.record({
        region: fc.constantFrom(...regions),
        lags: fc.dictionary(
          fc.constantFrom(...regions),
          fc.array(fc.double({ min: 0, max: 20_000, noNaN: true }), { maxLength: 40 }),
        ),
      }),
      { minLength: 1, maxLength: 8 },
    )
    fc.assert(
      fc.property(lagsArb, (nodes) => {
        const members = nodes.map((n, i) => ({ id: ID(i), region: n.region }))
        const view = buildMeshView(
          input(
            members,
            nodes.map((n, i) => [ID(i), summary(n.lags)]),
          ),
        )
        expect(view.regions).toEqual([...new Set(nodes.map((n) => n.region))].sort())
        expect(view.totals).toEqual({
          members: nodes.length,
          summarized: nodes.length,
          flagged: view.members.filter((m) => m.flags.length > 0).length,
          behind: view.members.filter((m) => m.behind).length,
        })
        for (const to of regions)
          for (const from of regions) {
            const all = new LagHistogram()
            let nodesWith = 0
            for (const n of nodes) {
              if (n.region !== to || n.lags[from] === undefined) continue
              nodesWith++
              for (const v of n.lags[from]) all.observe(v)
            }
            const cell = view.lag.find((c) => c.to === to && c.from === from)
            if (nodesWith === 0) {
              expect(cell).toBeUndefined()
              continue
            }
            const want = all.snapshot()
            // Max is rounded up to whole ms on the wire.
            const cap = (p: number) => (p === want.maxMs ? Math.ceil(p) : p)
            expect(cell).toMatchObject({
              nodes: nodesWith,
              count: want.count,
              recentCount: want.count,
              p50Ms: cap(want.p50Ms),
              p99Ms: cap(want.p99Ms),
              recentP99Ms: cap(want.p99Ms),
            })
            expect(cell!.p50Ms).toBeLessThanOrEqual(cell!.p99Ms)
            expect(cell!.p99Ms).toBeLessThanOrEqual(cell!.maxMs)
          }
      }),
    )
  })

  it('flags what is wrong and says who is behind', () => {
    const m = (i: number, region = 'us-east') => ({ id: ID(i), region })
    const members = [m(0), m(1), m(2), m(3), m(4), m(5), m(6), m(7), m(8), m(9, 'eu-west')]
    const view = buildMeshView(
      input(members, [
        [ID(0), summary()],
        [ID(1), summary({}, { ready: false })],
        [ID(2), summary({}, { clockSkewed: true, refusingWrites: true })],
        [ID(3), summary({ 'eu-west': [40, 40, 2_500] })],
        [ID(4), summary({}, { relay: { queuedItems: 0, held: 0, dropped: 7 } })],
        [ID(5), summary({}, { relay: { queuedItems: 5_000, held: 0, dropped: 0 } })],
        [ID(6), summary({}, { links: { planned: 3, connected: 2, down: [ID(0)] } })],
        [ID(7), summary(), NOW - 46_000],
        // ID(8): no summary
        [ID(9), summary({ 'us-east': [40] })],
      ]),
    )
    const flags = Object.fromEntries(view.members.map((x) => [x.id, x.flags]))
    expect(flags).toEqual({
      [ID(0)]: [],
      [ID(1)]: ['catching-up'],
      [ID(2)]: ['clock-skewed', 'refusing-writes'],
      [ID(3)]: ['lagging'],
      [ID(4)]: ['dropping'],
      [ID(5)]: ['backlog'],
      [ID(6)]: ['links-down'],
      [ID(7)]: ['stale'],
      [ID(8)]: ['no-summary'],
      [ID(9)]: [],
    })
    expect(view.members.filter((x) => x.behind).map((x) => x.id)).toEqual([
      ID(1),
      ID(3),
      ID(4),
      ID(5),
    ])
    expect(view.totals).toEqual({ members: 10, summarized: 9, flagged: 8, behind: 4 })
    expect(view.members.find((x) => x.id === ID(0))).toMatchObject({ self: true, summaryAgeMs: 0 })
    expect(view.members.find((x) => x.id === ID(7))?.summaryAgeMs).toBe(46_000)
  })

  it('leaves a stale summary out of the recent figures, and its lag in the totals', () => {
    const members = [
      { id: ID(0), region: 'us-east' },
      { id: ID(1), region: 'us-east' },
    ]
    const view = buildMeshView(
      input(members, [
        [ID(0), summary({ 'eu-west': [40] })],
        [ID(1), summary({ 'eu-west': [40, 4_000] }), NOW - 60_000],
      ]),
    )
    expect(view.lag).toEqual([
      expect.objectContaining({ to: 'us-east', from: 'eu-west', count: 3, recentCount: 1 }),
    ])
    expect(view.members[1]!.flags).toEqual(['stale'])
  })

  it('draws the relay tree, the hubs between regions and the links down', () => {
    const members = [
      { id: ID(0), region: 'us-east' },
      { id: ID(1), region: 'us-east' },
      { id: ID(2), region: 'eu-west' },
      { id: ID(3), region: 'eu-west' },
      { id: ID(4), region: 'ap-south' },
    ]
    const view = buildMeshView(
      input(members, [
        [ID(0), summary({}, { hub: true })],
        [ID(1), summary({}, { parent: ID(0) })],
        [
          ID(2),
          summary({}, { hub: true, links: { planned: 3, connected: 1, down: [ID(4), ID(99)] } }),
        ],
        [ID(3), summary({}, { parent: ID(2) })],
        // A stale hub is not drawn as one.
        [ID(4), summary({}, { hub: true, parent: ID(42) }), NOW - 60_000],
      ]),
    )
    const edges = view.edges.map((e) => `${e.kind} ${e.a.slice(-2)}-${e.b.slice(-2)}`).sort()
    // ID(42) and ID(99) are not members: nothing is drawn to them.
    expect(edges).toEqual(['down A2-A4', 'hubs A2-A0', 'tree A1-A0', 'tree A3-A2'])
    expect(view.members.filter((m) => m.hub).map((m) => m.id)).toEqual([ID(4), ID(2), ID(0)])
  })

  it('is empty but whole for a lone node', () => {
    const view = buildMeshView(input([{ id: ID(0), region: 'solo' }], [[ID(0), summary()]]))
    expect(view).toMatchObject({
      regions: ['solo'],
      lag: [],
      edges: [],
      totals: { members: 1, summarized: 1, flagged: 0, behind: 0 },
    })
  })
})
