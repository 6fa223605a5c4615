import { afterEach, describe, expect, it } from 'vitest'
import { meshOf, TestMesh } from '../helpers/mesh.js'
import { waitFor } from '../helpers/wait.js'

// Times on the wire are whole ms, and receivers refuse a fraction (docs/decisions/whole-ms.md).
// A TTL given as a fractional number of ms once made a fractional expiry: the writer held
// the value, and every peer refused the whole batch it travelled in as malformed.

const mesh = new TestMesh()
afterEach(() => mesh.closeAll())

describe('durations given as fractional ms (real libp2p nodes)', () => {
  it('a TTL, a default TTL and a fetch TTL with a fraction replicate, and read the same on the writer and its peer', async () => {
    const a = await mesh.start('f-east', { defaultTtl: 600_000.7 })
    const b = await mesh.start('f-west', { defaultTtl: 600_000.7 })
    await mesh.ready()
    await a.set('ttl', 'v1', { ttl: 60_000.5 })
    await a.set('default', 'v2')
    await a.set('whole', 'v3', { ttl: 60_000 })
    await a.fetch('fetched', { ttl: 30_000.25, load: async () => 'v4' })
    await waitFor(
      () => ['ttl', 'default', 'whole', 'fetched'].every((k) => b.get(k) !== undefined),
      'every write reached b',
    )
    for (const k of ['ttl', 'default', 'whole', 'fetched']) {
      expect(b.get(k)).toBe(a.get(k))
      const ea = a.entry(k)!
      expect(Number.isSafeInteger(ea.expiresAt)).toBe(true)
      expect(b.entry(k)!.expiresAt).toBe(ea.expiresAt)
    }
    expect(meshOf(b).counters.rejected.malformed).toBe(0)
  })
})
