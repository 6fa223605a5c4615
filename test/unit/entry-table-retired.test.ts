import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { EntryTable } from '../../src/store/entry-table.js'
import { VersionIndex } from '../../src/sync/version-index.js'

// Forgotten keys retire in the key map (no delete: V8 would rehash the map on a shrink)
// and leave it when their slot is reused. These tests hold the table to what a plain
// map of known keys would answer.

/** The key map behind the table (protected): what retired keys occupy. */
const mapSize = (t: EntryTable<unknown>) =>
  (t as unknown as { slots: Map<string, number> }).slots.size

const table = (maxEntries: number, maxKeys: number, retainMs: number) =>
  new EntryTable<unknown>({ maxEntries, maxBytes: Number.POSITIVE_INFINITY, maxKeys, retainMs })

type Op =
  | { op: 'merge'; key: number; ttl: number; tomb: boolean }
  | { op: 'version'; key: number; ttl: number }
  | { op: 'forget'; key: number; again: 'no' | 'merge' | 'version' }
  | { op: 'sweep'; budget: number }
  | { op: 'purge' }
  | { op: 'advance'; ms: number }

const KEYS = 12
const keyArb = fc.integer({ min: 0, max: KEYS - 1 })
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    op: fc.constant('merge' as const),
    key: keyArb,
    ttl: fc.integer({ min: 1, max: 80 }),
    tomb: fc.boolean(),
  }),
  fc.record({
    op: fc.constant('version' as const),
    key: keyArb,
    ttl: fc.integer({ min: 1, max: 80 }),
  }),
  // Forgotten, then (maybe) written again at once: the retired key's own slot comes back.
  fc.record({
    op: fc.constant('forget' as const),
    key: keyArb,
    again: fc.constantFrom('no' as const, 'merge' as const, 'version' as const),
  }),
  fc.record({ op: fc.constant('sweep' as const), budget: fc.integer({ min: 1, max: 5 }) }),
  fc.record({ op: fc.constant('purge' as const) }),
  fc.record({ op: fc.constant('advance' as const), ms: fc.integer({ min: 1, max: 60 }) }),
)

describe('retired keys of the entry table', () => {
  it('a key is known at its newest version or not at all; no forgotten key comes back (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 8 }),
        fc.array(opArb, { maxLength: 200 }),
        (maxEntries, maxKeys, ops) => {
          const RETAIN = 100
          const t = table(maxEntries, maxKeys, RETAIN)
          const index = new VersionIndex(maxKeys, RETAIN, 2, t)
          void index.tree // kept in step through every retire and reuse
          let now = 1_000
          let stamp = 0
          /** The newest version written per key (stamps only grow), and its value. */
          const newest = new Map<string, { wall: number; value: number | undefined }>()
          for (const step of ops) {
            let o = step
            if (o.op === 'forget') {
              t.forget(`k${o.key}`)
              if (o.again === 'no') continue
              o = { op: o.again, key: o.key, ttl: 50, tomb: false }
            }
            if (o.op === 'advance') now += o.ms
            else if (o.op === 'sweep') t.sweep(o.budget, now)
            else if (o.op === 'purge') t.purge(now)
            else if (o.op === 'merge' || o.op === 'version') {
              const key = `k${o.key}`
              const wall = now + ++stamp / 1_000
              if (o.op === 'merge') {
                const value = o.tomb ? undefined : stamp
                t.merge(key, wall, 0, 'n', now + o.ttl, o.tomb, value, 10, undefined, now)
                newest.set(key, { wall, value })
              } else {
                t.recordVersion(key, wall, 0, 'n', now + o.ttl, false)
                newest.set(key, { wall, value: undefined })
              }
              // A write newer than everything is known at once, retired key or not.
              expect(t.slotOf(key)).toBeGreaterThanOrEqual(0)
            }
            let known = 0
            for (let k = 0; k < KEYS; k++) {
              const key = `k${k}`
              const s = t.slotOf(key)
              if (s < 0) {
                expect(t.find(key, now)).toBe(-1)
                continue
              }
              known++
              // Known: the newest version written, under its own key, and its value if any.
              expect(t.keys[s]).toBe(key)
              expect(t.wallOf(s)).toBe(newest.get(key)!.wall)
              const hit = t.find(key, now)
              if (hit >= 0) expect(t.valueAt(hit)).toBe(newest.get(key)!.value)
            }
            expect(t.keyCount).toBe(known)
            expect([...t.knownSlots()].length).toBe(known)
            expect(known).toBeLessThanOrEqual(Math.max(maxEntries, maxKeys))
            // Retired keys never outnumber the slots: the map holds at most a full table.
            expect(mapSize(t)).toBeLessThanOrEqual(Math.max(maxEntries, maxKeys))
          }
          // The digest kept in step equals one built from what is known now.
          const fresh = new VersionIndex(1_000, RETAIN, 2)
          for (const [k, e] of index.iterate()) fresh.record(k, e.version, e.expiresAt, e.tombstone)
          expect(index.tree.digest(0, 0)).toEqual(fresh.tree.digest(0, 0))
        },
      ),
      { numRuns: Number(process.env.PROPERTY_RUNS ?? 300) },
    )
  })

  it('the sweep forgets a whole generation without deleting from the key map; reuse replaces retired keys one for one', () => {
    const t = table(1_000, 1_000, 100)
    for (let i = 0; i < 1_000; i++) t.merge(`a${i}`, 1, 0, 'n', 50, false, i, 10, undefined, 0)
    while (!t.sweep(300, 200)[1]);
    expect(t.keyCount).toBe(0)
    expect(t.residentCount).toBe(0)
    expect(mapSize(t)).toBe(1_000) // every key retired, none deleted
    for (let i = 0; i < 400; i++) t.merge(`b${i}`, 300, 0, 'n', 400, false, i, 10, undefined, 250)
    expect(t.keyCount).toBe(400)
    expect(mapSize(t)).toBe(1_000) // 400 retired keys left as 400 new ones came in
    expect(t.slotOf('a0')).toBe(-1)
  })

  it('a retired key written again takes its own slot back', () => {
    const t = table(10, 10, 100)
    t.merge('k', 1, 0, 'n', 50, false, 'old', 10, undefined, 0)
    const slot = t.slotOf('k')
    t.purge(200)
    expect(t.slotOf('k')).toBe(-1)
    expect(t.find('k', 200)).toBe(-1)
    expect(t.merge('k', 300, 0, 'n', 400, false, 'new', 10, undefined, 250)).toBe('applied')
    expect(t.slotOf('k')).toBe(slot)
    expect(t.valueAt(t.find('k', 250))).toBe('new')
    expect(t.keyCount).toBe(1)
    expect(mapSize(t)).toBe(1)
  })

  it('clear empties the key map, retired keys included', () => {
    const t = table(10, 10, 100)
    for (let i = 0; i < 5; i++) t.merge(`k${i}`, 1, 0, 'n', 50, false, i, 10, undefined, 0)
    t.purge(200)
    t.merge('live', 300, 0, 'n', 400, false, 1, 10, undefined, 250)
    t.clear()
    expect(mapSize(t)).toBe(0)
    expect(t.keyCount).toBe(0)
    expect(t.merge('k1', 500, 0, 'n', 600, false, 2, 10, undefined, 450)).toBe('applied')
    expect(t.keyCount).toBe(1)
  })
})
