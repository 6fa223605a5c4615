import { afterEach, describe, expect, it } from 'vitest'
import type { Cache } from '../../src/api/cache.js'
import { replicaOf } from '../../src/node/internals.js'
import { TestMesh } from '../helpers/mesh.js'
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
