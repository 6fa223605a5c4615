import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { MESH_VIEW_CONSTANTS } from '../../src/mesh/defaults.js'
import { LagHistogram } from '../../src/mesh/lag-histogram.js'
import {
  baselineOf,
  LAG_BUCKETS,
  type NodeSummary,
  readSummary,
  SUMMARY_FORMAT,
  summarize,
  writeSummary,
} from '../../src/mesh/node-summary.js'
import type { MeshStats } from '../../src/ports/mesh-options.js'
import { msgpack } from '../../src/replication/value-codec.js'

const ID = (n: number) => `12D3KooW${String(n).padStart(44, 'A')}`

/** What travels: msgpack bytes and back, as an announcement carries it. */
const wire = (s: NodeSummary) => msgpack.unpack(msgpack.pack(writeSummary(s)))

const counts = fc.array(fc.nat({ max: 1e9 }), { minLength: LAG_BUCKETS, maxLength: LAG_BUCKETS })
const summaryArb: fc.Arbitrary<NodeSummary> = fc.record({
  ready: fc.boolean(),
  hub: fc.boolean(),
  parent: fc.option(fc.nat({ max: 99 }).map(ID), { nil: undefined }),
  clockSkewed: fc.boolean(),
  refusingWrites: fc.boolean(),
  clock: fc.record({
    correctionMs: fc.integer({ min: -1e9, max: 1e9 }),
    meshOffsetMs: fc.integer({ min: -1e9, max: 1e9 }),
    peersMeasured: fc.nat({ max: 1000 }),
  }),
  links: fc.record({
    planned: fc.nat({ max: 100 }),
    connected: fc.nat({ max: 100 }),
    down: fc.array(fc.nat({ max: 99 }).map(ID), { maxLength: MESH_VIEW_CONSTANTS.maxDownLinks }),
  }),
  relay: fc.record({
    queuedItems: fc.nat({ max: 1e6 }),
    held: fc.nat({ max: 1e6 }),
    dropped: fc.nat({ max: 1e6 }),
  }),
  lag: fc.uniqueArray(
    fc.record({
      region: fc.stringMatching(/^[a-z0-9_.-]{1,12}$/),
      total: counts,
      recent: counts,
      maxMs: fc.nat({ max: 1e7 }),
    }),
    { maxLength: 6, selector: (l) => l.region },
  ),
})

/** MeshStats with what a summary reads; lags observed into real histograms. */
function statsOf(lags: Record<string, number[]>, dropped = 0): MeshStats {
  const lagByRegion: MeshStats['lagByRegion'] = {}
  for (const [region, values] of Object.entries(lags)) {
    const h = new LagHistogram()
    for (const v of values) h.observe(v)
    lagByRegion[region] = h.snapshot()
  }
  return {
    peerId: ID(0),
    peers: [{ id: ID(1) }, { id: ID(2) }],
    clock: { correctionMs: 12.4, skewed: true, peersMeasured: 2, meshOffsetMs: 0.2 },
    replication: { queuedItems: 5, batchesHeld: 1, batchesDropped: dropped },
    lagByRegion,
    links: { relay: { hub: ID(0), parent: undefined, children: [ID(1)], peerHubs: [] } },
  } as unknown as MeshStats
}

describe('node summary (mesh view)', () => {
  it('reads back what it wrote, through msgpack', () => {
    fc.assert(
      fc.property(summaryArb, (s) => {
        // Empty buckets do not travel: zero counts read back as zeros.
        expect(readSummary(wire(s))).toEqual(s)
      }),
    )
  })

  it('never throws on garbage and accepts nothing malformed', () => {
    fc.assert(
      fc.property(fc.anything(), (v) => {
        const s = readSummary(v)
        if (s !== undefined) expect(readSummary(writeSummary(s))).toEqual(s)
      }),
    )
    fc.assert(
      fc.property(summaryArb, fc.nat({ max: 6 }), fc.anything(), (s, field, junk) => {
        const raw = writeSummary(s)
        fc.pre(JSON.stringify(raw[field + 1]) !== JSON.stringify(junk))
        raw[field + 1] = junk
        // Whatever replaced a field, the reader returns a well-formed summary or nothing.
        const got = readSummary(raw)
        if (got !== undefined) expect(readSummary(writeSummary(got))).toEqual(got)
      }),
    )
  })

  it('refuses summaries past their bounds or with inconsistent histograms', () => {
    const ok = writeSummary(summarize(statsOf({ 'eu-west': [30] }), true, new Set(), undefined))
    expect(readSummary(ok)).toBeDefined()
    const bad = (edit: (raw: unknown[]) => void) => {
      const raw = structuredClone(ok)
      edit(raw)
      return readSummary(raw)
    }
    expect(bad((r) => (r[0] = SUMMARY_FORMAT + 1))).toBeUndefined()
    expect(bad((r) => r.pop())).toBeUndefined()
    expect(bad((r) => (r[2] = 'not a peer id!'))).toBeUndefined()
    expect(
      bad(
        (r) => ((r[4] as unknown[])[2] = Array(MESH_VIEW_CONSTANTS.maxDownLinks + 1).fill(ID(1))),
      ),
    ).toBeUndefined()
    const row = (region: string) => [region, [5, 1], [], 30]
    expect(bad((r) => (r[6] = [row('a'), row('a')]))).toBeUndefined() // a region twice
    expect(bad((r) => (r[6] = [['bad region!', [5, 1], [], 30]]))).toBeUndefined()
    expect(bad((r) => (r[6] = [['a', [6, 1, 5, 1], [], 30]]))).toBeUndefined() // not ascending
    expect(bad((r) => (r[6] = [['a', [LAG_BUCKETS, 1], [], 30]]))).toBeUndefined()
    expect(bad((r) => (r[6] = [['a', [5, 0], [], 30]]))).toBeUndefined() // zero count sent
    expect(bad((r) => (r[6] = [['a', [5, -1], [], 30]]))).toBeUndefined()
    expect(bad((r) => (r[3] = [Number.NaN, 0, 0]))).toBeUndefined()
    const many = Array.from({ length: MESH_VIEW_CONSTANTS.maxRegions + 1 }, (_, i) => row(`r${i}`))
    expect(bad((r) => (r[6] = many))).toBeUndefined()
    // Elements a later version may add are ignored.
    expect(bad((r) => r.push({ later: true }))).toEqual(readSummary(ok))
  })

  it("is made from the node's stats: role, clock, links down, recent window", () => {
    const before = statsOf({ 'eu-west': [30, 30], 'us-east': [2] }, 3)
    const now = statsOf({ 'eu-west': [30, 30, 30, 700], 'us-east': [2] }, 5)
    const planned = new Set([ID(1), ID(2), ID(3)])
    const s = summarize(now, false, planned, baselineOf(before))
    expect(s).toMatchObject({
      ready: false,
      hub: true,
      parent: undefined,
      clockSkewed: true,
      refusingWrites: false,
      clock: { correctionMs: 12, meshOffsetMs: 0, peersMeasured: 2 },
      links: { planned: 3, connected: 2, down: [ID(3)] },
      relay: { queuedItems: 5, held: 1, dropped: 2 },
    })
    const eu = s.lag.find((l) => l.region === 'eu-west')!
    expect(eu.total.reduce((a, b) => a + b)).toBe(4)
    // Only the writes since the baseline are recent: two, one in the 500-1000 ms bucket.
    expect(eu.recent.reduce((a, b) => a + b)).toBe(2)
    expect(eu.recent[9]).toBe(1)
    expect(eu.maxMs).toBe(700)
    expect(s.lag.find((l) => l.region === 'us-east')!.recent.every((c) => c === 0)).toBe(true)
    // Without a baseline (the first window after a start) everything is recent.
    expect(summarize(now, true, planned, undefined).lag[0]!.recent).toEqual(
      summarize(now, true, planned, undefined).lag[0]!.total,
    )
  })

  it('stays small: a few hundred bytes for a busy node of a 5-region mesh', () => {
    const lags: Record<string, number[]> = {}
    for (const r of ['us-east', 'us-west', 'eu-west', 'ap-south', 'sa-east'])
      lags[r] = Array.from({ length: 100_000 }, (_, i) => 3 + (i % 400))
    // Every link up (a link down adds its 53-byte id, at most 8 of them).
    const s = summarize(statsOf(lags), true, new Set([ID(1), ID(2)]), baselineOf(statsOf({})))
    expect(msgpack.pack(writeSummary(s)).length).toBeLessThan(600)
  })
})
