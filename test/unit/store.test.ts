import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { Version } from '../../src/clock/version.js'
import { compareVersions } from '../../src/clock/version.js'
import { InvalidOptionError } from '../../src/errors.js'
import { type Entry, entrySize } from '../../src/store/entry.js'
import { VersionedStore } from '../../src/store/versioned-store.js'

const v = (wall: number, logical = 0, node = 'n1'): Version => ({ wall, logical, node })

function value(key: string, val: string, version: Version, expiresAt = 1e15): Entry<string> {
  return { value: val, version, expiresAt, tombstone: false, size: entrySize(key, val.length) }
}
function tomb(key: string, version: Version, expiresAt = 1e15): Entry<string> {
  return { value: undefined, version, expiresAt, tombstone: true, size: entrySize(key, 0) }
}

describe('VersionedStore', () => {
  it('never returns an entry at or after its expiry time', () => {
    const expired: string[] = []
    const s = new VersionedStore<string>({
      maxEntries: 10,
      maxBytes: Number.POSITIVE_INFINITY,
      onExpire: (k) => expired.push(k),
    })
    s.merge('k', value('k', 'x', v(1), 1_000), 0)
    expect(s.get('k', 999)?.value).toBe('x')
    expect(s.get('k', 1_000)).toBeUndefined()
    expect(expired).toEqual(['k'])
    expect(s.size).toBe(0)
  })

  it('evicts the least recently used, where a get counts as a use', () => {
    const evicted: string[] = []
    const s = new VersionedStore<string>({
      maxEntries: 3,
      maxBytes: Number.POSITIVE_INFINITY,
      onEvict: (k) => evicted.push(k),
    })
    for (const k of ['a', 'b', 'c']) s.merge(k, value(k, k, v(1)), 0)
    s.get('a', 0)
    s.merge('d', value('d', 'd', v(2)), 0)
    expect(evicted).toEqual(['b'])
    expect([...s.entries()].map(([k]) => k).sort()).toEqual(['a', 'c', 'd'])
  })

  it('keeps total bytes under maxBytes with large values', () => {
    const evicted: string[] = []
    const s = new VersionedStore<string>({
      maxEntries: 1000,
      maxBytes: 10_000,
      onEvict: (k) => evicted.push(k),
    })
    const big = 'x'.repeat(3_000)
    for (let i = 0; i < 10; i++) {
      s.merge(`k${i}`, value(`k${i}`, big, v(i + 1)), 0)
      expect(s.bytes).toBeLessThanOrEqual(10_000)
    }
    expect(s.size).toBe(3)
    expect(evicted).toEqual(['k0', 'k1', 'k2', 'k3', 'k4', 'k5', 'k6'])
    expect(s.merge('huge', value('huge', 'y'.repeat(20_000), v(99)), 0)).toBe('too-large')
    expect(s.size).toBe(3)
  })

  it('a tombstone beats an older value and loses to a newer one, in any order', () => {
    const older = value('k', 'old', v(10))
    const del = tomb('k', v(20))
    const newer = value('k', 'new', v(30))
    for (const order of [
      [older, del, newer],
      [newer, del, older],
      [del, older, newer],
      [del, newer, older],
      [older, newer, del],
      [newer, older, del],
    ]) {
      const s = new VersionedStore<string>({ maxEntries: 10, maxBytes: Number.POSITIVE_INFINITY })
      for (const e of order) s.merge('k', e, 0)
      expect(s.get('k', 0)?.value).toBe('new')
    }
    const s = new VersionedStore<string>({ maxEntries: 10, maxBytes: Number.POSITIVE_INFINITY })
    s.merge('k', del, 0)
    expect(s.merge('k', older, 0)).toBe('stale')
    expect(s.get('k', 0)).toBeUndefined()
    expect(s.tombstones).toBe(1)
  })

  it('a replayed write changes nothing', () => {
    const s = new VersionedStore<string>({ maxEntries: 10, maxBytes: Number.POSITIVE_INFINITY })
    const e = value('k', 'a', v(5))
    expect(s.merge('k', e, 0)).toBe('applied')
    expect(s.merge('k', e, 0)).toBe('stale')
  })

  it('an already expired newer write removes older copies but is not stored', () => {
    const s = new VersionedStore<string>({ maxEntries: 10, maxBytes: Number.POSITIVE_INFINITY })
    s.merge('k', value('k', 'a', v(5), 10_000), 0)
    expect(s.merge('k', value('k', 'b', v(6), 100), 500)).toBe('expired')
    expect(s.peek('k')).toBeUndefined()
  })

  it('replicas converge to the newest version whatever the arrival order (property)', () => {
    const writeArb = fc.record({
      key: fc.constantFrom('a', 'b', 'c'),
      wall: fc.integer({ min: 1, max: 50 }),
      node: fc.constantFrom('x', 'y', 'z'),
      del: fc.boolean(),
    })
    fc.assert(
      fc.property(fc.array(writeArb, { maxLength: 40 }), fc.integer(), (writes, seed) => {
        const entries = writes.map((w, i) =>
          w.del
            ? ([w.key, tomb(w.key, v(w.wall, i, w.node))] as const)
            : ([w.key, value(w.key, `${i}`, v(w.wall, i, w.node))] as const),
        )
        const shuffled = [...entries].sort(
          (p, q) =>
            (((p[1].version.logical * 7919) ^ seed) % 97) -
            (((q[1].version.logical * 7919) ^ seed) % 97),
        )
        const a = new VersionedStore<string>({
          maxEntries: 100,
          maxBytes: Number.POSITIVE_INFINITY,
        })
        const b = new VersionedStore<string>({
          maxEntries: 100,
          maxBytes: Number.POSITIVE_INFINITY,
        })
        for (const [k, e] of entries) a.merge(k, e, 0)
        for (const [k, e] of shuffled) b.merge(k, e, 0)
        for (const key of ['a', 'b', 'c']) {
          const newest = entries
            .filter(([k]) => k === key)
            .map(([, e]) => e)
            .sort((p, q) => compareVersions(q.version, p.version))[0]
          // The table keeps columns, not entry objects: equal in every field, not identical.
          expect(a.peek(key)).toStrictEqual(newest)
          expect(b.peek(key)).toStrictEqual(newest)
        }
      }),
    )
  })

  it('rejects invalid limits with a typed error', () => {
    expect(() => new VersionedStore({ maxEntries: 0, maxBytes: 10 })).toThrow(InvalidOptionError)
    expect(() => new VersionedStore({ maxEntries: 1, maxBytes: -1 })).toThrow(/maxBytes/)
  })
})
