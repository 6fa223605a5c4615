import { afterEach, describe, expect, it } from 'vitest'
import type { Cache } from '../../src/api/cache.js'
import { TestMesh } from '../helpers/mesh.js'
import { waitFor } from '../helpers/wait.js'

const mesh = new TestMesh()
afterEach(() => mesh.closeAll())

const replicated = () => mesh.nodes

async function cut(side: Cache<unknown>[], rest: Cache<unknown>[]): Promise<void> {
  await Promise.all([
    ...side.map((n) => n.admin.mesh!.block(rest.map((r) => r.nodeId))),
    ...rest.map((n) => n.admin.mesh!.block(side.map((s) => s.nodeId))),
  ])
  await waitFor(
    () =>
      side.every((n) => n.admin.mesh!.peers().every((p) => !rest.some((r) => r.nodeId === p.id))),
    'partition in place',
  )
}

describe('replicated tag invalidation and clear (real libp2p nodes)', () => {
  it('invalidateTags on one node kills the tagged entries on every node; later ones live', async () => {
    const a = await mesh.start('us-east')
    const b = await mesh.start('eu-west')
    const c = await mesh.start('eu-west')
    await mesh.ready()
    await a.set('u42:profile', { n: 1 }, { tags: ['user:42'] })
    await a.set('u7:profile', { n: 2 }, { tags: ['user:7'] })
    await waitFor(
      () => replicated().every((n) => n.has('u42:profile') && n.has('u7:profile')),
      'tagged writes everywhere',
    )
    await b.invalidateTags(['user:42'])
    await waitFor(() => replicated().every((n) => !n.has('u42:profile')), 'invalidation everywhere')
    for (const n of replicated()) expect(n.get('u7:profile')).toEqual({ n: 2 })
    await c.set('u42:profile', { n: 3 }, { tags: ['user:42'] })
    await waitFor(
      () => replicated().every((n) => n.has('u42:profile')),
      'a later tagged write everywhere',
    )
  })

  it('an invalidation made during a partition reaches the cut-off node when it heals (anti-entropy)', async () => {
    const a = await mesh.start('us-east', { mesh: { syncIntervalMs: 300 } })
    const b = await mesh.start('eu-west', { mesh: { syncIntervalMs: 300 } })
    const c = await mesh.start('ap-south', { mesh: { syncIntervalMs: 300 } })
    await mesh.ready()
    await a.set('k', 'v', { tags: ['t'] })
    await waitFor(() => c.has('k'), 'tagged write on c')
    await cut([c], [a, b])
    await a.invalidateTags(['t'])
    await waitFor(() => !b.has('k'), 'invalidation on b')
    expect(c.has('k')).toBe(true) // c has not heard of it
    for (const n of [a, b, c]) n.admin.mesh!.unblock()
    await waitFor(() => !c.has('k'), 'invalidation repaired on c after the heal', 15_000)
  })

  it('clear on one node empties the keyspace on every node', async () => {
    const a = await mesh.start('us-east')
    const b = await mesh.start('eu-west')
    await mesh.ready()
    await a.setMany([
      ['x', 1],
      ['y', 2],
    ])
    await waitFor(() => b.has('x') && b.has('y'), 'writes on b')
    await b.clear()
    await waitFor(() => a.size === 0 && b.size === 0, 'cleared everywhere')
  })

  it('setMany leaves in one batch', async () => {
    const a = await mesh.start('us-east')
    const b = await mesh.start('eu-west')
    await mesh.ready()
    const before = a.stats().mesh!.replication.batchesOut
    await a.setMany(Array.from({ length: 50 }, (_, i) => [`k${i}`, i] as const))
    await waitFor(() => b.size === 50, 'all 50 on b')
    expect(a.stats().mesh!.replication.batchesOut - before).toBe(1)
  })
})
