import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { HybridClock } from '../../src/clock/hlc.js'
import type { KeyspaceReplica } from '../../src/replica/keyspace-replica.js'
import { ReplicaRegistry } from '../../src/replica/replica-registry.js'
import { CLEAR_KEY, tagKey } from '../../src/replica/tag-invalidations.js'
import { type EntryTuple, tupleOf } from '../../src/replication/entry-tuple.js'
import { encodeStored } from '../../src/replication/value-codec.js'
import { entrySize } from '../../src/store/entry.js'
import { wallClock } from '../helpers/clock.js'

const NOW = 1_000_000_000
const HOUR = 3_600_000

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
