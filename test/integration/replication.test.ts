import { isDeepStrictEqual } from 'node:util'
import { afterEach, describe, expect, it } from 'vitest'
import { InvalidOptionError, TimeoutError, UnencodableValueError } from '../../src/errors.js'
import { createCache } from '../../src/node/create-cache.js'
import { replicaOf } from '../../src/node/internals.js'
import { encodeBatch } from '../../src/replication/batch-codec.js'
import type { EntryTuple } from '../../src/replication/entry-tuple.js'
import { ITEM_KIND, type RelayItem } from '../../src/replication/relay-frame.js'
import { encodeValue } from '../../src/replication/value-codec.js'
import { meshOf, TestMesh } from '../helpers/mesh.js'
import { waitFor } from '../helpers/wait.js'

const mesh = new TestMesh()
afterEach(() => mesh.closeAll())

describe('mesh replication (real libp2p nodes on 127.0.x.y)', () => {
  it('a write on any node is readable on every other, in both regions', async () => {
    const a = await mesh.start('us-east')
    const b = await mesh.start('us-east')
    const c = await mesh.start('eu-west')
    await mesh.ready()
    await a.set('from-a', { n: 1 })
    await b.set('from-b', [1, 2, 3])
    await c.set('from-c', 'hello')
    for (const node of [a, b, c]) {
      await waitFor(
        () => node.has('from-a') && node.has('from-b') && node.has('from-c'),
        `all writes on ${node.region} node`,
      )
      expect(node.get('from-a')).toEqual({ n: 1 })
      expect(node.get('from-b')).toEqual([1, 2, 3])
      expect(node.get('from-c')).toBe('hello')
    }
    // Lag is sampled per write the relay delivers: both us-east writes, unless anti-entropy
    // brought one first (right after the mesh forms, before the hubs agree), whose relayed
    // copy may then come later or be dropped as already known.
    const usEast = () => c.stats().mesh!.lagByRegion['us-east']?.count ?? 0
    await waitFor(
      () => usEast() + c.stats().mesh!.replication.syncPulled >= 2,
      'lag samples from us-east',
    )
    expect(usEast()).toBeGreaterThanOrEqual(1)
    expect(usEast()).toBeLessThanOrEqual(2)
  })

  it('a value reads the same on the writer and on a replica; what msgpack would change is refused', async () => {
    const a = await mesh.start('us-east')
    const b = await mesh.start('eu-west')
    await mesh.ready()
    class Profile {
      name = 'Ada'
    }
    for (const bad of [{ cb: () => 1, n: 1 }, { m: new Map([[1, 2]]) }, { p: new Profile() }])
      await expect(a.set('bad', bad)).rejects.toThrow(UnencodableValueError)
    const good = {
      big: 2n ** 70n,
      at: new Date(5),
      tags: new Set(['x']),
      bytes: new Uint8Array([1, 2]),
      zero: -0,
      nan: Number.NaN,
      bare: Object.assign(Object.create(null), { a: 1 }),
    }
    await a.set('good', good)
    await waitFor(() => b.has('good'), 'the value on the replica')
    expect(a.has('bad') || b.has('bad')).toBe(false)
    expect(isDeepStrictEqual(a.get('good'), b.get('good'))).toBe(true)
    expect(Object.is((a.get('good') as { zero: number }).zero, 0)).toBe(true)
  })

  it('concurrent writes to one key from different regions converge to one value everywhere', async () => {
    const nodes = [
      await mesh.start('us-east'),
      await mesh.start('eu-west'),
      await mesh.start('ap-south'),
    ]
    await mesh.ready()
    for (let round = 0; round < 5; round++) {
      await Promise.all(nodes.map((n, i) => n.set('contended', `${n.region}-${round}-${i}`)))
    }
    const winner = () => nodes.map((n) => n.keyspace('default').entry('contended')?.version)
    await waitFor(() => {
      const v = winner()
      return v.every((x) => x !== undefined && JSON.stringify(x) === JSON.stringify(v[0]))
    }, 'all nodes on the same version of the contended key')
    const values = nodes.map((n) => n.get('contended'))
    expect(new Set(values).size).toBe(1)
    expect(String(values[0])).toMatch(/-4-/)
  })

  it('a delete beats an older write that arrives after it', async () => {
    // The slow node batches for 500 ms, so its older write reaches the others after the delete.
    const slow = await mesh.start('us-east', { mesh: { flushDelayMs: 500 } })
    const fast = await mesh.start('eu-west')
    const observer = await mesh.start('ap-south')
    await mesh.ready()
    await fast.set('k', 'seed')
    await waitFor(() => slow.has('k') && observer.has('k'), 'seed replicated')
    await slow.set('k', 'older-write') // stamped now, published ~500 ms later
    const olderWall = slow.keyspace('default').entry('k')!.version.wall
    await waitFor(() => Date.now() > olderWall, 'the clock moved past the older write')
    await fast.delete('k') // stamped later, published at once
    await waitFor(() => !observer.has('k'), 'delete reached the observer')
    await waitFor(
      () => meshOf(observer).counters.recordsIn >= 3 && meshOf(fast).counters.recordsIn >= 1,
      'the older write arrived after the delete',
    )
    for (const n of [slow, fast, observer]) {
      await waitFor(
        () =>
          n.keyspace('default').entry('k') === undefined &&
          replicaOf(n, 'default')!.store.peek('k')?.tombstone === true,
        `tombstone on ${n.region}`,
      )
      expect(n.get('k')).toBeUndefined()
    }
  })

  it('an entry with a TTL expires on every node at the same absolute time', async () => {
    const a = await mesh.start('us-east')
    const b = await mesh.start('eu-west')
    const c = await mesh.start('eu-west')
    await mesh.ready()
    await a.set('short', 'lived', { ttl: 3_000 }) // room for a slow CI box to replicate first
    await waitFor(() => b.has('short') && c.has('short'), 'short-lived entry replicated')
    const expiries = [a, b, c].map((n) => n.keyspace('default').entry('short')!.expiresAt)
    expect(new Set(expiries).size).toBe(1)
    await waitFor(() => Date.now() >= expiries[0]!, 'expiry time passed', 8_000)
    await new Promise((r) => setImmediate(r))
    for (const n of [a, b, c]) expect(n.get('short')).toBeUndefined()
  })

  it('a batch forged by a member of another region is refused where it enters a region; inside its own region the trust model decides', async () => {
    const honest = await mesh.start('us-east')
    const other = await mesh.start('ap-south')
    const rogue = await mesh.start('eu-west')
    await mesh.ready()
    // A current incarnation: an item of an older one than the honest node's (which the
    // other node knows once anything of it arrived) is dropped unread as already had, and
    // the test would then race the honest node's first announcement.
    const incarnation = Date.now() + 1
    const forgedItem = (seq: number): RelayItem => {
      const records: EntryTuple[] = [
        [
          'forged',
          Date.now() + 1,
          0,
          honest.nodeId,
          Date.now() + 60_000,
          0,
          encodeValue('forged', 'evil'),
        ],
      ]
      const body = meshOf(rogue).sealBatch(
        encodeBatch({
          origin: honest.nodeId, // the rogue signs, but names the honest node as writer
          region: 'us-east',
          keyspace: 'default',
          sentAt: Date.now(),
          incarnation,
          seq,
          records,
        }),
      )
      return { kind: ITEM_KIND.batch, origin: honest.nodeId, incarnation, seq, body }
    }
    meshOf(rogue).sendItem(other.nodeId, forgedItem(1))
    // To the node it names, an item in its own name is dropped unread.
    meshOf(rogue).sendItem(honest.nodeId, forgedItem(2))
    await waitFor(
      () => (meshOf(other).counters.rejected['forged-origin'] ?? 0) >= 1,
      'the other region refused the forged batch',
    )
    expect(other.has('forged')).toBe(false)
    expect(honest.has('forged')).toBe(false)
    await honest.set('after', 1)
    await waitFor(
      () => other.get('after') === 1 && rogue.get('after') === 1,
      'honest writes still replicate',
    )
  })

  it("with verifyOrigins 'every-node', a member cannot forge even inside its own region", async () => {
    const strict = { mesh: { verifyOrigins: 'every-node' as const } }
    const honest = await mesh.start('us-east', strict)
    const victim = await mesh.start('eu-west', strict)
    const rogue = await mesh.start('eu-west', strict)
    await mesh.ready()
    // A current incarnation (an older one than the honest node's is dropped unread).
    const now = Date.now()
    const records: EntryTuple[] = [
      [
        'inside',
        Date.now() + 1,
        0,
        honest.nodeId,
        Date.now() + 60_000,
        0,
        encodeValue('inside', 'evil'),
      ],
    ]
    const body = meshOf(rogue).sealBatch(
      encodeBatch({
        origin: honest.nodeId,
        region: 'us-east',
        keyspace: 'default',
        sentAt: Date.now(),
        incarnation: now + 1,
        seq: 1,
        records,
      }),
    )
    meshOf(rogue).sendItem(victim.nodeId, {
      kind: ITEM_KIND.batch,
      origin: honest.nodeId,
      incarnation: now + 1,
      seq: 1,
      body,
    })
    await waitFor(() => (meshOf(victim).counters.rejected['forged-origin'] ?? 0) >= 1, 'refused')
    expect(victim.has('inside')).toBe(false)
  })

  it('a node that joins late through one bootstrap peer connects to every region and receives new writes', async () => {
    const a = await mesh.start('us-east')
    const b = await mesh.start('eu-west')
    const c = await mesh.start('ap-south', { peers: [b.addresses()[0]!] })
    await mesh.ready()
    const late = await mesh.start('eu-west', { peers: [c.addresses()[0]!] })
    await mesh.ready()
    const regions = new Set(
      meshOf(late)
        .peers.ranked()
        .map((p) => p.region),
    )
    expect([...regions].sort()).toEqual(['ap-south', 'eu-west', 'us-east'])
    await a.set('news', 'fresh')
    await waitFor(() => late.get('news') === 'fresh', 'late joiner received a new write')
  })

  it('keyspaces replicate independently and only to nodes that opened them', async () => {
    const a = await mesh.start('us-east')
    const b = await mesh.start('eu-west')
    const c = await mesh.start('eu-west')
    a.keyspace('sessions')
    b.keyspace('sessions')
    await waitFor(() => meshOf(a).admin.subscribers('sessions') === 1, 'b opened sessions')
    await mesh.ready(['default'])
    await a.keyspace('sessions').set('s1', 'tok')
    await a.set('d1', 'x')
    await waitFor(
      () => b.keyspace('sessions').get('s1') === 'tok' && c.get('d1') === 'x',
      'both keyspaces replicated',
    )
    expect(c.keyspaces().has('sessions')).toBe(false)
    expect(meshOf(c).counters.recordsIn).toBe(1)
  })

  it('close() flushes pending writes and stops quickly', async () => {
    const a = await mesh.start('us-east', {
      mesh: { flushDelayMs: 10_000, minFlushIntervalMs: 10_000 },
    })
    const b = await mesh.start('eu-west')
    await mesh.ready()
    await a.set('last-words', 'sent on close') // would wait 10 s for its batch
    const t0 = Date.now()
    await a.close()
    expect(Date.now() - t0).toBeLessThan(5_000)
    await waitFor(
      () => b.get('last-words') === 'sent on close',
      'the pending batch was flushed on close',
    )
  })
})

describe('waitForPeers', () => {
  const m = new TestMesh()
  afterEach(() => m.closeAll())

  it('resolves once connected, times out with a typed error, and refuses embedded caches', async () => {
    const a = await m.start('us-east')
    await expect(a.waitForPeers(1, 200)).rejects.toThrow(TimeoutError)
    const b = await m.start('eu-west')
    await a.waitForPeers(1)
    await b.waitForPeers(1)
    const embedded = await createCache()
    await expect(embedded.waitForPeers()).rejects.toThrow(InvalidOptionError)
    await embedded.close()
  })
})
