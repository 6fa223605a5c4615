import { afterEach, describe, expect, it } from 'vitest'
import type { Cache } from '../../src/api/cache.js'
import { createCache } from '../../src/node/create-cache.js'
import { waitFor } from '../helpers/wait.js'

const open: Cache<unknown>[] = []
afterEach(async () => {
  await Promise.allSettled(open.splice(0).map((c) => c.close()))
})

let host = 10
/** A fresh pair on its own loopback addresses, the second bootstrapped from the first. */
async function pair(): Promise<[Cache<unknown>, Cache<unknown>]> {
  const n = host++
  const a = await createCache({ region: 'eu-west', listen: [`/ip4/127.0.61.${n}/tcp/0`] })
  open.push(a)
  const b = await createCache({
    region: 'us-east',
    listen: [`/ip4/127.0.62.${n}/tcp/0`],
    peers: [a.addresses()[0]!],
  })
  open.push(b)
  return [a, b]
}

describe('the first writes of a fresh node (real libp2p nodes)', () => {
  it('a short-lived write made right after waitForPeers reaches the peer, in eight fresh pairs', async () => {
    // Before the fix, half of these never arrived: the batch left before the peer's
    // subscription was known and only anti-entropy (every ~5 s) could repair it.
    const pairs = await Promise.all(Array.from({ length: 8 }, () => pair()))
    await Promise.all(pairs.map(([, b]) => b.waitForPeers(1)))
    await Promise.all(pairs.map(([, b], i) => b.set(`first-${i}`, i, { ttl: '2s' })))
    await waitFor(
      () => pairs.every(([a], i) => a.get(`first-${i}`) === i),
      'every first write on the other node of its pair',
      1_500,
    )
    for (const [a, b] of pairs) {
      expect(a.stats().mesh?.replication.framesFailed).toBe(0)
      expect(b.stats().mesh?.replication.framesFailed).toBe(0)
    }
  })

  it('a write made before any peer connected is held and delivered once one does', async () => {
    const a = await createCache({ region: 'eu-west', listen: ['/ip4/127.0.63.1/tcp/0'] })
    open.push(a)
    // Nobody to send to yet: the batch is held, not dropped.
    await a.set('early', 'held', { ttl: '3s' })
    await waitFor(
      () => (a.stats().mesh?.replication.batchesHeld ?? 0) >= 1,
      'the batch held for lack of a peer',
      2_000,
    )
    const b = await createCache({
      region: 'us-east',
      listen: ['/ip4/127.0.63.2/tcp/0'],
      peers: [a.addresses()[0]!],
      // No periodic anti-entropy: the held batch alone must carry the write.
      mesh: { syncIntervalMs: 0 },
    })
    open.push(b)
    await waitFor(() => b.get('early') === 'held', 'the held write on the new node', 2_000)
    await waitFor(
      () => a.stats().mesh?.replication.batchesOut === 1,
      'the held batch sent once a peer connected',
      2_000,
    )
    expect(a.stats().mesh?.replication.batchesHeld).toBe(0)
    expect(a.stats().mesh?.replication.batchesDropped).toBe(0)
  })
})
