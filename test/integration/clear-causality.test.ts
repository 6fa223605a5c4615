/**
 * A value written after a clear or a tag invalidation lives on every node, also when the
 * clear was stamped ahead of the writer's clock (a peer's clock runs ahead within
 * `maxClockDrift`): real nodes behind the simulated WAN, one clock skewed.
 */
import { afterEach, describe, expect, it } from 'vitest'
import type { Cache } from '../../src/api/cache.js'
import { createTestMesh, type TestMesh } from '../../src/testing/index.js'
import { waitFor } from '../helpers/wait.js'

let mesh: TestMesh | undefined
afterEach(async () => {
  await mesh?.close()
  mesh = undefined
})

async function twoRegions(): Promise<[Cache<unknown>, Cache<unknown>]> {
  mesh = await createTestMesh({ regions: { 'us-east': 1, 'eu-west': 1 }, oneWayMs: 10 })
  return mesh.caches as [Cache<unknown>, Cache<unknown>]
}

describe('a write after a clear or invalidation it has seen', () => {
  for (const kind of ['clear', 'tags'] as const) {
    it(`outlives a ${kind === 'clear' ? 'clear' : 'tag invalidation'} stamped 10 s ahead of the writer, on every node`, async () => {
      const [a, b] = await twoRegions()
      mesh!.skewClock(b, 10_000)
      if (kind === 'clear') await b.clear()
      else await b.invalidateTags(['t'])
      const reserved = kind === 'clear' ? '\u0000clear' : '\u0000tag\u0000t'
      await waitFor(() => a.admin.version('default', reserved) !== undefined, 'a has it')
      await a.set('x', 'after', { tags: ['t'] })
      // Before: stamped on a's clock, x was older than the clear: b dropped it, a kept it.
      await waitFor(() => b.get('x') === 'after', 'x replicated to b')
      expect(a.get('x')).toBe('after')
    })
  }

  it('outlives its own clear made after a peer write stamped ahead', async () => {
    const [a, b] = await twoRegions()
    mesh!.skewClock(b, 10_000)
    await b.set('fast', 1)
    await waitFor(() => a.get('fast') === 1, 'the fast write reached a')
    await a.clear() // stamped after the fast write, to kill it
    await a.set('x', 'after')
    await waitFor(() => b.get('x') === 'after' && b.get('fast') === undefined, 'b agrees')
    expect(a.get('x')).toBe('after')
    expect(a.get('fast')).toBeUndefined()
  })
})
