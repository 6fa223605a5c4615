import { afterEach, describe, expect, it } from 'vitest'
import type { Cache } from '../../src/api/cache.js'
import { formatVersion } from '../../src/clock/version.js'
import { AckTimeoutError, TimeoutError } from '../../src/errors.js'
import { hlcOf, replicaOf } from '../../src/node/internals.js'
import { encodeValue } from '../../src/replication/value-codec.js'
import { SimMesh } from '../helpers/sim.js'
import { waitFor } from '../helpers/wait.js'

const mesh = new SimMesh()
afterEach(() => mesh.closeAll())
const start = (region: string, n: number, peers: string[] = []) => mesh.start(region, n, peers)

/**
 * Makes `holders` hold `key` with the values given, at one version that every node in
 * `knowers` knows without the value: as after those nodes evicted it.
 */
function heldBy(holders: [Cache<unknown>, string][], knowers: Cache<unknown>[], key: string) {
  const v = hlcOf(holders[0]![0]).now()
  const base = [key, v.wall, v.logical, v.node, Date.now() + 60_000] as const
  for (const [node, value] of holders)
    replicaOf(node, 'default')!.admitRemote([...base, 0, encodeValue(key, value)], 'test')
  for (const node of knowers) replicaOf(node, 'default')!.admitRemote([...base, 2, null], 'test')
}

const lookups = (n: Cache<unknown>) => n.stats().mesh!.replication.lookups

describe('index-guided misses across the simulated WAN', () => {
  it('an evicted key is served by the same-region peer first, by the far one when the near one is cut off', async () => {
    const asker = await start('eu-west', 1)
    const near = await start('eu-west', 2, [asker.addresses()[0]!])
    const far = await start('us-east', 1, [asker.addresses()[0]!])
    await mesh.fullMesh()
    let loads = 0
    const load = () => `loaded-${++loads}`
    heldBy(
      [
        [near, 'from-near'],
        [far, 'from-far'],
      ],
      [asker],
      'k1',
    )
    expect(await asker.fetch('k1', { load })).toBe('from-near')
    expect(loads).toBe(0)
    expect(asker.get('k1')).toBe('from-near') // stored locally with its original version

    heldBy(
      [
        [near, 'from-near'],
        [far, 'from-far'],
      ],
      [asker],
      'k2',
    )
    await asker.admin.mesh!.block([near.nodeId])
    await near.admin.mesh!.block([asker.nodeId])
    expect(await asker.fetch('k2', { load })).toBe('from-far')
    expect(loads).toBe(0)

    // lookup: 'region' never crosses the WAN; 'none' goes straight to the loader.
    heldBy([[far, 'from-far']], [asker], 'k4')
    expect(await asker.fetch('k4', { load, lookup: 'region' })).toBe('loaded-1')
    heldBy([[far, 'from-far']], [asker], 'k5')
    const before = lookups(asker)
    expect(await asker.fetch('k5', { load, lookup: 'none' })).toBe('loaded-2')
    expect(lookups(asker)).toBe(before)
  })

  it('a key no node holds (never written, deleted, expired) makes no lookup at all', async () => {
    const asker = await start('eu-west', 1)
    const near = await start('eu-west', 2, [asker.addresses()[0]!])
    await mesh.fullMesh()
    await near.set('gone', 1)
    await near.delete('gone')
    await near.set('short', 1, { ttl: 50 })
    await waitFor(() => asker.admin.version('default', 'gone')?.deleted === true, 'delete known')
    await waitFor(() => !near.has('short'), 'short expired')
    const before = lookups(asker)
    for (const key of ['never', 'gone', 'short'])
      expect(await asker.fetch(key, { load: () => `loaded-${key}` })).toBe(`loaded-${key}`)
    expect(lookups(asker)).toBe(before)
  })

  it('another region is asked only when a round trip there is cheaper than the loader', async () => {
    const asker = await start('eu-west', 1)
    const far = await start('us-east', 1, [asker.addresses()[0]!])
    await mesh.fullMesh()
    await waitFor(
      () => (asker.admin.mesh!.peers()[0]?.rttMs ?? 0) > 0,
      'RTT to us-east measured',
      15_000,
    )
    // Teach the keyspace a fast origin (a few ms: far cheaper than 80 ms to us-east).
    for (let i = 0; i < 3; i++) await asker.fetch(`warm${i}`, { load: () => i })
    heldBy([[far, 'from-far']], [asker], 'k')
    expect(await asker.fetch('k', { load: () => 'from-origin' })).toBe('from-origin')
    // A slow origin (more than the RTT): the remote copy wins.
    const slow = asker.keyspace('slow')
    far.keyspace('slow')
    await waitFor(() => asker.admin.mesh!.subscribers('slow') === 1, 'slow keyspace subscribed')
    for (let i = 0; i < 2; i++)
      await slow.fetch(`w${i}`, { load: () => new Promise((r) => setTimeout(() => r(i), 250)) })
    const v = hlcOf(far).now()
    const base = ['k', v.wall, v.logical, v.node, Date.now() + 60_000] as const
    replicaOf(far, 'slow')!.admitRemote([...base, 0, encodeValue('k', 'from-far')], 'test')
    replicaOf(asker, 'slow')!.admitRemote([...base, 2, null], 'test')
    expect(await slow.fetch('k', { load: () => 'from-origin' })).toBe('from-far')
  })

  it('a node whose version index overflowed still finds an evicted value (it asks)', async () => {
    const asker = await start('eu-west', 1)
    const near = await start('eu-west', 2, [asker.addresses()[0]!])
    await mesh.fullMesh()
    // The asker keeps 2 values and remembers 2 versions; near keeps everything.
    const tiny = asker.keyspace('tiny', { maxEntries: 2, maxIndexKeys: 2 })
    const holder = near.keyspace('tiny')
    await waitFor(() => near.admin.mesh!.subscribers('tiny') === 1, 'tiny keyspace subscribed')
    await holder.set('old', 'kept-by-near')
    await waitFor(() => tiny.has('old'), 'old replicated')
    for (const k of ['a', 'b']) await tiny.set(k, 1) // evicts 'old' here and forgets its version
    expect(asker.admin.version('tiny', 'old')).toBeUndefined()
    expect(await tiny.fetch('old', { load: () => 'from-origin' })).toBe('kept-by-near')
  })
})

describe('locality and acks across the simulated WAN', () => {
  it("ack: 'quorum' resolves once a majority of regions applied the write, and rejects when they are cut off", async () => {
    const us = await start('us-east', 1)
    const eu = await start('eu-west', 1, [us.addresses()[0]!])
    const ap = await start('ap-south', 1, [us.addresses()[0]!])
    await mesh.fullMesh()
    const t0 = Date.now()
    await us.set('order:7', { total: 42 }, { ack: 'quorum' })
    const took = Date.now() - t0
    // A majority of three regions is two: us-east plus the nearest other (eu-west, 40 ms away).
    expect(eu.get('order:7')).toEqual({ total: 42 })
    expect(took).toBeGreaterThanOrEqual(80) // at least one round trip to eu-west
    await us.set('peer-acked', 1, { ack: 'peer' })
    expect(eu.has('peer-acked') || ap.has('peer-acked')).toBe(true)

    mesh.sim.isolate('us-east')
    const err = await us.set('lonely', 1, { ack: 'quorum', ackTimeout: 500 }).catch((e) => e)
    expect(err).toBeInstanceOf(AckTimeoutError)
    expect(err.code).toBe('ERR_ACK_TIMEOUT')
    expect(err.acknowledged).toEqual([])
    expect(err.required).toBe(1)
    expect(us.get('lonely')).toBe(1) // the local write stands
  })

  it('read-your-writes through another region: fetch with atLeast waits for the write', async () => {
    const us = await start('us-east', 1)
    const ap = await start('ap-south', 1, [us.addresses()[0]!])
    await mesh.fullMesh()
    const version = await us.set('profile', { v: 2 })
    expect(ap.get('profile')).toBeUndefined() // 95 ms away: not there yet
    const token = formatVersion(version) // what a web app would carry in a cookie
    expect(await ap.fetch('profile', { atLeast: token })).toEqual({ v: 2 })
    await expect(
      ap.fetch('profile', {
        atLeast: { ...version, wall: version.wall + 60_000 },
        readTimeout: 300,
      }),
    ).rejects.toThrow(TimeoutError)
  })

  it('a quorum write then a quorum read from another region returns the write; a cut-off region cannot read at quorum', async () => {
    const us = await start('us-east', 1)
    const eu = await start('eu-west', 1, [us.addresses()[0]!])
    const ap = await start('ap-south', 1, [us.addresses()[0]!])
    await mesh.fullMesh()
    await us.set('balance', 100, { ack: 'quorum' })
    expect(await ap.fetch('balance', { consistency: 'quorum' })).toBe(100)
    await eu.delete('balance', { ack: 'quorum' })
    expect(await ap.fetch('balance', { consistency: 'quorum' })).toBeUndefined()
    mesh.sim.isolate('ap-south')
    await expect(ap.fetch('balance', { consistency: 'quorum', readTimeout: 400 })).rejects.toThrow(
      TimeoutError,
    )
  })
})
