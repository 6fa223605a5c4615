import { hlcOf, replicaOf } from '../src/node/internals.js'
/**
 * bench:sync: anti-entropy between two replicas of n keys that differ in d keys.
 * Runs the real protocol (requests and responses encoded with msgpack as on the wire) in
 * one process, so round trips and bytes are exact and the time is CPU time, no network.
 * Anchor: the bytes of the d differing entries themselves (what a perfect diff would send).
 * Run: npm run bench:sync   (SIZES=100000,1000000 DIFFS=0,10,1000,10000)
 */

import { createCache } from '../src/node/create-cache.js'
import { tupleOf } from '../src/replication/entry-tuple.js'
import { encodeValue, msgpack } from '../src/replication/value-codec.js'
import { reconcile, respond } from '../src/sync/reconcile.js'
import type { SyncRequest, SyncResponse } from '../src/sync/sync-messages.js'
import { parseSyncRequest } from '../src/sync/sync-messages.js'
import { type BenchRow, report } from './harness.js'

const SIZES = (process.env.SIZES ?? '100000,1000000').split(',').map(Number)
const DIFFS = (process.env.DIFFS ?? '0,10,1000,10000').split(',').map(Number)
const LIMITS = { maxKeyLength: 1024, maxNameLength: 128, maxValueBytes: 1 << 20, maxItems: 1 << 20 }
const value = (i: number) => ({ id: i, name: 'Ada Lovelace', email: 'ada@example.com', n: i * 7 })

const rows: BenchRow[] = []
for (const n of SIZES) {
  const opts = { maxEntries: n, maxIndexKeys: n, defaultTtl: '1h' }
  const a = await createCache({ ...opts, nodeId: 'A' })
  const b = await createCache({ ...opts, nodeId: 'B' })
  const ka = replicaOf(a, 'default')!
  const kb = replicaOf(b, 'default')!
  for (let i = 0; i < n; i++) {
    await a.set(`key:${i}`, value(i))
    kb.admitRemote(tupleOf(`key:${i}`, ka.store.peek(`key:${i}`)!), 'bench')
  }
  hlcOf(b).update(hlcOf(a).peek())
  const ra = ka.syncView('bench')
  const rb = kb.syncView('bench')
  let round = 0
  for (const d of DIFFS) {
    round++
    // A moves d keys forward; B does not hear of it.
    let ideal = 0
    for (let j = 0; j < d; j++) {
      const key = `key:${(j * 7919 + round * 104729) % n}`
      const v = { ...value(j), round }
      await a.set(key, v)
      ideal += key.length + encodeValue(key, v).length + 8 + 4 + 52 + 8 // key, value, stamp, origin id, expiry
    }
    let bytes = 0
    let roundTrips = 0
    let sessions = 0
    const call = async (req: SyncRequest): Promise<SyncResponse> => {
      const wireReq = msgpack.pack(req)
      const res = respond(ra, parseSyncRequest(msgpack.unpack(wireReq), LIMITS))
      const wireRes = msgpack.pack(res)
      bytes += wireReq.length + wireRes.length
      return msgpack.unpack(wireRes) as SyncResponse
    }
    const t0 = performance.now()
    for (;;) {
      sessions++
      const r = await reconcile(rb, 'default', call)
      roundTrips += r.roundTrips
      if (r.equal || sessions > 20) break
    }
    const ms = performance.now() - t0
    const [ah, al] = ka.index.tree.digest(0, 0)
    const [bh, bl] = kb.index.tree.digest(0, 0)
    rows.push({
      name: `n=${n} d=${d}`,
      keys: n,
      differing: d,
      converged: ah === bh && al === bl ? 'yes' : 'NO',
      sessions,
      roundTrips,
      bytes,
      idealBytes: ideal,
      'bytes/ideal': d === 0 ? Number.NaN : bytes / ideal,
      bytesPerDiff: d === 0 ? Number.NaN : bytes / d,
      ms,
    })
  }
  await a.close()
  await b.close()
}
report(
  'bench:sync — two replicas, d differing keys (last session confirms equality: 1 round trip)',
  rows,
  'bench/results/sync.json',
)
