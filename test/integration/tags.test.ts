import { afterEach, describe, expect, it, vi } from 'vitest'
import type { Cache } from '../../src/api/cache.js'
import { CLEAR_KEY } from '../../src/replica/tag-invalidations.js'
import { encodeBatch } from '../../src/replication/batch-codec.js'
import type { EntryTuple } from '../../src/replication/entry-tuple.js'
import { ITEM_KIND } from '../../src/replication/relay-frame.js'
import { EntryTable } from '../../src/store/entry-table.js'
import { meshOf, TestMesh } from '../helpers/mesh.js'
import { waitFor } from '../helpers/wait.js'

const mesh = new TestMesh()
afterEach(() => {
  vi.restoreAllMocks()
  return mesh.closeAll()
})

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

  it("a member's batch of 500 old clears walks no entry and kills nothing; a real clear still empties", async () => {
    const victim = await mesh.start('us-east')
    const member = await mesh.start('ap-south')
    await mesh.ready()
    await victim.setMany(Array.from({ length: 5_000 }, (_, i) => [`k${i}`, i] as const))
    // Clears stamped from 1970 on (older than maxTtl), then from an hour ago (older than
    // every value): each newer than the last, so each one walked the whole store before.
    const now = Date.now()
    const records: EntryTuple[] = []
    for (let i = 0; i < 500; i++) {
      const wall = i < 250 ? 1_000 + i : now - 3_600_000 + i
      records.push([CLEAR_KEY, wall, 0, member.nodeId, wall + 60_000, 1, null])
    }
    const incarnation = now + 1e9
    const body = meshOf(member).sealBatch(
      encodeBatch({
        origin: member.nodeId,
        region: member.region,
        keyspace: 'default',
        sentAt: now,
        incarnation,
        seq: 1,
        records,
      }),
    )
    let walked = 0
    const residentSlots = EntryTable.prototype.residentSlots
    vi.spyOn(EntryTable.prototype, 'residentSlots').mockImplementation(function (this: EntryTable) {
      const slots = residentSlots.call(this)
      walked += slots.length
      return slots
    })
    const before = meshOf(victim).counters.recordsIn
    meshOf(member).sendItem(victim.nodeId, {
      kind: ITEM_KIND.batch,
      origin: member.nodeId,
      incarnation,
      seq: 1,
      body,
    })
    await waitFor(() => meshOf(victim).counters.recordsIn >= before + 500, 'the clears admitted')
    expect(walked).toBe(0)
    expect(victim.size).toBe(5_000)
    await member.clear()
    await waitFor(() => victim.size === 0, 'a real clear empties the victim')
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
