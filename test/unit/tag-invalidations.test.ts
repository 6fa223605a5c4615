import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { HybridClock } from '../../src/clock/hlc.js'
import { compareVersions, type Version } from '../../src/clock/version.js'
import type { ResolvedKeyspaceOptions } from '../../src/replica/keyspace-options.js'
import type { KeyspaceReplica } from '../../src/replica/keyspace-replica.js'
import { KeyspaceCounters } from '../../src/replica/keyspace-stats.js'
import { RemoteAdmission } from '../../src/replica/remote-admission.js'
import { ReplicaRegistry } from '../../src/replica/replica-registry.js'
import { CLEAR_KEY, TagInvalidations, tagKey } from '../../src/replica/tag-invalidations.js'
import { type EntryTuple, tupleOf } from '../../src/replication/entry-tuple.js'
import { decodeUntagged, encodeStored } from '../../src/replication/value-codec.js'
import { entrySize } from '../../src/store/entry.js'
import { EntryTable } from '../../src/store/entry-table.js'
import { VersionedStore } from '../../src/store/versioned-store.js'
import { wallClock } from '../helpers/clock.js'

const NOW = 1_000_000_000
const HOUR = 3_600_000
const DAY = 24 * HOUR

/** The clock of each replica the test built. */
const clocks = new Map<KeyspaceReplica, HybridClock>()

function replica(node: string): KeyspaceReplica {
  const hlc = new HybridClock({ node, maxDrift: 60_000 })
  const registry = new ReplicaRegistry({
    hlc,
    clock: wallClock(() => NOW),
    defaults: { maxTtl: '1d' },
  })
  const r = registry.open('ks')
  clocks.set(r, hlc)
  return r
}

const clockOf = (r: KeyspaceReplica) => ({ now: () => clocks.get(r)!.now(NOW) })

/** A local write on `r`, returned as the tuple its peers receive. */
function write(
  r: KeyspaceReplica,
  clock: { now(): { wall: number; logical: number; node: string } },
  key: string,
  value: string | undefined,
  tags?: string[],
): EntryTuple {
  const version = clock.now()
  const bytes = value === undefined ? 0 : encodeStored(key, value, tags).length
  const entry = {
    value,
    version,
    expiresAt: NOW + HOUR,
    tombstone: value === undefined,
    size: entrySize(key, bytes),
    ...(tags === undefined ? {} : { tags }),
  }
  r.writeLocal(key, entry, NOW)
  return tupleOf(key, entry)
}

const live = (r: KeyspaceReplica) =>
  ['a', 'b', 'c', 'd'].map((k) => [k, r.peek(k, NOW)?.value] as const)

describe('tag invalidations and clears', () => {
  it('every replica serves the same live keys whatever order tagged writes and invalidations arrive in (property)', () => {
    const op = fc.oneof(
      fc.record({
        t: fc.constant('set' as const),
        node: fc.nat(2),
        key: fc.constantFrom('a', 'b', 'c', 'd'),
        tags: fc.subarray(['t1', 't2', 't3']),
      }),
      fc.record({
        t: fc.constant('del' as const),
        node: fc.nat(2),
        key: fc.constantFrom('a', 'b'),
      }),
      fc.record({
        t: fc.constant('inv' as const),
        node: fc.nat(2),
        tag: fc.constantFrom('t1', 't2', 't3'),
      }),
      fc.record({ t: fc.constant('clear' as const), node: fc.nat(2) }),
    )
    fc.assert(
      fc.property(
        fc.array(op, { maxLength: 25 }),
        fc.array(fc.nat(), { minLength: 3, maxLength: 3 }),
        (ops, seeds) => {
          const replicas = ['A', 'B', 'C'].map(replica)
          const sent: { from: number; tuple: EntryTuple }[] = []
          let n = 0
          for (const o of ops) {
            const r = replicas[o.node]!
            const clock = clockOf(r)
            const tuple =
              o.t === 'set'
                ? write(r, clock, o.key, `v${n++}`, o.tags.length > 0 ? o.tags : undefined)
                : o.t === 'del'
                  ? write(r, clock, o.key, undefined)
                  : o.t === 'inv'
                    ? write(r, clock, tagKey(o.tag), undefined)
                    : write(r, clock, CLEAR_KEY, undefined)
            sent.push({ from: o.node, tuple })
          }
          // Each replica receives everyone else's writes in its own shuffled order.
          replicas.forEach((r, i) => {
            const theirs = sent.filter((s) => s.from !== i)
            const order = fc.sample(fc.shuffledSubarray(theirs, { minLength: theirs.length }), {
              seed: seeds[i]!,
              numRuns: 1,
            })[0]!
            for (const s of order) r.admitRemote(s.tuple, 'test')
          })
          const views = replicas.map(live)
          expect(views[1]).toEqual(views[0])
          expect(views[2]).toEqual(views[0])
        },
      ),
      { numRuns: 300 },
    )
  })

  it('an entry older than an invalidation of its tag is never stored, even when it arrives after it', () => {
    const a = replica('A')
    const b = replica('B')
    const clockA = clockOf(a)
    const clockB = clockOf(b)
    const old = write(a, clockA, 'k', 'old', ['t'])
    b.admitRemote(old, 'r') // b's clock is now past the old write
    const inv = write(b, clockB, tagKey('t'), undefined)
    const fresh = replica('C')
    expect(fresh.admitRemote(inv, 'r')).toBe('applied')
    expect(fresh.admitRemote(old, 'r')).toBe('invalidated')
    expect(fresh.peek('k', NOW)).toBeUndefined()
    // The version is remembered: the digest agrees with a replica that dropped it.
    expect(fresh.index.get('k')?.version).toEqual(b.index.get('k')?.version)
    expect(b.peek('k', NOW)).toBeUndefined()
  })
})

/**
 * A replica's admission over a {@link TagInvalidations} with small limits: `maxTags` tag
 * invalidations, clears' passes noting `minNoted` values (the replica's own are 1,024 and
 * 64: too many for a property's short runs).
 */
function rig(maxTags: number, minNoted: number) {
  const invalidations = new TagInvalidations(DAY, maxTags, minNoted)
  const table = new EntryTable<unknown>({
    maxEntries: 10_000,
    maxBytes: Number.POSITIVE_INFINITY,
    maxKeys: 10_000,
    retainMs: DAY,
  })
  table.decodeWith(decodeUntagged)
  table.observeResidency({ untagged: (key, tags) => invalidations.removed(key, tags) })
  const store = new VersionedStore(table)
  const ctx = {
    hlc: new HybridClock({ node: 'R', maxDrift: 60_000 }),
    clock: wallClock(() => NOW),
    admits: () => true,
    reject: () => {},
    changed: () => {},
    listener: undefined,
    journal: undefined,
  }
  const parts = {
    name: 'ks',
    options: { maxTtl: DAY } as ResolvedKeyspaceOptions,
    table,
    store,
    counters: new KeyspaceCounters(),
    invalidations,
  }
  return { admission: new RemoteAdmission(parts, ctx), store, invalidations }
}

/** One record a peer sends: a write (value or delete), a tag invalidation or a clear. */
interface Sent {
  key: string
  version: Version
  expiresAt: number
  value: boolean
  tags: string[]
}

const tupleOfSent = (s: Sent): EntryTuple => {
  const { wall, logical, node } = s.version
  const bytes = s.value ? encodeStored(s.key, 'v', s.tags.length > 0 ? s.tags : undefined) : null
  return [s.key, wall, logical, node, s.expiresAt, s.value ? 0 : 1, bytes]
}

/**
 * The unbounded reference: a key serves its newest write received (a write dropped by an
 * invalidation still shadows older ones) when that is a live value and no invalidation
 * received kills it: a clear newer than it, or an invalidation of one of its tags newer
 * than it.
 */
function referenceLive(received: readonly Sent[], key: string): Sent | undefined {
  let newest: Sent | undefined
  for (const s of received) {
    if (s.key === key && (newest === undefined || compareVersions(s.version, newest.version) > 0))
      newest = s
  }
  if (newest === undefined || !newest.value) return undefined
  if (Math.min(newest.expiresAt, newest.version.wall + DAY) <= NOW) return undefined
  for (const s of received) {
    if (compareVersions(s.version, newest.version) <= 0) continue
    if (s.key === CLEAR_KEY) return undefined
    if (newest.tags.some((t) => s.key === tagKey(t))) return undefined
  }
  return newest
}

describe('bounded tag invalidations and coalesced clears answer like the unbounded reference', () => {
  const KEYS = Array.from({ length: 12 }, (_, i) => `k${i}`)
  const TAGS = ['t0', 't1', 't2', 't3', 't4', 't5']
  // Stamps mostly close together (arrivals out of stamp order), some up to two days ago
  // (past maxTtl: expired, or killing nothing).
  const age = fc.oneof(
    { weight: 5, arbitrary: fc.integer({ min: 0, max: 60 }) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 2 * DAY }) },
  )
  const op = fc.oneof(
    {
      weight: 6,
      arbitrary: fc.record({
        t: fc.constant('write' as const),
        key: fc.constantFrom(...KEYS),
        tags: fc.subarray(TAGS, { maxLength: 3 }),
        value: fc.integer({ min: 0, max: 4 }).map((n) => n > 0), // mostly values
        age,
        ttl: fc.integer({ min: 1, max: 2 * DAY }),
      }),
    },
    {
      weight: 3,
      arbitrary: fc.record({ t: fc.constant('inv' as const), tag: fc.constantFrom(...TAGS), age }),
    },
    { weight: 2, arbitrary: fc.record({ t: fc.constant('clear' as const), age }) },
  )

  it('never serves an invalidated value, never kills a newer write, and holds at most maxTags (property)', () => {
    fc.assert(
      fc.property(
        fc.array(op, { maxLength: 100 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 3 }),
        (ops, maxTags, minNoted) => {
          const { admission, store, invalidations } = rig(maxTags, minNoted)
          const received: Sent[] = []
          ops.forEach((o, i) => {
            const version = { wall: NOW - o.age, logical: i, node: `n${i % 3}` }
            const sent: Sent =
              o.t === 'write'
                ? {
                    key: o.key,
                    version,
                    expiresAt: version.wall + o.ttl,
                    value: o.value,
                    tags: o.tags,
                  }
                : {
                    key: o.t === 'clear' ? CLEAR_KEY : tagKey(o.tag),
                    version,
                    expiresAt: version.wall + DAY,
                    value: false,
                    tags: [],
                  }
            admission.admit(tupleOfSent(sent), 'r', NOW, false)
            received.push(sent)
            expect(invalidations.size).toBeLessThanOrEqual(maxTags + 2)
            const floor = invalidations.floor
            for (const key of KEYS) {
              const expected = referenceLive(received, key)
              const served = store.get(key, NOW)
              if (expected === undefined) {
                // Never serves what an invalidation killed (or what is deleted, expired).
                expect(served, key).toBeUndefined()
              } else if (served === undefined) {
                // Only the bound's cost: a tagged write older than the tag floor.
                expect(expected.tags.length, key).toBeGreaterThan(0)
                expect(floor, key).toBeDefined()
                expect(compareVersions(expected.version, floor!), key).toBeLessThan(0)
              } else {
                expect(served.version, key).toEqual(expected.version)
              }
            }
          })
          // Without a tag floor (the bound never reached), exactly the reference.
          if (invalidations.floor === undefined) {
            for (const key of KEYS)
              expect(store.get(key, NOW)?.version).toEqual(referenceLive(received, key)?.version)
          }
        },
      ),
      { numRuns: Number(process.env.PROPERTY_RUNS ?? 400) },
    )
  })

  /** Admits, through `r`'s admission, a write of `key` stamped `age` ms ago (a value unless `tomb`). */
  const sender = (r: ReturnType<typeof rig>) => {
    let logical = 0
    return (key: string, age: number, tags?: string[], tomb = false) =>
      r.admission.admit(
        [
          key,
          NOW - age,
          logical++,
          'P',
          NOW + HOUR,
          tomb ? 1 : 0,
          tomb ? null : encodeStored(key, key, tags),
        ],
        'r',
        NOW,
        false,
      )
  }

  it("a value stored older than a clear's floor is noted: a later invalidation still kills it", () => {
    const r = rig(4, 1)
    const send = sender(r)
    send('x', 30)
    send('a', 10, ['t0'])
    send('b', 5)
    send(CLEAR_KEY, 20, undefined, true) // one pass: kills x; floor: a
    expect(r.invalidations.passes).toBe(1)
    expect(send('c', 15, ['t0'])).toBe('applied') // older than the floor
    send(tagKey('t0'), 12, undefined, true) // between c and the floor
    expect(r.store.get('c', NOW)).toBeUndefined()
    expect(r.store.get('a', NOW)?.value).toBe('a')
    send(CLEAR_KEY, 8, undefined, true) // newer than the floor: kills a, not b
    expect(r.store.get('a', NOW)).toBeUndefined()
    expect(r.store.get('b', NOW)?.value).toBe('b')
  })

  it('too many values stored older than the floor lower it: a later clear still kills them', () => {
    const r = rig(4, 1)
    const send = sender(r)
    send('x', 30)
    send('a', 10)
    send('b', 5)
    send(CLEAR_KEY, 20, undefined, true) // notes a, keeps at most 2 notes
    send('c', 18)
    send('d', 17) // a third note: given up, the floor lowered to c
    send(CLEAR_KEY, 11, undefined, true)
    expect(r.invalidations.passes).toBe(2)
    for (const key of ['c', 'd']) expect(r.store.get(key, NOW), key).toBeUndefined()
    for (const key of ['a', 'b']) expect(r.store.get(key, NOW)?.value, key).toBe(key)
  })

  it('clears at any stamps against a replica with many values kill exactly what the reference kills (property)', () => {
    const clearOp = fc.record({
      values: fc.integer({ min: 0, max: 120 }),
      clearAges: fc.array(fc.integer({ min: 0, max: 400 }), { maxLength: 12 }),
    })
    fc.assert(
      fc.property(fc.array(clearOp, { minLength: 1, maxLength: 6 }), fc.nat(), (rounds, seed) => {
        const r = replica('L')
        const clock = clockOf(r)
        const received: Sent[] = []
        let n = 0
        let rnd = seed
        const next = () => {
          rnd = (rnd * 1_103_515_245 + 12_345) % 2_147_483_648
          return rnd
        }
        for (const round of rounds) {
          for (let i = 0; i < round.values; i++) {
            const key = `k${next() % 300}`
            if (next() % 3 === 0) {
              // A peer's write, stamped up to 400 ms in the past.
              const version = { wall: NOW - (next() % 400), logical: n++, node: 'P' }
              const sent = { key, version, expiresAt: NOW + HOUR, value: true, tags: [] }
              r.admitRemote(tupleOfSent(sent), 'r')
              received.push(sent)
            } else {
              const tuple = write(r, clock, key, `v${n++}`)
              received.push({
                key,
                version: { wall: tuple[1], logical: tuple[2], node: tuple[3] },
                expiresAt: tuple[4],
                value: true,
                tags: [],
              })
            }
          }
          // A batch of clears from a peer, at stamps older than (some of) the values.
          for (const back of round.clearAges) {
            const version = { wall: NOW - back, logical: n++, node: 'P' }
            const sent = { key: CLEAR_KEY, version, expiresAt: NOW + DAY, value: false, tags: [] }
            r.admitRemote(tupleOfSent(sent), 'r')
            received.push(sent)
          }
          for (const key of new Set(received.map((s) => s.key))) {
            if (key === CLEAR_KEY) continue
            expect(r.peek(key, NOW)?.version, key).toEqual(referenceLive(received, key)?.version)
          }
        }
      }),
      { numRuns: Number(process.env.PROPERTY_RUNS ?? 150) },
    )
  })
})
