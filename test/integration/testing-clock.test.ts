import { afterEach, describe, expect, it } from 'vitest'
import type { Cache } from '../../src/api/cache.js'
import { ClockSkewError, InvalidOptionError } from '../../src/errors.js'
import { createTestMesh, type TestMesh } from '../../src/testing/index.js'
import { waitFor } from '../helpers/wait.js'

/**
 * `TestMesh.skewClock`: one node of the process runs on a shifted wall clock, as on a
 * host whose time source is off (test/process/clock-skew.test.ts does the same with node
 * processes); the mesh flags and corrects it.
 */
let mesh: TestMesh | undefined
afterEach(async () => {
  await mesh?.close()
  mesh = undefined
})

describe('TestMesh.skewClock', () => {
  it('a node 20 s ahead is flagged and corrected; then real time, not its clock, orders writes', async () => {
    mesh = await createTestMesh({
      regions: { 'us-east': 1, 'eu-west': 1, 'ap-south': 1 },
      oneWayMs: 50,
    })
    const [us, eu, ap] = mesh.caches as [Cache<unknown>, Cache<unknown>, Cache<unknown>]
    mesh.skewClock(eu, 20_000)
    await waitFor(
      () =>
        eu.stats().mesh!.clock.skewed &&
        Math.abs(eu.stats().mesh!.clock.correctionMs + 20_000) < 500,
      'eu-west flagged and corrected to the mesh median',
      10_000,
    )
    expect(us.stats().mesh!.clock.skewed).toBe(false)
    expect(ap.stats().mesh!.clock.skewed).toBe(false)

    // Concurrent writes (eu-west is cut off: neither side sees the other's), eu-west's
    // 500 ms before us-east's. With its raw clock eu-west's stamp would be 20 s ahead
    // and win; corrected (to within a round trip), us-east's wins.
    await mesh.partition('eu-west')
    const first = await eu.set('order', 'first')
    expect(Math.abs(first.wall - Date.now())).toBeLessThan(500)
    const t = Date.now()
    await waitFor(() => Date.now() - t > 500, '500 ms of real time')
    await us.set('order', 'second')
    await mesh.heal()
    await mesh.converged()
    for (const c of mesh.caches) expect(c.get('order')).toBe('second')

    // The skew takes effect at once: before the mesh measures it, stamps run ahead.
    mesh.skewClock(ap, 40_000)
    const ahead = await ap.set('ahead', 1)
    expect(ahead.wall - Date.now()).toBeGreaterThan(39_000)
  })

  it('a node 30 min behind is corrected by the whole skew; fixed, its correction is lifted at the next exchange', async () => {
    mesh = await createTestMesh({ regions: { 'us-east': 1, 'eu-west': 1, 'ap-south': 1 } })
    const [us, eu] = mesh.caches as [Cache<unknown>, Cache<unknown>]
    const clockOf = (c: Cache<unknown>) => c.stats().mesh!.clock
    mesh.skewClock(eu, -1_800_000)
    await waitFor(
      () => clockOf(eu).skewed && Math.abs(clockOf(eu).correctionMs - 1_800_000) < 500,
      'eu-west flagged and corrected by 30 min',
      10_000,
    )
    expect(clockOf(us).skewed).toBe(false)
    expect(us.stats().mesh!.peers.find((p) => p.region === 'eu-west')?.clockSkewed).toBe(true)
    // Corrected, it stamps on real time, and holds the others' 10-minute values.
    expect(Math.abs((await eu.set('k', 1, { ttl: '10m' })).wall - Date.now())).toBeLessThan(500)
    await us.set('from-us', 2, { ttl: '10m' })
    await mesh.converged()
    expect(eu.get('from-us')).toBe(2)
    expect(us.get('k')).toBe(1)

    mesh.skewClock(eu, 0)
    const fixedAt = Date.now()
    await waitFor(
      () => !clockOf(eu).skewed && Math.abs(clockOf(eu).correctionMs) < 500,
      'the correction lifted',
      5_000,
    )
    // Pings every second here: the first exchange after the fix believes it.
    expect(Date.now() - fixedAt).toBeLessThan(2_500)
  })

  it('two nodes 30 min apart both refuse writes with ClockSkewError, yet fetch serves what it loads; fixed, both write again', async () => {
    mesh = await createTestMesh({ regions: { 'us-east': 1, 'eu-west': 1 } })
    const [us, eu] = mesh.caches as [Cache<unknown>, Cache<unknown>]
    mesh.skewClock(eu, 1_800_000)
    const refusing = (c: Cache<unknown>) =>
      c.set('probe', 1).then(
        () => false,
        (err: unknown) => err instanceof ClockSkewError,
      )
    await waitFor(async () => (await refusing(us)) && (await refusing(eu)), 'both refuse', 10_000)
    await expect(us.delete('probe')).rejects.toMatchObject({ code: 'ERR_CLOCK_SKEW' })
    await expect(eu.set('k', 1)).rejects.toThrow(/ms ahead of 1 of the 1 peers/)
    await expect(us.set('never', 1)).rejects.toThrow(ClockSkewError)
    expect(us.get('never')).toBeUndefined()
    // Read-through still answers (the value is not cached: the mesh would not hold it).
    expect(await us.fetch('loaded', { load: async () => 'from-origin' })).toBe('from-origin')
    expect(us.get('loaded')).toBeUndefined()
    // Back in line: both write again.
    mesh.skewClock(eu, 0)
    // Within about a second (0.68-0.77 s measured, also under four CPU hogs): eu sees its
    // clock step and pings at once, echoing nothing from before the step, and us pings back
    // for its own sample. Under the link's next clock sample (8 intervals, 8 s here), which
    // is what a sample taken across the step used to leave it waiting for.
    await waitFor(async () => !(await refusing(us)) && !(await refusing(eu)), 'both write', 5_000)
  })

  it('refuses a cache of another mesh and a skew that is not a whole number of ms', async () => {
    mesh = await createTestMesh({ regions: { 'us-east': 1 } })
    const other = await createTestMesh({ regions: { 'us-east': 1 } })
    try {
      expect(() => mesh!.skewClock(other.caches[0]!, 1_000)).toThrow(/not a node of this test mesh/)
      expect(() => mesh!.skewClock(mesh!.caches[0]!, Number.NaN)).toThrow(InvalidOptionError)
      expect(() => mesh!.skewClock(mesh!.caches[0]!, 1.5)).toThrow(/whole number of ms, got 1.5/)
    } finally {
      await other.close()
    }
  })
})
