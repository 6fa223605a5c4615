/**
 * Which regions an `ack: 'quorum'` counts, on real nodes behind the simulated WAN: a
 * region cut off from the others must not make a quorum alone, also once it has
 * forgotten the members it cannot reach.
 */
import { afterEach, describe, expect, it } from 'vitest'
import type { Cache } from '../../src/api/cache.js'
import { meshNodeOf } from '../../src/node/internals.js'
import { createTestMesh, type TestMesh } from '../../src/testing/index.js'
import { waitFor } from '../helpers/wait.js'

let mesh: TestMesh | undefined
afterEach(async () => {
  await mesh?.close()
  mesh = undefined
})

describe('ack: quorum counts every region this node has met', () => {
  it('a region cut off keeps refusing quorum writes after it forgot the other regions', async () => {
    mesh = await createTestMesh({
      regions: { 'us-east': 2, 'eu-west': 1, 'ap-south': 1 },
      oneWayMs: 10,
      // Members not heard of for 4 announce intervals are forgotten: 4 s here.
      cacheOptions: { mesh: { announceIntervalMs: 1_000 } },
    })
    const [us] = mesh.caches as Cache<unknown>[] as [Cache<unknown>]
    await us.set('cart', 'v1', { ack: 'quorum', ackTimeout: 5_000 })
    await mesh.partition('us-east', { dropConnections: true })
    await waitFor(
      () => [...meshNodeOf(us)!.peers.all()].every((p) => p.region === 'us-east'),
      'us-east forgot the members it cannot reach',
      20_000,
    )
    // Before: with no other region known, a quorum needed no other region's ack.
    await expect(us.set('cart', 'v2', { ack: 'quorum', ackTimeout: 500 })).rejects.toMatchObject({
      code: 'ERR_ACK_TIMEOUT',
    })
  })
})
