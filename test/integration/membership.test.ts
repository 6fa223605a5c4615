import { multiaddr } from '@multiformats/multiaddr'
import { afterEach, describe, expect, it } from 'vitest'
import { InvalidOptionError } from '../../src/errors.js'
import { createNetworkKey } from '../../src/mesh/network-key.js'
import { createCache } from '../../src/node/create-cache.js'
import { meshOf, TestMesh } from '../helpers/mesh.js'
import { waitFor } from '../helpers/wait.js'

const mesh = new TestMesh()
afterEach(() => mesh.closeAll())

describe('private meshes and allowlists', () => {
  it('a node without the network key cannot connect, read or write', async () => {
    const key = createNetworkKey()
    const a = await mesh.start('us-east', { networkKey: key })
    const b = await mesh.start('eu-west', { networkKey: key })
    await mesh.ready()
    const stranger = await mesh.start('eu-west', { peers: [a.addresses()[0]!] })
    const otherKey = await mesh.start('eu-west', {
      peers: [a.addresses()[0]!],
      networkKey: createNetworkKey(),
    })
    await a.set('secret', 'members only')
    await waitFor(() => b.get('secret') === 'members only', 'members replicate')
    await stranger.set('intrusion', 1)
    await otherKey.set('intrusion', 2)
    // The strangers keep trying (redial loop); wait until each has failed several dials.
    await waitFor(
      () =>
        (meshOf(stranger).peers.get(a.nodeId)?.failures ?? 0) >= 2 &&
        (meshOf(otherKey).peers.get(a.nodeId)?.failures ?? 0) >= 2,
      'strangers failed to dial repeatedly',
      15_000,
    )
    for (const s of [stranger, otherKey]) {
      expect(meshOf(s).node.getPeers()).toEqual([])
      expect(s.has('secret')).toBe(false)
    }
    expect(a.has('intrusion')).toBe(false)
    expect(b.has('intrusion')).toBe(false)
  })

  it('allowPeers refuses every other peer at connection time', async () => {
    const a = await mesh.start('us-east')
    const b = await mesh.start('eu-west')
    await mesh.ready()
    const picky = await mesh.start('eu-west', {
      allowPeers: [a.nodeId],
      peers: [a.addresses()[0]!],
    })
    await a.set('x', 1)
    await waitFor(() => picky.get('x') === 1, 'picky receives from the allowed peer')
    // b dials picky directly: picky drops the connection once Noise proves b's identity.
    await meshOf(b)
      .node.dial(multiaddr(picky.addresses()[0]!), { signal: AbortSignal.timeout(5_000) })
      .catch(() => undefined)
    await waitFor(
      () =>
        !meshOf(b)
          .node.getPeers()
          .some((p) => p.toString() === picky.nodeId),
      'b is not connected to picky',
    )
    await b.set('from-b', 1)
    await waitFor(() => a.get('from-b') === 1, 'a hears b')
    expect(picky.has('from-b')).toBe(false)
    expect(meshOf(picky).node.getPeers().map(String)).toEqual([a.nodeId])
  })

  it('rejects a malformed network key with a message that says how to make one', async () => {
    await expect(
      createCache({ listen: ['/ip4/127.0.9.1/tcp/0'], networkKey: 'hunter2' }),
    ).rejects.toThrow(InvalidOptionError)
    await expect(
      createCache({ listen: ['/ip4/127.0.9.1/tcp/0'], networkKey: 'hunter2' }),
    ).rejects.toThrow(/meshcache keygen/)
  })
})
