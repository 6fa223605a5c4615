import { afterEach, describe, expect, it } from 'vitest'
import type { Cache } from '../../src/api/cache.js'
import { replicaOf } from '../../src/node/internals.js'
import { meshOf, TestMesh } from '../helpers/mesh.js'
import { waitFor } from '../helpers/wait.js'

const mesh = new TestMesh()
afterEach(() => mesh.closeAll())

const root = (n: Cache<unknown>) => replicaOf(n, 'default')!.index.tree.digest(0, 0).join(':')

/**
 * A gap larger than what one sync request may name (bench:replication on a starved
 * machine: gossip lost 35k-190k writes of a 200k burst and anti-entropy never repaired
 * them, every session refused as 'bad children'). Scaled down: `syncMaxEntries` 400 lets
 * a request name at most 1,600 tree nodes, and 6,000 missing keys differ in ~3,100 of the
 * 4,096 nodes of level 3 (depth 4 at maxEntries 50,000) and in ~5,500 leaves.
 */
describe('anti-entropy repairs a gap wider than one request', () => {
  it('a node that missed thousands of writes converges by sync alone', async () => {
    const options = {
      maxEntries: 50_000,
      // Almost nothing is held for lack of a peer: the writes below reach b by sync.
      mesh: { maxHeldBytes: 1, syncMaxEntries: 400, syncIntervalMs: 300 },
    }
    const a = await mesh.start('us-east', options)
    const n = 6_000
    for (let i = 0; i < n; i++) void a.set(`k${i}`, i)
    a.flush()
    await waitFor(
      () => a.stats().mesh!.replication.batchesDropped >= 5,
      'the burst dropped (no peer)',
    )

    const b = await mesh.start('eu-west', options)
    await waitFor(
      () => root(b) === root(a),
      'b holds every write of a (digest roots agree)',
      18_000,
    )
    for (let i = 0; i < n; i += 97) expect(b.get(`k${i}`)).toBe(i)
    expect(b.get(`k${n - 1}`)).toBe(n - 1)
    // No request was refused for its size, in either direction.
    for (const node of [a, b])
      expect(node.stats().mesh!.replication.rejected['bad-request']).toBe(0)
  }, 30_000)
})

/**
 * A gap whose entries add up to more than a 4 MiB frame (issue: sync-frame-wedge): every
 * answer carried every differing entry, the requester refused it as too large, and the gap
 * (and the rest of the keyspace with it) was never repaired. Answers and pushes now stop
 * at the sync budget (3 MiB) and say `more`: the gap is repaired over a few sessions.
 */
describe('anti-entropy repairs a gap larger than a frame', () => {
  let host = 1
  const at = () => ({ listen: [`/ip4/127.0.72.${host++}/tcp/0`] })

  it.each([
    { n: 6_000, bytes: 1_000 },
    { n: 7, bytes: 800_000 },
  ])(
    '$n values of $bytes bytes missed by a peer reach it by sync alone',
    async ({ n, bytes }) => {
      // Nothing is held for lack of a peer but the last batch: the others reach b by sync only.
      const options = { maxEntries: 50_000, mesh: { maxHeldBytes: 1, syncIntervalMs: 1_000 } }
      try {
        const a = await mesh.start('us-east', { ...options, ...at() })
        const value = (i: number) => `${i}:`.padEnd(bytes, 'x')
        for (let i = 0; i < n; i++) void a.set(`k${i}`, value(i))
        a.flush()
        await waitFor(() => {
          const r = a.stats().mesh!.replication
          return r.recordsOut === n && r.batchesDropped + r.batchesHeld === r.batchesOut
        }, 'the writes dropped (no peer), the last batch held')

        const b = await mesh.start('eu-west', { ...options, ...at() })
        await waitFor(() => root(b) === root(a), 'b holds every write of a (roots agree)', 20_000)
        const held = replicaOf(b, 'default')!
        for (let i = 0; i < n; i += Math.ceil(n / 60))
          expect(held.peek(`k${i}`, Date.now())?.value).toBe(value(i))
        expect(held.peek(`k${n - 1}`, Date.now())?.value).toBe(value(n - 1))
        // Anti-entropy moved them (one way or the other): more than a 4 MiB frame holds. A
        // push is counted once its answer is back, which may be after the roots agree.
        const counters = (c: Cache<unknown>) => meshOf(c).counters
        const moved = () => counters(b).syncPulled + counters(a).syncPushed
        await waitFor(() => moved() * bytes > 4 * 1_048_576, 'sync counted what it moved', 5_000)
      } finally {
        await mesh.closeAll()
      }
    },
    40_000,
  )
})
