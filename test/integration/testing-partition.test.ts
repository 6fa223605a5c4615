import { afterEach, describe, expect, it } from 'vitest'
import type { Cache } from '../../src/api/cache.js'
import { InvalidOptionError } from '../../src/errors.js'
import { createTestMesh, type TestMesh } from '../../src/testing/index.js'
import { waitFor } from '../helpers/wait.js'

/** `meshcache/testing` partitions: what a cut stops, what goes on, and the heal. */
let mesh: TestMesh | undefined
afterEach(async () => {
  await mesh?.close()
  mesh = undefined
})

const ONE_WAY = 20

/** Waits as long as a write takes to cross the link several times over. */
const severalTrips = () => new Promise((r) => setTimeout(r, 10 * ONE_WAY))

describe('TestMesh.partition / heal', () => {
  it('a cut region keeps serving and writing locally; held bytes arrive one latency after the heal', async () => {
    mesh = await createTestMesh({ regions: { 'us-east': 2, 'eu-west': 1 }, oneWayMs: ONE_WAY })
    const [us1, us2, eu] = mesh.caches as [Cache<unknown>, Cache<unknown>, Cache<unknown>]
    await us1.set('before', 'cut')
    await waitFor(() => eu.has('before'), 'replicated before the cut')

    await mesh.partition('eu-west')
    await us1.set('from-us', 1)
    await eu.set('from-eu', 2)
    await waitFor(() => us2.has('from-us'), 'us-east still replicates inside its side')
    await severalTrips()
    expect(eu.has('from-us')).toBe(false)
    expect(us1.has('from-eu') || us2.has('from-eu')).toBe(false)
    expect(eu.get('before')).toBe('cut') // still served from eu-west's own replica
    expect(eu.get('from-eu')).toBe(2)

    const healed = performance.now()
    await mesh.heal()
    await waitFor(
      () => eu.has('from-us') && us1.has('from-eu') && us2.has('from-eu'),
      'both sides have both writes',
    )
    // Delivered by the held bytes (as TCP retransmissions would), not by a later repair.
    expect(performance.now() - healed).toBeLessThan(ONE_WAY + 500)
    await mesh.converged()
  })

  it('with dropConnections the links close, the nodes redial after the heal and the mesh repairs what was lost', async () => {
    mesh = await createTestMesh({ regions: { 'us-east': 2, 'eu-west': 1 }, oneWayMs: ONE_WAY })
    const [us1, us2, eu] = mesh.caches as [Cache<unknown>, Cache<unknown>, Cache<unknown>]
    await mesh.partition('eu-west', { dropConnections: true })
    expect(eu.admin.mesh!.peers()).toHaveLength(0)
    expect(us1.admin.mesh!.peers().map((p) => p.region)).toEqual(['us-east'])
    for (let i = 0; i < 20; i++) {
      await us1.set(`us${i}`, i)
      await eu.set(`eu${i}`, i)
    }
    await severalTrips()
    expect(eu.has('us0') || us2.has('eu0')).toBe(false)

    await mesh.heal()
    for (const c of mesh.caches) expect(c.admin.mesh!.peers()).toHaveLength(2)
    await mesh.converged()
    for (const c of mesh.caches)
      for (let i = 0; i < 20; i++) expect(c.has(`us${i}`) && c.has(`eu${i}`)).toBe(true)
  })

  it('`from` cuts only the pairs named; other regions keep talking to both sides', async () => {
    mesh = await createTestMesh({
      regions: { 'us-east': 1, 'eu-west': 1, 'ap-south': 1 },
      oneWayMs: ONE_WAY,
    })
    const [us, eu, ap] = mesh.caches as [Cache<unknown>, Cache<unknown>, Cache<unknown>]
    await mesh.partition('ap-south', { from: 'eu-west', dropConnections: true })
    expect(ap.admin.mesh!.peers().map((p) => p.region)).toEqual(['us-east'])
    expect(eu.admin.mesh!.peers().map((p) => p.region)).toEqual(['us-east'])
    await us.set('from-us', 1)
    await waitFor(() => eu.has('from-us') && ap.has('from-us'), 'us-east reaches both sides')
    await mesh.heal()
    expect(ap.admin.mesh!.peers()).toHaveLength(2)
  })

  it('refuses regions it does not have and cuts that cut nothing', async () => {
    mesh = await createTestMesh({ regions: { 'us-east': 1, 'eu-west': 1 }, oneWayMs: 0 })
    await expect(mesh.partition('mars')).rejects.toThrow(/no region 'mars'/)
    await expect(mesh.partition(['us-east', 'eu-west'])).rejects.toThrow(InvalidOptionError)
    await expect(mesh.partition([])).rejects.toThrow(InvalidOptionError)
    await expect(mesh.partition('us-east', { from: 'us-east' })).rejects.toThrow(/both sides/)
  })
})
