import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it, vi } from 'vitest'
import { Cache } from '../../src/api/cache.js'
import { compareVersions } from '../../src/clock/version.js'
import { loadSnapshot, SNAPSHOT_FILE, saveSnapshot } from '../../src/persist/snapshot.js'

describe('snapshots', () => {
  it('restore values and tombstones with their versions, skip what expired, keep the clock ahead', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'meshcache-snap-'))
    vi.useFakeTimers({ now: 1_000_000, toFake: ['Date'] })
    try {
      const a = new Cache({}, 'node-a')
      await a.set('kept', { v: 1 })
      await a.set('short', 'x', { ttl: 1_000 })
      await a.keyspace('other').set('o', 2)
      await a.delete('gone')
      const last = await a.set('kept', { v: 2 })
      saveSnapshot(a as Cache<unknown>, dir)
      await a.close()
      vi.setSystemTime(1_002_000) // 'short' expired meanwhile
      const b = new Cache({}, 'node-a')
      expect(loadSnapshot(b as Cache<unknown>, dir)).toBe(3) // kept, o and the tombstone; not short
      expect(b.get('kept')).toEqual({ v: 2 })
      expect(b.keyspace('other').get('o')).toBe(2)
      expect(b.has('short')).toBe(false)
      expect(b.keyspace('default').index.get('gone')?.tombstone).toBe(true)
      expect(b.keyspace('default').entry('kept')!.version).toEqual(last)
      const next = await b.set('kept', { v: 3 })
      expect(compareVersions(next, last)).toBeGreaterThan(0)
      await b.close()
    } finally {
      vi.useRealTimers()
    }
  })

  it('a torn or foreign snapshot file never prevents a start', () => {
    const dir = mkdtempSync(join(tmpdir(), 'meshcache-snap-'))
    writeFileSync(join(dir, SNAPSHOT_FILE), Buffer.from([0x93, 0x01, 0xff]))
    const c = new Cache({}, 'node-c')
    expect(loadSnapshot(c as Cache<unknown>, dir)).toBe(0)
    void c.close()
  })
})
