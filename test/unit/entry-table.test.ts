import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { HybridClock } from '../../src/clock/hlc.js'
import type { KeyspaceReplica } from '../../src/replica/keyspace-replica.js'
import { ReplicaRegistry } from '../../src/replica/replica-registry.js'
import type { EntryTuple } from '../../src/replication/entry-tuple.js'
import { encodeValue } from '../../src/replication/value-codec.js'
import { type Entry, entrySize } from '../../src/store/entry.js'
import { EntryTable } from '../../src/store/entry-table.js'
import { versionAt } from '../../src/store/versioned-store.js'
import { VersionIndex } from '../../src/sync/version-index.js'
import { wallClock } from '../helpers/clock.js'
import { RefReplica } from './entry-table-reference.js'

const NOW = 1_700_000_000_000
const MAX_TTL = 10_000
const KEYS = ['a', 'b', 'c', 'd', 'e', 'f', 'g']

/** A replica on node A whose wall clock the test moves, and the reference model beside it. */
function pair(maxEntries: number, maxIndexKeys = 1_000) {
  const time = { t: NOW }
  const hlc = new HybridClock({ node: 'A', maxDrift: 60_000, physical: () => time.t })
  const registry = new ReplicaRegistry({
    hlc,
    clock: wallClock(() => time.t),
    defaults: { maxEntries, maxIndexKeys, maxTtl: MAX_TTL, defaultTtl: 1_000 },
  })
  const replica = registry.open<unknown>('ks', {})
  const ref = new RefReplica(maxEntries, maxIndexKeys, MAX_TTL)
  return { time, clock: hlc, replica, ref }
}

/**
 * A remote write is a function of its version, as in a mesh (one version, one write):
 * its kind (value, tombstone, version only), value and TTL follow from (wall, logical, node).
 */
function remoteTuple(key: string, wall: number, logical: number, node: string): EntryTuple {
  const h = (wall * 31 + logical * 7 + node.charCodeAt(0)) >>> 0
  const kind = (h % 5 === 0 ? 1 : h % 7 === 0 ? 2 : 0) as 0 | 1 | 2
  const expiresAt = wall + 1 + (h % (MAX_TTL + 2_000))
  const value = kind === 0 ? encodeValue(key, `${wall}.${logical}.${node}`) : null
  return [key, wall, logical, node, expiresAt, kind, value]
}

type Op =
  | { op: 'set'; key: string; ttl: number }
  | { op: 'delete'; key: string }
  | { op: 'remote'; key: string; back: number; logical: number; node: string }
  | { op: 'get'; key: string }
  | { op: 'advance'; ms: number }
  | { op: 'sweep' }

const keyArb = fc.constantFrom(...KEYS)
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    op: fc.constant('set' as const),
    key: keyArb,
    ttl: fc.integer({ min: 1, max: 8_000 }),
  }),
  fc.record({ op: fc.constant('delete' as const), key: keyArb }),
  fc.record({
    op: fc.constant('remote' as const),
    key: keyArb,
    back: fc.integer({ min: -500, max: 12_000 }),
    logical: fc.integer({ min: 0, max: 2 }),
    node: fc.constantFrom('B', 'C'),
  }),
  fc.record({ op: fc.constant('get' as const), key: keyArb }),
  fc.record({ op: fc.constant('advance' as const), ms: fc.integer({ min: 1, max: 6_000 }) }),
  fc.record({ op: fc.constant('sweep' as const) }),
)

/** One full pass of the incremental sweep in steps of `budget` keys. */
function sweepPass(replica: KeyspaceReplica<unknown>, budget: number, now: number): void {
  while (!replica.table.sweep(budget, now)[1]);
}

/** What a replica holds, observably: resident entries in LRU order, known versions, digest. */
function observe(replica: KeyspaceReplica<unknown> | RefReplica, values = true, now = NOW) {
  const resident =
    values || replica instanceof RefReplica
      ? [...replica.store.entries()].map(([k, e]) => [
          k,
          values ? e.value : undefined,
          { ...e.version },
          e.expiresAt,
          e.tombstone,
        ])
      : // Straight from the table: no value is decoded by looking.
        replica.table
          .residentSlots()
          .map((s) => [
            replica.table.keys[s],
            undefined,
            versionAt(replica.table, s),
            replica.table.expiryOf(s),
            replica.table.isTombstone(s),
          ])
  const known = [...replica.index.iterate()]
    .map(([k, e]) => [k, { ...e.version }, e.expiresAt, e.tombstone] as const)
    .sort(([a], [b]) => (a < b ? -1 : 1))
  // Only a resident entry holds bytes (a dropped one released them).
  const bytesHeldByResidentsOnly =
    replica instanceof RefReplica ||
    [...replica.table.knownSlots()].every(
      (s) => !replica.table.isEncoded(s) || replica.table.isResident(s),
    )
  // The keys a sync session would compare under some nodes of levels 0-2 (retained ones).
  const under = (
    [
      [0, [0]],
      [1, [0, 3, 7, 15]],
      [2, [1, 17, 100, 255]],
    ] as const
  ).map(([level, nodes]) =>
    replica.index
      .keysUnder(level, new Set(nodes), now)
      .map(([k, e]) => [k, { ...e.version }, e.expiresAt, e.tombstone] as const)
      .sort(([a], [b]) => (a < b ? -1 : 1)),
  )
  return {
    resident,
    known,
    under,
    bytesHeldByResidentsOnly,
    digest: replica.index.tree.digest(0, 0),
    tombstones: replica.store.tombstones,
    bytes: replica.store.bytes,
  }
}

describe('the entry table behaves as the old store + index (reference model)', () => {
  it('get answers, resident entries, known versions and the digest root agree (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.array(opArb, { maxLength: 150 }),
        // Reading every value after each step decodes what was received at once; without
        // it, received values stay bytes until a `get` (the lazy path).
        fc.boolean(),
        (maxEntries, ops, values) => {
          const { time, clock, replica, ref } = pair(maxEntries)
          for (const o of ops) {
            const now = time.t
            switch (o.op) {
              case 'set':
              case 'delete': {
                const version = clock.now(now)
                const tomb = o.op === 'delete'
                const value = tomb ? undefined : `${version.wall}.${version.logical}`
                const entry: Entry = {
                  value,
                  version,
                  expiresAt: now + (o.op === 'set' ? o.ttl : MAX_TTL),
                  tombstone: tomb,
                  size: entrySize(o.key, tomb ? 0 : 12),
                }
                replica.writeLocal(o.key, entry, now)
                ref.writeLocal(o.key, entry, now)
                break
              }
              case 'remote': {
                const t = remoteTuple(o.key, now - o.back, o.logical, o.node)
                const outcome = replica.admitRemote(t, 'r')
                expect(outcome).toBe(ref.admitRemote(t, now))
                break
              }
              case 'get':
                expect(replica.readValue(o.key, now)).toEqual(ref.store.get(o.key, now)?.value)
                break
              case 'advance':
                time.t += o.ms
                break
              case 'sweep':
                sweepPass(replica, 3, now)
                ref.sweepPass(now)
                break
            }
            expect(observe(replica, values, time.t)).toEqual(observe(ref, values, time.t))
          }
        },
      ),
      { numRuns: Number(process.env.PROPERTY_RUNS ?? 300) },
    )
  })

  it("an evicted key's version still beats an older remote write", () => {
    const { time, clock, replica } = pair(1)
    const older = remoteTuple('k', NOW - 10, 0, 'B')
    older[5] = 0
    older[6] = encodeValue('k', 'old')
    older[4] = NOW + 5_000
    const v = clock.now(time.t)
    replica.writeLocal(
      'k',
      { value: 'new', version: v, expiresAt: NOW + 5_000, tombstone: false, size: 50 },
      time.t,
    )
    replica.writeLocal(
      'other',
      {
        value: 'x',
        version: clock.now(time.t),
        expiresAt: NOW + 5_000,
        tombstone: false,
        size: 50,
      },
      time.t,
    )
    expect(replica.store.peek('k')).toBeUndefined() // evicted
    expect(replica.index.get('k')?.version).toEqual(v)
    expect(replica.admitRemote(older, 'r')).toBe('stale')
    expect(replica.readValue('k', time.t)).toBeUndefined()
  })

  it('a tombstone outlives every value it shadows, through evictions and sweeps (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: MAX_TTL }), // how much older the shadowed write is
        fc.integer({ min: 1, max: MAX_TTL }), // its TTL
        fc.integer({ min: 0, max: 3 * MAX_TTL }), // when it arrives, after the delete
        fc.boolean(), // the tombstone is evicted before
        (older, ttl, arrival, evicted) => {
          const { time, clock, replica } = pair(1)
          const del = clock.now(time.t)
          replica.writeLocal(
            'k',
            {
              value: undefined,
              version: del,
              expiresAt: time.t + MAX_TTL,
              tombstone: true,
              size: entrySize('k', 0),
            },
            time.t,
          )
          if (evicted) {
            const e = { value: 1, version: clock.now(time.t), expiresAt: time.t + 1, size: 50 }
            replica.writeLocal('x', { ...e, tombstone: false }, time.t)
          }
          const wall = del.wall - older
          time.t += arrival
          sweepPass(replica, 2, time.t)
          const shadowed: EntryTuple = [
            'k',
            wall,
            0,
            'B',
            wall + ttl,
            0,
            encodeValue('k', 'resurrected'),
          ]
          const outcome = replica.admitRemote(shadowed, 'r')
          expect(['stale', 'expired']).toContain(outcome)
          expect(replica.readValue('k', time.t)).toBeUndefined()
        },
      ),
      { numRuns: Number(process.env.PROPERTY_RUNS ?? 300) },
    )
  })
})

describe('EntryTable bounds', () => {
  it('resident keys always keep their version; versions of the others stay within maxKeys (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 12 }),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 30 }), fc.boolean()), { maxLength: 120 }),
        (maxEntries, maxKeys, writes) => {
          const table = new EntryTable<number>({
            maxEntries,
            maxBytes: Number.POSITIVE_INFINITY,
            maxKeys,
            retainMs: 1e12,
          })
          const index = new VersionIndex(maxKeys, 1e12, 2, table as EntryTable<unknown>)
          writes.forEach(([k, versionOnly], i) => {
            if (versionOnly) table.recordVersion(`k${k}`, i, 0, 'n', 1e15, false)
            else table.merge(`k${k}`, i, 0, 'n', 1e15, false, i, 10, undefined, 0)
            expect(table.residentCount).toBeLessThanOrEqual(maxEntries)
            expect(table.keyCount).toBeLessThanOrEqual(Math.max(maxEntries, maxKeys))
            for (const s of table.residentSlots()) expect(index.get(table.keys[s]!)).toBeDefined()
          })
          // The digest is the XOR over what is known, whatever was forgotten on the way.
          const fresh = new VersionIndex(1_000, 1e12, 2)
          for (const [k, e] of index.iterate()) fresh.record(k, e.version, e.expiresAt, e.tombstone)
          expect(index.tree.digest(0, 0)).toEqual(fresh.tree.digest(0, 0))
        },
      ),
    )
  })

  it('a digest tree built on first use equals one kept in step from the start (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 20 }), fc.integer({ min: 0, max: 3 })), {
          maxLength: 100,
        }),
        (writes) => {
          const make = () => {
            const table = new EntryTable<number>({
              maxEntries: 3,
              maxBytes: Number.POSITIVE_INFINITY,
              maxKeys: 8,
              retainMs: 50,
            })
            return { table, index: new VersionIndex(8, 50, 2, table as EntryTable<unknown>) }
          }
          const eager = make()
          void eager.index.tree
          const lazy = make()
          writes.forEach(([k, kind], i) => {
            for (const { table } of [eager, lazy]) {
              if (kind === 0) table.recordVersion(`k${k}`, i, 0, 'n', i + 10, false)
              else if (kind === 3) table.purge(i)
              else
                table.merge(
                  `k${k}`,
                  i,
                  0,
                  kind === 1 ? 'n' : 'm',
                  i + 10,
                  false,
                  i,
                  9,
                  undefined,
                  0,
                )
            }
          })
          expect(lazy.index.tree.digest(0, 0)).toEqual(eager.index.tree.digest(0, 0))
          lazy.table.merge('k1', 1e6, 0, 'n', 2e6, true, undefined, 9, undefined, 0)
          eager.table.merge('k1', 1e6, 0, 'n', 2e6, true, undefined, 9, undefined, 0)
          expect(lazy.index.tree.digest(1, 3)).toEqual(eager.index.tree.digest(1, 3))
          expect(lazy.index.tree.digest(0, 0)).toEqual(eager.index.tree.digest(0, 0))
        },
      ),
    )
  })

  it('forgetting everything returns the digest to zero and the columns to empty', () => {
    const table = new EntryTable({ maxEntries: 3, maxBytes: 1_000, maxKeys: 5, retainMs: 100 })
    const index = new VersionIndex(5, 100, 2, table as EntryTable<unknown>)
    for (let i = 0; i < 20; i++)
      table.merge(`k${i % 7}`, i, 0, 'n', 50, i % 3 === 0, i, 60, undefined, 0)
    expect(table.bytes).toBeLessThanOrEqual(1_000)
    table.purge(1_000)
    expect(table.keyCount).toBe(0)
    expect(table.residentCount).toBe(0)
    expect(table.bytes).toBe(0)
    expect(table.tombstones).toBe(0)
    expect(index.tree.digest(0, 0)).toEqual([0, 0])
  })
})
