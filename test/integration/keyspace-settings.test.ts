import { afterEach, describe, expect, it } from 'vitest'
import { TestMesh } from '../helpers/mesh.js'
import { waitFor } from '../helpers/wait.js'

const mesh = new TestMesh()
afterEach(() => mesh.closeAll())

describe('nodes agree on keyspace settings (real libp2p nodes)', () => {
  it('a keyspace whose maxTtl differs on a peer is not replicated with it; counted and shown', async () => {
    const a = await mesh.start('us-east')
    const b = await mesh.start('eu-west')
    await mesh.ready()
    const onA = a.keyspace('sessions', { maxTtl: '7d', defaultTtl: '1h' })
    const onB = b.keyspace('sessions', { maxTtl: '1d', defaultTtl: '1h' })
    const same = [a.keyspace('carts', { maxTtl: '2d' }), b.keyspace('carts', { maxTtl: '2d' })]
    await waitFor(
      () => (a.stats().mesh!.peers[0]?.configMismatch ?? []).includes('sessions'),
      'the mismatch is known to a',
    )
    await waitFor(
      () => (b.stats().mesh!.peers[0]?.configMismatch ?? []).includes('sessions'),
      'the mismatch is known to b',
    )
    expect(a.stats().rejected['config-mismatch']).toBeGreaterThanOrEqual(1)
    await waitFor(() => a.admin.mesh!.subscribers('carts') === 1, 'carts subscribed')
    await same[0]!.set('c', 1)
    await onA.set('s', 1)
    await waitFor(() => same[1]!.get('c') === 1, 'the agreeing keyspace replicates')
    // The differing one does not (the write from a was ignored, and counted, on b).
    await waitFor(() => (b.stats().rejected['config-mismatch'] ?? 0) >= 2, 'the write refused on b')
    expect(onB.get('s')).toBeUndefined()
  })

  it('an ack is not given by a node that does not hold the write (its maxBytes is smaller)', async () => {
    const a = await mesh.start('us-east')
    const b = await mesh.start('eu-west')
    await mesh.ready()
    const onA = a.keyspace('files')
    const onB = b.keyspace('files', { maxBytes: 4_096 })
    await waitFor(() => a.admin.mesh!.subscribers('files') === 1, 'files open on b')
    await onA.set('small', 'x', { ack: 'peer', ackTimeout: 5_000 })
    expect(onB.get('small')).toBe('x')
    // 10,000 characters: over b's maxBytes, so b keeps its version but not the value.
    for (const ack of ['peer', 'quorum'] as const) {
      await expect(
        onA.set(`big-${ack}`, 'x'.repeat(10_000), { ack, ackTimeout: 2_000 }),
      ).rejects.toMatchObject({ code: 'ERR_ACK_TIMEOUT' })
      expect(onB.get(`big-${ack}`)).toBeUndefined()
    }
  })
})
