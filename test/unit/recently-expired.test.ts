import { describe, expect, it } from 'vitest'
import { RecentlyExpired } from '../../src/replica/recently-expired.js'
import { decodeUntagged } from '../../src/replication/value-codec.js'
import { EntryTable } from '../../src/store/entry-table.js'

function tableWith(entries: [key: string, value: string, tags?: string[]][]) {
  const t = new EntryTable<string>({
    maxEntries: 100,
    maxBytes: Number.POSITIVE_INFINITY,
    maxKeys: 100,
    retainMs: 1_000,
  })
  for (const [i, [k, v, tags]] of entries.entries())
    t.merge(k, 10 + i, 1, 'n', 50, false, v, 20, tags, 0)
  return t
}

describe('RecentlyExpired', () => {
  it('keeps the last values that expired, with their versions and tags, oldest overwritten first', () => {
    const t = tableWith([
      ['a', 'A'],
      ['b', 'B', ['t']],
      ['c', 'C'],
    ])
    const ring = new RecentlyExpired<string>(
      2,
      decodeUntagged as (b: Uint8Array, start: number, end: number) => string,
    )
    for (const k of ['a', 'b', 'c']) ring.add(k, t, t.slotOf(k))
    expect(ring.get('a')).toBeUndefined()
    expect(ring.get('b')).toEqual({
      value: 'B',
      version: { wall: 11, logical: 1, node: 'n' },
      expiresAt: 50,
      tombstone: false,
      size: 20,
      tags: ['t'],
    })
    expect(ring.get('c')?.value).toBe('C')
    expect(ring.count).toBe(2)
  })

  it('a key that expires again replaces its older copy', () => {
    const t = tableWith([
      ['a', 'A1'],
      ['b', 'B'],
    ])
    const ring = new RecentlyExpired<string>(
      3,
      decodeUntagged as (b: Uint8Array, start: number, end: number) => string,
    )
    ring.add('a', t, t.slotOf('a'))
    ring.add('b', t, t.slotOf('b'))
    t.merge('a', 99, 0, 'n', 150, false, 'A2', 20, undefined, 0)
    ring.add('a', t, t.slotOf('a'))
    expect(ring.get('a')?.value).toBe('A2')
    expect(ring.count).toBe(2)
    // Wrapping over the first copy of 'a' keeps the newer one.
    ring.add('b', t, t.slotOf('b'))
    ring.add('b', t, t.slotOf('b'))
    expect(ring.get('a')?.value).toBe('A2')
  })
})
