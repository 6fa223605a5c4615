import { afterEach, describe, expect, it } from 'vitest'
import { InvalidOptionError } from '../../src/errors.js'
import { createCache } from '../../src/node/create-cache.js'
import { meshOf, TestMesh } from '../helpers/mesh.js'
import { waitFor } from '../helpers/wait.js'

// What the wire cannot carry, the writer must not hold either. Times on the wire are whole
// ms, and receivers refuse a fraction (docs/decisions/whole-ms.md): a TTL given as a
// fractional number of ms once made a fractional expiry, the writer held the value, and
// every peer refused the whole batch it travelled in as malformed. UTF-8 has no form for a
// lone surrogate: a string with one was read back as U+FFFD by every peer but the writer.

const mesh = new TestMesh()
afterEach(() => mesh.closeAll())

describe('what the wire cannot carry (real libp2p nodes)', () => {
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

  it('a string with a lone surrogate reads the same on the writer and its peer; a key with one is refused', async () => {
    const a = await mesh.start('s-east')
    const b = await mesh.start('s-west')
    await mesh.ready()
    await a.set('v', { name: 'caf\ud800', 'k\udfff': ['\udc00'], ok: '\ud83d\ude00' })
    await expect(a.set('bad\ud800', 1)).rejects.toThrow(/lone surrogate/)
    await waitFor(() => b.get('v') !== undefined, 'the write reached b')
    expect(b.get('v')).toEqual(a.get('v'))
    expect(a.get('v')).toEqual({ name: 'caf\ufffd', 'k\ufffd': ['\ufffd'], ok: '\ud83d\ude00' })
    expect(meshOf(b).counters.rejected.malformed).toBe(0)
  })
})

describe('keyspace limits over what the mesh carries (real libp2p nodes)', () => {
  it('are refused with InvalidOptionError, at createCache and at keyspace(); an embedded cache keeps them', async () => {
    // A keyspace that allowed longer keys or larger values than peers take: its writes
    // never replicated, and took the other writes of their batch with them.
    await expect(mesh.start('l-east', { maxKeyLength: 4_096 })).rejects.toThrow(
      /maxKeyLength 4096 is over what the mesh carries/,
    )
    const a = await mesh.start('l-east')
    expect(() => a.keyspace('big', { maxValueBytes: 4 * 1_048_576 })).toThrow(
      /mesh\.limits\.maxValueBytes/,
    )
    expect(() => a.keyspace('long', { maxKeyLength: 1_025 })).toThrow(InvalidOptionError)
    // Within the wire's limits: fine.
    expect(a.keyspace('ok', { maxKeyLength: 1_024, maxValueBytes: 1_048_576 }).name).toBe('ok')
    // Raised on the mesh too: fine.
    const b = await mesh.start('l-west', {
      mesh: { limits: { maxValueBytes: 4 * 1_048_576, maxBatchBytes: 5 * 1_048_576 } },
    })
    expect(b.keyspace('big', { maxValueBytes: 4 * 1_048_576 }).name).toBe('big')
    const embedded = await createCache({ maxKeyLength: 4_096, maxValueBytes: 4 * 1_048_576 })
    try {
      await embedded.set('k'.repeat(4_000), 'long key')
      expect(embedded.get('k'.repeat(4_000))).toBe('long key')
    } finally {
      await embedded.close()
    }
  })
})
