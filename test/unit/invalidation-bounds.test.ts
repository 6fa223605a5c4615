import { afterEach, describe, expect, it, vi } from 'vitest'
import { HybridClock } from '../../src/clock/hlc.js'
import type { Version } from '../../src/clock/version.js'
import type { KeyspaceReplica } from '../../src/replica/keyspace-replica.js'
import { ReplicaRegistry } from '../../src/replica/replica-registry.js'
import { CLEAR_KEY, TAG_FLOOR_KEY, tagKey } from '../../src/replica/tag-invalidations.js'
import type { EntryTuple } from '../../src/replication/entry-tuple.js'
import { encodeStored } from '../../src/replication/value-codec.js'
import { entrySize } from '../../src/store/entry.js'
import { EntryTable } from '../../src/store/entry-table.js'
import { wallClock } from '../helpers/clock.js'

// What a clear or a tag invalidation costs is counted, not timed: passes over the store
// (EntryTable.residentSlots, which every pass walks, the old one through store.keys())
// and the entries they hand out, and key lookups (a tag invalidation checks its keys).

const NOW = 1_000_000_000
const HOUR = 3_600_000
const KEYS = 10_000

afterEach(() => {
  vi.restoreAllMocks()
})

function replica(maxEntries = 20_000): { r: KeyspaceReplica; hlc: HybridClock } {
  const hlc = new HybridClock({ node: 'L', maxDrift: 60_000 })
  const registry = new ReplicaRegistry({
    hlc,
    clock: wallClock(() => NOW),
    defaults: { maxTtl: '1d', maxEntries },
  })
  return { r: registry.open('ks'), hlc }
}

/** `n` local values k0..k(n-1) (tags: `tags`), in write order. @returns their versions */
function fill(r: KeyspaceReplica, hlc: HybridClock, n: number, tags?: string[]): Version[] {
  const versions: Version[] = []
  for (let i = 0; i < n; i++) {
    const key = `k${i}`
    const version = hlc.now(NOW)
    versions.push(version)
    const size = entrySize(key, encodeStored(key, i, tags).length)
    r.writeLocal(
      key,
      { value: i, version, expiresAt: NOW + HOUR, tombstone: false, size, ...(tags && { tags }) },
      NOW,
    )
  }
  return versions
}

/** A peer's tombstone of reserved `key` at `version`. */
const tombstone = (key: string, v: Version): EntryTuple => [
  key,
  v.wall,
  v.logical,
  v.node,
  v.wall + HOUR,
  1,
  null,
]

/** Counts passes over the store and the entries they walk. */
function countPasses(): { passes: number; walked: number } {
  const count = { passes: 0, walked: 0 }
  const original = EntryTable.prototype.residentSlots
  vi.spyOn(EntryTable.prototype, 'residentSlots').mockImplementation(function (this: EntryTable) {
    const slots = original.call(this)
    count.passes++
    count.walked += slots.length
    return slots
  })
  return count
}

const live = (r: KeyspaceReplica, from: number, to: number) => {
  let n = 0
  for (let i = from; i < to; i++) if (r.peek(`k${i}`, NOW) !== undefined) n++
  return n
}

describe('what a clear costs', () => {
  it('a batch of 1,000 clears stamped long before maxTtl walks no entry (the hunt: 90 ms each per 100k keys)', () => {
    const { r, hlc } = replica()
    fill(r, hlc, KEYS)
    const count = countPasses()
    for (let i = 0; i < 1_000; i++) {
      r.admitRemoteAt(tombstone(CLEAR_KEY, { wall: 1_000 + i, logical: 0, node: 'P' }), 'r', NOW)
    }
    expect(count.walked).toBe(0)
    expect(live(r, 0, KEYS)).toBe(KEYS)
  })

  it('a batch of 1,000 clears within maxTtl but older than every value walks no entry', () => {
    const { r, hlc } = replica()
    fill(r, hlc, KEYS)
    const count = countPasses()
    for (let i = 0; i < 1_000; i++) {
      r.admitRemoteAt(
        tombstone(CLEAR_KEY, { wall: NOW - HOUR + i, logical: 0, node: 'P' }),
        'r',
        NOW,
      )
    }
    expect(count.walked).toBe(0)
    expect(live(r, 0, KEYS)).toBe(KEYS)
  })

  it('2,000 clears each killing the oldest value cost a few passes in all, not one per clear', () => {
    const { r, hlc } = replica()
    const versions = fill(r, hlc, KEYS)
    const count = countPasses()
    // Clear i is stamped just after value i (same wall and counter, a later node id).
    for (let i = 0; i < 2_000; i++) {
      const v = versions[i]!
      r.admitRemoteAt(
        tombstone(CLEAR_KEY, { wall: v.wall, logical: v.logical, node: 'P' }),
        'r',
        NOW,
      )
      if (i % 500 === 0) expect(r.peek(`k${i}`, NOW)).toBeUndefined()
    }
    expect(live(r, 0, 2_000)).toBe(0)
    expect(live(r, 2_000, KEYS)).toBe(KEYS - 2_000)
    // One pass per clear walked 2,000 x ~9,000 entries; a pass per eighth of the store: 2.
    expect(count.passes).toBeLessThanOrEqual(3)
    expect(count.walked).toBeLessThanOrEqual(3 * KEYS)
  })

  it('a clear that kills everything still empties the store, and a later write lives', () => {
    const { r, hlc } = replica()
    fill(r, hlc, KEYS)
    const clear = hlc.now(NOW)
    r.admitRemoteAt(tombstone(CLEAR_KEY, { ...clear, node: 'P' }), 'r', NOW)
    expect(live(r, 0, KEYS)).toBe(0)
    fill(r, hlc, 10)
    expect(live(r, 0, 10)).toBe(10)
  })

  it('anti-entropy pushing 20,000 old clears walks no entry', () => {
    const { r, hlc } = replica()
    fill(r, hlc, KEYS)
    const count = countPasses()
    const pushed: EntryTuple[] = []
    for (let i = 0; i < 20_000; i++) {
      const wall = i % 2 === 0 ? 1_000 + i : NOW - HOUR + i
      pushed.push(tombstone(CLEAR_KEY, { wall, logical: 0, node: 'P' }))
    }
    r.syncView('r').importEntries(pushed)
    expect(count.walked).toBe(0)
    expect(live(r, 0, KEYS)).toBe(KEYS)
  })
})

describe('what a tag invalidation costs', () => {
  it('1,000 invalidations of a tag on 10,000 values, older than every value, look at no key', () => {
    const { r, hlc } = replica()
    fill(r, hlc, KEYS, ['hot'])
    const lookups = vi.spyOn(EntryTable.prototype, 'slotOf')
    for (let i = 0; i < 1_000; i++) {
      r.admitRemoteAt(
        tombstone(tagKey('hot'), { wall: NOW - HOUR + i, logical: 0, node: 'P' }),
        'r',
        NOW,
      )
    }
    // One lookup per record (its own key); checking every tagged key was 10M.
    expect(lookups.mock.calls.length).toBeLessThanOrEqual(2_000)
    expect(live(r, 0, KEYS)).toBe(KEYS)
    // A newer one still kills them all.
    r.admitRemoteAt(tombstone(tagKey('hot'), { ...hlc.now(NOW), node: 'P' }), 'r', NOW)
    expect(live(r, 0, KEYS)).toBe(0)
  })
})

describe('the bound on tag invalidations', () => {
  it('200,000 distinct made-up tags leave at most max(1,024, maxIndexKeys) held; what they killed stays dead', () => {
    const { r } = replica(1_000) // maxIndexKeys: 2,000
    const at = (wall: number, logical = 0): Version => ({ wall, logical, node: 'P' })
    const tagged = (key: string, v: Version, tag: string): EntryTuple => [
      key,
      v.wall,
      v.logical,
      v.node,
      NOW + HOUR,
      0,
      encodeStored(key, key, [tag]),
    ]
    // Resident before the flood: a value with a tag never invalidated, older than it all.
    expect(r.admitRemoteAt(tagged('keep', at(NOW - 500), 'other'), 'r', NOW)).toBe('applied')
    // The oldest invalidation (dropped by the bound), and a write it kills that arrives late.
    r.admitRemoteAt(tombstone(tagKey('early'), at(NOW - 100)), 'r', NOW)
    const late = tagged('late', at(NOW - 200), 'early')
    for (let b = 0; b < 20; b++) {
      for (let i = 0; i < 10_000; i++) {
        r.admitRemoteAt(tombstone(tagKey(`t${b}_${i}`), at(NOW - 50, b * 10_000 + i)), 'r', NOW)
        // Read now and then, or the flood's tombstones push it out of the LRU (1,000 entries).
        if (i % 500 === 0) expect(r.read('keep', NOW)?.value).toBe('keep')
      }
      expect(r.invalidations.size).toBeLessThanOrEqual(2_000 + 2)
    }
    expect(r.admitRemoteAt(late, 'r', NOW)).toBe('invalidated')
    expect(r.peek('late', NOW)).toBeUndefined()
    // Resident entries are left alone; writes newer than the floor live.
    expect(r.peek('keep', NOW)?.value).toBe('keep')
    expect(r.admitRemoteAt(tagged('fresh', at(NOW), 'early2'), 'r', NOW)).toBe('applied')
    expect(r.peek('fresh', NOW)?.value).toBe('fresh')

    // The floor is in the snapshot rows; this node's own files restore it, a peer cannot.
    const rows = [...r.invalidations.entries()]
    const floorRow = rows.find(([key]) => key === TAG_FLOOR_KEY)
    expect(floorRow).toBeDefined()
    const restored = replica(1_000).r
    for (const [key, v] of rows)
      expect(restored.admitRemote(tombstone(key, v), 'disk', true)).not.toBe('bad-value')
    expect(restored.admitRemoteAt(late, 'r', NOW)).toBe('invalidated')
    const peer = replica(1_000).r
    expect(peer.admitRemoteAt(tombstone(TAG_FLOOR_KEY, floorRow![1]), 'r', NOW)).toBe('bad-value')
    expect(peer.admitRemoteAt(late, 'r', NOW)).toBe('applied')
  })
})
