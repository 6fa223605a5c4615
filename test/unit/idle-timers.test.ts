import { describe, expect, it } from 'vitest'
import { ManualClock } from '../../src/clock/clock.js'
import { startNode } from '../../src/node/create-cache.js'
import { waitFor } from '../helpers/wait.js'

const MINUTE = 60_000

describe('an idle cache wakes only for work that is due (a manual clock counts wake-ups)', () => {
  it('an empty cache sets no timer and never wakes', async () => {
    const clock = new ManualClock()
    const cache = await startNode({}, { clock })
    try {
      clock.advance(60 * MINUTE)
      expect(clock.fired).toBe(0)
      expect(clock.pending).toBe(0)
    } finally {
      await cache.close()
    }
  })

  it('the sweep wakes at the earliest expiry, not every purge interval', async () => {
    const clock = new ManualClock()
    const cache = await startNode({}, { clock })
    try {
      const expired: string[] = []
      cache.on('expire', ({ key }) => expired.push(key))
      await cache.set('soon', 1, { ttl: '5s' })
      await cache.set('later', 2, { ttl: '10m' })
      clock.advance(4_900)
      expect(clock.fired).toBe(0)
      expect(expired).toEqual([])
      clock.advance(200)
      expect(expired).toEqual(['soon'])
      const afterFirst = clock.fired
      expect(afterFirst).toBe(1)
      // Nothing else is due for ten minutes: no wake-up until then.
      clock.advance(9 * MINUTE)
      expect(clock.fired).toBe(afterFirst)
      clock.advance(MINUTE)
      expect(expired).toEqual(['soon', 'later'])
      expect(clock.fired).toBe(afterFirst + 1)
    } finally {
      await cache.close()
    }
  })

  it('a write that expires sooner than the scheduled wake-up brings it forward', async () => {
    const clock = new ManualClock()
    const cache = await startNode({}, { clock })
    try {
      const expired: string[] = []
      cache.on('expire', ({ key }) => expired.push(key))
      await cache.set('a', 1, { ttl: '1h' })
      await cache.set('b', 2, { ttl: '2s' })
      clock.advance(2_100)
      expect(expired).toEqual(['b'])
      expect(clock.fired).toBe(1)
    } finally {
      await cache.close()
    }
  })

  it('a pass over many keys is spread over steps at most one per purge interval', async () => {
    const clock = new ManualClock()
    const cache = await startNode({ purgeInterval: '100ms' }, { clock })
    try {
      await cache.setMany(Array.from({ length: 12_000 }, (_, i) => [`k${i}`, i, { ttl: '1s' }]))
      clock.advance(1_000)
      // 12,000 keys, 5,000 per step: three steps, 100 ms apart.
      clock.advance(350)
      expect(cache.size).toBe(0)
      expect(clock.fired).toBeLessThanOrEqual(4)
      const done = clock.fired
      clock.advance(10 * MINUTE)
      expect(clock.fired).toBe(done)
    } finally {
      await cache.close()
    }
  })
})

describe('snapshots come only after changes', () => {
  it('an idle cache with a data dir does not wake to write the same snapshot again', async () => {
    const { mkdtempSync, rmSync, statSync } = await import('node:fs')
    const { tmpdir } = await import('node:os')
    const { join } = await import('node:path')
    const dir = mkdtempSync(join(tmpdir(), 'meshcache-idle-'))
    const clock = new ManualClock()
    const cache = await startNode({ dataDir: dir, snapshotInterval: '5s' }, { clock })
    try {
      await cache.set('k', 1, { ttl: '1h' })
      // The first snapshot (the write) comes after an interval; nothing changed after it.
      clock.advance(5_000)
      // The snapshot itself is real file I/O: wait for it in real time.
      await waitFor(existsSnapshot, 'the first snapshot written')
      await waitFor(() => clock.pending > 0 || clock.nextAt !== undefined, 'the sweep rescheduled')
      const writtenAt = statSync(join(dir, 'snapshot.msgpack')).mtimeMs
      const before = clock.fired
      clock.advance(10 * MINUTE)
      // Only the sweep's wake-up at the end of the entry's hour is left, and it is later.
      expect(clock.fired).toBe(before)
      expect(statSync(join(dir, 'snapshot.msgpack')).mtimeMs).toBe(writtenAt)
      // A change makes the next one.
      await cache.set('k2', 2, { ttl: '1h' })
      expect(clock.pending).toBeGreaterThan(0)
    } finally {
      await cache.close()
      rmSync(dir, { recursive: true, force: true })
    }
    function existsSnapshot(): boolean {
      try {
        statSync(join(dir, 'snapshot.msgpack'))
        return true
      } catch {
        return false
      }
    }
  })
})
