import { afterEach, describe, expect, it } from 'vitest'
import type { Cache } from '../../src/api/cache.js'
import { formatVersion } from '../../src/clock/version.js'
import { AckTimeoutError, TimeoutError } from '../../src/errors.js'
import { encodeValue } from '../../src/replication/value-codec.js'
import { SimMesh } from '../helpers/sim.js'

const mesh = new SimMesh()
afterEach(() => mesh.closeAll())
const start = (region: string, n: number, peers: string[] = []) => mesh.start(region, n, peers)

/** Puts a value into one node's replica only (no replication), as if only it had loaded it. */
function holdLocally(node: Cache<unknown>, key: string, value: string) {
  const v = node.clock.now()
  node.admin
    .replica('default')!
    .admitRemote(
      [key, v.wall, v.logical, v.node, Date.now() + 60_000, 0, encodeValue(key, value)],
      'test',
    )
}

describe('locality and acks across the simulated WAN', () => {
  it('a miss is served by the same-region peer, and by the far one when the near one is cut off', async () => {
    const asker = await start('eu-west', 1)
    const near = await start('eu-west', 2, [asker.addresses()[0]!])
    const far = await start('us-east', 1, [asker.addresses()[0]!])
    await mesh.fullMesh()
    holdLocally(near, 'k1', 'from-near')
    holdLocally(far, 'k1', 'from-far')
    let loads = 0
    expect(await asker.fetch('k1', { load: () => `loaded-${++loads}` })).toBe('from-near')
    expect(loads).toBe(0)
    expect(asker.get('k1')).toBe('from-near') // stored locally with its original version
    expect(asker.keyspace('default').entry('k1')!.version.node).toBe(near.nodeId)

    holdLocally(near, 'k2', 'from-near')
    holdLocally(far, 'k2', 'from-far')
    await asker.admin.mesh!.block([near.nodeId])
    await near.admin.mesh!.block([asker.nodeId])
    expect(await asker.fetch('k2', { load: () => `loaded-${++loads}` })).toBe('from-far')

    expect(await asker.fetch('k3', { load: () => `loaded-${++loads}` })).toBe('loaded-1')
    expect(loads).toBe(1)

    // lookup: 'region' never crosses the WAN; 'none' goes straight to the loader.
    holdLocally(far, 'k4', 'from-far')
    expect(await asker.fetch('k4', { load: () => `loaded-${++loads}`, lookup: 'region' })).toBe(
      'loaded-2',
    )
    holdLocally(far, 'k5', 'from-far') // the mesh would serve it (see k2); 'none' does not ask
    expect(await asker.fetch('k5', { load: () => `loaded-${++loads}`, lookup: 'none' })).toBe(
      'loaded-3',
    )
  })

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
