import { afterEach, describe, expect, it } from 'vitest'
import type { Cache } from '../../src/api/cache.js'
import { SIGNATURE_BYTES } from '../../src/mesh/batch-signing.js'
import { MESH_CONSTANTS } from '../../src/mesh/defaults.js'
import type { CacheOptions } from '../../src/node/cache-options.js'
import { ITEM_KIND, type RelayItem } from '../../src/replication/relay-frame.js'
import { batchItem } from '../helpers/batches.js'
import { agreedHub, meshOf, TestMesh } from '../helpers/mesh.js'
import { waitFor } from '../helpers/wait.js'

// A hub sends its region's batches to the other regions' hubs without the origin's
// signature when they take its word for them (docs/decisions/vouched-batches.md). Anti-
// entropy is pushed out of the way (a round every 10 minutes), so every write seen here
// came by the relay.

const mesh = new TestMesh()
afterEach(() => mesh.closeAll())

const noSync: CacheOptions = { mesh: { syncIntervalMs: 600_000 } }
const strict: CacheOptions = { mesh: { syncIntervalMs: 600_000, verifyOrigins: 'every-node' } }
const repl = (n: Cache<unknown>) => n.stats().mesh!.replication
const unsigned = (n: Cache<unknown>) => repl(n).rejected.unsigned

/** `origin`'s genuine batch of one write (its own signature), numbered 1 of `incarnation`. */
const genuine = (origin: Cache<unknown>, key: string, incarnation: number): RelayItem =>
  batchItem(origin, { nodeId: origin.nodeId, region: origin.region! }, key, 'v', incarnation)

/** Until `hub`'s link to `far` is old enough for vouched batches (plans settle first). */
const vouchingTo = (hub: Cache<unknown>, far: Cache<unknown>) =>
  waitFor(
    () =>
      Date.now() - (meshOf(hub).peers.get(far.nodeId)?.connectedAt ?? Date.now()) >=
      MESH_CONSTANTS.vouchAfterConnectMs,
    `the link to ${far.region} up for ${MESH_CONSTANTS.vouchAfterConnectMs} ms`,
  )

/** The same item without its signature, as a hub vouching for it sends it. */
const stripped = (item: RelayItem): RelayItem => ({
  ...item,
  kind: ITEM_KIND.vouched,
  body: item.body.subarray(SIGNATURE_BYTES),
})

/** Two us-east members and the given eu-west ones, once every plan names one us-east hub. */
async function startMesh(far: CacheOptions[]) {
  const east = [await mesh.start('us-east', noSync), await mesh.start('us-east', noSync)]
  const west: Cache<unknown>[] = []
  for (const o of far) west.push(await mesh.start('eu-west', o))
  await mesh.ready()
  const hub = await agreedHub(east, west)
  return { hub, leaf: east.find((n) => n !== hub)!, west }
}

describe('vouched batches: no signature across the WAN where nobody would check it', () => {
  it('the hub sends its region’s batches without signatures, and the other region takes them all', async () => {
    const { hub, leaf, west } = await startMesh([noSync])
    const far = west[0]!
    // The hub strips a member's batches once it has passed that member's announcement on
    // to the far hub (its first writes after joining go signed).
    await waitFor(
      () => meshOf(hub).peers.get(far.nodeId)?.originsAnnounced?.has(leaf.nodeId) === true,
      'the hub passed the leaf’s announcement to eu-west',
    )
    await vouchingTo(hub, far)
    const before = repl(hub).vouchedOut
    for (let i = 0; i < 20; i++) await leaf.set(`k${i}`, i)
    await hub.set('from-hub', 1)
    await waitFor(
      () => far.get('k19') === 19 && far.get('from-hub') === 1,
      'writes replicated by the relay',
    )
    for (let i = 0; i < 20; i++) expect(far.get(`k${i}`)).toBe(i)
    expect(repl(hub).vouchedOut).toBeGreaterThan(before + 1)
    expect(unsigned(far)).toBe(0)
    expect(repl(far).signaturesChecked).toBe(0)
  })

  it('a far node that checks every signature gets them signed and checks them', async () => {
    const { hub, leaf, west } = await startMesh([strict])
    const far = west[0]!
    for (let i = 0; i < 5; i++) await leaf.set(`s${i}`, i)
    await waitFor(() => far.get('s4') === 4, 'writes replicated by the relay')
    expect(repl(hub).vouchedOut).toBe(0)
    expect(repl(far).signaturesChecked).toBeGreaterThan(0)
    expect(unsigned(far)).toBe(0)
  })

  it('a region with a member that checks every signature gets its batches signed, and that member gets every write in time', async () => {
    const { hub, leaf, west } = await startMesh([noSync, strict])
    const [relaxed, checker] = west as [Cache<unknown>, Cache<unknown>]
    // Whichever is eu-west's hub says its region does not take them: the checker by its
    // own setting, the other because a member of its region does not.
    const vouch = (n: Cache<unknown>) =>
      (meshOf(n) as unknown as { membership: { vouch(): unknown } }).membership.vouch()
    await waitFor(() => vouch(relaxed) === 1, 'the relaxed node says its region does not')
    expect(vouch(checker)).toBeUndefined()
    const westHub = relaxed.stats().mesh!.links.relay.hub!
    await waitFor(
      () => meshOf(hub).peers.get(westHub)?.vouchesRegion === false,
      'the us-east hub heard that eu-west has a member that checks signatures',
    )
    const before = repl(hub).vouchedOut
    for (let i = 0; i < 5; i++) await leaf.set(`m${i}`, i)
    await waitFor(
      () => checker.get('m4') === 4 && relaxed.get('m4') === 4,
      'writes replicated by the relay to both',
    )
    expect(repl(hub).vouchedOut).toBe(before)
    for (const n of west) expect(repl(n).vouchedWithheld).toBe(0)
    expect(unsigned(checker)).toBe(0)
  })

  it('an unsigned batch is refused where its check is due, and the signed copy still gets in', async () => {
    const { hub, leaf, west } = await startMesh([noSync])
    const far = west[0]!
    // From a member that is not the hub of the writer's region: eu-west checks, so it
    // refuses the batch without a signature, and does not count it as had.
    const item = genuine(hub, 'sent-twice', Date.now() + 1)
    meshOf(leaf).sendItem(far.nodeId, stripped(item))
    await waitFor(() => unsigned(far) >= 1, 'eu-west refused the unsigned batch')
    expect(far.has('sent-twice')).toBe(false)
    meshOf(leaf).sendItem(far.nodeId, item)
    await waitFor(() => far.get('sent-twice') === 'v', 'the signed copy got in')
    // Sideways inside a region (not from the tree parent): refused as well.
    const sideways = genuine(far, 'sideways', Date.now() + 2)
    meshOf(leaf).sendItem(hub.nodeId, stripped(sideways))
    await waitFor(() => unsigned(hub) >= 1, 'the hub refused the unsigned batch of another region')
    expect(hub.has('sideways')).toBe(false)
  })
})
