import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import { afterEach, describe, expect, it } from 'vitest'
import type { Cache } from '../../src/api/cache.js'
import { request } from '../../src/mesh/rpc.js'
import { PROTOCOLS } from '../../src/mesh/topics.js'
import type { RelayItem } from '../../src/replication/relay-frame.js'
import { RelayPlan } from '../../src/topology/relay-plan.js'
import { batchItem } from '../helpers/batches.js'
import { agreedHub, meshOf, TestMesh } from '../helpers/mesh.js'
import { waitFor } from '../helpers/wait.js'

// The default trust (verifyOrigins 'relay', docs/decisions/verify-once.md): a signature is
// checked at most once on an item's way, by the hub of its writer's region when the writer
// did not hand it over itself, and where it crosses the WAN from anyone but that hub.

const mesh = new TestMesh()
afterEach(() => mesh.closeAll())

const checks = (n: Cache<unknown>) => n.stats().mesh!.replication.signaturesChecked
const forgedCount = (n: Cache<unknown>) => meshOf(n).counters.rejected['forged-origin'] ?? 0

/** A batch `rogue` signs with its own key while naming `origin` as its writer. */
function forged(rogue: Cache<unknown>, origin: Cache<unknown>, key: string): RelayItem {
  return forgedAs(rogue, { nodeId: origin.nodeId, region: origin.region! }, key)
}

/** A batch `rogue` signs while naming member `origin.nodeId` of `origin.region` as its writer. */
function forgedAs(
  rogue: Cache<unknown>,
  origin: { nodeId: string; region: string },
  key: string,
): RelayItem {
  // A current incarnation: an older one than the origin's is dropped unread as already had.
  return batchItem(rogue, origin, key, 'evil', Date.now() + 1)
}

/**
 * `usEast` us-east members (the hub first, then the leaves, as the plan names them) and
 * one eu-west node, once every node's plan names the same us-east hub.
 */
async function startMesh(usEast = 2) {
  const east: Cache<unknown>[] = []
  for (let i = 0; i < usEast; i++) east.push(await mesh.start('us-east'))
  const far = await mesh.start('eu-west')
  await mesh.ready()
  const hub = await agreedHub(east, [far])
  const leaves = east.filter((n) => n !== hub)
  return { hub, leaf: leaves[0]!, leaves, far }
}

describe('origin signatures checked at most once on an item’s way', () => {
  it('a leaf’s batches reach the other region through its hub and are checked nowhere', async () => {
    const { hub, leaf, far } = await startMesh()
    const before = [hub, leaf, far].map(checks)
    for (let i = 0; i < 20; i++) await leaf.set(`k${i}`, i)
    await waitFor(() => far.get('k19') === 19 && hub.get('k19') === 19, 'writes replicated')
    // The leaf handed its batches to the hub itself; the hub vouched for them to eu-west.
    expect([hub, leaf, far].map(checks)).toEqual(before)
  })

  it('a forgery by a leaf stops at its hub, and one sent across the WAN by a non-hub is refused there', async () => {
    const { hub, leaf, far } = await startMesh()
    // In the leaf's own region: its hub checks what the writer did not hand over itself.
    meshOf(leaf).sendItem(hub.nodeId, forged(leaf, far, 'via-hub'))
    await waitFor(() => forgedCount(hub) >= 1, 'the hub refused the forged batch')
    // Across the WAN from a node that is not the writer's region's hub: checked there.
    meshOf(leaf).sendItem(far.nodeId, forged(leaf, hub, 'across'))
    await waitFor(() => forgedCount(far) >= 1, 'eu-west refused the forged batch')
    for (const n of [hub, leaf, far]) {
      expect(n.has('via-hub')).toBe(false)
      expect(n.has('across')).toBe(false)
    }
    // Nothing refused went further; honest writes still flow.
    await hub.set('after', 1)
    await waitFor(() => far.get('after') === 1 && leaf.get('after') === 1, 'honest writes flow')
  })

  it('a hub vouches for its own region’s members: what it passes on is not checked again (the trust documented)', async () => {
    const { hub, leaf, far } = await startMesh()
    // The hub (here playing a compromised one) names its region's leaf as writer: eu-west
    // takes it unchecked, as docs/security.md says; with 'every-node' it would not.
    const before = checks(far)
    meshOf(hub).sendItem(far.nodeId, forged(hub, leaf, 'vouched'))
    await waitFor(() => far.has('vouched'), 'eu-west took the hub’s word')
    expect(checks(far)).toBe(before)
    expect(forgedCount(far)).toBe(0)
  })

  it('a member takes unchecked only what comes down from its tree parent: a leaf’s forgery sent sideways to another leaf is refused', async () => {
    const { leaves, far } = await startMesh(3)
    const [rogue, victim] = leaves
    meshOf(rogue!).sendItem(victim!.nodeId, forged(rogue!, far, 'sideways'))
    await waitFor(() => forgedCount(victim!) >= 1, 'the other leaf refused the forged batch')
    expect(victim!.has('sideways')).toBe(false)
  })

  it('a member cannot place another in its region by listing it so: the region must be the member’s own word', async () => {
    await mesh.start('us-east')
    const far = await mesh.start('eu-west')
    const rogue = await mesh.start('ap-south')
    await mesh.ready()
    // A member id far has never heard of, that rogue (alone in ap-south) would stay the
    // hub of: the plan's rendezvous hash decides, so pick one it ranks below rogue.
    let victim = ''
    while (victim === '') {
      const id = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
      const plan = new RelayPlan([
        { id: rogue.nodeId, region: 'ap-south' },
        { id, region: 'ap-south' },
      ])
      if (plan.hubOf('ap-south') === rogue.nodeId) victim = id
    }
    // Rogue's hello lists the victim as a member of ap-south (its own region).
    const farId = peerIdFromString(far.nodeId)
    const node = meshOf(rogue).node
    const own = [rogue.nodeId, 'ap-south', rogue.addresses()]
    const farHello = (await request(
      node,
      farId,
      PROTOCOLS.hello,
      { region: 'ap-south', peers: [own], ks: [] },
      5_000,
    )) as { ks: unknown }
    await request(
      node,
      farId,
      PROTOCOLS.hello,
      { region: 'ap-south', peers: [own, [victim, 'ap-south', []]], ks: farHello.ks },
      5_000,
    )
    await waitFor(
      () => meshOf(far).peers.get(victim)?.region === 'ap-south',
      'far lists the victim in ap-south',
    )
    expect(far.stats().mesh!.links.relay.peerHubs).toContain(rogue.nodeId)
    // As ap-south's hub, rogue passes off a batch it signed as the victim's.
    const before = forgedCount(far)
    meshOf(rogue).sendItem(
      far.nodeId,
      forgedAs(rogue, { nodeId: victim, region: 'ap-south' }, 'planted'),
    )
    await waitFor(() => forgedCount(far) > before, 'far checked the signature and refused it')
    expect(far.has('planted')).toBe(false)
  })
})
