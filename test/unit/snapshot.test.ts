import { appendFileSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { compareVersions } from '../../src/clock/version.js'
import { createCache } from '../../src/node/create-cache.js'
import { replicaOf } from '../../src/node/internals.js'
import { SNAPSHOT_FILE } from '../../src/persist/snapshot.js'
import { msgpack } from '../../src/replication/value-codec.js'

afterEach(() => {
  vi.useRealTimers()
})

describe('snapshots (an embedded cache with dataDir restarts warm)', () => {
  it('restore values and tombstones with their versions, skip what expired, keep the clock ahead', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'meshcache-snap-'))
    vi.useFakeTimers({ now: 1_000_000, toFake: ['Date'] })
    const a = await createCache({ nodeId: 'node-a', dataDir })
    await a.set('kept', { v: 1 })
    await a.set('short', 'x', { ttl: 1_000 })
    await a.keyspace('other').set('o', 2)
    await a.delete('gone')
    const last = await a.set('kept', { v: 2 })
    await a.close() // writes the last snapshot
    vi.setSystemTime(1_002_000) // 'short' expired meanwhile
    const b = await createCache({ nodeId: 'node-a', dataDir })
    try {
      expect(b.get('kept')).toEqual({ v: 2 })
      expect(b.keyspace('other').get('o')).toBe(2)
      expect(b.has('short')).toBe(false)
      expect(replicaOf(b, 'default')!.index.get('short')).toBeUndefined()
      expect(replicaOf(b, 'default')!.index.get('gone')?.tombstone).toBe(true)
      expect(b.keyspace('default').entry('kept')!.version).toEqual(last)
      const next = await b.set('kept', { v: 3 })
      expect(compareVersions(next, last)).toBeGreaterThan(0)
    } finally {
      await b.close()
    }
  })

  it('keeps the versions of deletes and values the LRU evicted: an older copy cannot come back after a restart', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'meshcache-snap-'))
    // maxIndexKeys is twice maxEntries: the index holds all five keys, memory three.
    const a = await createCache({ nodeId: 'node-a', dataDir, maxEntries: 3 })
    const old = await a.set('k', 'v1')
    await a.delete('k')
    const evicted = await a.set('e', 'value')
    for (const x of ['x1', 'x2', 'x3']) await a.set(x, x)
    // Both left memory; their versions stay in the index (what anti-entropy compares).
    expect(replicaOf(a, 'default')!.store.peek('k')).toBeUndefined()
    expect(replicaOf(a, 'default')!.index.get('k')?.tombstone).toBe(true)
    expect(replicaOf(a, 'default')!.index.get('e')?.version).toEqual(evicted)
    await a.close()
    const b = await createCache({ nodeId: 'node-a', dataDir, maxEntries: 3 })
    try {
      const replica = replicaOf(b, 'default')!
      expect(replica.index.get('k')?.tombstone).toBe(true)
      expect(replica.index.get('e')?.version).toEqual(evicted)
      // A peer that missed the delete offers v1 (a partition healing): refused.
      const stale = [
        'k',
        old.wall,
        old.logical,
        old.node,
        Date.now() + 60_000,
        0,
        msgpack.pack('v1'),
      ] as const
      replica.admitRemote([...stale] as never, 'other-region')
      expect(b.get('k')).toBeUndefined()
    } finally {
      await b.close()
    }
  })

  it('a torn or foreign snapshot file never prevents a start', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'meshcache-snap-'))
    writeFileSync(join(dataDir, SNAPSHOT_FILE), Buffer.from([0x93, 0x01, 0xff]))
    const c = await createCache({ nodeId: 'node-c', dataDir })
    expect(c.stats().entries).toBe(0)
    await c.close()
  })

  it('a bad row, a bad frame and a torn tail are skipped, not the whole file', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'meshcache-snap-'))
    const a = await createCache({ nodeId: 'node-a', dataDir })
    await a.set('one', 1)
    await a.set('two', 2)
    await a.close()
    const file = join(dataDir, SNAPSHOT_FILE)
    // A frame with a bad row and a good one, a frame of garbage, then a torn frame.
    const frame = (body: Uint8Array) => {
      const head = Buffer.alloc(4)
      head.writeUInt32BE(body.length)
      return Buffer.concat([head, body])
    }
    appendFileSync(
      file,
      Buffer.concat([
        frame(
          msgpack.pack([['default', 'bad', 'not a number', 0, 'node-a', 1, 0, null], 'garbage']),
        ),
        frame(Buffer.from([0xc1, 0xc1])),
        frame(msgpack.pack([['default', 'x', 1, 0, 'node-a', 1, 0, null]])).subarray(0, 6),
      ]),
    )
    const b = await createCache({ nodeId: 'node-a', dataDir })
    try {
      expect(b.get('one')).toBe(1)
      expect(b.get('two')).toBe(2)
      expect(b.has('bad')).toBe(false)
    } finally {
      await b.close()
    }
  })

  it('a keyspace with options of its own reopens after a restart, with its entries', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'meshcache-snap-'))
    const options = { maxEntries: 10, maxTtl: '2d', defaultTtl: '1d' }
    const a = await createCache({ nodeId: 'node-a', dataDir })
    await a.keyspace('users', options).set('u1', { n: 1 }, { ttl: '36h' })
    await a.close()
    const b = await createCache({ nodeId: 'node-a', dataDir })
    try {
      const users = b.keyspace('users', options) // loaded implicitly first: rebuilt with these
      expect(users.options.maxTtl).toBe(2 * 86_400_000)
      expect(users.get('u1')).toEqual({ n: 1 })
      expect(users.entry('u1')!.expiresAt - Date.now()).toBeGreaterThan(86_400_000)
      expect(() => b.keyspace('users', { maxEntries: 5 })).toThrow(/already open/)
    } finally {
      await b.close()
    }
  })
})
