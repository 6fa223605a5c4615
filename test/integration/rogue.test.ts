import { afterEach, describe, expect, it } from 'vitest'
import { encodeBatch } from '../../src/replication/batch-codec.js'
import { encodeValue } from '../../src/replication/value-codec.js'
import type { WriteBatch } from '../../src/replication/write-record.js'
import { meshOf, TestMesh } from '../helpers/mesh.js'
import { waitFor } from '../helpers/wait.js'

const mesh = new TestMesh()
afterEach(() => mesh.closeAll())

const GRAYLIST = -80
const topic = '/meshcache/1/ks/default'
const record = (key: string, wall: number) => ({
  key,
  wall,
  logical: 0,
  expiresAt: Date.now() + 60_000,
  tombstone: false,
  value: encodeValue(key, 'evil'),
})

describe('a rogue member with a valid key', () => {
  it('is rejected for forged origins, future stamps and garbage, falls below the graylist threshold, and honest nodes lose nothing', async () => {
    const a = await mesh.start('us-east')
    const b = await mesh.start('eu-west')
    const rogue = await mesh.start('ap-south')
    await mesh.ready()
    const pubsub = meshOf(rogue).node.services.pubsub
    // The rogue signs with its own (valid) key whatever origin it names.
    const seal = (batch: Omit<WriteBatch, 'sentAt'>) =>
      meshOf(rogue).sealBatch(encodeBatch({ ...batch, sentAt: Date.now() }))
    // Far-future stamp in its own name: would win every conflict forever if accepted.
    await a.set('contested', 'honest')
    await waitFor(() => b.get('contested') === 'honest', 'seed replicated')
    await pubsub.publish(
      topic,
      seal({
        origin: rogue.nodeId,
        region: 'ap-south',
        keyspace: 'default',
        records: [record('contested', Date.now() + 3_600_000)],
      }),
    )
    // Forged origin, and plain garbage.
    await pubsub.publish(
      topic,
      seal({
        origin: a.nodeId,
        region: 'us-east',
        keyspace: 'default',
        records: [record('forged', Date.now())],
      }),
    )
    await pubsub.publish(topic, new Uint8Array([0xc1, 0xff, 0x00, 0x13]))
    for (const n of [a, b]) {
      await waitFor(() => {
        const r = meshOf(n).counters.rejected
        return (
          (r['clock-drift'] ?? 0) >= 1 && (r['forged-origin'] ?? 0) >= 1 && (r.malformed ?? 0) >= 1
        )
      }, `${n.region} rejected all three`)
      await waitFor(
        () => meshOf(n).peerScore(rogue.nodeId) < GRAYLIST,
        `${n.region} graylists the rogue`,
      )
      expect(n.get('contested')).toBe('honest')
      expect(n.has('forged')).toBe(false)
    }
    // A flood of invalid batches changes nothing either; honest traffic flows on.
    for (let i = 0; i < 200; i++) {
      void pubsub
        .publish(
          topic,
          seal({
            origin: b.nodeId,
            region: 'x',
            keyspace: 'default',
            records: [record(`flood${i}`, Date.now())],
          }),
        )
        .catch(() => undefined)
    }
    for (let i = 0; i < 200; i++) await a.set(`honest${i}`, i)
    await waitFor(() => b.get('honest199') === 199, 'honest writes replicate during the flood')
    for (let i = 0; i < 200; i++) expect(b.get(`honest${i}`)).toBe(i)
    expect([...b.keyspace('default').keys()].some((k) => k.startsWith('flood'))).toBe(false)
  })
})
