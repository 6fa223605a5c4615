import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { Cache } from '../../src/api/cache.js'
import { createCache } from '../../src/node/create-cache.js'
import { replicaOf } from '../../src/node/internals.js'
import { tupleOf } from '../../src/replication/entry-tuple.js'
import { msgpack } from '../../src/replication/value-codec.js'
import { hashKey } from '../../src/sync/hash.js'
import { fitLeaves, reconcile, respond } from '../../src/sync/reconcile.js'
import {
  budgetFor,
  entryBytes,
  type SyncBudget,
  summaryBytes,
  tupleBytes,
} from '../../src/sync/sync-budget.js'
import type { SyncRequest, SyncResponse } from '../../src/sync/sync-messages.js'
import { parseSyncRequest } from '../../src/sync/sync-messages.js'
import type { IndexEntry } from '../../src/sync/version-index.js'

const LIMITS = { maxKeyLength: 1024, maxNameLength: 128, maxValueBytes: 1 << 20, maxItems: 100_000 }

/** A small budget, so that a few dozen values of a few KB need several sessions. */
const BUDGET: SyncBudget = { maxBytes: 8_192, maxEntryBytes: 12_288 }

/** What a message carries besides its items: type, keyspace, flags, array headers. */
const FIELDS = 64

const rep = (c: Cache<unknown>) => replicaOf(c, 'default')!

/** Every message of the sessions run, as packed for the wire. */
interface Wire {
  diffs: Extract<SyncResponse, { t: 'diff' }>[]
  pushes: Extract<SyncRequest, { t: 'push' }>[]
  frames: { t: string; bytes: number; single: boolean }[]
}

/** One session from `a` to `b` through msgpack, both sides with `budget`; records every frame. */
async function session(a: Cache<unknown>, b: Cache<unknown>, budget: SyncBudget, wire: Wire) {
  const ra = rep(a).syncView('test')
  const rb = rep(b).syncView('test')
  const call = async (req: SyncRequest): Promise<SyncResponse> => {
    const wireReq = msgpack.pack(req)
    if (req.t === 'push') {
      wire.pushes.push(req)
      wire.frames.push({ t: 'push', bytes: wireReq.length, single: req.entries.length === 1 })
    }
    const res = respond(rb, parseSyncRequest(msgpack.unpack(wireReq), LIMITS), 5_000, budget)
    const wireRes = msgpack.pack(res)
    if (res.t === 'diff') {
      wire.diffs.push(res)
      const single = res.entries.length === 1 && res.want.length === 0
      wire.frames.push({ t: 'diff', bytes: wireRes.length, single })
    }
    return msgpack.unpack(wireRes) as SyncResponse
  }
  return reconcile(ra, 'default', call, 5_000, budget)
}

/** Sessions both ways until both find the roots equal. @returns sessions run */
async function converge(a: Cache<unknown>, b: Cache<unknown>, budget: SyncBudget, wire: Wire) {
  for (let n = 1; n <= 400; n++) {
    const ab = await session(a, b, budget, wire)
    const ba = await session(b, a, budget, wire)
    if (ab.equal && ba.equal) return n
  }
  throw new Error('no convergence in 400 rounds')
}

/** Checks the rule for every frame: within the budget, unless it carries a single entry. */
function expectWithinBudget(wire: Wire, budget: SyncBudget): void {
  for (const f of wire.frames) {
    if (f.single) expect(f.bytes).toBeLessThanOrEqual(budget.maxEntryBytes + FIELDS)
    else expect(f.bytes).toBeLessThanOrEqual(budget.maxBytes + FIELDS)
  }
}

/**
 * Caches with a byte bound encode every write and count its exact size, as mesh nodes do;
 * without one, sizes are upper bounds (the estimate then stops a message early).
 */
const EXACT = { maxBytes: 1_000_000_000 }

const value = (i: number, length: number) => `${i}:`.padEnd(Math.max(2, length), 'v')

describe('the sync byte budget', () => {
  it('every answer and push stays within the budget unless it carries a single entry, and repeated sessions converge to the full set (property)', async () => {
    // Per key: its value's length, and where it is: on a only, on b only, on both (a's
    // copy newer), or on both alike.
    const keyArb = fc.record({
      length: fc.oneof(fc.nat(600), fc.integer({ min: 600, max: 11_000 })),
      where: fc.constantFrom('a', 'b', 'newer-on-a', 'same'),
    })
    await fc.assert(
      fc.asyncProperty(fc.array(keyArb, { maxLength: 40 }), fc.boolean(), async (keys, exact) => {
        const options = exact ? EXACT : {}
        const a = await createCache({ ...options, nodeId: 'A' })
        const b = await createCache({ ...options, nodeId: 'B' })
        const wire: Wire = { diffs: [], pushes: [], frames: [] }
        try {
          for (const [i, k] of keys.entries()) {
            const key = `k${i}`
            if (k.where === 'b') {
              await b.set(key, value(i, k.length))
            } else if (k.where === 'newer-on-a') {
              await b.set(key, 'old')
              // a has seen b's write: its own is newer.
              rep(a).admitRemote(tupleOf(key, rep(b).store.peek(key)!), 't')
              await a.set(key, value(i, k.length))
            } else {
              await a.set(key, value(i, k.length))
              if (k.where === 'same') rep(b).admitRemote(tupleOf(key, rep(a).store.peek(key)!), 't')
            }
          }
          await converge(a, b, BUDGET, wire)
          expectWithinBudget(wire, BUDGET)
          for (const [i, k] of keys.entries()) {
            expect(a.get(`k${i}`)).toBe(value(i, k.length))
            expect(b.get(`k${i}`)).toBe(value(i, k.length))
          }
        } finally {
          await Promise.all([a.close(), b.close()])
        }
      }),
      { numRuns: 40 },
    )
  })

  it('a gap of many budgets is pulled a budget at a time, each session saying more', async () => {
    const a = await createCache({ ...EXACT, nodeId: 'A' })
    const b = await createCache({ ...EXACT, nodeId: 'B' })
    const wire: Wire = { diffs: [], pushes: [], frames: [] }
    try {
      for (let i = 0; i < 60; i++) await a.set(`k${i}`, value(i, 1_000))
      const first = await session(b, a, BUDGET, wire)
      expect(first.more).toBe(true)
      expect(first.pulled).toBeGreaterThanOrEqual(6)
      expect(first.pulled).toBeLessThanOrEqual(8)
      let sessions = 1
      while (!(await session(b, a, BUDGET, wire)).equal) sessions++
      expect(sessions).toBeGreaterThanOrEqual(7)
      expect(wire.diffs.reduce((n, d) => n + d.entries.length, 0)).toBe(60)
      expectWithinBudget(wire, BUDGET)
    } finally {
      await Promise.all([a.close(), b.close()])
    }
  })

  it('an entry over the budget goes alone; one over maxEntryBytes goes as its version alone', async () => {
    const a = await createCache({ ...EXACT, nodeId: 'A' })
    const b = await createCache({ ...EXACT, nodeId: 'B' })
    const wire: Wire = { diffs: [], pushes: [], frames: [] }
    try {
      await a.set('big', value(0, 10_000)) // over maxBytes, under maxEntryBytes
      await a.set('huge', value(1, 20_000)) // over maxEntryBytes
      await a.set('small', 1)
      await converge(b, a, BUDGET, wire)
      expectWithinBudget(wire, BUDGET)
      // Pulled or pushed, whichever session got there first.
      const messages = [...wire.diffs, ...wire.pushes].map((m) => m.entries)
      const sent = messages.flat()
      const big = sent.find((e) => e[0] === 'big')!
      expect(big[5]).toBe(0)
      expect(messages.find((m) => m.includes(big))).toHaveLength(1)
      expect(sent.find((e) => e[0] === 'huge')![5]).toBe(2)
      expect(b.get('big')).toBe(value(0, 10_000))
      expect(b.get('small')).toBe(1)
      // The version alone: b knows 'huge' was written, holds no value for it.
      expect(rep(b).index.get('huge')!.version).toEqual(rep(a).index.get('huge')!.version)
      expect(b.get('huge')).toBeUndefined()
    } finally {
      await Promise.all([a.close(), b.close()])
    }
  })

  it('a push of what the peer wants stays within the budget too', async () => {
    const a = await createCache({ ...EXACT, nodeId: 'A' })
    const b = await createCache({ ...EXACT, nodeId: 'B' })
    const wire: Wire = { diffs: [], pushes: [], frames: [] }
    try {
      for (let i = 0; i < 40; i++) await a.set(`k${i}`, value(i, 1_500))
      // a initiates: b wants everything, a pushes it over several sessions.
      let sessions = 0
      while (!(await session(a, b, BUDGET, wire)).equal) sessions++
      expect(wire.pushes.length).toBeGreaterThanOrEqual(6)
      expect(wire.pushes.reduce((n, p) => n + p.entries.length, 0)).toBe(40)
      expect(sessions).toBe(wire.pushes.length)
      expectWithinBudget(wire, BUDGET)
      for (let i = 0; i < 40; i++) expect(b.get(`k${i}`)).toBe(value(i, 1_500))
    } finally {
      await Promise.all([a.close(), b.close()])
    }
  })

  it('the size estimates bound the encoding (property)', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 40, unit: 'binary' }),
        fc.string({ minLength: 1, maxLength: 60 }),
        fc.nat(70_000),
        fc.nat(2 ** 40),
        (key, node, length, wall) => {
          const tuple = [key, wall, 7, node, wall + 1, 0, new Uint8Array(length)] as const
          const packed = msgpack.pack(tuple).length
          expect(entryBytes(key, node, length)).toBeGreaterThanOrEqual(packed)
          expect(tupleBytes([...tuple] as never)).toBe(entryBytes(key, node, length))
          expect(summaryBytes(key)).toBeGreaterThanOrEqual(msgpack.pack([key, wall, 7, 3]).length)
        },
      ),
    )
  })

  it('summaries over the budget are cut to whole leaves, one at least (property)', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.string({ minLength: 1, maxLength: 30 }), { maxLength: 300 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 50, max: 3_000 }),
        (keys, level, maxBytes) => {
          const leafOf = (k: string) => hashKey(k) >>> (32 - 4 * level)
          const indexed = keys.map((k) => [k, {} as IndexEntry] as [string, IndexEntry])
          const leaves = [...new Set(keys.map(leafOf))].sort((x, y) => x - y)
          const total = keys.reduce((n, k) => n + summaryBytes(k), 0)
          const fitted = fitLeaves(indexed, leaves, level, maxBytes)
          if (total <= maxBytes) {
            expect(fitted).toBeUndefined()
            return
          }
          const [kept, under] = fitted!
          expect(kept.length).toBeGreaterThanOrEqual(1)
          for (let i = 1; i < kept.length; i++) expect(kept[i]! > kept[i - 1]!).toBe(true)
          // Every key of a kept leaf, and nothing else.
          const keptSet = new Set(kept)
          expect(under.map(([k]) => k).sort()).toEqual(
            keys.filter((k) => keptSet.has(leafOf(k))).sort(),
          )
          const bytes = under.reduce((n, [k]) => n + summaryBytes(k), 0)
          if (kept.length > 1) expect(bytes).toBeLessThanOrEqual(maxBytes)
        },
      ),
    )
  })

  it('the budget of a 4 MiB frame holds any single entry the default wire limits allow', () => {
    const budget = budgetFor(4 * 1_048_576)
    const key = '\u4e00'.repeat(1024) // 3 bytes a character in UTF-8
    const node = 'n'.repeat(128)
    expect(entryBytes(key, node, 1_048_576)).toBeLessThan(budget.maxBytes)
    expect(budget.maxBytes).toBe(3 * 1_048_576)
    expect(budget.maxEntryBytes).toBeLessThan(4 * 1_048_576)
  })
})
