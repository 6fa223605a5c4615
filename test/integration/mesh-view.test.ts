/**
 * The mesh view with real nodes behind the simulated WAN: every node sees every region,
 * member and lag cell from the summaries in the member announcements; a skewed clock and
 * a cut-off region show up as flags on other nodes; a member's malformed summary is
 * refused and counted; `GET /status/mesh` serves it behind the status routes' auth.
 */
import { afterEach, describe, expect, it } from 'vitest'
import type { Cache } from '../../src/api/cache.js'
import { type HttpApi, startHttpApi } from '../../src/http/http-api.js'
import { createCache } from '../../src/node/create-cache.js'
import type { MeshView } from '../../src/ports/mesh-view.js'
import { ITEM_KIND } from '../../src/replication/relay-frame.js'
import { msgpack } from '../../src/replication/value-codec.js'
import { createTestMesh, type TestMesh } from '../../src/testing/index.js'
import { meshOf } from '../helpers/mesh.js'
import { waitFor } from '../helpers/wait.js'

const REGIONS = { 'us-east': 2, 'eu-west': 2, 'ap-south': 2 }
const LATENCY = { 'us-east|eu-west': 40, 'us-east|ap-south': 95, 'eu-west|ap-south': 60 }

let mesh: TestMesh | undefined
let api: HttpApi | undefined
const others: Cache<unknown>[] = []
afterEach(async () => {
  try {
    await api?.close()
    await Promise.all(others.splice(0).map((c) => c.close()))
  } finally {
    await mesh?.close()
    mesh = undefined
    api = undefined
  }
})

const viewOf = (c: Cache<unknown>): MeshView => c.admin.mesh!.view()
const memberOf = (v: MeshView, c: Cache<unknown>) => v.members.find((m) => m.id === c.nodeId)

/** A few writes from every node: every region receives writes of every region. */
async function writeEverywhere(m: TestMesh, rounds: number): Promise<void> {
  for (let r = 0; r < rounds; r++)
    await Promise.all(m.caches.map((c, i) => c.set(`k-${i}-${r}`, r)))
}

describe('mesh view (real nodes, three regions)', () => {
  it('every node sees every region, member, hub and lag cell', async () => {
    mesh = await createTestMesh({ regions: REGIONS, oneWayMs: LATENCY })
    const m = mesh
    await writeEverywhere(m, 10)
    for (const c of m.caches) {
      // The view is cached for a second: polled as a page would.
      await waitFor(
        () => {
          const v = viewOf(c)
          return (
            v.totals.summarized === 6 &&
            v.lag.filter((cell) => cell.count > 0).length === 9 &&
            // Both members of each region report each cell once the summaries announced
            // after their first writes from that region arrived (under load, a second later).
            v.lag.every((cell) => cell.nodes === 2) &&
            v.members.filter((x) => x.hub).length === 3
          )
        },
        `node ${c.region}/${c.nodeId.slice(-6)} sees 6 summaries, 9 lag cells from both members of each region, 3 hubs`,
        15_000,
      )
      const v = viewOf(c)
      expect(v.node).toBe(c.nodeId)
      expect(v.regions).toEqual(['ap-south', 'eu-west', 'us-east'])
      expect(v.members.map((x) => x.id).sort()).toEqual(m.caches.map((x) => x.nodeId).sort())
      expect(v.members.filter((x) => x.self).map((x) => x.id)).toEqual([c.nodeId])
      for (const cell of v.lag) {
        // Each region's two members report writes from every region (their own included).
        expect(cell.nodes).toBe(2)
        expect(cell.p50Ms).toBeLessThanOrEqual(cell.p99Ms)
        expect(cell.p99Ms).toBeLessThanOrEqual(cell.maxMs)
      }
      // One hub per region, each the one its node says it is; the others hang under it.
      for (const region of Object.keys(REGIONS)) {
        const [hub, ...rest] = v.members
          .filter((x) => x.region === region)
          .sort((a, b) => Number(b.hub) - Number(a.hub))
        expect(hub!.hub).toBe(true)
        const node = m.caches.find((x) => x.nodeId === hub!.id)!
        expect(node.stats().mesh!.links.relay.hub).toBe(hub!.id)
        for (const x of rest) expect(x.parent).toBe(hub!.id)
      }
      expect(v.edges.filter((e) => e.kind === 'hubs')).toHaveLength(3)
      expect(v.edges.filter((e) => e.kind === 'tree')).toHaveLength(3)
    }
  }, 60_000)

  it('a skewed clock shows up as a flag on a node of another region within seconds', async () => {
    mesh = await createTestMesh({ regions: REGIONS, oneWayMs: LATENCY })
    const m = mesh
    const viewer = m.region('us-east')[0]!
    const skewed = m.region('eu-west')[1]!
    await waitFor(() => viewOf(viewer).totals.summarized === 6, 'every summary arrived', 15_000)
    m.skewClock(skewed, 5_000)
    // The mesh flags and corrects it; the change is news, announced at once rather than at
    // the next periodic announcement (15 s).
    await waitFor(
      () => memberOf(viewOf(viewer), skewed)?.flags.includes('clock-skewed') === true,
      'the skewed clock flagged in the view of a node of another region',
      12_000,
    )
    expect(memberOf(viewOf(viewer), skewed)!.clock!.skewed).toBe(true)
    expect(memberOf(viewOf(viewer), skewed)!.summaryAgeMs).toBeLessThan(15_000)
  }, 60_000)

  it('a region cut off is stale on both sides of the cut, fresh again after the heal', async () => {
    mesh = await createTestMesh({
      regions: REGIONS,
      oneWayMs: LATENCY,
      // Announcements every second: a cut-off member's summary is stale after 3.5 s.
      cacheOptions: { mesh: { announceIntervalMs: 1_000 } },
    })
    const m = mesh
    const viewer = m.region('us-east')[0]!
    const inside = m.region('ap-south')[0]!
    await waitFor(() => viewOf(viewer).totals.summarized === 6, 'every summary arrived', 15_000)
    expect(viewOf(viewer).members.some((x) => x.flags.includes('stale'))).toBe(false)
    await m.partition('ap-south')
    const staleWhere = (v: MeshView, cut: boolean) =>
      v.members
        .filter((x) => (x.region === 'ap-south') === cut)
        .every((x) => x.flags.includes('stale'))
    await waitFor(() => staleWhere(viewOf(viewer), true), 'the cut-off region stale', 15_000)
    await waitFor(() => staleWhere(viewOf(inside), false), 'the rest stale inside the cut', 15_000)
    // Each side's own region stays fresh.
    expect(
      viewOf(viewer)
        .members.filter((x) => x.region === 'us-east')
        .every((x) => !x.flags.includes('stale')),
    ).toBe(true)
    await m.heal()
    await waitFor(
      () => viewOf(viewer).members.every((x) => !x.flags.includes('stale')),
      'fresh summaries after the heal',
      15_000,
    )
  }, 90_000)

  it("a member's malformed or oversized summary is refused and counted; its membership still counts", async () => {
    mesh = await createTestMesh({ regions: { 'us-east': 1, 'eu-west': 1 } })
    const [victim, rogue] = mesh.caches as [Cache<unknown>, Cache<unknown>]
    await waitFor(() => viewOf(victim).totals.summarized === 2, 'summaries arrived', 15_000)
    const rejected = () => victim.stats().rejected.malformed ?? 0
    const before = rejected()
    const addrs = rogue.addresses()
    const junk: unknown[] = [
      'not a summary',
      [1, 0, null, [0, 0, 0], [0, 0, []], [0, 0, 0], [['us-east', [99, 1], [], 1]]],
      [1, 0, null, [0, 0, 0], [0, 0, []], [0, 0, 0], Array(10_000).fill(['r', [], [], 0])],
      [1, 0, null, [0, 0, 0], [1, 0, Array(1_000).fill(rogue.nodeId)], [0, 0, 0], []],
    ]
    for (const [i, summary] of junk.entries()) {
      const body = meshOf(rogue).sealBatch(
        msgpack.pack([1, rogue.nodeId, 'eu-west', addrs, Date.now(), summary]),
      )
      meshOf(rogue).sendItem(victim.nodeId, {
        kind: ITEM_KIND.member,
        origin: rogue.nodeId,
        // Newer than the rogue's own: the relay's duplicate filter lets these through.
        incarnation: Date.now() * 2,
        seq: i + 1,
        body,
      })
    }
    await waitFor(() => rejected() >= before + junk.length, 'each malformed summary counted')
    // The rogue's last good summary stands; the announcement itself was taken.
    const v = viewOf(victim)
    expect(memberOf(v, rogue)?.flags).not.toContain('no-summary')
    expect(v.totals.members).toBe(2)
  }, 60_000)
})

describe('GET /status/mesh', () => {
  it('serves the view as JSON behind the status routes’ auth; 409 outside a mesh', async () => {
    mesh = await createTestMesh({ regions: { 'us-east': 1, 'eu-west': 1, 'ap-south': 1 } })
    const node = mesh.caches[0]!
    api = await startHttpApi(node, { host: '127.0.7.61', port: 0, auth: { tokens: ['s3cret'] } })
    const get = (path: string, token?: string) =>
      fetch(`${api!.url}${path}`, {
        headers: token ? { authorization: `Bearer ${token}` } : {},
        signal: AbortSignal.timeout(5_000),
      })
    const denied = await get('/status/mesh')
    expect(denied.status).toBe(401)
    expect(((await denied.json()) as { error: string }).error).toBe('ERR_UNAUTHORIZED')
    await waitFor(async () => {
      const res = await get('/status/mesh', 's3cret')
      const v = (await res.json()) as MeshView
      return res.status === 200 && v.totals.summarized === 3
    }, 'the view with three summaries over HTTP')
    const v = (await (await get('/status/mesh', 's3cret')).json()) as MeshView
    expect(v.node).toBe(node.nodeId)
    expect(v.regions).toEqual(['ap-south', 'eu-west', 'us-east'])
    await api.close()

    api = await startHttpApi(node, {
      host: '127.0.7.61',
      port: 0,
      auth: { tokens: ['s3cret'], metricsPublic: true },
    })
    expect((await get('/status/mesh')).status).toBe(200)
    await api.close()

    const alone = await createCache({})
    others.push(alone)
    api = await startHttpApi(alone, { host: '127.0.7.61', port: 0 })
    const res = await get('/status/mesh')
    expect(res.status).toBe(409)
    expect(((await res.json()) as { error: string }).error).toBe('ERR_NO_MESH')
  }, 60_000)
})
