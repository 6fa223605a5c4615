import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { Cache } from '../../src/api/cache.js'
import { InvalidOptionError, TimeoutError } from '../../src/errors.js'
import { createTestMesh, type TestMesh } from '../../src/testing/index.js'
import { waitFor } from '../helpers/wait.js'

/**
 * `meshcache/testing` under vitest: a test mesh starts fast, carries writes with the
 * latency it was given, changes it on demand, and leaves nothing running after close().
 */
let mesh: TestMesh | undefined
afterEach(async () => {
  await mesh?.close()
  mesh = undefined
})

/** Active handles and requests by type (sockets, servers, timers...). */
function resources(): Record<string, number> {
  const out: Record<string, number> = {}
  for (const r of process.getActiveResourcesInfo()) out[r] = (out[r] ?? 0) + 1
  return out
}

/** The kinds of which there are more now than in `before` (the test runner's own may end). */
function leftSince(before: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {}
  for (const [kind, n] of Object.entries(resources()))
    if (n > (before[kind] ?? 0)) out[kind] = n - (before[kind] ?? 0)
  return out
}

/** Milliseconds from a write on `from` to its arrival on `to` (receive time minus stamp). */
async function lagOf(from: Cache<unknown>, to: Cache<unknown>, key: string): Promise<number> {
  const arrived = new Promise<number>((resolve) => {
    const onChange = (e: { key: string; version: { wall: number } }) => {
      if (e.key !== key) return
      to.off('change', onChange)
      resolve(Date.now() - e.version.wall)
    }
    to.on('change', onChange)
  })
  await from.set(key, 1)
  return arrived
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

beforeAll(async () => {
  // The first mesh of a process loads libp2p and its first connections compile their
  // code paths (~1-2 s in all); users pay that once per test file.
  const warm = await createTestMesh({ regions: { a: 1, b: 1 } })
  await warm.close()
})

describe('createTestMesh', () => {
  it('starts a 3-node, 2-region mesh, every node connected to every other, in well under a second', async () => {
    // Up to five starts, until one is under a second: a machine busy with other work
    // stretches single starts (0.2-0.7 s at a load of 7 on 2 cores, 0.6-1.9 s at 17); a
    // start that waits on a timer or on the WAN latency again fails all five.
    const times: number[] = []
    while (times.length < 5 && !times.some((t) => t < 1_000)) {
      const t0 = performance.now()
      mesh = await createTestMesh({ regions: { 'us-east': 2, 'eu-west': 1 } })
      times.push(performance.now() - t0)
      expect(mesh.caches.map((c) => c.region)).toEqual(['us-east', 'us-east', 'eu-west'])
      for (const c of mesh.caches) expect(c.admin.mesh!.peers()).toHaveLength(2)
      await mesh.close()
      mesh = undefined
    }
    console.log(`3-node test mesh start, ms: ${times.map((t) => t.toFixed(0)).join(', ')}`)
    expect(Math.min(...times)).toBeLessThan(1_000)
  })

  it('carries writes across regions with the one-way latency it was given, per region pair', async () => {
    mesh = await createTestMesh({
      regions: { 'us-east': 1, 'eu-west': 1, 'ap-south': 1 },
      oneWayMs: { 'us-east|eu-west': 30, 'ap-south|us-east': 120, 'eu-west|ap-south': 60 },
    })
    const [us, eu, ap] = mesh.caches as [Cache<unknown>, Cache<unknown>, Cache<unknown>]
    const toEu: number[] = []
    const toAp: number[] = []
    for (let i = 0; i < 5; i++) {
      toEu.push(await lagOf(us, eu, `eu${i}`))
      toAp.push(await lagOf(us, ap, `ap${i}`))
    }
    // Never faster than the link; about one hop, not a round trip.
    expect(Math.min(...toEu)).toBeGreaterThanOrEqual(30 - 1)
    expect(median(toEu)).toBeLessThan(30 + 60)
    expect(Math.min(...toAp)).toBeGreaterThanOrEqual(120 - 1)
    expect(median(toAp)).toBeLessThan(120 + 120)
  })

  it('setLatency changes a link from then on', async () => {
    mesh = await createTestMesh({ regions: { 'us-east': 1, 'eu-west': 1 }, oneWayMs: 10 })
    const [us, eu] = mesh.caches as [Cache<unknown>, Cache<unknown>]
    expect(await lagOf(us, eu, 'fast')).toBeGreaterThanOrEqual(10 - 1)
    mesh.setLatency('eu-west', 'us-east', 200)
    const slow = [await lagOf(us, eu, 'slow1'), await lagOf(us, eu, 'slow2')]
    expect(Math.min(...slow)).toBeGreaterThanOrEqual(200 - 1)
    expect(() => mesh!.setLatency('us-east', 'us-east', 5)).toThrow(InvalidOptionError)
    expect(() => mesh!.setLatency('us-east', 'mars', 5)).toThrow(/no region 'mars'/)
    expect(() => mesh!.setLatency('us-east', 'eu-west', -1)).toThrow(InvalidOptionError)
  })

  it('leaves no socket, server or timer behind after close()', async () => {
    const before = resources()
    mesh = await createTestMesh({ regions: { 'us-east': 2, 'eu-west': 1 }, oneWayMs: 40 })
    await mesh.partition('eu-west') // bytes held in the simulator at close time
    await mesh.caches[0]!.set('k', 'v')
    expect(resources().TCPSocketWrap ?? 0).toBeGreaterThan(before.TCPSocketWrap ?? 0)
    await mesh.close()
    expect(leftSince(before)).toEqual({})
    await mesh.close() // idempotent
    mesh = undefined
  })

  it('region() lists the nodes of a region; caches are closed by close()', async () => {
    mesh = await createTestMesh({ regions: { 'us-east': 2, 'eu-west': 1 }, oneWayMs: 0 })
    expect(mesh.regions).toEqual(['us-east', 'eu-west'])
    expect(mesh.region('us-east')).toEqual(mesh.caches.slice(0, 2))
    expect(mesh.region('eu-west')).toEqual(mesh.caches.slice(2))
    expect(() => mesh!.region('mars')).toThrow(InvalidOptionError)
    const { caches } = mesh
    await mesh.close()
    mesh = undefined
    expect(caches.every((c) => c.isClosed)).toBe(true)
  })

  it('passes cacheOptions to every node, and a function gets each node its own', async () => {
    mesh = await createTestMesh({
      regions: { 'us-east': 1, 'eu-west': 1 },
      cacheOptions: ({ region }) => ({ maxEntries: region === 'us-east' ? 10 : 20 }),
    })
    const [us, eu] = mesh.caches as [Cache<unknown>, Cache<unknown>]
    for (let i = 0; i < 15; i++) await us.set(`k${i}`, i)
    await waitFor(() => eu.size === 15, 'eu-west holds all 15 (its limit is 20)')
    expect(us.size).toBe(10)
  })

  it('refuses bad options before starting anything, and a failed start leaves nothing open', async () => {
    const bad = [
      {},
      { regions: {} },
      { regions: { a: 0 } },
      { regions: { a: 1.5 } },
      { regions: { a: 1 }, oneWayMs: -5 },
      { regions: { a: 1, b: 1 }, oneWayMs: { 'a|c': 10 } },
      { regions: { a: 1, b: 1, c: 1 }, oneWayMs: { 'a|b': 10, 'b|c': 10 } },
      { regions: { a: 1 }, cacheOptions: { region: 'x' } },
    ]
    for (const options of bad)
      await expect(createTestMesh(options as never), JSON.stringify(options)).rejects.toThrow(
        InvalidOptionError,
      )
    const before = resources()
    // The second node's options are bad: the first, already started, is closed again.
    await expect(
      createTestMesh({
        regions: { a: 2 },
        cacheOptions: ({ index }) => (index === 1 ? { maxEntries: -1 } : {}),
      }),
    ).rejects.toThrow(/maxEntries/)
    expect(leftSince(before)).toEqual({})
  })

  it('converged() times out with the digests that differ while a region is cut off', async () => {
    mesh = await createTestMesh({ regions: { 'us-east': 1, 'eu-west': 1 }, oneWayMs: 5 })
    await mesh.partition('eu-west')
    await mesh.caches[0]!.set('k', 1)
    const err = await mesh.converged({ timeout: 300 }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(TimeoutError)
    expect((err as Error).message).toMatch(/us-east:[0-9a-f]+ eu-west:[0-9a-f]+/)
  })
})
