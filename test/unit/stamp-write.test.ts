import { describe, expect, it } from 'vitest'
import { stampWrite } from '../../src/api/stamp-write.js'
import { ManualClock } from '../../src/clock/clock.js'
import { HybridClock } from '../../src/clock/hlc.js'
import { compareVersions, type Version } from '../../src/clock/version.js'
import { ClockSkewError } from '../../src/errors.js'
import { startNode } from '../../src/node/create-cache.js'
import { replicaOf } from '../../src/node/internals.js'
import type { EntryTuple } from '../../src/replication/entry-tuple.js'
import { encodeValue } from '../../src/replication/value-codec.js'
import { EntryTable } from '../../src/store/entry-table.js'

const AHEAD = 20_000
const HOUR = 3_600_000

/** A write of peer `fast-peer` stamped `AHEAD` ms ahead of `now` (a peer whose clock runs fast). */
function fastWrite(key: string, now: number, value: unknown): EntryTuple {
  return [key, now + AHEAD, 3, 'fast-peer', now + HOUR, 0, encodeValue(key, value)]
}

describe('write stamps: per-key causality instead of a dragged clock', () => {
  it('after hearing a peer 20 s ahead, writes of other keys stay on this node clock; a write of the key read wins over it', async () => {
    const clock = new ManualClock()
    const cache = await startNode({}, { clock })
    try {
      const replica = replicaOf(cache)!
      const t = clock.now()
      expect(replica.admitRemote(fastWrite('read', t, 'theirs'), 'eu')).toBe('applied')
      expect(replica.admitRemote(fastWrite('gone', t, 'theirs'), 'eu')).toBe('applied')
      const held = cache.entry('read')!.version

      // Another key: stamped within the lead bound of this node's clock (1 s), not 20 s.
      const other = await cache.set('other', 1)
      expect(other.wall - clock.now()).toBeLessThanOrEqual(1_000)

      // The key just read: its write orders after what it replaces, whatever the clocks.
      expect(cache.get('read')).toBe('theirs')
      const mine = await cache.set('read', 'mine')
      expect(compareVersions(mine, held)).toBeGreaterThan(0)
      expect(cache.get('read')).toBe('mine')
      // A delete too.
      const deleted = await cache.delete('gone')
      expect(deleted).toBe(true)
      expect(cache.get('gone')).toBeUndefined()
      expect(
        compareVersions(cache.admin.version('default', 'gone')!.version, held),
      ).toBeGreaterThan(0)

      // Once real time passes the peer's stamp, writes are plain clock stamps again.
      clock.advance(AHEAD + 1)
      const later = await cache.set('read', 'later')
      expect(later.wall).toBe(clock.now())
    } finally {
      await cache.close()
    }
  })

  it('a clear made after hearing a peer 20 s ahead still kills what that peer wrote', async () => {
    const clock = new ManualClock()
    const cache = await startNode({}, { clock })
    try {
      const t = clock.now()
      expect(replicaOf(cache)!.admitRemote(fastWrite('x', t, 1), 'eu')).toBe('applied')
      await cache.clear()
      expect(cache.get('x')).toBeUndefined()
      // A write after the clear lives on.
      await cache.set('y', 2)
      expect(cache.get('y')).toBe(2)
    } finally {
      await cache.close()
    }
  })

  it('a key written while this node ran 30 min ahead (a version no peer accepted) is replaced by its next write once the clock is corrected', async () => {
    const clock = new ManualClock()
    const cache = await startNode({}, { clock })
    try {
      clock.correctionMs = HOUR / 2 // the host 30 min fast, not yet measured
      const early = await cache.set('k', 'early')
      await cache.set('t', 'tagged', { tags: ['g'] })
      clock.correctionMs = 0 // the mesh's correction
      const fixed = await cache.set('k', 'fixed')
      expect(fixed.wall).toBe(clock.now())
      expect(compareVersions(fixed, early)).toBeLessThan(0)
      expect(cache.get('k')).toBe('fixed')
      expect(cache.admin.version('default', 'k')!.version).toEqual(fixed)
      expect(await cache.delete('t')).toBe(true)
      expect(cache.get('t')).toBeUndefined()
      // Other keys: stamped on the corrected clock at once.
      expect((await cache.set('other', 1)).wall).toBe(clock.now())
    } finally {
      await cache.close()
    }
  })

  it('refuses every kind of write while the mesh says this clock is too far off, and stamps nothing', () => {
    const mesh = { writeRefusal: undefined as string | undefined, leadOf: () => undefined }
    const hlc = new HybridClock({ node: 'a', physical: () => 1_000_000, mesh })
    const table = new EntryTable({
      maxEntries: 10,
      maxBytes: Number.POSITIVE_INFINITY,
      maxKeys: 20,
      retainMs: HOUR,
    })
    mesh.writeRefusal = "this node's clock is 1800000 ms ahead of 2 of the 2 peers it measured"
    const before: Version = hlc.peek()
    for (const key of ['k', '\0clear', '\0tag\0t']) {
      expect(() => stampWrite(key, 1_000_000, hlc, table)).toThrow(ClockSkewError)
    }
    expect(hlc.peek()).toEqual(before)
    mesh.writeRefusal = undefined
    expect(stampWrite('k', 1_000_000, hlc, table).wall).toBe(1_000_000)
  })

  it('a tagged write orders after the tag floor a flood of invalidations stamped ahead left, and survives a restart', async () => {
    const { mkdtempSync } = await import('node:fs')
    const { tmpdir } = await import('node:os')
    const { join } = await import('node:path')
    const { tagKey } = await import('../../src/replica/tag-invalidations.js')
    const dataDir = mkdtempSync(join(tmpdir(), 'meshcache-floor-'))
    // The system clock: the restart reads the files against real time.
    const cache = await startNode({ dataDir, maxEntries: 100 })
    let floor: Version | undefined
    try {
      const replica = replicaOf(cache)!
      const t = Date.now()
      // More invalidations than the bound (max(1,024, maxIndexKeys)): the oldest fold into
      // a floor, stamped 20 s ahead of this node's clock.
      for (let i = 0; i < 1_100; i++) {
        replica.admitRemote(
          [tagKey(`flood${i}`), t + AHEAD, i, 'fast-peer', t + HOUR, 1, null],
          'eu',
        )
      }
      floor = replica.invalidations.floor
      expect(floor).toBeDefined()
      const v = await cache.set('k', 'v1', { tags: ['mine'] })
      expect(compareVersions(v, floor!)).toBeGreaterThan(0)
      expect(cache.get('k')).toBe('v1')
      // An untagged write is not held back by it.
      expect((await cache.set('plain', 1)).wall - Date.now()).toBeLessThanOrEqual(1_000)
    } finally {
      await cache.close()
    }
    const again = await startNode({ dataDir, maxEntries: 100 })
    try {
      expect(replicaOf(again)!.invalidations.floor).toEqual(floor)
      expect(again.get('k')).toBe('v1')
    } finally {
      await again.close()
    }
  })
})
