import fc from 'fast-check'
import { afterEach, describe, expect, it, vi } from 'vitest'
import type { Cache } from '../../src/api/cache.js'
import { compareVersions, type Version } from '../../src/clock/version.js'
import { createCache } from '../../src/node/create-cache.js'
import { replicaOf } from '../../src/node/internals.js'
import { tupleOf } from '../../src/replication/entry-tuple.js'
import { msgpack } from '../../src/replication/value-codec.js'
import { DigestTree } from '../../src/sync/digest-tree.js'
import { reconcile, respond, type SyncRoundResult, window } from '../../src/sync/reconcile.js'
import type { SyncRequest, SyncResponse } from '../../src/sync/sync-messages.js'
import { parseSyncRequest } from '../../src/sync/sync-messages.js'
import { VersionIndex } from '../../src/sync/version-index.js'

const LIMITS = { maxKeyLength: 1024, maxNameLength: 128, maxValueBytes: 1 << 20, maxItems: 100_000 }

afterEach(() => {
  vi.useRealTimers()
})

/** The replica of keyspace `ks` of a cache. */
const rep = (c: Cache<unknown>, ks = 'default') => replicaOf(c, ks)!

/** Copies `key` from one cache to another through the admission path, as a replica would. */
function copy(from: Cache<unknown>, to: Cache<unknown>, key: string): void {
  rep(to).admitRemote(tupleOf(key, rep(from).store.peek(key)!), 'test')
}

/** Runs one session from a to b through msgpack, as the wire would; counts bytes. */
async function session(
  a: Cache<unknown>,
  b: Cache<unknown>,
  ks = 'default',
  maxEntries?: number,
  responderMaxEntries = maxEntries,
) {
  a.keyspace(ks)
  b.keyspace(ks)
  const ra = rep(a, ks).syncView('test')
  const rb = rep(b, ks).syncView('test')
  let bytes = 0
  const call = async (req: SyncRequest): Promise<SyncResponse> => {
    const wireReq = msgpack.pack(req)
    bytes += wireReq.length
    const res = respond(rb, parseSyncRequest(msgpack.unpack(wireReq), LIMITS), responderMaxEntries)
    const wireRes = msgpack.pack(res)
    bytes += wireRes.length
    return msgpack.unpack(wireRes) as SyncResponse
  }
  const result: SyncRoundResult = await reconcile(ra, ks, call, maxEntries)
  for (const c of [a, b]) expect(Object.values(c.stats().rejected).every((n) => n === 0)).toBe(true)
  return { ...result, bytes }
}

async function converge(nodes: Cache<unknown>[], ks = 'default'): Promise<number> {
  for (let pass = 0; pass < 10; pass++) {
    let allEqual = true
    for (let i = 0; i < nodes.length; i++) {
      for (let j = 0; j < nodes.length; j++) {
        if (i === j) continue
        const r = await session(nodes[i]!, nodes[j]!, ks)
        if (!r.equal) allEqual = false
      }
    }
    if (allEqual) return pass
  }
  throw new Error('no convergence in 10 passes')
}

describe('DigestTree and VersionIndex', () => {
  it('digests do not depend on the order of writes (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.string({ minLength: 1, maxLength: 6 }), fc.nat(1000)), {
          maxLength: 60,
        }),
        (writes) => {
          const a = new VersionIndex(10_000, 1e15, 3)
          const b = new VersionIndex(10_000, 1e15, 3)
          const vs = writes.map(
            ([k, w], i) => [k, { wall: w, logical: i, node: 'n' }] as [string, Version],
          )
          for (const [k, v] of vs) a.record(k, v, 1e15, false)
          for (const [k, v] of [...vs].reverse()) b.record(k, v, 1e15, false)
          expect(a.tree.digest(0, 0)).toEqual(b.tree.digest(0, 0))
          expect(a.size).toBe(b.size)
        },
      ),
    )
  })

  it('forgetting a key restores the digest it had before', () => {
    const idx = new VersionIndex(100, 1e15, 2)
    idx.record('a', { wall: 1, logical: 0, node: 'n' }, 1e15, false)
    const before = idx.tree.digest(0, 0)
    idx.record('b', { wall: 2, logical: 0, node: 'n' }, 1e15, true)
    expect(idx.tree.digest(0, 0)).not.toEqual(before)
    idx.forget('b')
    expect(idx.tree.digest(0, 0)).toEqual(before)
  })

  it('stays within maxKeys by forgetting the first-recorded keys', () => {
    const idx = new VersionIndex(3, 1e15, 2)
    for (const [i, k] of ['a', 'b', 'c', 'd'].entries())
      idx.record(k, { wall: i, logical: 0, node: 'n' }, 1e15, false)
    expect(idx.size).toBe(3)
    expect(idx.get('a')).toBeUndefined()
  })

  it('chooses depth from the key budget', () => {
    expect(DigestTree.depthFor(100)).toBe(2)
    expect(DigestTree.depthFor(200_000)).toBe(4)
    expect(DigestTree.depthFor(10_000_000)).toBe(5)
  })
})

describe('window', () => {
  it('keeps min(size, all) distinct nodes of the list, ascending (property)', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.nat(70_000), { maxLength: 200 }),
        fc.integer({ min: 1, max: 300 }),
        (nodes, size) => {
          const kept = window(nodes, size)
          expect(kept.length).toBe(Math.min(size, nodes.length))
          expect(new Set(kept).size).toBe(kept.length)
          for (const n of kept) expect(nodes).toContain(n)
          for (let i = 1; i < kept.length; i++) expect(kept[i]! > kept[i - 1]!).toBe(true)
        },
      ),
    )
  })
})

describe('anti-entropy reconciliation', () => {
  it('identical replicas cost one round trip', async () => {
    const a = await createCache({ nodeId: 'A' })
    const b = await createCache({ nodeId: 'B' })
    for (let i = 0; i < 500; i++) {
      await a.set(`k${i}`, i)
      copy(a, b, `k${i}`)
    }
    const r = await session(a, b)
    expect(r).toMatchObject({ equal: true, roundTrips: 1 })
    await Promise.all([a.close(), b.close()])
  })

  it('repairs a one-sided difference in a few round trips, whatever its size', async () => {
    const a = await createCache({ nodeId: 'A', maxEntries: 50_000 })
    const b = await createCache({ nodeId: 'B', maxEntries: 50_000 })
    for (let i = 0; i < 20_000; i++) {
      await a.set(`k${i}`, { i })
      if (i % 100 !== 0) copy(a, b, `k${i}`)
    }
    const r = await session(b, a)
    expect(r.equal).toBe(false)
    expect(r.pulled).toBe(200)
    expect(r.roundTrips).toBeLessThanOrEqual(DigestTree.depthFor(100_000) + 2)
    expect((await session(b, a)).equal).toBe(true)
    expect(b.get('k100')).toEqual({ i: 100 })
    await Promise.all([a.close(), b.close()])
  })

  it('a gap wider than a session moves is taken a window of leaves at a time, each session sending no more summaries than it needs', async () => {
    // 12,000 keys under 4,096 leaves (depth 3), half of them only on a: ~3,100 differing
    // leaves holding ~4,600 of b's keys; 500 entries per session.
    const opts = { maxEntries: 20_000, maxIndexKeys: 16_000 }
    const a = await createCache({ ...opts, nodeId: 'A' })
    const b = await createCache({ ...opts, nodeId: 'B' })
    try {
      for (let i = 0; i < 12_000; i++) {
        await a.set(`k${i}`, { i })
        if (i % 2 !== 0) copy(a, b, `k${i}`)
      }
      // A responder that would answer more than 500 entries: the window alone says more.
      const wide = await session(b, a, 'default', 500, 1_000_000)
      expect(wide.differingLeaves).toBeGreaterThan(2_500)
      expect(wide.more).toBe(true)
      expect(wide.pulled).toBeGreaterThanOrEqual(500)
      expect(wide.pulled).toBeLessThan(6_000)
      const first = await session(b, a, 'default', 500)
      expect(first.differingLeaves).toBeGreaterThan(2_000)
      expect(first.more).toBe(true)
      expect(first.pulled).toBeGreaterThanOrEqual(500)
      // b's summaries cover the keys under a window of 500 leaves (~730 keys), not under
      // every differing leaf (~4,600 keys, ~150 KB in all).
      expect(first.bytes).toBeLessThan(100_000)
      let sessions = 1
      while (!(await session(b, a, 'default', 500)).equal) {
        sessions++
        expect(sessions).toBeLessThan(40)
      }
      for (let i = 0; i < 12_000; i += 2) expect(b.get(`k${i}`)).toEqual({ i })
    } finally {
      await Promise.all([a.close(), b.close()])
    }
  })

  it('replicas converge after random writes, deletes, expiries and message loss (property)', async () => {
    const opArb = fc.record({
      node: fc.nat(2),
      del: fc.boolean(),
      key: fc.constantFrom('a', 'b', 'c', 'd', 'e'),
      ttl: fc.constantFrom(50, 1_000, 60_000),
      deliver: fc.nat(3), // bitmask over the two other replicas
      advance: fc.constantFrom(0, 0, 0, 30, 700),
    })
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { maxLength: 30 }), async (ops) => {
        vi.useFakeTimers({ now: 1_000_000, toFake: ['Date'] })
        const nodes = await Promise.all(['A', 'B', 'C'].map((id) => createCache({ nodeId: id })))
        const writes: { key: string; version: Version; del: boolean; expiresAt: number }[] = []
        try {
          for (const op of ops) {
            const src = nodes[op.node]!
            if (op.del) await src.delete(op.key)
            else await src.set(op.key, `${op.node}:${writes.length}`, { ttl: op.ttl })
            const entry = rep(src).store.peek(op.key)!
            writes.push({
              key: op.key,
              version: entry.version,
              del: op.del,
              expiresAt: entry.expiresAt,
            })
            const others = nodes.filter((_, i) => i !== op.node)
            others.forEach((o, i) => {
              if (op.deliver & (1 << i)) rep(o).admitRemote(tupleOf(op.key, entry), 'test')
            })
            if (op.advance > 0) vi.setSystemTime(Date.now() + op.advance)
          }
          await converge(nodes)
          await Promise.resolve()
          const now = Date.now()
          for (const key of ['a', 'b', 'c', 'd', 'e']) {
            const newest = writes
              .filter((w) => w.key === key)
              .sort((x, y) => compareVersions(y.version, x.version))[0]
            const values = nodes.map((n) => n.get(key))
            expect(new Set(values.map((v) => JSON.stringify(v))).size).toBe(1)
            if (newest === undefined || newest.del || newest.expiresAt <= now) {
              // No deleted key comes back, and no older value shows through an expired newer one.
              expect(values[0]).toBeUndefined()
            } else {
              expect(nodes[0]!.keyspace('default').entry(key)!.version).toEqual(newest.version)
            }
          }
        } finally {
          await Promise.all(nodes.map((n) => n.close()))
          vi.useRealTimers()
        }
      }),
      { numRuns: 60 },
    )
  })

  it('a replica that evicted a value still teaches the newer version, so no older copy is served', async () => {
    const a = await createCache({ nodeId: 'A', maxEntries: 1 })
    const b = await createCache({ nodeId: 'B' })
    await b.set('k', 'old')
    copy(b, a, 'k')
    await a.set('k', 'new')
    await a.set('other', 1) // evicts k from a's LRU; the index keeps its version
    expect(rep(a).store.peek('k')).toBeUndefined()
    await converge([a, b])
    expect(b.get('k')).toBeUndefined()
    expect(rep(b).index.get('k')!.version.node).toBe('A')
    await Promise.all([a.close(), b.close()])
  })
})
