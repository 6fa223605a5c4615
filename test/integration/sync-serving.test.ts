import { peerIdFromString } from '@libp2p/peer-id'
import { describe, expect, it } from 'vitest'
import { request } from '../../src/mesh/rpc.js'
import { PROTOCOLS } from '../../src/mesh/topics.js'
import { msgpack } from '../../src/replication/value-codec.js'
import { DEFAULT_SYNC_BUDGET } from '../../src/sync/sync-budget.js'
import type { SyncResponse } from '../../src/sync/sync-messages.js'
import { meshOf, TestMesh } from '../helpers/mesh.js'

/**
 * A request of ~50 bytes, `{t: 'leaves', level: 0, nodes: [0], have: []}` ("everything you
 * hold"), made a node holding 150 values of 1 MB build answers of hundreds of MB (4 at
 * once: RSS 192 -> 1,842 MB, the event loop blocked 9.6 s), which the requester then
 * refused as too large (issue: sync-leaves-amplify). Answers now stop at the sync budget.
 */
describe('a sync request asking for everything', () => {
  it('is answered within the budget, with more to come', async () => {
    const mesh = new TestMesh()
    try {
      const victim = await mesh.start('us-east', { listen: ['/ip4/127.0.73.1/tcp/0'] })
      const asker = await mesh.start('ap-south', { listen: ['/ip4/127.0.73.2/tcp/0'] })
      await mesh.ready()
      // Held by the victim only, in a keyspace the asker never opens: 8 MB in all.
      const blobs = victim.keyspace('blobs')
      for (let i = 0; i < 8; i++) await blobs.set(`b${i}`, `${i}`.padEnd(1_000_000, 'y'))
      const req = { t: 'leaves', ks: 'blobs', level: 0, nodes: [0], origins: [], have: [] }
      expect(msgpack.pack(req).length).toBeLessThan(64)
      const to = peerIdFromString(victim.nodeId)
      const answers = await Promise.all(
        Array.from({ length: 4 }, async () => {
          const bytes = { out: 0, in: 0 }
          const res = (await request(
            meshOf(asker).node,
            to,
            PROTOCOLS.sync,
            req,
            20_000,
            bytes,
          )) as Extract<SyncResponse, { t: 'diff' }>
          return { res, bytes: bytes.in }
        }),
      )
      for (const { res, bytes } of answers) {
        expect(res.t).toBe('diff')
        expect(res.more).toBe(true)
        // Three values of 1 MB fit the 3 MiB budget; not a fourth.
        expect(res.entries.length).toBe(3)
        expect(bytes).toBeLessThanOrEqual(DEFAULT_SYNC_BUDGET.maxBytes + 64)
      }
    } finally {
      await mesh.closeAll()
    }
  }, 40_000)
})
